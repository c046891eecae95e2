/** The registry with the real compiler, sandbox and SQLite files: no protocol involved. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createCompilerService } from '../../src/compiler/service.js';
import { ToolsmithError } from '../../src/errors.js';
import { SILENT_LOGGER } from '../../src/log.js';
import { DEFAULT_LIMITS } from '../../src/registry/limits.js';
import { ToolRegistry, type ChangeEvent } from '../../src/registry/registry.js';
import { createSandboxPool } from '../../src/sandbox/pool.js';
import { openKeyvStore } from '../../src/store/keyv-store.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { ToolStore } from '../../src/store/tool-store.js';
import { ADD_NUMBERS, SPLIT_NAME } from '../fixtures/tools.js';
import { makeTempDir } from '../helpers/tmp.js';

const dir = makeTempDir();
const compiler = createCompilerService();
const sandbox = createSandboxPool({ size: 2 });
after(async () => {
  await sandbox[Symbol.asyncDispose]();
  await compiler[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

function registryOn(store: ToolStore): ToolRegistry {
  return new ToolRegistry({
    compiler,
    sandbox,
    store,
    limits: DEFAULT_LIMITS,
    logger: SILENT_LOGGER,
  });
}

describe('ToolRegistry', () => {
  it('persists to SQLite and loads the same tools, without compiling, after a restart', async () => {
    const file = join(dir.path, 'registry.sqlite');
    {
      await using store = await openKeyvStore({ url: file });
      const registry = registryOn(store);
      const events: ChangeEvent[] = [];
      registry.onChange((e) => events.push(e));
      assert.ok((await registry.create(ADD_NUMBERS)).ok);
      assert.ok((await registry.create(SPLIT_NAME)).ok);
      assert.ok((await registry.create({ ...ADD_NUMBERS, replace: true })).ok);
      assert.ok((await registry.delete('split_name')).ok);
      assert.deepEqual(
        events.map((e) => `${e.type}:${e.name}`),
        ['created:add_numbers', 'created:split_name', 'replaced:add_numbers', 'deleted:split_name'],
      );
    }
    await using store = await openKeyvStore({ url: file });
    const restarted = registryOn(store);
    assert.equal(await restarted.load(), 1);
    assert.equal(restarted.get('add_numbers')?.version, 2);
    const call = await restarted.call('add_numbers', { a: 2, b: 2 });
    assert.ok(call.ok);
    assert.equal(call.value, 4);
  });

  it('serialises concurrent creates of one name: one wins, the other is a conflict', async () => {
    const registry = registryOn(createMemoryStore());
    const [first, second] = await Promise.all([
      registry.create(ADD_NUMBERS),
      registry.create(ADD_NUMBERS),
    ]);
    assert.equal([first, second].filter((r) => r.ok).length, 1);
    const loser = [first, second].find((r) => !r.ok);
    assert.ok(loser && !loser.ok);
    assert.equal(loser.diagnostics[0]?.stage, 'conflict');
  });

  it('registers nothing and keeps the old version when the store fails', async () => {
    const memory = createMemoryStore();
    let failWrites = false;
    const flaky: ToolStore = {
      description: 'flaky',
      loadAll: () => memory.loadAll(),
      get: (name) => memory.get(name),
      put: (record) =>
        failWrites
          ? Promise.reject(new ToolsmithError('store_unavailable', 'disk full'))
          : memory.put(record),
      delete: (name) => memory.delete(name),
      putHealth: (name, health) => memory.putHealth(name, health),
      appendAudit: (entry) => memory.appendAudit(entry),
      [Symbol.asyncDispose]: () => memory[Symbol.asyncDispose](),
    };
    const registry = registryOn(flaky);
    assert.ok((await registry.create(ADD_NUMBERS)).ok);
    failWrites = true;
    await assert.rejects(
      registry.create({ ...ADD_NUMBERS, description: 'v2', replace: true }),
      ToolsmithError,
    );
    await assert.rejects(registry.create(SPLIT_NAME), ToolsmithError);
    assert.equal(registry.get('add_numbers')?.version, 1);
    assert.equal(registry.get('split_name'), undefined);
    assert.deepEqual(
      (await memory.loadAll()).tools.map((r) => r.version),
      [1],
    );
  });

  it("two registries on one SQLite store never clobber each other's versions", async () => {
    const file = join(dir.path, 'shared.sqlite');
    await using storeA = await openKeyvStore({ url: file });
    await using storeB = await openKeyvStore({ url: file });
    const a = registryOn(storeA);
    const b = registryOn(storeB);
    await a.load();
    await b.load();
    assert.ok((await a.create(ADD_NUMBERS)).ok);
    // B learns of the tool on its first call, and builds its replacement on A's version.
    const called = await b.call('add_numbers', { a: 1, b: 1 });
    assert.ok(called.ok);
    assert.ok((await a.create({ ...ADD_NUMBERS, description: 'v2 from A', replace: true })).ok);
    const fromB = await b.create({ ...ADD_NUMBERS, description: 'v3 from B', replace: true });
    assert.ok(fromB.ok);
    assert.equal(fromB.value.record.version, 3);
    assert.deepEqual(
      fromB.value.record.history?.map((v) => v.description),
      ['Add two numbers.', 'v2 from A'],
    );
    const audit = (await storeA.loadAll()).audit.map((e) => e.action);
    assert.deepEqual(audit, ['create', 'replace', 'replace']);
    await a[Symbol.asyncDispose]();
    await b[Symbol.asyncDispose]();
  });

  it('counts calls, failures and argument refusals per tool, and persists them in batches', async () => {
    const store = createMemoryStore();
    const registry = registryOn(store);
    await registry.create(ADD_NUMBERS);
    await registry.call('add_numbers', { a: 1, b: 2 });
    await registry.call('add_numbers', { a: 1e308, b: 1e308 });
    await registry.call('add_numbers', { a: 'x' });
    const health = registry.healthOf('add_numbers');
    assert.equal(health.calls, 2);
    assert.equal(health.successes, 1);
    assert.deepEqual(health.failures, { threw: 1 });
    assert.equal(health.argumentRefusals, 1);
    assert.match(health.lastError?.message ?? '', /finite/);
    assert.equal(health.lastError?.input, '{"a":1e+308,"b":1e+308}');
    // A plain Error is the tool refusing input on purpose: it does not count towards quarantine.
    assert.equal(health.consecutiveFailures, 0);
    await registry[Symbol.asyncDispose]();
    assert.equal((await store.loadAll()).health.get('add_numbers')?.calls, 2);
  });

  it('refuses results that do not match the declared return type', async () => {
    const registry = registryOn(createMemoryStore());
    const created = await registry.create({
      name: 'liar',
      description: 'Claims a number, returns a string for negative input.',
      source:
        'export function liar(input: { n: number }): number { return (input.n < 0 ? "oops" : input.n) as any; }',
      tests: [{ input: { n: 1 }, expected: 1 }],
    });
    assert.ok(created.ok);
    const call = await registry.call('liar', { n: -1 });
    assert.ok(!call.ok && 'kind' in call);
    assert.equal(call.kind, 'bad_result');
    assert.match(call.message, /must be number, got string/);
  });
});
