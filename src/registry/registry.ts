/**
 * The use cases behind the meta-tools: create (and replace), rollback, delete, get, search and call, with
 * version history, runtime health, quarantine, duplicate prevention and an audit log. Runs the pipeline
 * (arguments, limits, conflict, duplicate, compiler stages, tests) and only when every stage has passed
 * persists the tool, registers it and emits a change event. Knows nothing about MCP: the server listens to
 * `onChange` and sends the list_changed notifications.
 */
import { createHash } from 'node:crypto';
import type { CompilerService } from '../compiler/service.js';
import { ok, refuse, type Diagnostic, type Result } from '../errors.js';
import type { Logger } from '../log.js';
import type { RunLimits } from '../sandbox/limits.js';
import type { FailureKind } from '../sandbox/outcome.js';
import type { Sandbox } from '../sandbox/pool.js';
import {
  RECORD_FORMAT,
  type HealthRecord,
  type TestCase,
  type ToolRecord,
  type ToolVersion,
} from '../store/record.js';
import type { ToolStore } from '../store/tool-store.js';
import {
  CreateToolArgumentsSchema,
  META_TOOL_NAMES,
  parseArguments,
  RollbackToolArgumentsSchema,
} from './arguments.js';
import { AuditLog, type Actor } from './audit.js';
import { DEFAULT_QUARANTINE_POLICY, HealthTracker, type QuarantinePolicy } from './health.js';
import { jsonDepth, resultTypeMismatch, validateValue } from './json-values.js';
import { runLimitsOf, type Limits } from './limits.js';
import { DEFAULT_DUPLICATE_THRESHOLD, ToolIndex, type ScoredTool } from './similarity.js';
import { runTests, type TestReport } from './test-runner.js';

export interface RegistryDeps {
  readonly compiler: CompilerService;
  readonly sandbox: Sandbox;
  readonly store: ToolStore;
  readonly limits: Limits;
  readonly logger: Logger;
  readonly quarantine?: QuarantinePolicy;
  /** Similarity (0..1) at which a new tool is refused as a duplicate. */
  readonly duplicateThreshold?: number;
  readonly clock?: () => Date;
  /** How often batched health counts are written (default 1000 ms). */
  readonly healthFlushMs?: number;
}

export interface Created {
  readonly record: ToolRecord;
  readonly replaced: boolean;
  readonly tests: readonly TestReport[];
  /** True when a quarantine was lifted by this replacement. */
  readonly released: boolean;
}

export type CallFailureKind = FailureKind | 'bad_result' | 'quarantined';

/** The outcome of calling a dynamic tool. */
export type CallResult =
  | {
      readonly ok: true;
      readonly value: unknown;
      readonly logs: readonly string[];
      readonly record: ToolRecord;
    }
  | { readonly ok: false; readonly refused: readonly Diagnostic[] }
  | {
      readonly ok: false;
      readonly kind: CallFailureKind;
      readonly message: string;
      readonly logs: readonly string[];
    };

export type ChangeEvent = {
  readonly type: 'created' | 'replaced' | 'rolled_back' | 'deleted' | 'quarantined' | 'released';
  readonly name: string;
};

export class ToolRegistry implements AsyncDisposable {
  private readonly tools = new Map<string, ToolRecord>();
  private readonly index = new ToolIndex();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private readonly deps: RegistryDeps;
  private readonly clock: () => Date;
  private readonly health: HealthTracker;
  private readonly audit: AuditLog;
  private readonly duplicateThreshold: number;
  /** The sandbox's share of the limits, derived once (every call and test run passes it). */
  private readonly runLimits: RunLimits;

  constructor(deps: RegistryDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? (() => new Date());
    this.health = new HealthTracker(
      deps.store,
      deps.quarantine ?? DEFAULT_QUARANTINE_POLICY,
      deps.logger,
      this.clock,
      deps.healthFlushMs,
    );
    this.audit = new AuditLog(deps.store, this.clock);
    this.duplicateThreshold = deps.duplicateThreshold ?? DEFAULT_DUPLICATE_THRESHOLD;
    this.runLimits = runLimitsOf(deps.limits);
  }

  /** Loads stored tools, health and audit. Nothing is compiled: checked code and schemas are stored. */
  async load(): Promise<number> {
    const state = await this.deps.store.loadAll();
    for (const record of state.tools) {
      if (META_TOOL_NAMES.includes(record.name)) continue;
      this.tools.set(record.name, record);
      this.index.upsert(record);
    }
    for (const [name, health] of state.health)
      if (this.tools.has(name)) this.health.load(name, health);
    this.audit.load(state.audit);
    return this.tools.size;
  }

