/** The MCP contract of issue #3, through the SDK's real Client over an in-memory transport. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { META_TOOL_NAMES } from '../../src/registry/arguments.js';
import { connectInMemory, eventually, textOf, type Connected } from '../helpers/connect.js';
import { ADD_NUMBERS, INFINITE_LOOP, SPLIT_NAME } from '../fixtures/tools.js';

const META = [
  'create_tool',
  'rollback_tool',
  'delete_tool',
  'get_tool',
  'search_tools',
  'run_tool',
];

describe('server contract', () => {
  let app: Connected;
  before(async () => {
    app = await connectInMemory({ limits: { timeoutMs: 300 } });
  });
  after(async () => {
    await app[Symbol.asyncDispose]();
  });

  it('declares tools.listChanged and prompts, and lists the meta-tools with annotations', async () => {
    const caps = app.client.getServerCapabilities();
    assert.deepEqual(caps?.tools, { listChanged: true });
    assert.ok(caps?.prompts);
    assert.equal(app.client.getServerVersion()?.name, 'toolsmith');
    const { tools } = await app.client.listTools();
    assert.deepEqual(
      tools.map((t) => t.name),
      META,
    );
    // Every advertised meta-tool name is reserved: no created tool can shadow one.
    assert.deepEqual([...META_TOOL_NAMES].sort(), [...META].sort());
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    assert.equal(byName['get_tool']?.annotations?.readOnlyHint, true);
    assert.equal(byName['search_tools']?.annotations?.readOnlyHint, true);
    assert.equal(byName['delete_tool']?.annotations?.destructiveHint, true);
    for (const tool of tools)
      assert.ok((tool.description ?? '').length > 80, `${tool.name} has a useful description`);
  });

  it('creates a tool: success result, list_changed, listed with derived schema, callable', async () => {
    const before = app.listChangedCount();
    const created = await app.call('create_tool', ADD_NUMBERS);
    assert.equal(created.isError, undefined, textOf(created));
    assert.match(textOf(created), /Created tool "add_numbers" \(version 1\); 3\/3 tests passed/);
    const sc = created.structuredContent as Record<string, unknown>;
    assert.equal(sc['name'], 'add_numbers');
    assert.equal(sc['version'], 1);
    assert.equal((sc['tests'] as unknown[]).length, 3);
    await eventually(() => app.listChangedCount() === before + 1);

    const { tools } = await app.client.listTools();
    const tool = tools.find((t) => t.name === 'add_numbers');
    assert.deepEqual(tool?.inputSchema, {
      type: 'object',
      properties: {
        a: { type: 'number', description: 'First addend' },
        b: { type: 'number', description: 'Second addend' },
      },
      required: ['a', 'b'],
      additionalProperties: false,
    });
    const result = await app.call('add_numbers', { a: 2, b: 40 });
    assert.deepEqual(result.content, [{ type: 'text', text: '42' }]);
  });

  it('returns structuredContent for object results and declares an outputSchema', async () => {
    const created = await app.call('create_tool', SPLIT_NAME);
    assert.equal(created.isError, undefined, textOf(created));
    const { tools } = await app.client.listTools();
    assert.ok(tools.find((t) => t.name === 'split_name')?.outputSchema);
    const result = await app.call('split_name', { full: 'Grace Brewster Hopper' });
    assert.deepEqual(result.structuredContent, { first: 'Grace', last: 'Hopper' });
    assert.deepEqual(JSON.parse(textOf(result)), { first: 'Grace', last: 'Hopper' });
    // A thrown error on a tool with an outputSchema must still be readable by the SDK client.
    const failed = await app.call('split_name', { full: ' ' });
    assert.equal(failed.isError, true);
    assert.match(textOf(failed), /empty name/);
  });

  it('refuses at each stage with the stage, line:column, and registers nothing', async () => {
    const cases: { args: Record<string, unknown>; stage: string; text: RegExp }[] = [
      { args: { ...ADD_NUMBERS, name: 'Bad-Name' }, stage: 'arguments', text: /name/ },
      { args: { ...ADD_NUMBERS, name: 'create_tool' }, stage: 'arguments', text: /meta-tool/ },
      { args: { ...ADD_NUMBERS, name: 'fresh_one', tests: [] }, stage: 'arguments', text: /tests/ },
      {
        args: {
          ...ADD_NUMBERS,
          name: 'fresh_one',
          tests: [{ input: {}, expected: 1, error: 'x' }],
        },
        stage: 'arguments',
        text: /exactly one/,
      },
      { args: { ...ADD_NUMBERS, name: 'fresh_one' }, stage: 'parse', text: /named "fresh_one"/ },
      {
        args: {
          ...ADD_NUMBERS,
          name: 'fresh_one',
          source:
            'export function fresh_one(input: { a: number }): number {\n  return eval("1");\n}',
        },
        stage: 'screen',
        text: /2:10 eval is not allowed/,
      },
      {
        args: {
          ...ADD_NUMBERS,
          name: 'fresh_one',
          source: 'export function fresh_one(input: { a: number }): number {\n  return input.b;\n}',
        },
        stage: 'typecheck',
        text: /2:16 TS2339/,
      },
      {
        args: {
          ...ADD_NUMBERS,
          name: 'fresh_one',
          source: 'export function fresh_one(input: { a: () => number }): number {\n  return 1;\n}',
        },
        stage: 'schema',
        text: /function/,
      },
      {
        args: {
          ...ADD_NUMBERS,
          name: 'fresh_one',
          source:
            'export function fresh_one(input: { a: number; b: number }): number { return input.a - input.b; }',
          allowSimilar: true,
        },
        stage: 'tests',
        text: /test 1: with input \{"a":1,"b":2\} expected 3, got -1/,
      },
      {
        args: { ...ADD_NUMBERS, name: 'fresh_one', source: 'x'.repeat(200_000) },
        stage: 'limits',
        text: /cap/,
      },
      { args: ADD_NUMBERS, stage: 'conflict', text: /already exists.*replace: true/ },
      {
        args: {
          ...ADD_NUMBERS,
          name: 'sum_numbers',
          source: ADD_NUMBERS.source.replaceAll('add_numbers', 'sum_numbers'),
        },
        stage: 'duplicate',
        text: /looks like the existing tool "add_numbers"\(a: number, b: number\).*allowSimilar: true/,
      },
    ];
    const listBefore = (await app.client.listTools()).tools.map((t) => t.name);
    const changesBefore = app.listChangedCount();
    for (const c of cases) {
      const result = await app.call('create_tool', c.args);
      assert.equal(result.isError, true, c.stage);
      const sc = result.structuredContent as { stage: string; diagnostics: unknown[] };
      assert.equal(sc.stage, c.stage, textOf(result));
      assert.ok(sc.diagnostics.length > 0);
      assert.match(textOf(result), new RegExp(`refused at stage "${c.stage}"`));
      assert.match(textOf(result), c.text, textOf(result));
    }
    assert.deepEqual(
      (await app.client.listTools()).tools.map((t) => t.name),
      listBefore,
    );
    assert.equal(app.listChangedCount(), changesBefore);
  });

  it('replaces with replace: true as a new version; a failing replacement leaves the old one serving', async () => {
    const failing = await app.call('create_tool', {
      ...ADD_NUMBERS,
      replace: true,
      source: ADD_NUMBERS.source.replace('input.a + input.b;\n}', 'input.a * input.b;\n}'),
    });
    assert.equal(failing.isError, true);
    assert.deepEqual((await app.call('add_numbers', { a: 2, b: 3 })).content, [
      { type: 'text', text: '5' },
    ]);
    const replaced = await app.call('create_tool', {
      ...ADD_NUMBERS,
      description: 'Add two numbers (v2).',
      replace: true,
    });
    assert.equal(replaced.isError, undefined, textOf(replaced));
    assert.equal((replaced.structuredContent as { version: number }).version, 2);
    const got = await app.call('get_tool', { name: 'add_numbers' });
    const details = got.structuredContent as Record<string, unknown>;
    assert.equal(details['version'], 2);
    assert.equal(details['description'], 'Add two numbers (v2).');
    assert.equal(details['source'], ADD_NUMBERS.source);
    assert.deepEqual(details['tests'], ADD_NUMBERS.tests);
    assert.ok(details['inputSchema']);
    assert.ok((details['health'] as { calls: number }).calls >= 1);
    assert.equal((details['limits'] as { timeoutMs: number }).timeoutMs, 300);
  });

  it('validates dynamic-tool arguments against the derived schema', async () => {
    const wrongType = await app.call('add_numbers', { a: 'two', b: 3 });
    assert.equal(wrongType.isError, true);
    assert.match(textOf(wrongType), /a must be number, got string "two"/);
    const missing = await app.call('add_numbers', { a: 1 });
    assert.match(textOf(missing), /missing the required property "b"/);
    const extra = await app.call('add_numbers', { a: 1, b: 2, c: 3 });
    assert.match(textOf(extra), /unknown property "c"/);
  });

  it('turns timeouts into isError results and keeps serving', async () => {
    await app.call('create_tool', INFINITE_LOOP);
    const started = Date.now();
    const result = await app.call('spin_forever', { n: -1 });
    assert.equal(result.isError, true);
    assert.match(textOf(result), /time limit/);
    assert.ok(Date.now() - started < 3000);
    assert.deepEqual((await app.call('add_numbers', { a: 1, b: 1 })).content, [
      { type: 'text', text: '2' },
    ]);
  });

  it('run_tool calls a tool by name, with the same validation', async () => {
    const ok = await app.call('run_tool', { name: 'add_numbers', arguments: { a: 20, b: 22 } });
    assert.equal(textOf(ok), '42');
    const unknown = await app.call('run_tool', { name: 'no_such_tool', arguments: {} });
    assert.equal(unknown.isError, true);
    assert.match(textOf(unknown), /no tool named "no_such_tool"/);
  });

  it('search_tools ranks by name, description and parameter names', async () => {
    const result = await app.call('search_tools', { query: 'sum two numbers addend' });
    const names = (result.structuredContent as { results: { name: string }[] }).results.map(
      (r) => r.name,
    );
    assert.equal(names[0], 'add_numbers');
    const byParam = await app.call('search_tools', { query: 'full name' });
    assert.equal(
      (byParam.structuredContent as { results: { name: string }[] }).results[0]?.name,
      'split_name',
    );
    const none = await app.call('search_tools', { query: 'zebra quantum' });
    assert.match(textOf(none), /No tool matches/);
  });

  it('pages tools/list with an opaque cursor when a page size is set', async () => {
    await using paged = await connectInMemory({ listPageSize: 4 });
    const names: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await paged.client.listTools(cursor === undefined ? {} : { cursor });
      names.push(...page.tools.map((t) => t.name));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== undefined);
    assert.equal(pages, 2);
    assert.deepEqual(names, META);
    await assert.rejects(
      paged.client.listTools({ cursor: 'bogus!' }),
      (error: unknown) =>
        error instanceof McpError && error.code === Number(ErrorCode.InvalidParams),
    );
  });

  it('unknown tools are a protocol error (InvalidParams)', async () => {
    await assert.rejects(
      app.client.callTool({ name: 'does_not_exist', arguments: {} }),
      (error: unknown) =>
        error instanceof McpError && error.code === Number(ErrorCode.InvalidParams),
    );
  });

  it('offers the write_tool prompt', async () => {
    const { prompts } = await app.client.listPrompts();
    assert.deepEqual(
      prompts.map((p) => p.name),
      ['write_tool'],
    );
    const prompt = await app.client.getPrompt({
      name: 'write_tool',
      arguments: { task: 'parse ISO dates' },
    });
    const first = prompt.messages[0]?.content;
    assert.ok(first && first.type === 'text');
    assert.match(first.text, /search_tools/);
    assert.match(first.text, /parse ISO dates/);
  });

  it('deletes a tool: gone from the list, list_changed sent, calls refused', async () => {
    const before = app.listChangedCount();
    const deleted = await app.call('delete_tool', { name: 'split_name' });
    assert.equal(deleted.isError, undefined, textOf(deleted));
    await eventually(() => app.listChangedCount() === before + 1);
    assert.ok(!(await app.client.listTools()).tools.some((t) => t.name === 'split_name'));
    const again = await app.call('delete_tool', { name: 'split_name' });
    assert.equal(again.isError, true);
  });
});
