/**
 * Builds the script a fresh QuickJS context evaluates for one run. Everything here runs *inside* the guest:
 * the host hands in nothing but one string (the argument as JSON text) and takes out one string (a JSON
 * envelope). No host function, object or prototype ever crosses, so getters, Proxies, `toJSON` tricks and
 * prototype pollution can only act on the guest's own heap.
 */
import type { RunLimits } from './limits.js';

/** Identifier of the entry function the host calls; guest code cannot collide with it (see the IIFE). */
export const DRIVER_FILE_NAME = 'tool.js';

/**
 * Returns guest JavaScript that evaluates to a function `(inputJson) => Promise<string>`; the string is a
 * JSON envelope `{ ok: true, json, logs } | { ok: false, error: { name, message }, kind?, logs }`.
 *
 * The intrinsics the driver needs are captured before tool code runs, so a tool that replaces
 * `JSON.stringify` or `Array.prototype.push` can only corrupt its own answer, never the envelope's shape
 * as the host reads it (the host re-validates the envelope anyway).
 */
export function buildGuestScript(code: string, entry: string, limits: RunLimits): string {
  // `entry` is a validated identifier (^[a-z][a-z0-9_]*$), safe to splice; `code` is compiler output
  // spliced into a function body, so its declarations stay local to that function.
  return `(function () {
"use strict";
const __ts_parse = JSON.parse, __ts_stringify = JSON.stringify, __ts_isArray = Array.isArray;
const __ts_getProto = Object.getPrototypeOf, __ts_ObjectProto = Object.prototype, __ts_keys = Object.keys;
const __ts_ArrayProto = Array.prototype, __ts_isFinite = Number.isFinite, __ts_String = String;
const __ts_Promise = Promise, __ts_then = Promise.prototype.then, __ts_Error = Error;
const __ts_define = Object.defineProperty, __ts_DateProto = Date.prototype, __ts_toISO = Date.prototype.toISOString;
const __ts_MAX_CONSOLE = ${limits.maxConsoleBytes}, __ts_MAX_RESULT = ${limits.maxResultBytes}, __ts_MAX_DEPTH = ${limits.maxJsonDepth};
const __ts_logs = [];
let __ts_logBytes = 0, __ts_logFull = false;
function __ts_show(v) {
  if (typeof v === "string") return v;
  try { const s = __ts_stringify(v); return s === undefined ? __ts_String(v) : s; } catch (e) {
    try { return __ts_String(v); } catch (e2) { return "[unprintable]"; } }
}
function __ts_capture(level) {
  return function () {
    if (__ts_logFull) return;
    let line = level === "log" ? "" : level + ": ";
    for (let i = 0; i < arguments.length; i++) line += (i ? " " : "") + __ts_show(arguments[i]);
    if (__ts_logBytes + line.length + 1 > __ts_MAX_CONSOLE) {
      __ts_logs[__ts_logs.length] = "[console output truncated at " + __ts_MAX_CONSOLE + " bytes]";
      __ts_logFull = true;
      return;
    }
    __ts_logBytes += line.length + 1;
    __ts_logs[__ts_logs.length] = line;
  };
}
globalThis.console = { log: __ts_capture("log"), info: __ts_capture("info"), warn: __ts_capture("warn"),
  error: __ts_capture("error"), debug: __ts_capture("debug") };
function __ts_NotJson(message) { this.message = message; }
function __ts_check(v, path, depth, seen) {
  if (v === null || typeof v === "string" || typeof v === "boolean") return v;
  if (typeof v === "number") {
    if (!__ts_isFinite(v)) throw new __ts_NotJson(path + " is " + __ts_String(v) + ", which JSON cannot represent");
    return v;
  }
  if (typeof v === "undefined") throw new __ts_NotJson(path === "the result" ? "the tool returned undefined; did it forget to return a value?" : path + " is undefined; JSON has no undefined (use null)");
  if (typeof v !== "object") throw new __ts_NotJson(path + " is a " + typeof v + ", which JSON cannot represent");
  if (depth >= __ts_MAX_DEPTH) throw new __ts_NotJson(path + " nests deeper than " + __ts_MAX_DEPTH + " levels");
  if (seen.indexOf(v) !== -1) throw new __ts_NotJson(path + " is a cycle back to an enclosing object");
  const proto = __ts_getProto(v);
  if (proto === __ts_DateProto) return __ts_toISO.call(v);
  seen[seen.length] = v;
  let out;
  if (__ts_isArray(v) && proto === __ts_ArrayProto) {
    out = [];
    for (let i = 0; i < v.length; i++) out[i] = __ts_check(v[i], path + "[" + i + "]", depth + 1, seen);
  } else if (proto === __ts_ObjectProto || proto === null) {
    out = {};
    const keys = __ts_keys(v);
    for (let i = 0; i < keys.length; i++) {
      const k = keys[i], item = v[k];
      if (item === undefined) continue; // JSON leaves undefined properties out; so do we (documented)
      __ts_define(out, k, { value: __ts_check(item, path + "." + k, depth + 1, seen), enumerable: true, writable: true, configurable: true });
    }
  } else {
    let kind = "object";
    try { kind = (v.constructor && typeof v.constructor.name === "string") ? v.constructor.name : kind; } catch (e) {}
    throw new __ts_NotJson(path + " is a " + kind + ", not a plain object or array; convert it (for example with Object.fromEntries or Array.from)");
  }
  seen.length = seen.length - 1;
  return out;
}
function __ts_describe(e) {
  if (e instanceof __ts_NotJson) return { notJson: true, name: "NotJson", message: e.message };
  try {
    if (e instanceof __ts_Error) return { name: __ts_String(e.name), message: __ts_String(e.message) };
    if (e === null || typeof e !== "object") return { name: typeof e, message: __ts_String(e) };
    return { name: typeof e, message: __ts_show(e) };
  } catch (inner) { return { name: "Error", message: "[a thrown value that cannot be printed]" }; }
}
const __ts_fn = (function () {
const exports = {}; const module = { exports: exports };
${code}
;return ${entry};
})();
return function (inputJson) {
  return __ts_then.call(__ts_then.call(__ts_Promise.resolve(undefined), function () { return __ts_fn(__ts_parse(inputJson)); }),
    function (value) {
      let json;
      try { json = __ts_stringify(__ts_check(value, "the result", 0, [])); }
      catch (e) { return __ts_stringify({ ok: false, kind: "not_json", error: __ts_describe(e), logs: __ts_logs }); }
      if (json.length > __ts_MAX_RESULT) return __ts_stringify({ ok: false, kind: "not_json", error: { name: "TooLarge", message: "the result is " + json.length + " characters of JSON, over the " + __ts_MAX_RESULT + " limit" }, logs: __ts_logs });
      return __ts_stringify({ ok: true, json: json, logs: __ts_logs });
    },
    function (e) { const d = __ts_describe(e); return __ts_stringify({ ok: false, kind: d.notJson ? "not_json" : undefined, error: d, logs: __ts_logs }); });
};
})()`;
}