  onChange(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every tool, quarantined ones included, in insertion order. */
  list(): ToolRecord[] {
    return [...this.tools.values()];
  }

  /** Tools that may be advertised: every tool not in quarantine. */
  listServing(): ToolRecord[] {
    return this.list().filter((r) => !this.health.isQuarantined(r.name));
  }

  get(name: string): ToolRecord | undefined {
    return this.tools.get(name);
  }

  healthOf(name: string): HealthRecord {
    return this.health.get(name);
  }

  isQuarantined(name: string): boolean {
    return this.health.isQuarantined(name);
  }

  auditPage(page: number, pageSize: number) {
    return this.audit.page(page, pageSize);
  }

  auditOf(name: string) {
    return this.audit.forTool(name);
  }

  search(query: string, limit: number): { record: ToolRecord; score: number }[] {
    return this.index.search(query, limit).flatMap((hit) => {
      const record = this.tools.get(hit.name);
      return record ? [{ record, score: hit.score }] : [];
    });
  }

  /**
   * Runs the whole pipeline for a create_tool request. Nothing is stored or registered unless every stage
   * passes; requests for the same name are serialised so the conflict check and the write are atomic.
   */
  async create(rawArguments: unknown, actor: Actor | null = null): Promise<Result<Created>> {
    const parsed = parseArguments(CreateToolArgumentsSchema, rawArguments);
    if (!parsed.ok) return parsed;
    const args = parsed.value;
    if (META_TOOL_NAMES.includes(args.name)) {
      return refuse({
        stage: 'arguments',
        code: 'reserved_name',
        message: `"${args.name}" is the name of a toolsmith meta-tool; choose another name`,
        path: ['name'],
      });
    }
    const limitsRefusal = this.checkSubmissionLimits(args.source, args.description, args.tests);
    if (limitsRefusal.length > 0) return refuse(...limitsRefusal);

    return this.withLock(args.name, async () => {
      const existing = await this.refresh(args.name);
      if (existing && args.replace !== true) {
        return refuse<Created>({
          stage: 'conflict',
          code: 'exists',
          message: `a tool named "${args.name}" already exists (version ${existing.version}); call it, or pass replace: true to publish a new version`,
          path: ['name'],
        });
      }
      const compiled = await this.deps.compiler.compile(args.name, args.source);
      if (!compiled.ok) return compiled;
      if (!existing && args.allowSimilar !== true) {
        const similar = this.index.similar(
          {
            name: args.name,
            description: args.description,
            inputSchema: compiled.value.inputSchema,
          },
          this.duplicateThreshold,
        );
        if (similar.length > 0)
          return refuse<Created>(...this.duplicateDiagnostics(args.name, similar));
      }
      const tests = args.tests as TestCase[];
      const tested = await runTests(
        this.deps.sandbox,
        { name: args.name, ...compiled.value },
        tests,
        this.runLimits,
      );
      if (tested.diagnostics.length > 0) return refuse<Created>(...tested.diagnostics);

      const now = this.clock().toISOString();
      const record: ToolRecord = {
        format: RECORD_FORMAT,
        name: args.name,
        description: args.description,
        source: args.source,
        tests,
        version: (existing?.version ?? 0) + 1,
        sourceHash: hashSource(args.source),
        code: compiled.value.code,
        inputSchema: compiled.value.inputSchema,
        ...(compiled.value.outputSchema ? { outputSchema: compiled.value.outputSchema } : {}),
        resultSchema: compiled.value.resultSchema,
        compilerVersion: compiled.value.compilerVersion,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
        history: existing ? appendHistory(existing) : [],
      };
      const released = await this.publish(record, existing ? 'replace' : 'create', actor);
      return {
        ok: true,
        value: { record, replaced: existing !== undefined, tests: tested.reports, released },
      };
    });
  }

  /** Makes an earlier version current again, as a new version number (history only grows). */
  async rollback(
    rawArguments: unknown,
    actor: Actor | null = null,
  ): Promise<Result<{ record: ToolRecord; from: number; released: boolean }>> {
    const parsed = parseArguments(RollbackToolArgumentsSchema, rawArguments);
    if (!parsed.ok) return parsed;
    const { name, version } = parsed.value;
    return this.withLock(name, async () => {
      const existing = await this.refresh(name);
      if (!existing) return refuse(notFoundDiagnostic(name));
      if (version === existing.version) {
        return refuse({
          stage: 'arguments',
          code: 'invalid_argument',
          message: `version ${version} of "${name}" is already the current version`,
          path: ['version'],
        });
      }
      const target = (existing.history ?? []).find((v) => v.version === version);
      if (!target) {
        const known = [...(existing.history ?? []).map((v) => v.version), existing.version].join(
          ', ',
        );
        return refuse({
          stage: 'arguments',
          code: 'not_found',
          message: `"${name}" has no version ${version}; its versions are ${known}`,
          path: ['version'],
        });
      }
      const now = this.clock().toISOString();
      const record: ToolRecord = {
        ...target,
        format: RECORD_FORMAT,
        version: existing.version + 1,
        createdAt: existing.createdAt,
        updatedAt: now,
        history: appendHistory(existing),
      };
      const released = await this.publish(record, 'rollback', actor, `restored version ${version}`);
      return { ok: true, value: { record, from: version, released } };
    });
  }

  /** Deletes a tool from the store and the registry. */
  async delete(name: string, actor: Actor | null = null): Promise<Result<ToolRecord>> {
    return this.withLock(name, async () => {
      const existing = await this.refresh(name);
      if (!existing) return refuse<ToolRecord>(notFoundDiagnostic(name));
      await this.deps.store.delete(name);
      this.tools.delete(name);
      this.index.remove(name);
      this.health.forget(name);
      await this.appendAudit('delete', existing, actor);
      this.emit({ type: 'deleted', name });
      return { ok: true, value: existing };
    });
  }

  /** Validates `args` against the tool's schema and runs it in the sandbox. Never throws for guest behaviour. */
  async call(name: string, args: unknown, signal?: AbortSignal): Promise<CallResult> {
    // A tool another server on the same store created is picked up on its first call.
    const record = this.tools.get(name) ?? (await this.refresh(name));
    if (!record) return { ok: false, refused: [notFoundDiagnostic(name)] };
    if (this.health.isQuarantined(name))
      return { ok: false, kind: 'quarantined', message: this.quarantineMessage(name), logs: [] };
    const input = args ?? {};
    const checked = this.checkCallArguments(record, input);
    if (!checked.ok) {
      this.health.recordRefusal(name);
      return { ok: false, refused: checked.diagnostics };
    }
    const inputJson = checked.value;
    const started = performance.now();
    const outcome = await this.deps.sandbox.run(
      { code: record.code, entry: record.name, inputJson },
      this.runLimits,
      signal,
    );
    const ms = performance.now() - started;
    // A replace or delete may have happened while the call ran: its outcome belongs to the version that
    // ran, so it must not count for (or quarantine) the version that now serves, nor revive a deleted tool.
    const stillCurrent = this.tools.get(name) === record;
    if (!outcome.ok) {
      if (stillCurrent) this.recordFailure(record, outcome.kind, outcome.message, ms, inputJson);
      return { ok: false, kind: outcome.kind, message: outcome.message, logs: outcome.logs };
    }
    const value: unknown = JSON.parse(outcome.json);
    const mismatch = resultTypeMismatch(record.resultSchema, value);
    if (mismatch !== undefined) {
      const message = `the tool returned a value that does not match its declared return type: ${mismatch}`;
      if (stillCurrent) this.recordFailure(record, 'bad_result', message, ms, inputJson);
      return { ok: false, kind: 'bad_result', message, logs: outcome.logs };
    }
    if (stillCurrent) this.health.recordSuccess(name, ms);
    return { ok: true, value, logs: outcome.logs, record };
  }

  /**
   * Re-reads one tool from the store before it is changed, so that several servers sharing a store (two
   * clients on the default file) never build a new version from a stale copy or resurrect a deleted tool.
   */
  async refresh(name: string): Promise<ToolRecord | undefined> {
    const stored = await this.deps.store.get(name);
    const known = this.tools.get(name);
    if (stored && stored.version !== known?.version) {
      this.tools.set(name, stored);
      this.index.upsert(stored);
      this.emit({ type: known ? 'replaced' : 'created', name });
    } else if (!stored && known) {
      this.tools.delete(name);
      this.index.remove(name);
      this.health.forget(name);
      this.emit({ type: 'deleted', name });
    }
    return this.tools.get(name);
  }

  /** Why a tool is quarantined, the inputs that failed, and what to do. */
  quarantineMessage(name: string): string {
    const h = this.health.get(name);
    const inputs = h.failingInputs.length ? ` Failing inputs: ${h.failingInputs.join(' ; ')}.` : '';
    return `"${name}" is quarantined since ${h.quarantine?.since ?? '?'} (${h.quarantine?.reason ?? 'repeated failures'}; last error: ${h.lastError?.kind ?? '?'}: ${h.lastError?.message ?? '?'}).${inputs} To fix it, publish a corrected version with create_tool and replace: true, with tests covering these inputs, or restore a good version with rollback_tool; either lifts the quarantine.`;
  }

  /** Waits for in-flight changes, writes pending health counts and stops the flush timer. */
  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.locks.values()]);
    await this.health[Symbol.asyncDispose]();
  }

  private recordFailure(
    record: ToolRecord,
    kind: CallFailureKind,
    message: string,
    ms: number,
    inputJson: string,
  ): void {
    const change = this.health.recordFailure(record.name, kind, message, ms, inputJson);
    if (change) {
      this.deps.logger.warn(`quarantined "${record.name}": ${change.quarantined.reason}`);
      void this.appendAudit('quarantine', record, null, change.quarantined.reason);
      this.emit({ type: 'quarantined', name: record.name });
    }
  }

  /** Persists, registers, audits and announces a new current version; lifts a quarantine. */
  private async publish(
    record: ToolRecord,
    action: 'create' | 'replace' | 'rollback',
    actor: Actor | null,
    detail?: string,
  ): Promise<boolean> {
    // Persist first: if the store fails, nothing is registered and the old version keeps serving.
    await this.deps.store.put(record);
    this.tools.set(record.name, record);
    this.index.upsert(record);
    await this.appendAudit(action, record, actor, detail);
    const released = this.health.release(record.name);
    if (released) await this.appendAudit('release', record, actor, `lifted by ${action}`);
    this.emit({
      type: action === 'create' ? 'created' : action === 'replace' ? 'replaced' : 'rolled_back',
      name: record.name,
    });
    return released;
  }

  private async appendAudit(
    action: Parameters<AuditLog['append']>[0],
    record: ToolRecord,
    actor: Actor | null,
    detail?: string,
  ): Promise<void> {
    try {
      await this.audit.append(
        action,
        record.name,
        record.version,
        record.sourceHash,
        actor,
        detail,
      );
    } catch (error) {
      // The change itself is already stored; a lost audit line must not turn it into a reported failure.
      this.deps.logger.error(
        `could not write the audit entry for ${action} of "${record.name}"`,
        error,
      );
    }
  }

  private duplicateDiagnostics(name: string, similar: readonly ScoredTool[]): Diagnostic[] {
    return similar.map((hit) => {
      const other = this.tools.get(hit.name);
      const signature = other ? signatureOf(other) : '';
      return {
        stage: 'duplicate',
        code: 'similar_tool',
        message: `"${name}" looks like the existing tool "${hit.name}"(${signature}) (similarity ${hit.score}): call "${hit.name}" instead, improve it with create_tool { name: "${hit.name}", replace: true }, or pass allowSimilar: true if "${name}" really does something different`,
        path: ['name'],
      };
    });
  }

  /** Checks depth, size and schema of call arguments; on success returns them as JSON text. */
  private checkCallArguments(record: ToolRecord, input: unknown): Result<string> {
    const l = this.deps.limits;
    // Depth first, iteratively: a 100,000-deep value would overflow the host stack in JSON.stringify.
    if (jsonDepth(input, l.maxJsonDepth) > l.maxJsonDepth) {
      return refuse({
        stage: 'limits',
        code: 'too_deep',
        message: `the arguments nest deeper than the ${l.maxJsonDepth}-level cap`,
      });
    }
    const inputJson = JSON.stringify(input) ?? 'null';
    const size = Buffer.byteLength(inputJson);
    if (size > l.maxArgumentsBytes) {
      return refuse({
        stage: 'limits',
        code: 'too_large',
        message: `the arguments are ${size} bytes of JSON, over the ${l.maxArgumentsBytes}-byte cap`,
      });
    }
    const issues = validateValue(record.inputSchema, input);
    if (issues.length === 0) return ok(inputJson);
    return refuse(
      ...issues.map((issue): Diagnostic => ({
        stage: 'arguments',
        code: 'invalid_argument',
        message: `${issue.path.length ? issue.path.join('.') : 'arguments'} ${issue.message}`,
        path: issue.path,
      })),
    );
  }

  private checkSubmissionLimits(
    source: string,
    description: string,
    tests: readonly unknown[],
  ): Diagnostic[] {
    const l = this.deps.limits;
    const found: Diagnostic[] = [];
    // Depth first, iteratively, before anything serialises the tests (see checkCallArguments).
    tests.forEach((test, index) => {
      if (jsonDepth(test, l.maxJsonDepth + 2) > l.maxJsonDepth + 2) {
        found.push({
          stage: 'limits',
          code: 'too_deep',
          message: `test ${index + 1} nests deeper than the ${l.maxJsonDepth}-level cap`,
          path: ['tests', index],
        });
      }
    });
    if (found.length > 0) return found;
    const sourceBytes = Buffer.byteLength(source);
    if (sourceBytes > l.maxSourceBytes)
      found.push({
        stage: 'limits',
        code: 'too_large',
        message: `the source is ${sourceBytes} bytes, over the ${l.maxSourceBytes}-byte cap`,
        path: ['source'],
      });
    if (description.length > l.maxDescriptionChars)
      found.push({
        stage: 'limits',
        code: 'too_large',
        message: `the description is ${description.length} characters, over the ${l.maxDescriptionChars}-character cap`,
        path: ['description'],
      });
    if (tests.length > l.maxTests)
      found.push({
        stage: 'limits',
        code: 'too_large',
        message: `there are ${tests.length} tests, over the cap of ${l.maxTests}`,
        path: ['tests'],
      });
    const testsBytes = Buffer.byteLength(JSON.stringify(tests));
    if (testsBytes > l.maxTestsBytes)
      found.push({
        stage: 'limits',
        code: 'too_large',
        message: `the tests are ${testsBytes} bytes of JSON, over the ${l.maxTestsBytes}-byte cap`,
        path: ['tests'],
      });
    return found;
  }

  private emit(event: ChangeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.deps.logger.error('a change listener failed', error);
      }
    }
  }

  /** Serialises operations on one name; different names proceed in parallel. */
  private async withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const current = previous.then(work, work);
    const settled = current.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(name, settled);
    try {
      return await current;
    } finally {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    }
  }
}

