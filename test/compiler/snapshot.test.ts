/** The compiler's startup snapshot, through real compiler processes: built once, used next, only a speed-up. */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createCompilerService } from '../../src/compiler/service.js';
import { snapshotFile } from '../../src/compiler/snapshot.js';
import { ADD_NUMBERS } from '../fixtures/tools.js';
import { makeTempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

/** Starts a compiler on `directory`, checks that it compiles, and returns how it got ready. */
async function startOn(directory: string) {
  await using compiler = createCompilerService({ codeCacheDirectory: directory });
  const report = await compiler.warm();
  const compiled = await compiler.compile(ADD_NUMBERS.name, ADD_NUMBERS.source);
  assert.ok(compiled.ok, JSON.stringify(compiled));
  assert.match(compiled.value.code, /add_numbers/);
  const refused = await compiler.compile(
    'bad_tool',
    'export function bad_tool(input: { n: number }): number { return "x" + input.n; }',
  );
  assert.ok(!refused.ok);
  assert.equal(refused.diagnostics[0]?.stage, 'typecheck');
  return { report, compiled: compiled.value };
}

const waitFor = (file: string, ms: number): Promise<void> =>
  until(`${file} is written`, ms, () => existsSync(file), 100);

describe('compiler startup snapshot', () => {
  it('is built after the first start and serves the next with the same results', async () => {
    using dir = makeTempDir();
    const cache = join(dir.path, 'cache');
    const file = snapshotFile(cache, 512);
    const first = await startOn(cache);
    assert.notEqual(first.report?.codeCache, 'snapshot');
    await waitFor(file, 60_000);
    const second = await startOn(cache);
    assert.deepEqual(second.report, { codeCache: 'snapshot', saved: 'current' });
    assert.deepEqual(
      second.compiled,
      first.compiled,
      'the snapshot compiles exactly as the worker does',
    );
  });

  it("keeps at most three other builds' snapshots beside its own", async () => {
    using dir = makeTempDir();
    const cache = join(dir.path, 'cache');
    mkdirSync(cache, { recursive: true, mode: 0o700 });
    // Five snapshots of other builds (upgrades, other Nodes), a day apart, none older than a week.
    const others = [1, 2, 3, 4, 5].map((day) => {
      const other = join(cache, `compiler-${String(day).repeat(16)}.snapshot`);
      writeFileSync(other, 'another build', { mode: 0o600 });
      const at = new Date(Date.now() - day * 24 * 3600 * 1000);
      utimesSync(other, at, at);
      return other;
    });
    const file = snapshotFile(cache, 512);
    await startOn(cache);
    await waitFor(file, 60_000);
    // The build prunes right after it renames its snapshot into place.
    for (let i = 0; i < 50 && existsSync(others[4] ?? ''); i++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    assert.deepEqual(
      others.map((other) => existsSync(other)),
      [true, true, true, false, false],
      'the three newest stay',
    );
  });

  it('drops a damaged snapshot, compiles with the worker, and builds it again', async () => {
    using dir = makeTempDir();
    const cache = join(dir.path, 'cache');
    const file = snapshotFile(cache, 512);
    await startOn(cache);
    await waitFor(file, 60_000);
    writeFileSync(file, 'not a snapshot');
    const { report } = await startOn(cache);
    assert.notEqual(report?.codeCache, 'snapshot');
    await waitFor(file, 60_000);
    const again = await startOn(cache);
    assert.equal(again.report?.codeCache, 'snapshot');
  });
});
