import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_RUN_LIMITS } from '../../src/sandbox/limits.js';
import { createSandboxPool, type Sandbox } from '../../src/sandbox/pool.js';
import { until } from '../helpers/until.js';

const LIMITS = { ...DEFAULT_RUN_LIMITS, timeoutMs: 300 };
const request = (body: string, input: unknown = {}) => ({
  code: `function t(input) { ${body} }`,
  entry: 't',
  inputJson: JSON.stringify(input),
});
/** A tool `entry` that busy-waits `ms` and returns 0: it holds its worker that long. */
const spinFor = (ms: number, entry = 'spin') => ({
  code: `function ${entry}() { const start = Date.now(); while (Date.now() - start < ${ms}) {} return 0; }`,
  entry,
  inputJson: '{}',
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
  it('holds one tool to all but one worker, however quick its runs are', async () => {
    // Each run reports when it started (guest clock) and busy-waits 150 ms: runs that share the pool start
    // together, runs held to fewer workers start 150 ms apart.
    await using three = createSandboxPool({ size: 3 });
    await three.ready();
    const spin = {
      code: 'function spin() { const start = Date.now(); while (Date.now() - start < 150) {} return start; }',
      entry: 'spin',
      inputJson: '{}',
    };
    for (let i = 0; i < 30; i++)
      assert.ok((await three.run(spin, { ...LIMITS, timeoutMs: 1000 })).ok);
    const starts = (
      await Promise.all([1, 2, 3].map(() => three.run(spin, { ...LIMITS, timeoutMs: 1000 })))
    ).map((o) => (o.ok ? Number(o.json) : NaN));
    starts.sort((a, b) => a - b);
    const [first = 0, second = 0, third = 0] = starts;
    assert.ok(second - first < 100, 'two runs share the pool');
    assert.ok(third - first >= 140, 'the third waits: one worker stays free for other tools');
  });
  it('stops a run at its memory limit, and recycles a worker whose memory it grew', async () => {
    const limits = { ...LIMITS, memoryLimitBytes: 4 * 1024 * 1024 };
    const flood = await pool.run(request('const a = []; for (;;) a.push([1, 2, 3, 4]);'), limits);
    assert.ok(!flood.ok);
    assert.equal(flood.kind, 'memory');
    // Large buffers allocated in a few steps grow the WebAssembly memory before the limit is next
    // checked; a memory never shrinks, so its worker is replaced.
    const before = pool.stats.workersReplaced;
    const burst = await pool.run(
      request(
        'const k = []; for (let i = 0; i < 30; i++) k.push(new Uint8Array(1 << 20)); return 1;',
      ),
      limits,
    );
    assert.ok(!burst.ok);
    assert.equal(burst.kind, 'memory');
    assert.equal(pool.stats.workersReplaced, before + 1);
    assert.deepEqual(await pool.run(request('return 3;'), LIMITS), {
      ok: true,
      json: '3',
      logs: [],
    });
  });
});

describe(
  'sandbox pool start-up: one worker at once, the rest after it or on demand',
  { timeout: 30_000 },
  () => {
    it('starts one worker, then the others one by one once it is ready', async () => {
      await using pool = createSandboxPool({ size: 3, startRestAfterMs: 100 });
      assert.equal(
        pool.stats.workersStarted,
        1,
        'only the first worker competes with the start-up',
      );
      assert.deepEqual(await pool.run(request('return 1 + 1;'), LIMITS), {
        ok: true,
        json: '2',
        logs: [],
      });
      const seen = new Set<number>();
      await until(
        'every worker is started',
        5000,
        () => {
          seen.add(pool.stats.workersStarted);
          return pool.stats.workersStarted === 3;
        },
        10,
      );
      assert.ok(seen.has(2), `one at a time (${[...seen].join(' -> ')})`);
    });

    it('starts a worker for each call kept waiting, so another tool is not queued behind a slow one', async () => {
      await using pool = createSandboxPool({ size: 3, startRestAfterMs: 60_000 });
      const started = Date.now();
      const slow = [1, 2].map(() => pool.run(spinFor(1500), { ...LIMITS, timeoutMs: 3000 }));
      const cheap = await pool.run(request('return 3 + 3;'), LIMITS);
      const waited = Date.now() - started;
      assert.deepEqual(cheap, { ok: true, json: '6', logs: [] });
      assert.ok(waited < 1200, `the cheap call waited ${waited} ms, not for a spin to end`);
      for (const outcome of await Promise.all(slow)) assert.ok(outcome.ok);
    });

    it('starts only as many workers as the waiting calls can use under their tool share', async () => {
      await using pool = createSandboxPool({ size: 8, maxPerTool: 1, startRestAfterMs: 60_000 });
      const busy = pool.run(spinFor(700, 'b'), { ...LIMITS, timeoutMs: 2000 });
      await new Promise((resolve) => setTimeout(resolve, 100)); // b has the only worker
      const waiting = [1, 2, 3, 4, 5, 6].map(() =>
        pool.run(spinFor(700, 'a'), { ...LIMITS, timeoutMs: 5000 }),
      );
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.equal(
        pool.stats.workersStarted,
        2,
        'one tool with a share of one worker uses one more',
      );
      assert.ok((await busy).ok);
      for (const outcome of await Promise.all(waiting)) assert.ok(outcome.ok);
    });

    it('starts every worker with the configured limits, and gives a run a heap for larger ones', async () => {
      // A first call under a small memory limit must not size the heaps of the workers started after it.
      await using pool = createSandboxPool({ size: 2, limits: LIMITS });
      const small = { ...LIMITS, memoryLimitBytes: 1024 * 1024 };
      const holdFirst = pool.run(spinFor(600), { ...small, timeoutMs: 2000 });
      const allocate = (mib: number) => ({
        code: `function big() { const b = new Uint8Array(${mib} * 1024 * 1024); b[1] = 1; return b.length / 1024 / 1024; }`,
        entry: 'big',
        inputJson: '{}',
      });
      assert.deepEqual(await pool.run(allocate(20), LIMITS), { ok: true, json: '20', logs: [] });
      assert.ok((await holdFirst).ok);
      // Larger than the pool was configured for: the worker loads a module with room for it.
      assert.deepEqual(
        await pool.run(allocate(60), { ...LIMITS, memoryLimitBytes: 96 * 1024 * 1024 }),
        { ok: true, json: '60', logs: [] },
      );
    });

    it('starts the next worker for a call that waits for one', async () => {
      await using pool = createSandboxPool({ size: 3, startRestAfterMs: 60_000 });
      const slow = pool.run(spinFor(800), { ...LIMITS, timeoutMs: 2000 });
      await new Promise((resolve) => setTimeout(resolve, 100)); // the spin has the only worker
      const started = Date.now();
      const cheap = await pool.run(request('return 2 + 2;'), LIMITS);
      const waited = Date.now() - started;
      assert.deepEqual(cheap, { ok: true, json: '4', logs: [] });
      assert.ok(waited < 600, `the cheap call waited ${waited} ms, not for the spin to end`);
      assert.equal(pool.stats.workersStarted, 2);
      assert.ok((await slow).ok);
    });

    it('starts them all for ready()', async () => {
      await using pool = createSandboxPool({ size: 3, startRestAfterMs: 60_000 });
      await pool.ready();
      assert.equal(pool.stats.workersStarted, 3);
    });
  },
);
