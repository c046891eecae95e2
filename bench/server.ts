/**
 * Toolsmith instances for the benchmark: in-process (an SDK Client over InMemoryTransport) and spawned
 * (the built CLI over stdio, as an MCP client would run it).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { CallToolResultSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../src/config.js';
import { SILENT_LOGGER } from '../src/log.js';
import { DEFAULT_LIMITS } from '../src/registry/limits.js';
import { DEFAULT_LIST_PAGE_SIZE } from '../src/config.js';
import { DEFAULT_QUARANTINE_POLICY } from '../src/registry/health.js';
import { DEFAULT_DUPLICATE_THRESHOLD } from '../src/registry/similarity.js';
import { createToolsmith, type Toolsmith } from '../src/server/create-server.js';
import { createMemoryStore } from '../src/store/memory-store.js';

/** The CLI's default pool size (cores, 1 to 4, plus one), used for in-process instances too. */
export const POOL_SIZE = Math.max(1, Math.min(4, availableParallelism())) + 1;

/** The built CLI, next to this file's compiled form (dist/bench/ -> dist/src/cli.js). */
export const CLI_PATH = fileURLToPath(new URL('../src/cli.js', import.meta.url));

/** A connected MCP client, whichever transport it uses. */
export interface Session extends AsyncDisposable {
  readonly client: Client;
  /** Calls a tool; throws on protocol errors, and on tool errors unless `allowError`. */
  call(name: string, args: Record<string, unknown>, allowError?: boolean): Promise<CallToolResult>;
}

export interface InProcessSession extends Session {
  readonly toolsmith: Toolsmith;
}

export interface SpawnedSession extends Session {
  readonly pid: number;
  /** The last few KiB of the server's stderr (for error reports). */
  stderrTail(): string;
}

function newClient(): Client {
  return new Client({ name: 'toolsmith-bench', version: '1.0.0' });
}

/** The text of a result's first content item. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first && first.type === 'text' ? first.text : '';
}

function caller(client: Client): Session['call'] {
  return async (name, args, allowError = false) => {
    const result = await client.callTool({ name, arguments: args }, CallToolResultSchema, {
      timeout: 120_000,
    });
    const parsed = CallToolResultSchema.parse(result);
    if (parsed.isError === true && !allowError) {
      throw new Error(`${name} answered with an error: ${textOf(parsed)}`);
    }
    return parsed;
  };
}

export function inProcessConfig(storeUrl: string, poolSize = POOL_SIZE): Config {
  return {
    storeUrl,
    limits: DEFAULT_LIMITS,
    poolSize,
    logLevel: 'silent',
    quarantine: DEFAULT_QUARANTINE_POLICY,
    duplicateThreshold: DEFAULT_DUPLICATE_THRESHOLD,
    listPageSize: DEFAULT_LIST_PAGE_SIZE,
  };
}

/**
 * A toolsmith built in this process, with a memory store (`storeUrl` 'memory') or the store `storeUrl`
 * opens, connected to an SDK client over InMemoryTransport.
 */
export async function startInProcess(storeUrl: string): Promise<InProcessSession> {
  const toolsmith = await createToolsmith({
    config: inProcessConfig(storeUrl),
    logger: SILENT_LOGGER,
    ...(storeUrl === 'memory' ? { store: createMemoryStore() } : {}),
  });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = newClient();
  await toolsmith.connect(serverTransport);
  await client.connect(clientTransport);
  return {
    client,
    toolsmith,
    call: caller(client),
    async [Symbol.asyncDispose]() {
      try {
        await client.close();
      } finally {
        await toolsmith[Symbol.asyncDispose]();
      }
    },
  };
}

/**
 * Spawns `node dist/src/cli.js --store <storePath> ...extraArgs` and connects an SDK client over stdio.
 * Resolves once the initialize handshake has been answered.
 */
export async function spawnServer(
  storePath: string,
  extraArgs: readonly string[] = [],
): Promise<SpawnedSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_PATH, '--store', storePath, '--log-level', 'warn', ...extraArgs],
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer | string) => {
    stderr = (stderr + chunk.toString()).slice(-4096);
  });
  const client = newClient();
  try {
    await client.connect(transport);
  } catch (error) {
    await client.close().catch(() => undefined);
    throw new Error(`the server did not start: ${String(error)}\n${stderr}`, { cause: error });
  }
  const pid = transport.pid;
  if (pid === null) throw new Error('the spawned server has no pid');
  return {
    client,
    pid,
    call: caller(client),
    stderrTail: () => stderr,
    async [Symbol.asyncDispose]() {
      await client.close();
    },
  };
}

/** Resident set size of process `pid` in MiB (Linux /proc; elsewhere `ps`). */
export async function rssMiB(pid: number): Promise<number> {
  // The server and its child processes (the compiler started from its snapshot runs as one).
  let kib = 0;
  for (const id of [pid, ...(await childrenOf(pid))]) kib += await rssKiB(id);
  return kib / 1024;
}

async function rssKiB(pid: number): Promise<number> {
  if (process.platform === 'linux') {
    try {
      const status = await readFile(`/proc/${pid}/status`, 'utf8');
      const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
      if (match?.[1]) return Number(match[1]);
    } catch {
      return 0; // exited meanwhile
    }
  }
  const { stdout } = await promisify(execFile)('ps', ['-o', 'rss=', '-p', String(pid)]);
  return Number(stdout.trim()) || 0;
}

/**
 * CPU time (user + system, ms) process `pid` and its child processes have used so far, counting every thread
 * (Linux /proc); undefined elsewhere.
 */
export async function cpuMs(pid: number): Promise<number | undefined> {
  if (process.platform !== 'linux') return undefined;
  let ms = 0;
  for (const id of [pid, ...(await childrenOf(pid))])
    ms += (await statCpuMs(`/proc/${id}/stat`)) ?? 0;
  return ms;
}

/** CPU time of the process's main thread alone, in ms (Linux only). */
export async function mainThreadCpuMs(pid: number): Promise<number | undefined> {
  if (process.platform !== 'linux') return undefined;
  return statCpuMs(`/proc/${pid}/task/${pid}/stat`);
}

/** User + system time from a /proc stat file, in ms; undefined if it is gone. */
async function statCpuMs(path: string): Promise<number | undefined> {
  const ticksPerMs = 100 / 1000; // USER_HZ: 100 on Linux
  try {
    const stat = await readFile(path, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
  } catch {
    return undefined; // exited meanwhile
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const { stdout } = await promisify(execFile)('ps', ['-o', 'pid=', '--ppid', String(pid)]);
    return stdout
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((id) => id > 0);
  } catch {
    return []; // ps exits 1 when there are none
  }
}
