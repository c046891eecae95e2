/** The built bin, spawned over stdio with the SDK's StdioClientTransport, as Claude Desktop or VS Code would. */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { defaultDataDirectory } from '../../src/config.js';
import { eventually, textOf } from '../helpers/connect.js';
import { CLI_PATH, spawnServer } from '../helpers/spawn.js';
import { makeTempDir } from '../helpers/tmp.js';
import { ADD_NUMBERS, FRAGILE, INFINITE_LOOP, SPLIT_NAME } from '../fixtures/tools.js';

const run = promisify(execFile);
const dir = makeTempDir();
after(() => dir[Symbol.dispose]());

describe('stdio end to end', () => {
  it('creates, calls, replaces and deletes tools, and they are exactly as they were after a restart', async () => {
    const store = join(dir.path, 'e2e.sqlite');
    {
      await using server = await spawnServer(['--store', store, '--timeout-ms', '500']);
      const created = (await server.client.callTool({
        name: 'create_tool',
        arguments: ADD_NUMBERS,
      })) as CallToolResult;
      assert.equal(created.isError, undefined, textOf(created));
      await eventually(() => server.listChangedCount() === 1, 5000);
      await server.client.callTool({ name: 'create_tool', arguments: SPLIT_NAME });
      await server.client.callTool({ name: 'create_tool', arguments: INFINITE_LOOP });
      await server.client.callTool({
        name: 'create_tool',
        arguments: { ...ADD_NUMBERS, description: 'Add two numbers, v2.', replace: true },
      });
      await server.client.callTool({ name: 'delete_tool', arguments: { name: 'spin_forever' } });
      const sum = (await server.client.callTool({
        name: 'add_numbers',
        arguments: { a: 1, b: 2 },
      })) as CallToolResult;
      assert.equal(textOf(sum), '3');
    }
    await using restarted = await spawnServer(['--store', store]);
    const names = (await restarted.client.listTools()).tools.map((t) => t.name);
    assert.deepEqual(names.slice(6).sort(), ['add_numbers', 'split_name']);
    const got = (await restarted.client.callTool({
      name: 'get_tool',
      arguments: { name: 'add_numbers' },
    })) as CallToolResult;
    const details = got.structuredContent as Record<string, unknown>;
    assert.equal(details['version'], 2);
    assert.equal(details['description'], 'Add two numbers, v2.');
    assert.equal(details['source'], ADD_NUMBERS.source);
    const split = (await restarted.client.callTool({
      name: 'split_name',
      arguments: { full: 'Alan Turing' },
    })) as CallToolResult;
    assert.deepEqual(split.structuredContent, { first: 'Alan', last: 'Turing' });
    assert.match(restarted.stderr(), /loaded 2 tools/);
  });

  it('keeps versions, rollback, health, quarantine and the audit log across a restart', async () => {
    const store = join(dir.path, 'lifecycle.sqlite');
    {
      await using server = await spawnServer(['--store', store, '--quarantine-after', '2']);
      const call = (name: string, args: Record<string, unknown>) =>
        server.client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
      await call('create_tool', ADD_NUMBERS);
      await call('create_tool', {
        ...ADD_NUMBERS,
        description: 'Add two numbers, v2.',
        replace: true,
      });
      assert.equal(
        (await call('rollback_tool', { name: 'add_numbers', version: 1 })).isError,
        undefined,
      );
      await call('create_tool', FRAGILE);
      await call('fragile_double', { n: 50 });
      await call('fragile_double', { n: 51 });
      assert.match(textOf(await call('fragile_double', { n: 1 })), /quarantined/);
    }
    await using restarted = await spawnServer(['--store', store]);
    const call = (name: string, args: Record<string, unknown>) =>
      restarted.client.callTool({ name, arguments: args }) as Promise<CallToolResult>;
    const details = (await call('get_tool', { name: 'add_numbers' })).structuredContent as {
      version: number;
      description: string;
      history: { version: number }[];
    };
    assert.equal(details.version, 3);
    assert.equal(details.description, 'Add two numbers.');
    assert.deepEqual(
      details.history.map((h) => h.version),
      [2, 1],
    );
    assert.equal(
      (await call('rollback_tool', { name: 'add_numbers', version: 2 })).isError,
      undefined,
    );
    const names = (await restarted.client.listTools()).tools.map((t) => t.name);
    assert.ok(!names.includes('fragile_double'), 'still quarantined after the restart');
    const quarantined = await call('fragile_double', { n: 1 });
    assert.match(textOf(quarantined), /quarantined.*\{"n":50\}/s);
    const fragile = (await call('get_tool', { name: 'fragile_double' })).structuredContent as {
      health: { calls: number; failures: Record<string, number> };
    };
    assert.deepEqual(fragile.health.failures, { threw: 2 });
    const audit = await restarted.client.readResource({ uri: 'toolsmith://audit' });
    const entries = (
      JSON.parse((audit.contents[0] as { text: string }).text) as {
        entries: { action: string; client: { name: string } | null }[];
      }
    ).entries;
    assert.deepEqual(
      entries.map((e) => e.action),
      ['rollback', 'quarantine', 'create', 'rollback', 'replace', 'create'],
    );
    assert.equal(entries[0]?.client?.name, 'toolsmith-e2e');
  });

  it('survives a hostile tool: the time limit ends it and the next request is served', async () => {
    await using server = await spawnServer([
      '--store',
      join(dir.path, 'hostile.sqlite'),
      '--timeout-ms',
      '200',
    ]);
    await server.client.callTool({ name: 'create_tool', arguments: INFINITE_LOOP });
    const stuck = (await server.client.callTool({
      name: 'spin_forever',
      arguments: { n: -1 },
    })) as CallToolResult;
    assert.equal(stuck.isError, true);
    assert.match(textOf(stuck), /time limit/);
    const listed = await server.client.listTools();
    assert.ok(listed.tools.some((t) => t.name === 'spin_forever'));
  });

  it('answers --help and --version on stdout and refuses bad flags with one line on stderr', async () => {
    const help = await run(process.execPath, [CLI_PATH, '--help']);
    assert.match(help.stdout, /Usage: toolsmith/);
    assert.match(help.stdout, /--store/);
    const version = await run(process.execPath, [CLI_PATH, '--version']);
    assert.match(version.stdout.trim(), /^\d+\.\d+\.\d+$/);
    await assert.rejects(
      run(process.execPath, [CLI_PATH, '--no-such-flag']),
      (error: { code?: number; stderr?: string; stdout?: string }) => {
        assert.equal(error.code, 2);
        assert.equal(error.stdout, '');
        assert.equal(error.stderr?.trim().split('\n').length, 1);
        return true;
      },
    );
  });

  it('exits non-zero with a reason when the store cannot be opened', async () => {
    const notADirectory = join(dir.path, 'e2e.sqlite', 'x.sqlite');
    await assert.rejects(
      run(process.execPath, [CLI_PATH, '--store', notADirectory]),
      (error: { code?: number; stderr?: string }) => {
        assert.equal(error.code, 1);
        assert.match(error.stderr ?? '', /cannot start/);
        return true;
      },
    );
  });

  it('uses TOOLSMITH_STORE and keeps stdout to JSON-RPC only', async () => {
    await using server = await spawnServer([], {
      TOOLSMITH_STORE: join(dir.path, 'from-env.sqlite'),
    });
    await server.client.callTool({ name: 'create_tool', arguments: ADD_NUMBERS });
    await server.client.callTool({ name: 'add_numbers', arguments: { a: 1, b: 1 } });
    assert.match(server.stderr(), /from-env\.sqlite/);
    assert.deepEqual(server.protocolErrors(), []);
  });

  it('defaults to a SQLite file in the per-user data directory', async () => {
    const home = join(dir.path, 'home');
    {
      await using server = await spawnServer([], {
        HOME: home,
        XDG_DATA_HOME: '',
        TOOLSMITH_STORE: '',
        TOOLSMITH_CACHE_DIR: '',
      });
      await server.client.callTool({ name: 'create_tool', arguments: ADD_NUMBERS });
      const expected = join(
        defaultDataDirectory({ XDG_DATA_HOME: '' }, { platform: process.platform, home, cores: 1 }),
        'tools.sqlite',
      );
      assert.ok(server.stderr().includes(expected), server.stderr());
    }
    await using again = await spawnServer([], {
      HOME: home,
      XDG_DATA_HOME: '',
      TOOLSMITH_STORE: '',
      TOOLSMITH_CACHE_DIR: '',
    });
    assert.ok((await again.client.listTools()).tools.some((t) => t.name === 'add_numbers'));
  });
});
