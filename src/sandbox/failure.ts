/**
 * How a run's end becomes a RunOutcome: the limits' own outcomes, the host's re-check of the encoder's
 * JSON text, reading a thrown value without running guest code, and QuickJS's errors mapped onto failure
 * kinds with their messages.
 */
import type { QuickJSContext, QuickJSHandle } from 'quickjs-emscripten';
import { MAX_ERROR_CHARS } from './guest-driver.js';
import { jsonDepth } from '../json-depth.js';
import type { RunLimits } from './limits.js';
import type { FailureKind, RunOutcome } from './outcome.js';

/** A run stopped at one of its limits, with the same wording as a limit QuickJS reports itself. */
function stoppedAt(kind: 'memory' | 'timeout'): RunOutcome {
  return Object.freeze({ ok: false, kind, message: describeFailure(kind, '', ''), logs: [] });
}
export const MEMORY = stoppedAt('memory');
export const TIMEOUT = stoppedAt('timeout');

export const TAMPERED: RunOutcome = {
  ok: false,
  kind: 'not_json',
  message: 'the tool interfered with the result encoding',
  logs: [],
};

/**
 * Checks the encoder's JSON text on the host side and re-applies the caps: the guest could have subverted
 * its encoder, so nothing it hands back is trusted beyond being a string.
 */
export function acceptResultJson(json: string, limits: RunLimits): RunOutcome {
  if (json.length > limits.maxResultBytes) {
    return {
      ok: false,
      kind: 'not_json',
      message: `the result is over the ${limits.maxResultBytes}-character limit`,
      logs: [],
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return TAMPERED;
  }
  // The encoder caps depth, but a subverted one could hand back anything: check again, iteratively.
  if (jsonDepth(value, limits.maxJsonDepth) > limits.maxJsonDepth) {
    return {
      ok: false,
      kind: 'not_json',
      message: `the result nests deeper than ${limits.maxJsonDepth} levels`,
      logs: [],
    };
  }
  return { ok: true, json, logs: [] };
}
export function capText(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (truncated)` : text;
}

export function capLogs(lines: readonly unknown[], maxBytes: number): string[] {
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
 * Reads a guest exception without running guest code: the primitive itself, or for an object only whether
 * it is null (QuickJS throws null when it cannot even allocate an error object).
 */
export function describeWithoutGuestCode(
  context: QuickJSContext,
  error: QuickJSHandle,
): { name: string; message: string } {
  try {
    const type = context.typeof(error);
    if (type === 'object')
      return { name: 'object', message: isNull(context, error) ? 'null' : '[object]' };
    if (type === 'string')
      return { name: type, message: capText(context.getString(error), MAX_ERROR_CHARS) };
    if (type === 'number') return { name: type, message: String(context.getNumber(error)) };
    return { name: type, message: type };
  } catch (fault) {
    // A trap or a host stack overflow inside the module is a host fault: the caller must drop the module
    // (its stack pointer may be anywhere), so it is never swallowed here.
    if (fault instanceof RangeError || (fault as Error | undefined)?.name === 'RuntimeError')
      throw fault;
    return { name: 'Error', message: '' };
  }
}

function isNull(context: QuickJSContext, handle: QuickJSHandle): boolean {
  return context.sameValue(handle, context.null);
}

/** Maps QuickJS's error names and messages onto our failure kinds. */
export function classify(name: string, message: string, timedOut: boolean): FailureKind {
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

export function describeFailure(kind: FailureKind, name: string, message: string): string {
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
