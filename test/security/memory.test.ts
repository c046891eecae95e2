/**
 * Memory exhaustion: array, string, buffer, object and key growth must hit the per-run memory limit (32 MiB)
 * and fail with kind `memory` (or the engine's own string-length cap), and the worker that hit it must be
 * replaced without the server noticing. Runs with a generous 5 s time limit: under CPU contention (the
 * suite's files run in parallel) a 1 s limit lets some allocation loops hit the clock before they hit the
 * memory limit, and this file is about the memory limit. Each case must still end in well under 3 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertHealthy,
  assertRunFailure,
  attack,
  createGuarded,
  openApp,
  type Connected,
} from './support.js';

describe('security: memory exhaustion', () => {
  let app: Connected;
  before(async () => {
    app = await openApp({ limits: { timeoutMs: 5000 } });
  });
  after(async () => {
    await app[Symbol.asyncDispose]();
  });

  async function expectMemory(
    name: string,
    kinds: string | readonly string[] = 'memory',
    pattern = /memory limit/,
  ): Promise<void> {
    const started = Date.now();
    const result = await attack(app, name);
    const elapsed = Date.now() - started;
    assertRunFailure(result, kinds, pattern);
    assert.ok(elapsed < 3000, `stopped in ${elapsed} ms`);
    await assertHealthy(app);
  }

  it('stops unbounded array growth', async () => {
    await createGuarded(
      app,
      'mem_array',
      'number',
      '1',
      1,
      `const a: number[] = [];
  for (;;) a.push(a.length);`,
    );
    await expectMemory('mem_array');
  });

  it('stops unbounded growth of retained strings', async () => {
    await createGuarded(
      app,
      'mem_strings',
      'number',
      '1',
      1,
      `const keep: string[] = [];
  const chunk = 'y'.repeat(1 << 20);
  for (let i = 0; ; i++) keep.push(chunk + i);`,
    );
    await expectMemory('mem_strings');
  });

  it('stops string doubling (memory limit or the engine string-length cap)', async () => {
    await createGuarded(
      app,
      'mem_doubling',
      'number',
      '1',
      1,
      `let s = 'x';
  for (;;) s += s;`,
    );
    await expectMemory('mem_doubling', ['memory', 'threw'], /memory limit|string too long/);
  });

  it('refuses a 1 GiB ArrayBuffer', async () => {
    await createGuarded(
      app,
      'mem_buffer',
      'number',
      '1',
      1,
      'return new ArrayBuffer(2 ** 30).byteLength;',
    );
    await expectMemory('mem_buffer');
  });

  it('stops unbounded object-key growth', async () => {
    await createGuarded(
      app,
      'mem_keys',
      'number',
      '1',
      1,
      `const o: Record<string, number> = {};
  for (let i = 0; ; i++) o['key_' + i] = i;`,
    );
    await expectMemory('mem_keys');
  });

  it('stops unbounded growth of small objects', async () => {
    await createGuarded(
      app,
      'mem_objects',
      'number',
      '1',
      1,
      `const keep: object[] = [];
  for (let i = 0; ; i++) keep.push({ i, pair: [i, i] });`,
    );
    await expectMemory('mem_objects');
  });

  // Map and Set growth are misreported as `threw: object: null`: known-failures.test.ts, FINDING 7.
  // Retained 1 MiB strings or typed arrays escape the memory limit until the backstop: FINDING 8.

  it('keeps working after several memory-limit hits in a row (workers are replaced)', async () => {
    const results = await Promise.all([
      attack(app, 'mem_array'),
      attack(app, 'mem_buffer'),
      attack(app, 'mem_keys'),
    ]);
    for (const result of results) assertRunFailure(result, 'memory');
    await assertHealthy(app);
    await assertHealthy(app);
  });
});
