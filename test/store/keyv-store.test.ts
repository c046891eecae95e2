import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ToolsmithError } from '../../src/errors.js';
import { openKeyvStore } from '../../src/store/keyv-store.js';
import { makeTempDir } from '../helpers/tmp.js';
import { runStoreContract, sampleRecord } from './store-contract.js';

const dir = makeTempDir();
after(() => dir[Symbol.dispose]());
let counter = 0;

runStoreContract('keyv + SQLite file', () =>
  openKeyvStore({ url: `sqlite://${join(dir.path, `contract-${counter++}.sqlite`)}` }),
);

describe('keyv store specifics', () => {
  it('accepts a plain file path, creating missing directories, and persists across opens', async () => {
    const file = join(dir.path, 'nested', 'deeper', 'tools.sqlite');
    {
      await using store = await openKeyvStore({ url: file });
      await store.put(sampleRecord('persisted'));
    }
    await using reopened = await openKeyvStore({ url: file });
    assert.deepEqual(
      (await reopened.loadAll()).tools.map((r) => r.name),
      ['persisted'],
    );
  });
  it('skips corrupt rows instead of failing the load', async () => {
    const file = join(dir.path, 'corrupt.sqlite');
    const skipped: string[] = [];
    {
      await using store = await openKeyvStore({ url: file });
      await store.put(sampleRecord('good'));
      await store.put({ ...sampleRecord('bad'), format: 99 } as unknown as ReturnType<
        typeof sampleRecord
      >);
    }
    await using store = await openKeyvStore({ url: file, onSkip: (key) => skipped.push(key) });
    assert.deepEqual(
      (await store.loadAll()).tools.map((r) => r.name),
      ['good'],
    );
    assert.deepEqual(skipped, ['tool:bad']);
  });
  it('fails with store_unavailable, not a crash, when the file cannot be opened', async () => {
    const notADatabase = join(dir.path, 'not-a-db.sqlite');
    writeFileSync(notADatabase, 'this is not sqlite '.repeat(100));
    await assert.rejects(
      openKeyvStore({ url: notADatabase }),
      (error: unknown) => error instanceof ToolsmithError && error.code === 'store_unavailable',
    );
    // A directory that cannot be created: a regular file stands in its path.
    await assert.rejects(
      openKeyvStore({ url: join(notADatabase, 'sub', 'x.sqlite') }),
      ToolsmithError,
    );
  });
  it('names the package an unsupported URL scheme needs', async () => {
    await assert.rejects(openKeyvStore({ url: 'redis://localhost:6379' }), /@keyv\/redis/);
    await assert.rejects(openKeyvStore({ url: 'ftp://x' }), /unsupported store URL scheme/);
  });
});
