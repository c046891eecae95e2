/** The V8 code cache for typescript.js, through real compiler workers: only ever a speed-up. */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createCompilerService } from '../../src/compiler/service.js';
import { ADD_NUMBERS } from '../fixtures/tools.js';
import { makeTempDir } from '../helpers/tmp.js';

/** Starts a compiler on `directory`, waits for its warm-up report and checks that it compiles. */
async function startOn(directory: string) {
  // The snapshot (tested in snapshot.test.ts) would take over from the second start: keep to the cache here.
  await using compiler = createCompilerService({ codeCacheDirectory: directory, snapshot: false });
  const report = await compiler.warm();
  const compiled = await compiler.compile(ADD_NUMBERS.name, ADD_NUMBERS.source);
  assert.ok(compiled.ok, JSON.stringify(compiled));
  assert.match(compiled.value.code, /add_numbers/);
  return report;
}

/** The one cache file in `directory`. */
function cacheFileIn(directory: string): string {
  const names = readdirSync(directory).filter((n) => n.endsWith('.v8cache'));
  assert.equal(names.length, 1, names.join(', '));
  return join(directory, names[0] ?? '');
}

describe('compiler code cache', () => {
  it('is written on the first start and used on the next', async () => {
    using dir = makeTempDir();
    const cache = join(dir.path, 'cache');
    assert.deepEqual(await startOn(cache), { codeCache: 'missing', saved: 'written' });
    assert.ok(readFileSync(cacheFileIn(cache)).length > 100_000);
    assert.deepEqual(await startOn(cache), { codeCache: 'accepted', saved: 'current' });
  });

  it('ignores a damaged, truncated or foreign file, compiles anyway and replaces it', async () => {
    using dir = makeTempDir();
    await startOn(dir.path);
    const file = cacheFileIn(dir.path);
    const good = readFileSync(file);
    const damaged = Buffer.from(good);
    // One flipped byte in V8's data: the digest no longer matches.
    const middle = damaged.length >> 1;
    damaged.writeUInt8(damaged.readUInt8(middle) ^ 0xff, middle);
    const truncated = good.subarray(0, good.length >> 1);
    const foreign = Buffer.from('not a code cache at all');
    for (const bytes of [damaged, truncated, foreign]) {
      writeFileSync(file, bytes);
      assert.deepEqual(await startOn(dir.path), { codeCache: 'corrupt', saved: 'written' });
      assert.ok(readFileSync(cacheFileIn(dir.path)).length > 100_000, 'rewritten whole');
    }
    assert.deepEqual(await startOn(dir.path), { codeCache: 'accepted', saved: 'current' });
  });

  it('lets V8 refuse data that is intact but not its own, and compiles anyway', async () => {
    using dir = makeTempDir();
    await startOn(dir.path);
    const file = cacheFileIn(dir.path);
    const good = readFileSync(file);
    // Same header and a matching digest, but a payload V8 did not write: V8's own checks reject it.
    const header = good.subarray(0, good.indexOf('\n') + 1);
    const payload = Buffer.alloc(4096, 7);
    const digest = createHash('sha256').update(payload).digest();
    writeFileSync(file, Buffer.concat([header, digest, payload]));
    assert.deepEqual(await startOn(dir.path), { codeCache: 'rejected', saved: 'written' });
    assert.deepEqual(await startOn(dir.path), { codeCache: 'accepted', saved: 'current' });
  });

  it('never stops the compiler when the directory cannot be written', async () => {
    using dir = makeTempDir();
    const notADirectory = join(dir.path, 'file');
    writeFileSync(notADirectory, 'x');
    assert.deepEqual(await startOn(join(notADirectory, 'cache')), {
      codeCache: 'missing',
      saved: 'failed',
    });
  });

  it('deletes caches of other versions only once they are a week old', async () => {
    using dir = makeTempDir();
    const old = join(dir.path, 'typescript-0000old.v8cache');
    const recent = join(dir.path, 'typescript-0000recent.v8cache');
    const unrelated = join(dir.path, 'notes.txt');
    for (const file of [old, recent, unrelated]) writeFileSync(file, 'x');
    const monthAgo = new Date(Date.now() - 30 * 24 * 3600 * 1000);
    utimesSync(old, monthAgo, monthAgo);
    utimesSync(unrelated, monthAgo, monthAgo);
    await startOn(dir.path);
    const names = readdirSync(dir.path);
    assert.ok(!names.includes('typescript-0000old.v8cache'), names.join(', '));
    assert.ok(names.includes('typescript-0000recent.v8cache'), 'another install may still use it');
    assert.ok(names.includes('notes.txt'));
  });
});
