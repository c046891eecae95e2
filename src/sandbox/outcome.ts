/**
 * What a guest run produced. The sandbox never throws for guest behaviour: every way a guest can end is one
 * of these values (codemode's "should never throw" contract).
 */
export type FailureKind =
  /** The guest threw (or its promise rejected); `message` is the guest's own. */
  | 'threw'
  /** The run hit its time limit, or its promise can never settle. */
  | 'timeout'
  /** The run hit its memory limit. */
  | 'memory'
  /** The run hit its stack limit. */
  | 'stack'
  /** The guest returned something that is not JSON (undefined, NaN, a function, a cycle, a Map…) or too big. */
  | 'not_json'
  /** The sandbox itself failed (worker died, WASM fault); the run was abandoned and the sandbox replaced. */
  | 'crashed'
  /** The caller cancelled the run. */
  | 'cancelled';

export type RunOutcome =
  | { readonly ok: true; readonly json: string; readonly logs: readonly string[] }
  | {
      readonly ok: false;
      readonly kind: FailureKind;
      readonly message: string;
      readonly logs: readonly string[];
    };

/** One run: transpiled tool code, the name of its entry function and the argument as JSON text. */
export interface RunRequest {
  readonly code: string;
  readonly entry: string;
  readonly inputJson: string;
}
