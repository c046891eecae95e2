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
import {
  buildDriverScript,
  buildToolScript,
  DRIVER_FILE_NAME,
  MAX_ERROR_CHARS,
  GUEST_TOOL_FILE_NAME,
} from './guest-driver.js';
import { jsonDepth } from '../json-depth.js';
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
  const fail = (error: QuickJSHandle): RunOutcome =>
    failureFromGuestError(context, error, timedOut());
  // The driver goes first: it captures intrinsics before tool code can touch them (see guest-driver.ts).
  const driver = context.evalCode(buildDriverScript(limits), DRIVER_FILE_NAME);
  if (driver.error) {
    using error = driver.error;
    return fail(error);
  }
  using runner = driver.value;
  const tool = context.evalCode(buildToolScript(request.code, request.entry), GUEST_TOOL_FILE_NAME);
  if (tool.error) {
    using error = tool.error;
    return fail(error);
  }
  using entry = tool.value;
  using input = context.newString(request.inputJson);
  const called = context.callFunction(runner, context.undefined, entry, input);
  if (called.error) {
    using error = called.error;
    return fail(error);
  }
  using promise = called.value;

  // Drive the job queue until the run's promise settles. executePendingJobs reports success even when it
  // was interrupted, so the promise's own state decides, and the clock decides between "still running"
  // and "out of time".
  for (;;) {
    const jobs = runtime.executePendingJobs();
    if (jobs.error) {
      using error = jobs.error;
      return fail(error);
    }
    const state = context.getPromiseState(promise);
    if (state.type === 'fulfilled') {
      // The runner always returns a promise; anything else means the guest subverted the driver. The
      // state then holds the very same handle as `promise`, which must not be disposed twice.
      if (state.notAPromise) return TAMPERED;
      using value = state.value;
      const outcome = readEnvelope(context, value, limits);
      // An interrupt can surface inside the guest as an odd error its handlers then report; past the
      // deadline, any failure is the time limit.
      return !outcome.ok && timedOut() ? timeoutOutcome(outcome.logs) : outcome;
    }
    if (state.type === 'rejected') {
      using error = state.error;
      return fail(error);
    }
    if (timedOut()) return timeoutOutcome([]);
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

const TAMPERED: RunOutcome = {
  ok: false,
  kind: 'not_json',
  message: 'the tool interfered with the result envelope',
  logs: [],
};

/** The driver resolves to a JSON envelope string; anything else means the guest tampered with it. */
function readEnvelope(
  context: QuickJSContext,
  value: QuickJSHandle,
  limits: RunLimits,
): RunOutcome {
  if (context.typeof(value) !== 'string') return TAMPERED;
  const text = context.getString(value);
  // The envelope holds the result, the logs and an error text, each capped in the guest; allow for JSON
  // escaping, and refuse anything bigger outright rather than parse it.
  if (
    text.length >
    2 * (limits.maxResultBytes + limits.maxConsoleBytes) + 4 * MAX_ERROR_CHARS + 1024
  ) {
    return {
      ok: false,
      kind: 'not_json',
      message: `the result is over the ${limits.maxResultBytes}-character limit`,
      logs: [],
    };
  }
  let envelope: unknown;
  try {
    envelope = JSON.parse(text);
  } catch {
    return TAMPERED;
  }
  return parseEnvelope(envelope, limits);
}

/**
 * Validates the envelope on the host side and re-applies every cap: the guest could have subverted its
 * own driver, so nothing in the envelope is trusted beyond its shape.
 */
export function parseEnvelope(envelope: unknown, limits: RunLimits): RunOutcome {
  if (typeof envelope !== 'object' || envelope === null) return TAMPERED;
  const e = envelope as Record<string, unknown>;
  const logs = capLogs(Array.isArray(e['logs']) ? e['logs'] : [], limits.maxConsoleBytes);
  if (e['ok'] === true && typeof e['json'] === 'string') {
    const json = e['json'];
    if (json.length > limits.maxResultBytes) {
      return {
        ok: false,
        kind: 'not_json',
        message: `the result is over the ${limits.maxResultBytes}-character limit`,
        logs,
      };
    }
    let value: unknown;
    try {
      value = JSON.parse(json);
    } catch {
      return { ...TAMPERED, logs };
    }
    // The driver caps depth, but a subverted driver could hand back anything: check again, iteratively.
    if (jsonDepth(value, limits.maxJsonDepth) > limits.maxJsonDepth) {
      return {
        ok: false,
        kind: 'not_json',
        message: `the result nests deeper than ${limits.maxJsonDepth} levels`,
        logs,
      };
    }
    return { ok: true, json, logs };
  }
  const name = capText(typeof e['name'] === 'string' ? e['name'] : 'Error', 200);
  const message = capText(typeof e['message'] === 'string' ? e['message'] : '', MAX_ERROR_CHARS);
  if (e['kind'] === 'not_json') return { ok: false, kind: 'not_json', message, logs };
  const kind = classify(name, message, false);
  return { ok: false, kind, message: describeFailure(kind, name, message), logs };
}

function capText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (truncated)` : text;
}

function capLogs(lines: readonly unknown[], maxBytes: number): string[] {
  const out: string[] = [];
  let used = 0;
  for (const line of lines) {
    if (typeof line !== 'string') continue;
    if (used + line.length + 1 > maxBytes) {
      out.push(`[console output truncated at ${maxBytes} bytes]`);
      break;
    }
    used += line.length + 1;
    out.push(line);
  }
  return out;
}

/**
 * Reads a guest exception without running guest code and without `dump` (which can dispose handles it
 * was given, e.g. a thrown Promise): only `name` and `message` of an object, or the primitive itself.
 */
function failureFromGuestError(
  context: QuickJSContext,
  error: QuickJSHandle,
  timedOut: boolean,
): RunOutcome {
  let name = 'Error';
  let message = '';
  try {
    const type = context.typeof(error);
    if (type === 'object' || type === 'function') {
      const read = (key: string): string | undefined => {
        const property = context.getProp(error, key);
        try {
          return context.typeof(property) === 'string' ? context.getString(property) : undefined;
        } finally {
          property.dispose();
        }
      };
      const n = read('name');
      const m = read('message');
      if (n === undefined && m === undefined) {
        // null (QuickJS throws it when even the error object cannot be allocated) or a plain object.
        name = 'object';
        message =
          context.typeof(error) === 'object' && isNull(context, error) ? 'null' : '[object]';
      } else {
        name = n ?? 'Error';
        message = m ?? '';
      }
    } else {
      name = type;
      message =
        type === 'string'
          ? context.getString(error)
          : type === 'number'
            ? String(context.getNumber(error))
            : type;
    }
  } catch {
    // Reading the error ran out of memory or time itself: the classification below still applies.
    message = '';
  }
  name = capText(name, 200);
  message = capText(message, MAX_ERROR_CHARS);
  const kind = classify(name, message, timedOut);
  return { ok: false, kind, message: describeFailure(kind, name, message), logs: [] };
}

function isNull(context: QuickJSContext, handle: QuickJSHandle): boolean {
  return context.sameValue(handle, context.null);
}

/** Maps QuickJS's error names and messages onto our failure kinds. */
function classify(name: string, message: string, timedOut: boolean): FailureKind {
  if (name === 'InternalError' && message === 'interrupted') return 'timeout';
  if (timedOut) return 'timeout';
  // QuickJS raises its own limits as InternalError; a plain Error whose text mentions memory is the tool's.
  if (name === 'InternalError' && /out of memory/i.test(message)) return 'memory';
  // Out of memory can surface as a bare null or "" when QuickJS cannot even allocate the error object. A
  // guest that throws null or "" on purpose is misreported as out of memory: only its own answer suffers.
  if ((name === 'object' && message === 'null') || (name === 'string' && message === ''))
    return 'memory';
  // QuickJS's own message is exactly "stack overflow" (an InternalError, or a SyntaxError from JSON.parse).
  if ((name === 'InternalError' || name === 'SyntaxError') && message === 'stack overflow')
    return 'stack';
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

function timeoutOutcome(logs: readonly string[]): RunOutcome {
  return {
    ok: false,
    kind: 'timeout',
    message: 'the tool ran past its time limit and was stopped',
    logs,
  };
}
