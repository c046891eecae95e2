/**
 * The guest-side scripts of a run. Everything here runs *inside* QuickJS; no host function, object or
 * prototype ever crosses. The host passes strings in and reads strings (or a guest exception's `name` and
 * `message`) out, and it re-validates and re-caps everything it reads (see run.ts).
 *
 * A run evaluates, in one fresh context and in this order:
 * 1. before any tool code, while the built-ins are still the originals: the host reads the intrinsics the
 *    scripts need off the fresh global object (see `INTRINSICS`), and the encoder captures its own (see
 *    `buildEncoderScript`);
 * 2. the console, only when the tool's code mentions `console` (see `usesConsole`); it installs the captured
 *    console and evaluates to `drain() -> JSON text of the captured lines`;
 * 3. the tool, as a separate global script, so that even a direct `eval` inside tool code cannot see the
 *    encoder's or the console's closure; it evaluates to the tool's entry function;
 * 4. only when the run fails or its result needs a closer look, the failure script, which is handed the
 *    intrinsics from step 1 (see `buildFailureScript`).
 *
 * The host calls the entry function itself and settles its promise with QuickJS's own promise state, so no
 * guest-visible promise machinery sits between the tool and the host.
 *
 * QuickJS compiles every function eagerly (~55 µs per KiB of source here, the largest share of a call), so
 * what every call compiles is kept small; the console and the failure script are compiled only when needed.
 */
import type { RunLimits } from './limits.js';

export const ENCODER_FILE_NAME = 'toolsmith-encoder.js';
export const FAILURE_FILE_NAME = 'toolsmith-failure.js';
export const CONSOLE_FILE_NAME = 'toolsmith-console.js';
export const GUEST_TOOL_FILE_NAME = 'tool.js';

/** The `name` of the error the encoder throws for a result JSON cannot represent. */
export const NOT_JSON_NAME = 'ToolsmithNotJson';

/** Longest error name or message the guest reports (the host caps again). */
export const MAX_ERROR_CHARS = 2000;

/**
 * The intrinsics the failure script and the host use, each with its path from the global object. The host
 * reads them before any tool code runs (data properties of fresh built-ins: reading runs no guest code, and
 * costs ~4 µs, where a script capturing them cost ~20 µs to compile) and hands them to the failure script as
 * its parameters.
 */
export const INTRINSICS = [
  ['stringify', 'JSON.stringify'],
  ['parse', 'JSON.parse'],
  ['getProto', 'Object.getPrototypeOf'],
  ['isArray', 'Array.isArray'],
  ['isFinite_', 'Number.isFinite'],
  ['apply', 'Reflect.apply'],
  ['String_', 'String'],
  ['Map_', 'Map'],
  ['Error_', 'Error'],
  ['InternalErrorProto', 'InternalError.prototype'],
  ['Promise_', 'Promise'],
  ['resolve', 'Promise.resolve'],
  ['mapGet', 'Map.prototype.get'],
  ['mapSet', 'Map.prototype.set'],
  ['slice', 'String.prototype.slice'],
  ['ObjectProto', 'Object.prototype'],
  ['ArrayProto', 'Array.prototype'],
  ['fnToString', 'Function.prototype.toString'],
] as const;

export type IntrinsicName = (typeof INTRINSICS)[number][0];

/**
 * The encoder script, compiled into every context: QuickJS's native `JSON.stringify` with a small replacer
 * that accepts only what JSON represents as is. It evaluates to `encode`, where `encode(value)` returns the JSON text, or undefined when the value needs the failure script's detailed
 * check (anything JSON cannot carry, or a result over the size cap); it throws what reading the value threw.
 * It is kept this small because QuickJS compiles ~55 µs per KiB, on every call.
 */
