/** Math.random's state is found in a context, or the image refuses to run without it. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadCappedModule, wasmMemoryOf } from '../../src/sandbox/module.js';
import { locateRandomState } from '../../src/sandbox/random-state.js';
import { prepareSandbox } from '../../src/sandbox/run.js';
import { SANDBOX_LIMITS } from '../helpers/sandbox.js';

const LIMITS = SANDBOX_LIMITS;

describe('locateRandomState', () => {
  it('refuses a context whose Math.random state it cannot find, rather than repeat numbers', async () => {
    const module = await loadCappedModule(LIMITS.memoryLimitBytes);
    const sandbox = prepareSandbox(module, LIMITS, 0);
    const memory = wasmMemoryOf(module);
    // No 64-bit state gives 0.5 exactly after a step and a multiply... and if one did, seeding would not steer it.
    assert.throws(
      () => locateRandomState(memory, sandbox.contextAddress, () => 0.5),
      /Math\.random/,
    );
    const address = locateRandomState(memory, sandbox.contextAddress, () => sandbox.drawRandom());
    assert.ok(address >= sandbox.contextAddress && address < sandbox.contextAddress + 4096);
  });
});
