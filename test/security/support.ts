/**
 * Shared helpers of the adversarial security suite. Every case drives a real toolsmith (real compiler,
 * real QuickJS worker pool) through an SDK Client, and after every attack checks that the server still
 * answers a known-good tool correctly.
 */
import assert from 'node:assert/strict';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import {
  connectInMemory,
  textOf,
  type ConnectOptions,
  type Connected,
} from '../helpers/connect.js';

export { textOf };
export type { Connected };

/** The known-good control tool every file creates in `before`. */
export const PING = 'sec_ping';

const PING_SOURCE = `/** Doubles n and reports what the sandbox sees of the host's process object. */
export function sec_ping(input: { n: number }): { doubled: number; hostProcess: string } {
  return { doubled: input.n * 2, hostProcess: typeof Reflect.get(globalThis, 'process') };
}
`;

/** Connects a fresh server and registers the control tool. */
export async function openApp(options: ConnectOptions = {}): Promise<Connected> {
  // Attack tools are many near-copies on purpose (same shapes, similar descriptions): duplicate prevention
  // is covered by the lifecycle tests and would only get in the way here.
  const app = await connectInMemory({
    duplicateThreshold: 2,
    // Attacks fail on purpose, again and again: quarantine (tested in test/server/lifecycle) stays out of the way.
    quarantine: { consecutiveFailures: 1_000_000, window: 1_000_000 },
    ...options,
  });
  const created = await app.call('create_tool', {
    name: PING,
    description: 'Known-good control tool of the security suite.',
    source: PING_SOURCE,
    tests: [{ input: { n: 2 }, expected: { doubled: 4, hostProcess: 'undefined' } }],
  });
  assert.equal(created.isError, undefined, allText(created));
  return app;
}

let pingCounter = 0;

/** The server still answers: the control tool returns the right value for a fresh input. */
export async function assertHealthy(app: Connected): Promise<void> {
  const n = ++pingCounter + 0.25;
  const result = await app.call(PING, { n });
  assert.equal(
    result.isError,
    undefined,
    `the server no longer answers the control tool: ${allText(result).slice(0, 500)}`,
  );
  assert.deepEqual(JSON.parse(textOf(result)), { doubled: n * 2, hostProcess: 'undefined' });
  assert.deepEqual(result.structuredContent, { doubled: n * 2, hostProcess: 'undefined' });
}

/** Every text content item of a result, joined. */
export function allText(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join('\n');
}

/** A short excerpt for assertion messages (results can be megabytes long). */
export function excerpt(result: CallToolResult): string {
  const text = allText(result);
  return text.length > 600 ? `${text.slice(0, 600)}… (${text.length} chars)` : text;
}

/** A meta-tool refused the request at `stage` (one of `stages`), optionally with a message matching `pattern`. */
export function assertRefused(
  result: CallToolResult,
  stages: string | readonly string[],
  pattern?: RegExp,
): void {
  const allowed = typeof stages === 'string' ? [stages] : stages;
  assert.equal(
    result.isError,
    true,
    `expected a refusal at ${allowed.join('|')}, got: ${excerpt(result)}`,
  );
  const match = /refused at stage "([a-z]+)"/.exec(textOf(result));
  assert.ok(match, `the refusal names its stage: ${excerpt(result)}`);
  assert.ok(
    allowed.includes(match[1] ?? ''),
    `expected stage ${allowed.join('|')}, got "${match[1]}": ${excerpt(result)}`,
  );
  const structured = result.structuredContent as { stage?: unknown } | undefined;
  assert.equal(structured?.stage, match[1], 'structuredContent carries the same stage');
  if (pattern) assert.match(textOf(result), pattern);
}

/** A call of a dynamic tool (or run_tool) was refused before running, at `stage`. */
export function assertCallRefused(result: CallToolResult, stage: string, pattern?: RegExp): void {
  assert.equal(
    result.isError,
    true,
    `expected the call to be refused at ${stage}, got: ${excerpt(result)}`,
  );
  const text = textOf(result);
  assert.ok(text.includes(`✖ [${stage}]`), `expected a [${stage}] diagnostic: ${excerpt(result)}`);
  if (pattern) assert.match(text, pattern);
}

