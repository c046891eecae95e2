/**
 * The error model shared by every layer. Refusals of user input are *values* (`Result`), exceptions are
 * reserved for bugs and infrastructure (`ToolsmithError`). This module imports nothing from `src/`.
 */

/** Which pipeline stage refused a request. */
export type Stage =
  | 'arguments'
  | 'parse'
  | 'screen'
  | 'typecheck'
  | 'schema'
  | 'duplicate'
  | 'tests'
  | 'limits'
  | 'conflict';

/**
 * Machine-readable reason for a diagnostic, one snake_case literal per cause:
 * - `invalid_argument`: a create_tool/call argument failed validation (see `path`).
 * - `reserved_name`: the name belongs to a meta-tool.
 * - `syntax_error`: the TypeScript parser rejected the source.
 * - `missing_function`: no function with the tool's name is defined.
 * - `bad_signature`: the function does not take exactly one object parameter.
 * - `forbidden_construct`: the AST screen refused a construct (eval, import, with, …).
 * - `forbidden_global`: the source names a host global the sandbox does not offer.
 * - `type_error`: the type checker reported an error.
 * - `unsupported_type`: a parameter or return type has no JSON Schema form.
 * - `test_failed`: a test returned something else than expected.
 * - `test_input_invalid`: a test's input does not match the derived input schema.
 * - `too_large`: a size cap was exceeded.
 * - `too_deep`: a JSON value nests deeper than allowed.
 * - `exists`: a tool with that name exists and `replace` was not set.
 * - `not_found`: there is no tool (or version) with that name.
 * - `similar_tool`: an existing tool looks like the new one (duplicate prevention).
 */
export type DiagnosticCode =
  | 'invalid_argument'
  | 'reserved_name'
  | 'syntax_error'
  | 'missing_function'
  | 'bad_signature'
  | 'forbidden_construct'
  | 'forbidden_global'
  | 'type_error'
  | 'unsupported_type'
  | 'test_failed'
  | 'test_input_invalid'
  | 'too_large'
  | 'too_deep'
  | 'exists'
  | 'not_found'
  | 'similar_tool';

/** One finding: what is wrong, where, and what to do about it. Lines and columns are 1-based. */
export interface Diagnostic {
  readonly stage: Stage;
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
  /** For argument issues: the path into the offending value (zod's issue shape). */
  readonly path?: readonly (string | number)[];
  /** For failed tests: which test (0-based) and what it saw. */
  readonly test?: {
    readonly index: number;
    readonly input: unknown;
    readonly expected?: unknown;
    readonly expectedError?: string;
    readonly actual?: unknown;
    readonly actualError?: string;
  };
}

/** Success with a value, or a refusal listing every finding of the stage that refused. */
export type Result<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly diagnostics: readonly Diagnostic[] };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function refuse<T = never>(...diagnostics: Diagnostic[]): Result<T> {
  return { ok: false, diagnostics };
}

/** Codes for infrastructure failures and broken invariants; they never reach the wire as such. */
export type ToolsmithErrorCode = 'store_unavailable' | 'invariant';

/** The one exception class of the project: a bug or an infrastructure fault, never a user's mistake. */
export class ToolsmithError extends Error {
  override readonly name = 'ToolsmithError';
  readonly code: ToolsmithErrorCode;

  constructor(code: ToolsmithErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Renders a diagnostic as one line, zod-style: `✖ [screen] 3:5 eval is not allowed: …`. */
export function formatDiagnostic(d: Diagnostic): string {
  const where =
    d.line !== undefined
      ? ` ${d.line}:${d.column ?? 1}`
      : d.path?.length
        ? ` at ${d.path.join('.')}`
        : '';
  return `✖ [${d.stage}]${where} ${d.message}`;
}
