/**
 * Runs one request in a fresh QuickJS runtime and context, synchronously, on the calling thread. The worker
 * pool calls this inside a worker; nothing here knows about threads.
 *
 * Guarantees: a fresh runtime per run (nothing a run leaves behind is visible to the next), every handle
 * disposed before returning, and no exception for anything the guest does. It throws only for host faults
 * (a broken WASM module), after which the caller must discard the module.
 */
import {
  shouldInterruptAfterDeadline,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { buildGuestScript, DRIVER_FILE_NAME } from './guest-driver.js';
import type { RunLimits } from './limits.js';
import type { FailureKind, RunOutcome, RunRequest } from './outcome.js';

/** What a run produced, and whether the module may be used again. */
export interface RunReport {
  readonly outcome: RunOutcome;
  /**
   * False when disposing the runtime failed. QuickJS can leave objects alive after an interrupted job
   * queue or an out-of-memory unwind, and JS_FreeRuntime then aborts the whole WASM module; the caller
   * must discard the module (the worker asks the pool to replace it). The outcome is still correct.
   */
  readonly moduleHealthy: boolean;
}

/** Runs `request` under `limits` with the module's fresh runtime. Never throws for guest behaviour. */
export function runInQuickJS(
  module: QuickJSWASMModule,
  request: RunRequest,
  limits: RunLimits,
  now: () => number = Date.now,
): RunReport {
  const deadline = now() + limits.timeoutMs;
  const runtime = module.newRuntime({
    memoryLimitBytes: limits.memoryLimitBytes,
    maxStackSizeBytes: limits.maxStackSizeBytes,
    interruptHandler: shouldInterruptAfterDeadline(deadline),
  });
  let healthy = true;
  let outcome: RunOutcome;
  try {
    const context = runtime.newContext();
    try {
      outcome = runInContext(runtime, context, request, limits, () => now() >= deadline);
    } finally {
      try {
        context.dispose();
      } catch {
        healthy = false;
      }
    }
  } finally {
    if (healthy) {
      try {
        runtime.dispose();
      } catch {
        healthy = false;
      }
    }
  }
  return { outcome, moduleHealthy: healthy };
}

function runInContext(
  runtime: QuickJSRuntime,
  context: QuickJSContext,
  request: RunRequest,
  limits: RunLimits,
  timedOut: () => boolean,
): RunOutcome {
  const script = buildGuestScript(request.code, request.entry, limits);
  const evaluated = context.evalCode(script, DRIVER_FILE_NAME);
  if (evaluated.error) {
    using error = evaluated.error;
    return failureFromGuestError(context, error, timedOut(), []);
  }
  using runner = evaluated.value;
  using input = context.newString(request.inputJson);
  const called = context.callFunction(runner, context.undefined, input);
  if (called.error) {
    using error = called.error;
    return failureFromGuestError(context, error, timedOut(), []);
  }
  using promise = called.value;

  // Drive the job queue until the run's promise settles. executePendingJobs reports success even when it
  // was interrupted, so the promise's own state decides, and the clock decides between "still running"
  // and "out of time".
  for (;;) {
    const jobs = runtime.executePendingJobs();
    if (jobs.error) {
      using error = jobs.error;
      return failureFromGuestError(context, error, timedOut(), []);
    }
    const state = context.getPromiseState(promise);
    if (state.type === 'fulfilled') {
      using value = state.value;
      return readEnvelope(context, value);
    }
    if (state.type === 'rejected') {
      using error = state.error;
      return failureFromGuestError(context, error, timedOut(), []);
    }
    if (timedOut()) return timeoutOutcome();
    if (!runtime.hasPendingJob()) {
      // There are no timers or I/O in the sandbox: with an empty job queue nothing can ever settle it.
      return {
        ok: false,
        kind: 'timeout',
        message:
          'the tool returned a promise that can never settle (the sandbox has no timers or I/O; every await must resolve from computation)',
        logs: [],
      };
    }
  }
}

/** The driver resolves to a JSON envelope string; anything else means the guest tampered with it. */
function readEnvelope(context: QuickJSContext, value: QuickJSHandle): RunOutcome {
  if (context.typeof(value) !== 'string') {
    return {
      ok: false,
      kind: 'not_json',
      message: 'the tool interfered with the result envelope',
      logs: [],
    };
  }
  let envelope: unknown;
  try {
    envelope = JSON.parse(context.getString(value));
  } catch {
    return {
      ok: false,
      kind: 'not_json',
      message: 'the tool interfered with the result envelope',
      logs: [],
    };
  }
  return parseEnvelope(envelope);
}

/** Validates the envelope's shape on the host side; the guest could have replaced JSON.stringify. */
export function parseEnvelope(envelope: unknown): RunOutcome {
  if (typeof envelope !== 'object' || envelope === null) {
    return {
      ok: false,
      kind: 'not_json',
      message: 'the tool interfered with the result envelope',
      logs: [],
    };
  }
  const e = envelope as Record<string, unknown>;
  const logs = Array.isArray(e['logs']) ? e['logs'].filter((l) => typeof l === 'string') : [];
  if (e['ok'] === true && typeof e['json'] === 'string') return { ok: true, json: e['json'], logs };
  const error = (typeof e['error'] === 'object' && e['error'] !== null ? e['error'] : {}) as Record<
    string,
    unknown
  >;
  const name = typeof error['name'] === 'string' ? error['name'] : 'Error';
  const message = typeof error['message'] === 'string' ? error['message'] : '';
  if (e['kind'] === 'not_json') return { ok: false, kind: 'not_json', message, logs };
  const kind = classify(name, message, false);
  return { ok: false, kind, message: describeFailure(kind, name, message), logs };
}

function failureFromGuestError(
  context: QuickJSContext,
  error: QuickJSHandle,
  timedOut: boolean,
  logs: readonly string[],
): RunOutcome {
  let name = 'Error';
  let message = '';
  try {
    const dumped: unknown = context.dump(error);
    if (typeof dumped === 'object' && dumped !== null) {
      const d = dumped as Record<string, unknown>;
      name = typeof d['name'] === 'string' ? d['name'] : name;
      message = typeof d['message'] === 'string' ? d['message'] : JSON.stringify(d);
    } else {
      // Out-of-memory can surface as a bare value, even "": format defensively.
      name = typeof dumped;
      message = String(dumped);
    }
  } catch {
    message = '';
  }
  const kind = classify(name, message, timedOut);
  return { ok: false, kind, message: describeFailure(kind, name, message), logs };
}

/** Maps QuickJS's error names and messages onto our failure kinds. */
function classify(name: string, message: string, timedOut: boolean): FailureKind {
  if (name === 'InternalError' && message === 'interrupted') return 'timeout';
  if (timedOut) return 'timeout';
  if (/out of memory/i.test(message) || (name !== 'Error' && message === '')) return 'memory';
  if (/stack overflow|maximum call stack/i.test(message)) return 'stack';
  return 'threw';
}

function describeFailure(kind: FailureKind, name: string, message: string): string {
  switch (kind) {
    case 'timeout':
      return 'the tool ran past its time limit and was stopped';
    case 'memory':
      return 'the tool ran past its memory limit and was stopped';
    case 'stack':
      return 'the tool ran past its stack limit (runaway recursion?) and was stopped';
    default:
      return name && name !== 'Error' && !message.startsWith(name)
        ? `${name}: ${message}`
        : message;
  }
}

function timeoutOutcome(): RunOutcome {
  return {
    ok: false,
    kind: 'timeout',
    message: 'the tool ran past its time limit and was stopped',
    logs: [],
  };
}
