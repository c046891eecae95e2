/**
 * The use cases behind the meta-tools: create (and replace), delete, get, search and call. Runs the
 * pipeline (arguments, limits, conflict, compiler stages, tests) and only when every stage has passed
 * persists the tool, registers it and emits a change event. Knows nothing about MCP: the server listens to
 * `onChange` and sends `notifications/tools/list_changed`.
 */
import { createHash } from 'node:crypto';
import type { CompilerService } from '../compiler/service.js';
import { refuse, type Diagnostic, type Result } from '../errors.js';
import type { Logger } from '../log.js';
import type { FailureKind } from '../sandbox/outcome.js';
import type { Sandbox } from '../sandbox/pool.js';
import { RECORD_FORMAT, type TestCase, type ToolRecord } from '../store/record.js';
import type { ToolStore } from '../store/tool-store.js';
import { CreateToolArgumentsSchema, META_TOOL_NAMES, parseArguments } from './arguments.js';
import { jsonDepth, validateValue } from './json-values.js';
import { runLimitsOf, type Limits } from './limits.js';
import { searchTools, type SearchHit } from './search.js';
import { ToolStats, type StatsSnapshot } from './stats.js';
import { runTests, type TestReport } from './test-runner.js';

export interface RegistryDeps {
  readonly compiler: CompilerService;
  readonly sandbox: Sandbox;
  readonly store: ToolStore;
  readonly limits: Limits;
  readonly logger: Logger;
  readonly clock?: () => Date;
}

export interface Created {
  readonly record: ToolRecord;
  readonly replaced: boolean;
  readonly tests: readonly TestReport[];
}

export type CallFailureKind = FailureKind | 'bad_result';

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
  readonly type: 'created' | 'replaced' | 'deleted';
  readonly name: string;
};

export class ToolRegistry {
  private readonly tools = new Map<string, ToolRecord>();
  private readonly stats = new Map<string, ToolStats>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly listeners = new Set<(event: ChangeEvent) => void>();
  private readonly deps: RegistryDeps;
  private readonly clock: () => Date;

