/** Issue #6 through the SDK client: versions and rollback, health and quarantine, duplicates, resources. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  McpError,
  ResourceListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { connectInMemory, eventually, textOf, type Connected } from '../helpers/connect.js';
import { ADD_NUMBERS, FRAGILE, FRAGILE_FIXED } from '../fixtures/tools.js';

describe('tool lifecycle', () => {
  let app: Connected;
  let resourceChanges = 0;
  before(async () => {
    app = await connectInMemory({
      quarantine: { consecutiveFailures: 3, window: 10, failureRate: 0.5 },
    });
    app.client.setNotificationHandler(ResourceListChangedNotificationSchema, () => {
      resourceChanges++;
    });
  });
  after(async () => {
    await app[Symbol.asyncDispose]();
  });

  it('keeps every version and rolls back as a new version', async () => {
    await app.call('create_tool', ADD_NUMBERS);
    const v2 = {
      ...ADD_NUMBERS,
      description: 'Add two numbers, v2.',
      replace: true,
      source: ADD_NUMBERS.source.replace(
        '/** Adds two numbers. */',
        '/** Adds two numbers (v2). */',
      ),
    };
    assert.equal((await app.call('create_tool', v2)).isError, undefined);
    const got = (await app.call('get_tool', { name: 'add_numbers' })).structuredContent as {
      version: number;
      history: { version: number; description: string; sourceHash: string; source?: string }[];
    };
    assert.equal(got.version, 2);
    assert.deepEqual(
      got.history.map((h) => h.version),
      [1],
    );
    assert.equal(got.history[0]?.description, 'Add two numbers.');
    assert.equal(got.history[0]?.source, undefined, 'sources only on request');
    const withSource = (
      await app.call('get_tool', { name: 'add_numbers', includeHistorySource: true })
    ).structuredContent as typeof got;
    assert.equal(withSource.history[0]?.source, ADD_NUMBERS.source);

    const changes = app.listChangedCount();
    const rolled = await app.call('rollback_tool', { name: 'add_numbers', version: 1 });
    assert.equal(rolled.isError, undefined, textOf(rolled));
    assert.deepEqual(rolled.structuredContent, {
      name: 'add_numbers',
      version: 3,
      restoredFrom: 1,
      released: false,
    });
    await eventually(() => app.listChangedCount() > changes);
    const now = (await app.call('get_tool', { name: 'add_numbers' }))
      .structuredContent as typeof got & { source: string; description: string };
    assert.equal(now.version, 3);
    assert.equal(now.source, ADD_NUMBERS.source);
    assert.equal(now.description, 'Add two numbers.');
    assert.deepEqual(
      now.history.map((h) => h.version),
      [2, 1],
    );

    for (const [args, text] of [
      [{ name: 'add_numbers', version: 9 }, /has no version 9; its versions are 1, 2, 3/],
      [{ name: 'add_numbers', version: 3 }, /already the current version/],
      [{ name: 'nope_tool', version: 1 }, /no tool named "nope_tool"/],
      [{ name: 'add_numbers' }, /version/],
    ] as const) {
      const refused = await app.call('rollback_tool', args);
      assert.equal(refused.isError, true);
      assert.match(textOf(refused), text);
    }
  });

  it('quarantines a tool whose own code keeps failing, and a fixed replacement lifts it', async () => {
    await app.call('create_tool', FRAGILE);
    // Refused input (a plain Error, the caller's fault) never counts.
    for (let i = 0; i < 5; i++)
      assert.match(textOf(await app.call('fragile_double', { n: -1 })), /must not be negative/);
    assert.equal((await app.call('fragile_double', { n: 3 })).isError, undefined);

    const changes = app.listChangedCount();
    for (const n of [11, 12, 13]) {
      const failed = await app.call('fragile_double', { n });
      assert.equal(failed.isError, true);
      assert.match(textOf(failed), /TypeError/);
    }
    await eventually(() => app.listChangedCount() > changes);
    assert.ok(
      !(await app.client.listTools()).tools.some((t) => t.name === 'fragile_double'),
      'out of tools/list',
    );

    for (const call of [
      () => app.call('fragile_double', { n: 1 }),
      () => app.call('run_tool', { name: 'fragile_double', arguments: { n: 1 } }),
    ]) {
      const refused = await call();
      assert.equal(refused.isError, true);
      const text = textOf(refused);
      assert.match(text, /quarantined/);
      assert.match(text, /3 consecutive failures/);
      assert.match(text, /\{"n":11\}.*\{"n":13\}/);
      assert.match(text, /replace: true/);
    }
    const searched = (await app.call('search_tools', { query: 'double number' }))
      .structuredContent as { results: { name: string; state: string }[] };
    assert.equal(searched.results.find((r) => r.name === 'fragile_double')?.state, 'quarantined');
    const details = (await app.call('get_tool', { name: 'fragile_double' })).structuredContent as {
      state: string;
      health: { failures: Record<string, number>; argumentRefusals: number };
    };
    assert.equal(details.state, 'quarantined');
    assert.deepEqual(details.health.failures, { threw: 8 });

    const fixed = await app.call('create_tool', FRAGILE_FIXED);
    assert.equal(fixed.isError, undefined, textOf(fixed));
    assert.match(textOf(fixed), /quarantine is lifted/);
    assert.ok((await app.client.listTools()).tools.some((t) => t.name === 'fragile_double'));
    assert.equal(textOf(await app.call('fragile_double', { n: 11 })), '22');
  });

  it('a rollback lifts a quarantine too', async () => {
    // Version 3 of fragile_double reintroduces the bug; roll back to the fixed version 2.
    await app.call('create_tool', { ...FRAGILE, replace: true });
    for (const n of [20, 21, 22]) await app.call('fragile_double', { n });
    assert.match(textOf(await app.call('fragile_double', { n: 1 })), /quarantined/);
    const rolled = await app.call('rollback_tool', { name: 'fragile_double', version: 2 });
    assert.equal((rolled.structuredContent as { released: boolean }).released, true);
    assert.equal(textOf(await app.call('fragile_double', { n: 20 })), '40');
  });

  it('refuses a likely duplicate, naming it, and allows it with allowSimilar', async () => {
    const twin = {
      ...ADD_NUMBERS,
      name: 'plus_numbers',
      description: 'Add two numbers together.',
      source: ADD_NUMBERS.source.replaceAll('add_numbers', 'plus_numbers'),
    };
    const refused = await app.call('create_tool', twin);
    assert.equal(refused.isError, true);
    const sc = refused.structuredContent as {
      stage: string;
      diagnostics: { code: string; message: string }[];
    };
    assert.equal(sc.stage, 'duplicate');
    assert.equal(sc.diagnostics[0]?.code, 'similar_tool');
    assert.match(
      sc.diagnostics[0]?.message ?? '',
      /"add_numbers"\(a: number, b: number\) \(similarity 0\.\d+\)/,
    );
    const allowed = await app.call('create_tool', { ...twin, allowSimilar: true });
    assert.equal(allowed.isError, undefined, textOf(allowed));
    // A replacement is never a duplicate of itself.
    assert.equal((await app.call('create_tool', { ...twin, replace: true })).isError, undefined);
  });

  it('exposes tools and the audit log as resources', async () => {
    const caps = app.client.getServerCapabilities();
    assert.deepEqual(caps?.resources, { listChanged: true });
    const { resources } = await app.client.listResources();
    assert.ok(resources.some((r) => r.uri === 'toolsmith://audit'));
    assert.ok(resources.some((r) => r.uri === 'toolsmith://tools/add_numbers'));
    const { resourceTemplates } = await app.client.listResourceTemplates();
    assert.ok(resourceTemplates.some((t) => t.uriTemplate === 'toolsmith://tools/{name}'));

    const tool = await app.client.readResource({ uri: 'toolsmith://tools/add_numbers' });
    const first = tool.contents[0];
    assert.ok(first && 'text' in first);
    const doc = JSON.parse(first.text) as Record<string, unknown>;
    for (const key of [
      'description',
      'source',
      'tests',
      'inputSchema',
      'version',
      'history',
      'health',
      'sourceHash',
      'audit',
    ])
      assert.ok(key in doc, key);
    assert.equal((doc['history'] as { source?: string }[])[0]?.source !== undefined, true);

    const audit = await app.client.readResource({ uri: 'toolsmith://audit' });
    const page = JSON.parse((audit.contents[0] as { text: string }).text) as {
      entries: { seq: number; action: string; tool: string; client: { name: string } | null }[];
      total: number;
    };
    const seqs = page.entries.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => b - a),
      'newest first',
    );
    const actions = new Set(page.entries.map((e) => e.action));
    for (const action of ['create', 'replace', 'rollback', 'quarantine', 'release'])
      assert.ok(actions.has(action), action);
    assert.equal(page.entries.find((e) => e.action === 'create')?.client?.name, 'toolsmith-test');
    assert.equal(page.entries.find((e) => e.action === 'quarantine')?.client, null);

    const before = resourceChanges;
    await app.call('delete_tool', { name: 'plus_numbers' });
    await eventually(() => resourceChanges > before);
    const latest = JSON.parse(
      (
        (await app.client.readResource({ uri: 'toolsmith://audit' })).contents[0] as {
          text: string;
        }
      ).text,
    ) as typeof page;
    assert.equal(latest.entries[0]?.action, 'delete');
    await assert.rejects(
      app.client.readResource({ uri: 'toolsmith://tools/plus_numbers' }),
      (e: unknown) => e instanceof McpError && e.code === -32002,
    );
  });
});
