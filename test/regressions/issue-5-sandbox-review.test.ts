/**
 * Regression tests for the adversarial review of the reworked sandbox (issue #5): the memory limit now holds
 * for large buffers (this QuickJS build counts allocations, not bytes), worker recycling follows the measured
 * heap rather than what the guest reports, a returned value is adopted as `await` would, job chains cannot
 * outlive the deadline, and a tool cannot pass its own errors off as toolsmith's refusals.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import { DEFAULT_RUN_LIMITS } from '../../src/sandbox/limits.js';
import { heapBytes, heapCapBytes, loadCappedModule } from '../../src/sandbox/module.js';
import { createSandboxPool, type Sandbox } from '../../src/sandbox/pool.js';
import { runInQuickJS } from '../../src/sandbox/run.js';

const LIMITS = { ...DEFAULT_RUN_LIMITS, timeoutMs: 200 };
const request = (code: string) => ({ code, entry: 't', inputJson: '{}' });

describe('sandbox review findings (issue #5)', () => {
  let module: QuickJSWASMModule;
  before(async () => {
    module = await loadCappedModule(LIMITS.memoryLimitBytes);
  });
  const run = async (code: string) => {
    const report = runInQuickJS(module, request(code), LIMITS);
    assert.ok(report.moduleHealthy, 'the module stays usable');
    const outcome = report.outcome;
    // Like the worker: a module whose heap has grown is replaced before the next run.
    if (heapBytes(module) > heapCapBytes(LIMITS.memoryLimitBytes) / 2)
      module = await loadCappedModule(LIMITS.memoryLimitBytes);
    return outcome;
  };

  it('stops retained 1 MiB buffers at the memory limit, not at 2 GiB', async () => {
    const started = Date.now();
    const outcome = await run(
      'function t() { const keep = []; for (let i = 0; i < 512; i++) keep.push(new Uint8Array(1 << 20)); return keep.length; }',
    );
    assert.ok(!outcome.ok);
    assert.equal(outcome.kind, 'memory');
    assert.ok(Date.now() - started < 1000, 'stopped quickly');
    assert.deepEqual(await run('function t() { return 1 + 1; }'), {
      ok: true,
      json: '2',
      logs: [],
    });
  });

  it('adopts a returned thenable and runs the jobs the tool queued before returning', async () => {
    assert.deepEqual(await run('function t() { return { then(resolve) { resolve(42); } }; }'), {
      ok: true,
      json: '42',
      logs: [],
    });
    assert.deepEqual(
      await run(
        'function t() { const o = { a: 1 }; Promise.resolve().then(() => { o.a = 2; }); return o; }',
      ),
      { ok: true, json: '{"a":2}', logs: [] },
    );
  });

  it('ends a chain of rejection handlers and endless background jobs at the deadline', async () => {
    for (const code of [
      'async function t() { function again() { return (async () => { for (;;) {} })().then(null, again); } again(); await new Promise(() => {}); }',
      'async function t() { (async () => { for (;;) await null; })(); await null; return { ok: 1 }; }',
    ]) {
      const started = Date.now();
      const outcome = await run(code);
      assert.ok(!outcome.ok, code);
      assert.equal(outcome.kind, 'timeout', code);
      assert.ok(Date.now() - started < LIMITS.timeoutMs + 500, 'stopped near the deadline');
    }
  });

  it("keeps a tool's own errors apart from toolsmith's refusals and limits", async () => {
    const named = await run(
      'function t() { const e = new Error("boom"); e.name = "ToolsmithNotJson"; throw e; }',
    );
    assert.ok(!named.ok);
    assert.equal(named.kind, 'threw');
    const hooked = await run(
      'function t() { Object.defineProperty(InternalError, Symbol.hasInstance, { value() { return true; } }); return { get a() { throw { x: 1 }; } }; }',
    );
    assert.ok(!hooked.ok);
    assert.equal(hooked.kind, 'not_json');
  });

  describe('in the pool', () => {
    let pool: Sandbox;
    before(async () => {
      pool = createSandboxPool({ size: 2, limits: LIMITS });
      await pool.ready();
    });
    after(async () => {
      await pool[Symbol.asyncDispose]();
    });

    it('replaces a worker whose heap grew, and not one whose tool only threw null', async () => {
      const before = pool.stats.workersReplaced;
      for (let i = 0; i < 5; i++) {
        const outcome = await pool.run(request('function t() { throw null; }'), LIMITS);
        assert.ok(!outcome.ok);
      }
      assert.equal(pool.stats.workersReplaced, before, 'throw null costs no worker');
      const big = await pool.run(
        request(
          'function t() { const keep = []; for (let i = 0; i < 512; i++) keep.push(new Uint8Array(1 << 20)); return keep.length; }',
        ),
        LIMITS,
      );
      assert.ok(!big.ok);
      assert.equal(big.kind, 'memory');
      assert.equal(pool.stats.workersReplaced, before + 1, 'the grown worker was replaced');
      assert.deepEqual(await pool.run(request('function t() { return 7; }'), LIMITS), {
        ok: true,
        json: '7',
        logs: [],
      });
    });
  });
});
