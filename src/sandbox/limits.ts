/**
 * Limits that bound one guest run. Every run gets all of them; nothing is unlimited.
 */
export interface RunLimits {
  /** Wall-clock budget for one run, enforced by QuickJS's interrupt handler and, as a backstop, by killing the worker. */
  readonly timeoutMs: number;
  /** QuickJS heap limit per runtime; an allocation past it fails the run with kind `memory`. */
  readonly memoryLimitBytes: number;
  /** QuickJS stack limit per runtime; deeper recursion fails the run with kind `stack`. */
  readonly maxStackSizeBytes: number;
  /** Largest JSON text a run may return. */
  readonly maxResultBytes: number;
  /** Largest total of captured console output; the rest is dropped with a marker. */
  readonly maxConsoleBytes: number;
  /** Deepest nesting of a returned JSON value. */
  readonly maxJsonDepth: number;
}

export const DEFAULT_RUN_LIMITS: RunLimits = Object.freeze({
  timeoutMs: 1000,
  memoryLimitBytes: 32 * 1024 * 1024,
  maxStackSizeBytes: 512 * 1024,
  maxResultBytes: 1024 * 1024,
  maxConsoleBytes: 16 * 1024,
  maxJsonDepth: 64,
});