  constructor(deps: RegistryDeps) {
    this.deps = deps;
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Loads stored tools. Nothing is compiled: the checked code and schemas are part of the record. */
  async load(): Promise<number> {
    const records = await this.deps.store.loadAll();
    for (const record of records) {
      if (META_TOOL_NAMES.includes(record.name)) continue;
      this.tools.set(record.name, record);
    }
    return this.tools.size;
  }

  /** Subscribes to changes of the tool set; returns the unsubscribe function. */
  onChange(listener: (event: ChangeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Current tools, in insertion order. The records are immutable. */
  list(): ToolRecord[] {
    return [...this.tools.values()];
  }

  get(name: string): ToolRecord | undefined {
    return this.tools.get(name);
  }

  statsOf(name: string): StatsSnapshot {
    return (this.stats.get(name) ?? new ToolStats()).snapshot();
  }

  search(query: string, limit: number): SearchHit[] {
    return searchTools(this.tools.values(), query, limit);
  }

  /**
   * Runs the whole pipeline for a create_tool request. Nothing is stored or registered unless every stage
   * passes; requests for the same name are serialised so the conflict check and the write are atomic.
   */
  async create(rawArguments: unknown): Promise<Result<Created>> {
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
      const existing = this.tools.get(args.name);
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
      const tests = args.tests as TestCase[];
      const subject = { name: args.name, ...compiled.value };
      const tested = await runTests(
        this.deps.sandbox,
        subject,
        tests,
        runLimitsOf(this.deps.limits),
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
        sourceHash: createHash('sha256').update(args.source).digest('hex'),
        code: compiled.value.code,
        inputSchema: compiled.value.inputSchema,
        ...(compiled.value.outputSchema ? { outputSchema: compiled.value.outputSchema } : {}),
        resultSchema: compiled.value.resultSchema,
        compilerVersion: compiled.value.compilerVersion,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      // Persist first: if the store fails, the tool is not registered and the old version keeps serving.
      await this.deps.store.put(record);
      this.tools.set(record.name, record);
      if (!existing) this.stats.set(record.name, new ToolStats());
      this.emit({ type: existing ? 'replaced' : 'created', name: record.name });
      return {
        ok: true,
        value: { record, replaced: existing !== undefined, tests: tested.reports },
      };
    });
  }

  /** Deletes a tool from the store and the registry. */
  async delete(name: string): Promise<Result<ToolRecord>> {
    return this.withLock(name, async () => {
      const existing = this.tools.get(name);
      if (!existing) return refuse<ToolRecord>(this.notFound(name));
      await this.deps.store.delete(name);
      this.tools.delete(name);
      this.stats.delete(name);
      this.emit({ type: 'deleted', name });
      return { ok: true, value: existing };
    });
  }

  /** Validates `args` against the tool's schema and runs it in the sandbox. Never throws for guest behaviour. */
  async call(name: string, args: unknown, signal?: AbortSignal): Promise<CallResult> {
    const record = this.tools.get(name);
    if (!record) return { ok: false, refused: [this.notFound(name)] };
    const stats = this.stats.get(name) ?? this.stats.set(name, new ToolStats()).get(name)!;
    const input = args ?? {};
    const refused = this.checkCallArguments(record, input);
    if (refused.length > 0) {
      stats.recordRefusal();
      return { ok: false, refused };
    }
    const started = performance.now();
    const limits = runLimitsOf(this.deps.limits);
    const outcome = await this.deps.sandbox.run(
      { code: record.code, entry: record.name, inputJson: JSON.stringify(input) },
      limits,
      signal,
    );
    const ms = performance.now() - started;
    if (!outcome.ok) {
      stats.recordFailure(outcome.kind, outcome.message, ms, this.clock());
      return { ok: false, kind: outcome.kind, message: outcome.message, logs: outcome.logs };
    }
    const value: unknown = JSON.parse(outcome.json);
    const typeIssue = validateValue(record.resultSchema, value, 1)[0];
    if (typeIssue) {
      const message = `the tool returned a value that does not match its declared return type: result${typeIssue.path.length ? `.${typeIssue.path.join('.')}` : ''} ${typeIssue.message}`;
      stats.recordFailure('bad_result', message, ms, this.clock());
      return { ok: false, kind: 'bad_result', message, logs: outcome.logs };
    }
    stats.recordSuccess(ms);
    return { ok: true, value, logs: outcome.logs, record };
  }

  private checkCallArguments(record: ToolRecord, input: unknown): Diagnostic[] {
    const size = Buffer.byteLength(JSON.stringify(input) ?? '');
    if (size > this.deps.limits.maxArgumentsBytes) {
      return [
        {
          stage: 'limits',
          code: 'too_large',
          message: `the arguments are ${size} bytes of JSON, over the ${this.deps.limits.maxArgumentsBytes}-byte cap`,
        },
      ];
    }
    const depth = jsonDepth(input, this.deps.limits.maxJsonDepth);
    if (depth > this.deps.limits.maxJsonDepth) {
      return [
        {
          stage: 'limits',
          code: 'too_deep',
          message: `the arguments nest deeper than the ${this.deps.limits.maxJsonDepth}-level cap`,
        },
      ];
    }
    return validateValue(record.inputSchema, input).map((issue) => ({
      stage: 'arguments',
      code: 'invalid_argument',
      message: `${issue.path.length ? issue.path.join('.') : 'arguments'} ${issue.message}`,
      path: issue.path,
    }));
  }

  private checkSubmissionLimits(
    source: string,
    description: string,
    tests: readonly unknown[],
  ): Diagnostic[] {
    const l = this.deps.limits;
    const found: Diagnostic[] = [];
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
    return found;
  }

  private notFound(name: string): Diagnostic {
    return {
      stage: 'arguments',
      code: 'not_found',
      message: `there is no tool named "${name}"; search_tools lists the tools that exist`,
      path: ['name'],
    };
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