/** A dynamic tool ran and failed with one of `kinds` (timeout, memory, stack, not_json, threw, bad_result…). */
export function assertRunFailure(
  result: CallToolResult,
  kinds: string | readonly string[],
  pattern?: RegExp,
): void {
  const allowed = typeof kinds === 'string' ? [kinds] : kinds;
  assert.equal(
    result.isError,
    true,
    `expected a ${allowed.join('|')} failure, got: ${excerpt(result)}`,
  );
  const match = /^[a-z][a-z0-9_]* [^(]*\(([a-z_]+)\):/.exec(textOf(result));
  assert.ok(match, `the failure names its kind: ${excerpt(result)}`);
  assert.ok(
    allowed.includes(match[1] ?? ''),
    `expected kind ${allowed.join('|')}, got "${match[1]}": ${excerpt(result)}`,
  );
  if (pattern) assert.match(textOf(result), pattern);
}

/** A dynamic tool succeeded; returns its parsed JSON value. */
export function valueOf(result: CallToolResult): unknown {
  assert.equal(result.isError, undefined, `expected success, got: ${excerpt(result)}`);
  return JSON.parse(textOf(result));
}

/** Calls create_tool with a one-line description. */
export async function createTool(
  app: Connected,
  name: string,
  source: string,
  tests: readonly Record<string, unknown>[],
  description = `security suite tool ${name}`,
): Promise<CallToolResult> {
  return app.call('create_tool', { name, description, source, tests });
}

/** Calls create_tool and asserts the tool was published. */
export async function createOk(
  app: Connected,
  name: string,
  source: string,
  tests: readonly Record<string, unknown>[],
): Promise<void> {
  const created = await createTool(app, name, source, tests);
  assert.equal(created.isError, undefined, `expected ${name} to register: ${excerpt(created)}`);
}

/**
 * A tool that behaves on its tests (`mode` anything but "attack", returning `benign`) and runs `attack`
 * when called with `{ mode: "attack" }`: the only way a hostile tool gets past the tests stage.
 */
export function guarded(
  name: string,
  returnType: string,
  benign: string,
  attack: string,
  options: { async?: boolean; prelude?: string } = {},
): string {
  const signature = options.async
    ? `export async function ${name}(input: { mode: string }): Promise<${returnType}>`
    : `export function ${name}(input: { mode: string }): ${returnType}`;
  return `${options.prelude ?? ''}\n${signature} {\n  if (input.mode !== 'attack') return ${benign};\n  ${attack}\n}\n`;
}

/** Registers a guarded tool whose test expects `expected` on the benign path. */
export async function createGuarded(
  app: Connected,
  name: string,
  returnType: string,
  benign: string,
  expected: unknown,
  attack: string,
  options: { async?: boolean; prelude?: string } = {},
): Promise<void> {
  await createOk(app, name, guarded(name, returnType, benign, attack, options), [
    { input: { mode: 'test' }, expected },
  ]);
}

/** Calls a guarded tool on its attack path. */
export async function attack(app: Connected, name: string): Promise<CallToolResult> {
  return app.call(name, { mode: 'attack' });
}

/** Calls `name` and returns the McpError it is answered with (fails when the call resolves). */
export async function protocolError(
  app: Connected,
  name: string,
  args: Record<string, unknown>,
): Promise<{ code: number; message: string }> {
  try {
    const result = await app.call(name, args);
    assert.fail(`expected a protocol error, got a result: ${excerpt(result)}`);
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    const e = error as { code?: unknown; message?: unknown };
    return { code: typeof e.code === 'number' ? e.code : NaN, message: String(e.message) };
  }
}

/** A JSON value nested `depth` objects deep, built iteratively. */
export function nestedObject(depth: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}
