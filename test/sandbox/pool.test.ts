import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_RUN_LIMITS } from '../../src/sandbox/limits.js';
import { createSandboxPool, type Sandbox } from '../../src/sandbox/pool.js';

const LIMITS = { ...DEFAULT_RUN_LIMITS, timeoutMs: 300 };
const request = (body: string, input: unknown = {}) => ({
  code: `function t(input) { ${body} }`,
  entry: 't',
  inputJson: JSON.stringify(input),
});

describe('sandbox pool: guest code off the event loop', () => {
  let pool: Sandbox;
  before(async () => {
    pool = createSandboxPool({ size: 2, backstopGraceMs: 300 });
    await pool.ready();
  });
  after(async () => {
    await pool[Symbol.asyncDispose]();
  });

  it('runs requests and returns outcomes', async () => {
    assert.deepEqual(await pool.run(request('return input.a * 2;', { a: 4 }), LIMITS), {
      ok: true,
      json: '8',
      logs: [],
    });
  });
  it('keeps the event loop free while a tool burns its time budget', async () => {
    const slow = pool.run(request('for (;;) {}'), LIMITS);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const outcome = await slow;
    clearInterval(timer);
    assert.ok(!outcome.ok);
    assert.equal(outcome.kind, 'timeout');
    assert.ok(ticks >= 5, `the event loop kept ticking (${ticks} ticks)`);
  });
  it('kills a run that ignores the interrupt (backstop) and replaces the worker', async () => {
    const before = pool.stats.workersReplaced;
    // A native builtin with a long internal loop never polls the interrupt handler.
    const outcome = await pool.run(
      request(
        'const a = []; for (let i = 0; i < 2e5; i++) a.push({ i, s: "x".repeat(20) }); let n = 0; for (;;) { n += JSON.stringify(a).length; }',
      ),
      {
        ...LIMITS,
        memoryLimitBytes: 256 * 1024 * 1024,
      },
    );
    assert.ok(!outcome.ok);
    assert.equal(outcome.kind, 'timeout');
    assert.ok(pool.stats.workersReplaced >= before);
    assert.deepEqual(await pool.run(request('return 1;'), LIMITS), {
      ok: true,
      json: '1',
      logs: [],
    });
  });
  it('cancels a running call and stays usable', async () => {
    const controller = new AbortController();
    const running = pool.run(
      request('for (;;) {}'),
      { ...LIMITS, timeoutMs: 5000 },
      controller.signal,
    );
    setTimeout(() => controller.abort(), 50);
    const outcome = await running;
    assert.ok(!outcome.ok);
    assert.equal(outcome.kind, 'cancelled');
    assert.deepEqual(await pool.run(request('return 2;'), LIMITS), {
      ok: true,
      json: '2',
      logs: [],
    });
  });
  it('serves many concurrent calls with fresh state each', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        pool.run(
          request('globalThis.n = (globalThis.n ?? 0) + 1; return [input.i, globalThis.n];', { i }),
          LIMITS,
        ),
      ),
    );
    outcomes.forEach((o, i) => assert.deepEqual(o, { ok: true, json: `[${i},1]`, logs: [] }));
  });
  it('never lets one slow tool take every worker from the others', async () => {
    const hog = (i: number) => ({
      code: `function hog(input) { for (;;) {} }`,
      entry: 'hog',
      inputJson: JSON.stringify({ i }),
    });
    const slow = [1, 2, 3].map((i) => pool.run(hog(i), LIMITS));
    const started = performance.now();
    const cheap = await pool.run(request('return 7;'), LIMITS);
    const cheapMs = performance.now() - started;
    assert.deepEqual(cheap, { ok: true, json: '7', logs: [] });
    assert.ok(cheapMs < LIMITS.timeoutMs, `the cheap call waited ${cheapMs.toFixed(0)} ms`);
    for (const outcome of await Promise.all(slow))
      assert.equal(outcome.ok ? 'ok' : outcome.kind, 'timeout');
  });
  it('lets a tool that has shown it is quick use every worker, and holds back one that has not', async () => {
    // Each run reports when it started (guest clock) and busy-waits 150 ms: runs that share the pool start
    // together, runs held to one worker start 150 ms apart.
    await using trusting = createSandboxPool({
      size: 2,
      slowRunMs: 1000,
      trustAfterFastRuns: 2,
    });
    await trusting.ready();
    const spin = (entry: string) => ({
      code: `function ${entry}() { const start = Date.now(); while (Date.now() - start < 150) {} return start; }`,
      entry,
      inputJson: '{}',
    });
    const startGap = async (entry: string): Promise<number> => {
      const [a, b] = await Promise.all([
        trusting.run(spin(entry), LIMITS),
        trusting.run(spin(entry), LIMITS),
      ]);
      assert.ok(a?.ok && b?.ok);
      return Math.abs(Number(a.json) - Number(b.json));
    };
    assert.ok((await startGap('untrusted')) >= 140, 'a new tool gets one worker of two');
    for (let i = 0; i < 2; i++) assert.ok((await trusting.run(spin('proven'), LIMITS)).ok);
    assert.ok((await startGap('proven')) < 100, 'a proven quick tool gets both workers');
  });
  it('recycles a worker after a memory-limit hit', async () => {
    const before = pool.stats.workersReplaced;
    const outcome = await pool.run(request('const a = []; for (;;) a.push([1, 2, 3, 4]);'), {
      ...LIMITS,
      memoryLimitBytes: 4 * 1024 * 1024,
    });
    assert.ok(!outcome.ok);
    assert.equal(outcome.kind, 'memory');
    assert.equal(pool.stats.workersReplaced, before + 1);
    assert.deepEqual(await pool.run(request('return 3;'), LIMITS), {
      ok: true,
      json: '3',
      logs: [],
    });
  });
});
