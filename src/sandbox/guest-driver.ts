/**
 * The guest side of a run. Everything here runs *inside* QuickJS: the host hands in one string (the
 * argument as JSON text) and takes out one string (a JSON envelope). No host function, object or prototype
 * ever crosses, so getters, Proxies, `toJSON` tricks and prototype pollution can only act on the guest's
 * own heap, and the host re-validates and re-caps everything it reads (see run.ts).
 *
 * A run evaluates two scripts in one fresh context:
 * 1. the driver, first, so it captures the intrinsics it needs before any tool code can replace them, and
 *    installs the captured `console`; it evaluates to `runner(toolFunction, inputJson) -> Promise<string>`;
 * 2. the tool, as a separate global script, so that even a direct `eval` inside tool code cannot see the
 *    driver's closure (its log buffer, its caps); it evaluates to the tool's entry function.
 */
import type { RunLimits } from './limits.js';

export const DRIVER_FILE_NAME = 'toolsmith-driver.js';
export const GUEST_TOOL_FILE_NAME = 'tool.js';

/** Longest error name or message the guest reports (the host caps again). */
export const MAX_ERROR_CHARS = 2000;

/**
 * The driver script. The envelope it resolves to is built by string concatenation from primitives, never by
 * `JSON.stringify` of an object, so `Object.prototype.toJSON` or `Array.prototype.toJSON` set by the tool
 * cannot reshape it; the result value itself is serialised by the driver's own walker for the same reason.
 */
