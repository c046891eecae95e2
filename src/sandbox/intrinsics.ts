/**
 * Which QuickJS built-ins a tool's context gets. Creating a context is the largest fixed cost of a call
 * (~110 µs of ~220 µs on this machine kind), and half of it goes to built-ins most tools never name: typed
 * arrays alone take ~30 µs, Proxy ~10, String.prototype.normalize and localeCompare ~7, Date ~3. A tool gets
 * each of those only if its code names it (test/sandbox/intrinsics.test.ts checks that every property each
 * set adds is reached through a name detected here).
 *
 * Detection reads the compiled code for the names. It can only err by giving a tool too much (a name in a
 * string or a comment); a tool that reaches a built-in without naming it (`globalThis["Da" + "te"]`) finds
 * it missing, a fault of its own making, never one that widens what the sandbox offers. Everything
 * toolsmith's own guest scripts use (JSON, Promise, Map, RegExp, Error and the base objects) is always there.
 */
import { DefaultIntrinsics, type ContextOptions } from 'quickjs-emscripten';

/** The built-ins given only to code that names them. */
const OPTIONAL = [
  {
    intrinsic: 'TypedArrays',
    named:
      /\b(?:ArrayBuffer|SharedArrayBuffer|DataView|Atomics|(?:Big)?U?[Ii]nt\d+Array|Uint8ClampedArray|Float\d+Array)\b/,
  },
  { intrinsic: 'Proxy', named: /\bProxy\b/ },
  // QuickJS adds String.prototype.localeCompare with normalize.
  { intrinsic: 'StringNormalize', named: /\b(?:normalize|localeCompare)\b/ },
  { intrinsic: 'Date', named: /\bDate\b/ },
] as const;

/** Built-ins quickjs-emscripten offers only in its full default context (no intrinsics option). */
const ONLY_IN_FULL_CONTEXT = /\b(?:WeakRef|FinalizationRegistry)\b/;

/**
 * A set of optional built-ins as a bit mask over OPTIONAL, or FULL_CONTEXT for QuickJS's complete
 * default context. Plain numbers, so sandboxes prepared ahead can be matched to requests cheaply.
 */
export type IntrinsicSet = number;
export const FULL_CONTEXT: IntrinsicSet = -1;

/** The built-ins a context for `code` needs. */
export function intrinsicsFor(code: string): IntrinsicSet {
  if (ONLY_IN_FULL_CONTEXT.test(code)) return FULL_CONTEXT;
  let set = 0;
  OPTIONAL.forEach(({ named }, bit) => {
    if (named.test(code)) set |= 1 << bit;
  });
  return set;
}

const optionsBySet = new Map<IntrinsicSet, ContextOptions>();

/** `runtime.newContext` options for `set` (undefined: the full default context). */
export function contextOptions(set: IntrinsicSet): ContextOptions | undefined {
  if (set === FULL_CONTEXT) return undefined;
  let options = optionsBySet.get(set);
  if (!options) {
    const intrinsics: Record<string, boolean> = { ...DefaultIntrinsics };
    OPTIONAL.forEach(({ intrinsic }, bit) => {
      intrinsics[intrinsic] = (set & (1 << bit)) !== 0;
    });
    options = Object.freeze({ intrinsics: Object.freeze(intrinsics) });
    optionsBySet.set(set, options);
  }
  return options;
}