export function buildEncoderScript(limits: RunLimits): string {
  return `(function () {
"use strict";
const stringify = JSON.stringify, getProto = Object.getPrototypeOf, isArray = Array.isArray, isFinite_ = Number.isFinite;
const ObjectProto = Object.prototype, ArrayProto = Array.prototype, MAX_RESULT = ${limits.maxResultBytes};
let first, stop;
function check(key, v) {
  const t = typeof v;
  if (t === "string" || t === "boolean" || (t === "number" && isFinite_(v))) { first = false; return v; }
  if (t === "object") {
    if (v === null) { first = false; return v; }
    const p = getProto(v);
    if (isArray(v) ? p === ArrayProto : p === ObjectProto || p === null) { first = false; return v; }
  } else if (t === "undefined" && !first && !isArray(this)) return v;
  throw (stop = {});
}
function encode(value) {
  first = true;
  stop = undefined;
  try { const json = stringify(value, check); return json.length > MAX_RESULT ? undefined : json; }
  catch (e) { if (e !== undefined && e === stop) return undefined; throw e; }
}
return encode;
})()`;
}

/**
 * The failure script, compiled only when a run fails or its result needs a closer look. It evaluates to a
 * factory taking the captured intrinsics (as parameters, in INTRINSICS order) and returning
 * `[detailed, describe]`:
 * - `detailed(value)`: the same encoding, refusing, with the path, everything JSON cannot represent
 *   (undefined in arrays, NaN, functions, symbols, BigInt, cycles, class instances, Maps, Sets), nesting
 *   past the depth limit and results over the size cap, where plain `JSON.stringify` would silently drop
 *   or convert it. `toJSON` applies as in JSON (a Date becomes its ISO string): the tool can only reshape
 *   its own result, and the host checks it against the declared type afterwards.
 * - `describe(thrown) -> JSON text of [name, message, refused]`: reads a thrown value inside the guest,
 *   where a hostile getter can only spend the guest's own budget; `refused` is true only for detailed()'s own
 *   refusals, recognised by identity.
 *
 * Refusals are thrown as object literals (define semantics: no setter on Object.prototype can intercept
 * them) and recognised by identity through closure variables, not by anything the tool could forge. The
 * script names no global: everything comes from the intrinsics captured before the tool ran.
 */
export function buildFailureScript(limits: RunLimits): string {
  return `(function (${INTRINSICS.map(([name]) => name).join(', ')}) {
"use strict";
const MAX_RESULT = ${limits.maxResultBytes}, MAX_DEPTH = ${limits.maxJsonDepth}, MAX_ERROR = ${MAX_ERROR_CHARS};
function cap(text, max) { text = String_(text); return text.length > max ? apply(slice, text, [0, max]) + "… (truncated)" : text; }
// Strings are serialised without a toJSON lookup, so this is the script's own text whatever the tool did.
function triple(name, message, refusal) { return "[" + stringify(name) + "," + stringify(message) + "," + (refusal ? "true" : "false") + "]"; }
function pair(name, message) { return triple(name, message, false); }
// The last refusal detailed() threw: describe recognises it by identity, which no tool can forge.
let refused;
function notJson(message) { refused = { message: cap(message, MAX_ERROR) }; return refused; }
function describe(e) {
  if (e !== undefined && e === refused) return triple("${NOT_JSON_NAME}", refused.message, true);
  try {
    if (e instanceof Error_) return pair(cap(e.name, 200), cap(e.message, MAX_ERROR));
    if (e === null || typeof e !== "object") return pair(typeof e, cap(String_(e), MAX_ERROR));
    let shown;
    try { shown = stringify(e); } catch (e2) {}
    return pair(typeof e, cap(shown === undefined ? String_(e) : shown, MAX_ERROR));
  } catch (inner) { return pair("Error", "[a thrown value that cannot be printed]"); }
}
function detailed(value) {
  // Each object on the way down: its path, its depth and its parent, for messages, the depth limit and cycles.
  const seen = new Map_();
  let refusal;
  function refuse(message) { refusal = message; throw refusal; }
  function replacer(key, v) {
    const holder = apply(mapGet, seen, [this]);
    const inArray = holder !== undefined && isArray(this);
    const path = holder === undefined ? "the result" : holder.path + (inArray ? "[" + key + "]" : "." + cap(key, 60));
    switch (typeof v) {
      case "string": case "boolean": return v;
      case "number": if (isFinite_(v)) return v; refuse(path + " is " + String_(v) + ", which JSON cannot represent");
      case "undefined":
        // JSON leaves undefined properties out; so do we (documented). Anywhere else it is a mistake.
        if (holder !== undefined && !inArray) return v;
        refuse(holder === undefined ? "the tool returned undefined; did it forget to return a value?" : path + " is undefined; JSON has no undefined (use null)");
      case "object": if (v === null) return v; break;
      default: refuse(path + " is a " + typeof v + ", which JSON cannot represent");
    }
    const depth = holder === undefined ? 0 : holder.depth + 1;
    if (depth >= MAX_DEPTH) refuse(path + " nests deeper than " + MAX_DEPTH + " levels");
    for (let up = holder; up !== undefined; up = up.up) if (up.value === v) refuse(path + " is a cycle back to an enclosing object");
    const proto = getProto(v);
    if (isArray(v) ? proto !== ArrayProto : proto !== ObjectProto && proto !== null) {
      let kind = "object";
      try { const c = v.constructor; if (c && typeof c.name === "string") kind = cap(c.name, 60); } catch (e) {}
      refuse(path + " is a " + kind + ", not a plain object or array; convert it (for example with Object.fromEntries or Array.from)");
    }
    apply(mapSet, seen, [v, { value: v, path: path, depth: depth, up: holder }]);
    return v;
  }
  let json;
  try { json = stringify(value, replacer); }
  catch (e) {
    if (refusal !== undefined) throw notJson(refusal);
    // Out of memory or stack: the host classifies QuickJS's own errors. (By prototype: instanceof would ask
    // a Symbol.hasInstance the tool may have defined.)
    if (e !== null && typeof e === "object" && getProto(e) === InternalErrorProto) throw e;
    // A getter, Proxy trap or toJSON that throws while the result is read: the result cannot become JSON.
    let what;
    try { what = e instanceof Error_ ? String_(e.name) + ": " + String_(e.message) : String_(e); } catch (e2) { what = "a value that cannot be printed"; }
    throw notJson("reading the result threw " + what);
  }
  if (json.length > MAX_RESULT) throw notJson("the result is over the " + MAX_RESULT + "-character limit");
  return json;
}
return [detailed, describe];
})`;
}

