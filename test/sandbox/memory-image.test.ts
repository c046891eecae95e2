/** A memory image writes back every byte it copied, whatever happened to the memory meanwhile. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { locateHeapBreak, readBreak } from '../../src/sandbox/heap-break.js';
import { MemoryImage } from '../../src/sandbox/memory-image.js';
import { prepareSandbox } from '../../src/sandbox/run.js';
import { bodyRequest, freshModule, SANDBOX_LIMITS } from '../helpers/sandbox.js';

const LIMITS = SANDBOX_LIMITS;
const request = bodyRequest;

describe('MemoryImage', () => {
  it('writes back every byte of the static data and the heap in use, even after the memory grew', async () => {
    const { module, memory, layout } = await freshModule();
    const breakAddress = locateHeapBreak(module, memory, layout);
    assert.ok(breakAddress !== undefined, 'the program break is found in this build');
    const sandbox = prepareSandbox(module, LIMITS, 0);
    sandbox.armInterrupts();
    const image = new MemoryImage(memory, layout, readBreak(memory, breakAddress));
    const statics = new Uint8Array(memory.buffer).slice(0, layout.staticEnd);
    const heap = new Uint8Array(memory.buffer).slice(layout.stackTop, image.end);
    const sizeBefore = memory.buffer.byteLength;

    const outcome = sandbox.run(
      request(
        'const keep = []; for (let i = 0; i < 96; i++) keep.push(new Array(16384).fill(i)); return keep.length;',
      ),
      LIMITS.timeoutMs,
    );
    assert.deepEqual(outcome, { ok: true, json: '96', logs: [] });
    assert.ok(memory.buffer.byteLength > sizeBefore, 'the run grew the memory');
    assert.notDeepEqual(new Uint8Array(memory.buffer).slice(layout.stackTop, image.end), heap);

    image.restore(memory);
    assert.deepEqual(new Uint8Array(memory.buffer).slice(0, layout.staticEnd), statics);
    assert.deepEqual(new Uint8Array(memory.buffer).slice(layout.stackTop, image.end), heap);
    // And the restored sandbox runs again, as if for the first time.
    sandbox.rewind();
    assert.deepEqual(sandbox.run(request('return 7;'), LIMITS.timeoutMs), {
      ok: true,
      json: '7',
      logs: [],
    });
  });
});