export function buildDriverScript(limits: RunLimits): string {
  return `(function () {
"use strict";
const stringify = JSON.stringify, parse = JSON.parse, isArray = Array.isArray, getProto = Object.getPrototypeOf;
const ObjectProto = Object.prototype, ArrayProto = Array.prototype, DateProto = Date.prototype;
const keysOf = Object.keys, isFinite_ = Number.isFinite, String_ = String, Error_ = Error;
// Reflect.apply is captured so no call below looks anything up on Function.prototype at run time.
const toISO = Date.prototype.toISOString, apply = Reflect.apply, resolve = Promise.resolve.bind(Promise);
const then = Promise.prototype.then, slice = String.prototype.slice, Set_ = Set;
const setHas = Set.prototype.has, setAdd = Set.prototype.add, setDelete = Set.prototype.delete;
const MAX_CONSOLE = ${limits.maxConsoleBytes}, MAX_RESULT = ${limits.maxResultBytes}, MAX_DEPTH = ${limits.maxJsonDepth}, MAX_ERROR = ${MAX_ERROR_CHARS};
// Log lines are kept as JSON text, not in an array: an index setter on Array.prototype cannot see them.
let logsText = "", logCount = 0, logBytes = 0, logFull = false;
function cap(text, max) { text = String_(text); return text.length > max ? apply(slice, text, [0, max]) + "… (truncated)" : text; }
function show(v) {
  if (typeof v === "string") return v;
  try { const s = stringify(v); return s === undefined ? String_(v) : s; } catch (e) {
    try { return String_(v); } catch (e2) { return "[unprintable]"; } }
}
function capture(level) {
  return function () {
    if (logFull) return;
    let line = level === "log" ? "" : level + ": ";
    for (let i = 0; i < arguments.length && line.length <= MAX_CONSOLE; i++) line += (i ? " " : "") + show(arguments[i]);
    if (logBytes + line.length + 1 > MAX_CONSOLE) {
      logsText += (logCount++ ? "," : "") + stringify("[console output truncated at " + MAX_CONSOLE + " bytes]");
      logFull = true;
      return;
    }
    logBytes += line.length + 1;
    logsText += (logCount++ ? "," : "") + stringify(line);
  };
}
globalThis.console = { log: capture("log"), info: capture("info"), warn: capture("warn"), error: capture("error"), debug: capture("debug") };
function NotJson(message) { this.message = message; }
function pathKey(path, key) { return path + "." + cap(key, 60); }
// Serialises a JSON value to text, refusing everything JSON cannot represent; stops early past MAX_RESULT.
function encode(v, path, depth, seen, budget) {
  if (v === null) return "null";
  if (typeof v === "string" || typeof v === "boolean") return stringify(v);
  if (typeof v === "number") {
    if (!isFinite_(v)) throw new NotJson(path + " is " + String_(v) + ", which JSON cannot represent");
    return stringify(v);
  }
  if (typeof v === "undefined") throw new NotJson(path === "the result" ? "the tool returned undefined; did it forget to return a value?" : path + " is undefined; JSON has no undefined (use null)");
  if (typeof v !== "object") throw new NotJson(path + " is a " + typeof v + ", which JSON cannot represent");
  if (depth >= MAX_DEPTH) throw new NotJson(path + " nests deeper than " + MAX_DEPTH + " levels");
  if (apply(setHas, seen, [v])) throw new NotJson(path + " is a cycle back to an enclosing object");
  const proto = getProto(v);
  if (proto === DateProto) return stringify(apply(toISO, v, []));
  apply(setAdd, seen, [v]);
  let out;
  if (isArray(v) && proto === ArrayProto) {
    out = "[";
    for (let i = 0; i < v.length; i++) {
      out += (i ? "," : "") + encode(v[i], path + "[" + i + "]", depth + 1, seen, budget);
      if (out.length > budget.left) throw new NotJson("the result is over the " + MAX_RESULT + "-character limit");
    }
    out += "]";
  } else if (proto === ObjectProto || proto === null) {
    out = "{";
    const keys = keysOf(v);
    let first = true;
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i], item = v[k];
      if (item === undefined) continue; // JSON leaves undefined properties out; so do we (documented)
      out += (first ? "" : ",") + stringify(String_(k)) + ":" + encode(item, pathKey(path, k), depth + 1, seen, budget);
      first = false;
      if (out.length > budget.left) throw new NotJson("the result is over the " + MAX_RESULT + "-character limit");
    }
    out += "}";
  } else {
    let kind = "object";
    try { kind = (v.constructor && typeof v.constructor.name === "string") ? cap(v.constructor.name, 60) : kind; } catch (e) {}
    throw new NotJson(path + " is a " + kind + ", not a plain object or array; convert it (for example with Object.fromEntries or Array.from)");
  }
  apply(setDelete, seen, [v]);
  return out;
}
function describe(e) {
  if (e instanceof NotJson) return { kind: "not_json", name: "NotJson", message: cap(e.message, MAX_ERROR) };
  try {
    if (e instanceof Error_) return { kind: "", name: cap(e.name, 200), message: cap(e.message, MAX_ERROR) };
    if (e === null || typeof e !== "object") return { kind: "", name: typeof e, message: cap(String_(e), MAX_ERROR) };
    return { kind: "", name: typeof e, message: cap(show(e), MAX_ERROR) };
  } catch (inner) { return { kind: "", name: "Error", message: "[a thrown value that cannot be printed]" }; }
}
function logsJson() { return "[" + logsText + "]"; }
function failure(d) {
  return '{"ok":false,"kind":' + stringify(d.kind) + ',"name":' + stringify(String_(d.name)) + ',"message":' + stringify(String_(d.message)) + ',"logs":' + logsJson() + "}";
}
return function runner(fn, inputJson) {
  const started = apply(then, resolve(undefined), [function () { return fn(parse(inputJson)); }]);
  return apply(then, started, [
    function (value) {
      let json;
      try { json = encode(value, "the result", 0, new Set_(), { left: MAX_RESULT }); }
      catch (e) {
        // A getter or Proxy trap that throws while the result is read: the result cannot become JSON.
        const d = describe(e);
        return failure(d.kind === "not_json" ? d : { kind: "not_json", name: "NotJson", message: "reading the result threw " + d.name + ": " + d.message });
      }
      return '{"ok":true,"json":' + stringify(json) + ',"logs":' + logsJson() + "}";
    },
    function (e) { return failure(describe(e)); }]);
};
})()`;
}

/**
 * The tool script: the compiled code in a function scope of its own (its declarations stay local), in
 * strict mode, evaluating to the entry function. `entry` is a validated identifier (^[a-z][a-z0-9_]*$).
 */
export function buildToolScript(code: string, entry: string): string {
  return `(function (exports) {
${code}
;return ${entry};
}).call(undefined, {})`;
}