/** Whether the tool's code can reach the console: only then is the console compiled into its context. */
export function usesConsole(code: string): boolean {
  // Every ordinary use names it. A tool that assembles the name at run time finds no console: a
  // ReferenceError of its own making, nothing more.
  return code.includes('console');
}

/**
 * The console: each line is kept as JSON text in a string, not in an array (an index setter on
 * Array.prototype cannot see it), capped at `maxConsoleBytes` with a marker line.
 */
export function buildConsoleScript(limits: RunLimits): string {
  return `(function () {
"use strict";
const stringify = JSON.stringify, String_ = String, MAX = ${limits.maxConsoleBytes};
let text = "", count = 0, bytes = 0, full = false;
function show(v) {
  if (typeof v === "string") return v;
  try { const s = stringify(v); return s === undefined ? String_(v) : s; }
  catch (e) { try { return String_(v); } catch (e2) { return "[unprintable]"; } }
}
function capture(prefix) {
  return function () {
    if (full) return;
    let line = prefix;
    for (let i = 0; i < arguments.length && line.length <= MAX; i++) line += (i ? " " : "") + show(arguments[i]);
    if (bytes + line.length + 1 > MAX) { line = "[console output truncated at " + MAX + " bytes]"; full = true; }
    else bytes += line.length + 1;
    text += (count++ ? "," : "") + stringify(line);
  };
}
globalThis.console = { log: capture(""), info: capture("info: "), warn: capture("warn: "), error: capture("error: "), debug: capture("debug: ") };
return function drain() { return "[" + text + "]"; };
})()`;
}

/**
 * The tool's factory: the compiled code in a function scope of its own (its declarations stay local), in
 * strict mode, the function itself taking `exports`. Evaluating it compiles the tool and runs none of its
 * code; called with a fresh `exports` object, it runs the tool's top level and returns the entry function.
 * `entry` is a validated identifier (^[a-z][a-z0-9_]*$).
 */
export function buildToolFactoryScript(code: string, entry: string): string {
  return `(function (exports) {
${code}
;return ${entry};
})`;
}
