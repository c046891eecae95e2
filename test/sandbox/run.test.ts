import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { newQuickJSWASMModule, type QuickJSWASMModule } from 'quickjs-emscripten';
import { SandboxImage } from '../../src/sandbox/image.js';
import { DEFAULT_RUN_LIMITS, type RunLimits } from '../../src/sandbox/limits.js';
import type { RunOutcome, RunRequest } from '../../src/sandbox/outcome.js';
import { runInQuickJS } from '../../src/sandbox/run.js';

const LIMITS = {
  ...DEFAULT_RUN_LIMITS,
  timeoutMs: 200,
  memoryLimitBytes: 8 * 1024 * 1024,
  maxStackSizeBytes: 256 * 1024,
};

function tool(body: string, isAsync = false): string {
  return `${isAsync ? 'async ' : ''}function t(input) { ${body} }`;
}

type Runner = (request: RunRequest, limits: RunLimits) => Promise<RunOutcome>;

/** The two ways a run gets its sandbox; the same behaviour is asked of both. */
const BACKENDS: readonly { name: string; load: () => Promise<Runner> }[] = [
  {
    name: 'runInQuickJS: one fresh runtime per run',
    load: async () => {
      let module: QuickJSWASMModule = await newQuickJSWASMModule();
      return async (request, limits) => {
        const report = runInQuickJS(module, request, limits);
        // A run whose runtime could not be disposed leaves the module unusable: load a fresh one, as the
        // worker did.
        if (!report.moduleHealthy) module = await newQuickJSWASMModule();
        return report.outcome;
      };
    },
  },
  {
    name: 'SandboxImage: every run restored from one memory image',
    load: async () => {
      const image = await SandboxImage.load(LIMITS.memoryLimitBytes, LIMITS);
      return (request, limits) => Promise.resolve(image.run(request, limits));
    },
  },
];

