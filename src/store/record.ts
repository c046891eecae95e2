/**
 * The stored form of a tool: everything needed to advertise and run it without compiling anything on
 * start (the checked JavaScript and the derived schemas are stored with the compiler version).
 */

/** One test case: the tool's argument object and either the expected result or expected error text. */
export type TestCase =
  | { readonly input: Record<string, unknown>; readonly expected: unknown }
  | { readonly input: Record<string, unknown>; readonly error: string };

export type JsonSchemaObject = { readonly [keyword: string]: unknown };

/** Current record format; a record in another format is skipped on load with a warning. */
export const RECORD_FORMAT = 1;

export interface ToolRecord {
  readonly format: typeof RECORD_FORMAT;
  readonly name: string;
  readonly description: string;
  readonly source: string;
  readonly tests: readonly TestCase[];
  /** 1 for a new tool, +1 for every replacement. */
  readonly version: number;
  /** SHA-256 of the source, hex. */
  readonly sourceHash: string;
  readonly code: string;
  readonly inputSchema: JsonSchemaObject & { readonly type: 'object' };
  readonly outputSchema?: JsonSchemaObject & { readonly type: 'object' };
  readonly resultSchema: JsonSchemaObject;
  readonly compilerVersion: string;
  /** ISO time of version 1. */
  readonly createdAt: string;
  /** ISO time of this version. */
  readonly updatedAt: string;
  /** Earlier versions, oldest first (absent on records written before versions were kept). */
  readonly history?: readonly ToolVersion[];
}

/** A past version of a tool: enough to show it, and to make it current again without recompiling. */
export type ToolVersion = Omit<ToolRecord, 'history' | 'format'>;

/** Per-tool runtime health, persisted so counts and quarantine survive restarts. */
export interface HealthRecord {
  readonly calls: number;
  readonly successes: number;
  /** Failures by kind: threw, timeout, memory, stack, not_json, bad_result, crashed, cancelled. */
  readonly failures: Readonly<Record<string, number>>;
  /** Calls refused before running because their arguments did not match the schema (the caller's fault). */
  readonly argumentRefusals: number;
  /** Recent latencies in ms (bounded), for the median. */
  readonly recentMs: readonly number[];
  /** Recent outcomes, newest last (bounded): true = success, false = a failure of the tool's own code. */
  readonly recentOutcomes: readonly boolean[];
  readonly consecutiveFailures: number;
  readonly lastError: {
    readonly at: string;
    readonly kind: string;
    readonly message: string;
    /** The input that caused it, as JSON text capped in size. */
    readonly input: string;
  } | null;
  /** Inputs of recent tool-fault failures (bounded), shown when the tool is quarantined. */
  readonly failingInputs: readonly string[];
  readonly quarantine: { readonly since: string; readonly reason: string } | null;
}

export type AuditAction = 'create' | 'replace' | 'rollback' | 'delete' | 'quarantine' | 'release';

/** One entry of the audit log. */
export interface AuditEntry {
  readonly seq: number;
  readonly at: string;
  readonly action: AuditAction;
  readonly tool: string;
  readonly version: number;
  readonly sourceHash: string;
  /** Who asked, from the MCP client's `initialize` (clientInfo), or why (for quarantine). */
  readonly client: { readonly name: string; readonly version: string } | null;
  readonly detail?: string;
}

/** Narrow check used when reading records back: a corrupt row must not take the server down. */
export function isToolRecord(value: unknown): value is ToolRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    r['format'] === RECORD_FORMAT &&
    typeof r['name'] === 'string' &&
    typeof r['description'] === 'string' &&
    typeof r['source'] === 'string' &&
    Array.isArray(r['tests']) &&
    typeof r['version'] === 'number' &&
    typeof r['code'] === 'string' &&
    typeof r['inputSchema'] === 'object' &&
    r['inputSchema'] !== null &&
    typeof r['resultSchema'] === 'object' &&
    r['resultSchema'] !== null
  );
}