function hashSource(source: string): string {
  return createHash('sha256').update(source).digest('hex');
}

/** The refusal for a name that is not a tool. */
export function notFoundDiagnostic(name: string): Diagnostic {
  return {
    stage: 'arguments',
    code: 'not_found',
    message: `there is no tool named "${name}"; search_tools lists the tools that exist`,
    path: ['name'],
  };
}

/**
 * Earlier versions kept per tool (each holds source, tests and compiled code): enough to roll back far,
 * bounded so one record, and every answer showing it, stays far below the transport's 10 MiB.
 */
export const MAX_HISTORY = 20;

function appendHistory(existing: ToolRecord): ToolVersion[] {
  return [...(existing.history ?? []), versionOf(existing)].slice(-MAX_HISTORY);
}

function versionOf(record: ToolRecord): ToolVersion {
  const { history: _history, format: _format, ...version } = record;
  return version;
}

/** A compact signature for listings: `value: number, from: "mm" | "cm", decimals?: number`. */
export function signatureOf(record: { inputSchema: Record<string, unknown> }): string {
  const properties = (record.inputSchema['properties'] ?? {}) as Record<
    string,
    Record<string, unknown>
  >;
  const required = new Set((record.inputSchema['required'] ?? []) as string[]);
  return Object.keys(properties)
    .map((name) => `${name}${required.has(name) ? '' : '?'}: ${typeText(properties[name] ?? {})}`)
    .join(', ');
}

function typeText(schema: Record<string, unknown>): string {
  if (Array.isArray(schema['enum']))
    return (schema['enum'] as unknown[]).map((v) => JSON.stringify(v)).join(' | ');
  const type = schema['type'];
  if (type === 'array') return `${typeText((schema['items'] ?? {}) as Record<string, unknown>)}[]`;
  if (Array.isArray(type)) return type.join(' | ');
  if (typeof type === 'string') return type;
  if (Array.isArray(schema['anyOf']))
    return (schema['anyOf'] as Record<string, unknown>[]).map(typeText).join(' | ');
  return 'any';
}
