/**
 * The program break: found without changing the module it is found in, covering every byte the allocator
 * uses, making the memory limit the same for every run, and read only for modules of this build.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEBUG_SYNC, newQuickJSWASMModule } from 'quickjs-emscripten';
import { findHeapBreak, locateHeapBreak, readBreak } from '../../src/sandbox/heap-break.js';
import { SandboxImage } from '../../src/sandbox/image.js';
import { lastNonZero } from '../../src/sandbox/memory-image.js';
import { prepareSandbox, runInQuickJS } from '../../src/sandbox/run.js';
import { bodyRequest, freshModule, resultOf, SANDBOX_LIMITS } from '../helpers/sandbox.js';

const LIMITS = SANDBOX_LIMITS;
const request = bodyRequest;
const json = resultOf;

describe('the program break', () => {
  it('is found in a fresh module, whose memory is left exactly as it was', async () => {
    const { module, memory, layout } = await freshModule();
    const before = new Uint8Array(memory.buffer).slice();
    const address = findHeapBreak(module, memory, layout);
    assert.ok(address !== undefined && address < layout.staticEnd, String(address));
    assert.equal(address, locateHeapBreak(module, memory, layout));
    assert.ok(Buffer.from(new Uint8Array(memory.buffer)).equals(before), 'memory unchanged');
    // And the module works as if never probed.
    const sandbox = prepareSandbox(module, LIMITS, 0);
    assert.deepEqual(sandbox.run(request('return 5;'), LIMITS.timeoutMs), {
      ok: true,
      json: '5',
      logs: [],
    });
  });

  it('covers every byte the allocator uses, as the heap grows', async () => {
    const { module, memory, layout } = await freshModule();
    const breakAddress = locateHeapBreak(module, memory, layout);
    assert.ok(breakAddress !== undefined);
    const sandbox = prepareSandbox(module, LIMITS, 0);
    const before = readBreak(memory, breakAddress);
    // A fresh module: nothing was ever written above the break.
    assert.ok(before >= lastNonZero(memory.buffer, layout.stackTop));
    // Keep 8 MiB alive past the run (a global holds it): the break must move past all of it.
    const kept = sandbox.run(
      request(
        'globalThis.keep = []; for (let i = 0; i < 64; i++) keep.push(new Array(16384).fill(i)); return 1;',
      ),
      LIMITS.timeoutMs,
    );
    assert.deepEqual(kept, { ok: true, json: '1', logs: [] });
    const after = readBreak(memory, breakAddress);
    assert.ok(after >= lastNonZero(memory.buffer, layout.stackTop));
    assert.ok(after > before + 8 * 1024 * 1024, `${after} grew from ${before}`);
  });

  it('makes the memory limit the same for every run, whatever earlier runs grew the memory to', async () => {
    const limits = { ...LIMITS, timeoutMs: 5000 };
    const image = await SandboxImage.load(limits.memoryLimitBytes, limits);
    // Allocates `mib` MiB in 64 KiB buffers, with enough steps between them for the limit to be checked.
    const allocate = (mib: number) =>
      image.run(
        request(`const keep = []; let steps = 0;
          for (let i = 0; i < ${mib * 16}; i++) { keep.push(new Uint8Array(65536)); for (let j = 0; j < 2000; j++) steps++; }
          return keep.length;`),
        limits,
      );
    const over = () => {
      const outcome = allocate(28);
      assert.ok(!outcome.ok && outcome.kind === 'memory', JSON.stringify(outcome));
    };
    over();
    // 14 MiB is within the 16 MiB limit, and grows the WebAssembly memory, which never shrinks.
    assert.deepEqual(allocate(14), { ok: true, json: String(14 * 16), logs: [] });
    over();
  });

  it('fails a run whose heap ends above its limit, however few steps it took to get there', async () => {
    const image = await SandboxImage.load(LIMITS.memoryLimitBytes, LIMITS);
    // Twenty-four 1 MiB buffers in a loop of 24 steps: too few for an interrupt check on the way.
    const outcome = image.run(
      request(
        'const k = []; for (let i = 0; i < 24; i++) k.push(new Uint8Array(1 << 20)); return k.length;',
      ),
      LIMITS,
    );
    assert.ok(!outcome.ok);
    assert.equal(outcome.kind, 'memory');
    assert.deepEqual(
      json(image.run(request('return new Uint8Array(1 << 20).length;'), LIMITS)),
      1 << 20,
    );
  });
});

describe('heapReach', () => {
  it("falls back to the memory's size for a module of another build, whose statics it does not know", async () => {
    // This thread has located the break of the release build; the debug build keeps other things there.
    await SandboxImage.load(LIMITS.memoryLimitBytes, LIMITS);
    const debug = await newQuickJSWASMModule(DEBUG_SYNC);
    const limits = { ...LIMITS, memoryLimitBytes: 4 * 1024 * 1024, timeoutMs: 3000 };
    const burst = runInQuickJS(
      debug,
      request(
        'const k = []; for (let i = 0; i < 30; i++) k.push(new Uint8Array(1 << 20)); return 1;',
      ),
      limits,
    );
    assert.ok(!burst.outcome.ok && burst.outcome.kind === 'memory', JSON.stringify(burst.outcome));
  });
});
