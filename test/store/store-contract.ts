/** One contract every ToolStore implementation must pass (memory and keyv/SQLite). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RECORD_FORMAT, type ToolRecord } from '../../src/store/record.js';
import type { ToolStore } from '../../src/store/tool-store.js';
import { emptyHealth } from '../../src/registry/health.js';

export function sampleRecord(name: string, version = 1): ToolRecord {
  return {
    format: RECORD_FORMAT,
    name,
    description: `the ${name} tool`,
    source: `export function ${name}(input: { a: number }): number { return input.a; }`,
    tests: [{ input: { a: 1 }, expected: 1 }],
    version,
    sourceHash: 'abc',
    code: `function ${name}(input) { return input.a; }`,
    inputSchema: {
      type: 'object',
      properties: { a: { type: 'number' } },
      required: ['a'],
      additionalProperties: false,
    },
    resultSchema: { type: 'number' },
    compilerVersion: '5.9.3',
    createdAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
  };
}

export function runStoreContract(name: string, open: () => Promise<ToolStore>): void {
  describe(`ToolStore contract: ${name}`, () => {
    it('stores, lists, replaces and deletes records', async () => {
      await using store = await open();
      assert.deepEqual(await store.loadAll(), { tools: [], health: new Map(), audit: [] });
      await store.put(sampleRecord('alpha'));
      await store.put(sampleRecord('beta'));
      await store.put(sampleRecord('alpha', 2));
      const all = (await store.loadAll()).tools.sort((a, b) => a.name.localeCompare(b.name));
      assert.deepEqual(
        all.map((r) => [r.name, r.version]),
        [
          ['alpha', 2],
          ['beta', 1],
        ],
      );
      assert.deepEqual(all[0], sampleRecord('alpha', 2));
      assert.equal(await store.delete('beta'), true);
      assert.equal(await store.delete('beta'), false);
      assert.deepEqual(
        (await store.loadAll()).tools.map((r) => r.name),
        ['alpha'],
      );
    });
    it('lists more records than one iterator page', async () => {
      await using store = await open();
      for (let i = 0; i < 1200; i += 100) {
        await Promise.all(
          Array.from({ length: 100 }, (_, j) => store.put(sampleRecord(`tool_${i + j}`))),
        );
      }
      assert.equal((await store.loadAll()).tools.length, 1200);
    });
    it('stores health per tool, drops it with the tool, and keeps the audit log in order', async () => {
      await using store = await open();
      await store.put(sampleRecord('alpha'));
      const health = { ...emptyHealth(), calls: 3, successes: 2, failures: { threw: 1 } };
      await store.putHealth('alpha', health);
      for (let seq = 1; seq <= 12; seq++) {
        await store.appendAudit({
          seq,
          at: '2026-01-01T00:00:00.000Z',
          action: 'create',
          tool: 'alpha',
          version: seq,
          sourceHash: 'h',
          client: { name: 'c', version: '1' },
        });
      }
      const state = await store.loadAll();
      assert.deepEqual(state.health.get('alpha'), health);
      assert.deepEqual(
        state.audit.map((e) => e.seq),
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
      );
      await store.delete('alpha');
      const after = await store.loadAll();
      assert.equal(after.health.size, 0);
      assert.equal(after.audit.length, 12, 'the audit log outlives the tool');
    });
    it("keeps no reference to the caller's objects", async () => {
      await using store = await open();
      const record = sampleRecord('gamma');
      await store.put(record);
      (record.tests as unknown[]).push('mutated');
      const [loaded] = (await store.loadAll()).tools;
      assert.equal(loaded?.tests.length, 1);
    });
  });
}