for (const backend of BACKENDS)
  describe(`${backend.name}, no exceptions for guest behaviour`, () => {
    let runner: Runner;
    before(async () => {
      runner = await backend.load();
    });
    const run = (body: string, input: unknown = {}, isAsync = false) =>
      runner({ code: tool(body, isAsync), entry: 't', inputJson: JSON.stringify(input) }, LIMITS);

    it('returns JSON text of the result and the captured console', async () => {
      const outcome = await run(
        'console.log("hi", {a: 1}); console.warn("w"); return { sum: input.a + input.b };',
        { a: 1, b: 2 },
      );
      assert.deepEqual(outcome, { ok: true, json: '{"sum":3}', logs: ['hi {"a":1}', 'warn: w'] });
    });
    it('runs under a memory limit of 4 GiB or more (QuickJS takes a 32-bit size)', async () => {
      const outcome = await runner(
        { code: tool('return new Uint8Array(1024).length;'), entry: 't', inputJson: '{}' },
        { ...LIMITS, memoryLimitBytes: 4 * 1024 * 1024 * 1024 },
      );
      assert.deepEqual(outcome, { ok: true, json: '1024', logs: [] });
    });
    it('awaits async tools', async () => {
      const outcome = await run('await null; return input.x * 2;', { x: 21 }, true);
      assert.deepEqual(outcome, { ok: true, json: '42', logs: [] });
    });
    it('reports a thrown error with its message', async () => {
      const outcome = await run('throw new RangeError("bad value");');
      assert.equal(outcome.ok, false);
      assert.ok(!outcome.ok);
      assert.equal(outcome.kind, 'threw');
      assert.match(outcome.message, /RangeError: bad value/);
    });
    it('stops an infinite loop, also inside try/finally, at the deadline', async () => {
      for (const body of [
        'for (;;) {}',
        'for (;;) { try { for (;;) {} } finally { continue; } }',
        'while (true) { try { } catch (e) { } }',
      ]) {
        const started = Date.now();
        const outcome = await run(body);
        assert.ok(!outcome.ok);
        assert.equal(outcome.kind, 'timeout', body);
        assert.ok(Date.now() - started < 2000, 'stopped near the deadline');
      }
    });
    it('stops promise-job loops and reports never-settling promises at once', async () => {
      const loop = await run(
        'const spin = () => Promise.resolve().then(spin); spin(); await new Promise(() => {});',
        {},
        true,
      );
      assert.ok(!loop.ok);
      // Each turn of the loop leaves a promise behind: whichever limit it meets first stops it.
      assert.ok(loop.kind === 'timeout' || loop.kind === 'memory', loop.kind);
      const never = await run('await new Promise(() => {}); return 1;', {}, true);
      assert.ok(!never.ok);
      assert.equal(never.kind, 'timeout');
      assert.match(never.message, /never settle/);
    });
    it('stops catastrophic regular expressions', async () => {
      const outcome = await run('return /^(a+)+$/.test("a".repeat(40) + "b");');
      assert.ok(!outcome.ok);
      assert.equal(outcome.kind, 'timeout');
    });
    it('ends allocation bombs with kind memory and runaway recursion with kind stack', async () => {
      const memory = await run('const a = []; for (;;) a.push([1, 2, 3, 4]);');
      assert.ok(!memory.ok);
      assert.equal(memory.kind, 'memory');
      const stack = await run('const f = (n) => f(n + 1) + 1; return f(0);');
      assert.ok(!stack.ok);
      assert.equal(stack.kind, 'stack');
    });
    it('refuses non-JSON results with a clear message', async () => {
      for (const [body, text] of [
        ['return undefined;', /returned undefined/],
        ['return NaN;', /NaN/],
        ['return { x: Infinity };', /result\.x is Infinity/],
        ['return 10n;', /bigint/],
        ['return () => 1;', /function/],
        ['const a = {}; a.self = a; return a;', /cycle/],
        ['return new Map();', /Map/],
        ['return [undefined];', /undefined/],
      ] as const) {
        const outcome = await run(body);
        assert.ok(!outcome.ok, body);
        assert.equal(outcome.kind, 'not_json', body);
        assert.match(outcome.message, text, body);
      }
    });
    it('converts Dates to ISO strings and drops undefined properties, as JSON does', async () => {
      assert.deepEqual(await run('return { d: new Date(0), u: undefined };'), {
        ok: true,
        json: '{"d":"1970-01-01T00:00:00.000Z"}',
        logs: [],
      });
    });
    it('sees no host objects and no state from earlier runs', async () => {
      assert.deepEqual(
        await run(
          'return [typeof process, typeof require, typeof fetch, typeof setTimeout, typeof std, typeof os];',
        ),
        {
          ok: true,
          json: '["undefined","undefined","undefined","undefined","undefined","undefined"]',
          logs: [],
        },
      );
      await run('globalThis.leak = 42; Object.prototype.polluted = true; return 1;');
      assert.deepEqual(await run('return [typeof globalThis.leak, ({}).polluted === undefined];'), {
        ok: true,
        json: '["undefined",true]',
        logs: [],
      });
    });
    it('caps console output', async () => {
      const outcome = await run(
        'for (let i = 0; i < 10000; i++) console.log("line " + i); return 1;',
      );
      assert.ok(outcome.ok);
      assert.ok(outcome.logs.join('\n').length <= LIMITS.maxConsoleBytes + 200);
      assert.match(outcome.logs.at(-1) ?? '', /truncated/);
    });
    it('a tool that replaces JSON.stringify cannot forge the envelope', async () => {
      const outcome = await run(
        'JSON.stringify = () => "{\\"ok\\":true,\\"json\\":\\"1\\"}"; return 2;',
      );
      assert.deepEqual(outcome, { ok: true, json: '2', logs: [] });
    });
    it('keeps the console lines of a run that threw or timed out', async () => {
      const threw = await run('console.log("before"); throw new Error("boom");');
      assert.ok(!threw.ok);
      assert.deepEqual(threw.logs, ['before']);
      const timedOut = await run('console.log("spinning"); for (;;) {}');
      assert.ok(!timedOut.ok);
      assert.equal(timedOut.kind, 'timeout');
      assert.deepEqual(timedOut.logs, ['spinning']);
    });
    it('compiles the console only for tools that name it', async () => {
      assert.deepEqual(await run('return typeof globalThis["con" + "sole"];'), {
        ok: true,
        json: '"undefined"',
        logs: [],
      });
      assert.deepEqual(await run('return typeof console;'), {
        ok: true,
        json: '"object"',
        logs: [],
      });
    });
    it('reads what a tool throws inside the sandbox: plain objects as JSON, primitives as text', async () => {
      const object = await run('throw { code: 42 };');
      assert.ok(!object.ok);
      assert.match(object.message, /\{"code":42\}/);
      const text = await run('throw "plain text";');
      assert.ok(!text.ok);
      assert.match(text.message, /plain text/);
    });
  });
