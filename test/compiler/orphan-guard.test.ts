/**
 * A compiler process busy with a slow check must not outlive a server that is killed (SIGKILL: no handler of
 * the server runs). Real processes: a stand-in server starts the compiler from its snapshot, sends a check
 * that takes seconds, and is killed mid-check.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createCompilerService } from '../../src/compiler/service.js';
import { snapshotFile } from '../../src/compiler/snapshot.js';
import { ADD_NUMBERS } from '../fixtures/tools.js';
import { makeTempDir } from '../helpers/tmp.js';
import { until } from '../helpers/until.js';

const SERVICE_URL = new URL('../../src/compiler/service.js', import.meta.url).href;

/** A source whose check takes seconds (each line instantiates a ~1,000-deep tuple type): ~6 s idle. */
function slowSource(): string {
  const lines: string[] = [];
  for (let i = 0; i < 40; i++) lines.push(`const x${i}: Build<${999 - i}>["length"] = ${999 - i};`);
  return `type Build<N extends number, A extends unknown[] = []> = A["length"] extends N ? A : Build<N, [...A, A["length"]]>;
${lines.join('\n')}
export function slow(input: { s: string }): number { return x0 + input.s.length; }
`;
}

/**
 * The stand-in server: starts the compiler on `cache` and says "ready"; on a line on its stdin, sends the
 * slow check and says "compiling".
 */
function standIn(cache: string): ChildProcess {
  const script = `
const { createCompilerService } = await import(${JSON.stringify(SERVICE_URL)});
const compiler = createCompilerService({ codeCacheDirectory: ${JSON.stringify(cache)}, timeoutMs: 120000 });
const report = await compiler.warm();
if (report?.codeCache !== 'snapshot') { console.log('not from the snapshot: ' + JSON.stringify(report)); process.exit(1); }
console.log('ready');
process.stdin.once('data', () => {
  void compiler.compile('slow', ${JSON.stringify(slowSource())});
  console.log('compiling');
});
`;
  return spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

/** Processes whose parent is `pid`, with their command lines (Linux /proc). */
function childrenOf(pid: number): { pid: number; cmdline: string }[] {
  const found: { pid: number; cmdline: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== pid) continue;
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      found.push({ pid: Number(entry), cmdline });
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

const alive = (pid: number): boolean => {
  try {
    // A zombie still answers kill(0): read its state instead.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

function said(process: ChildProcess, word: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    process.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes(word)) resolve();
      if (out.includes('not from the snapshot')) reject(new Error(out));
    });
    process.once('exit', (code) => reject(new Error(`the stand-in exited (${code}): ${out}`)));
  });
}

/** Kills the stand-in mid-check and returns how long its compiler process outlived it (ms). */
async function killMidCheck(server: ChildProcess, compilerPid: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 300)); // well into the ~6 s check
  assert.ok(alive(compilerPid), 'the compiler is busy checking');
  server.kill('SIGKILL');
  const killed = Date.now();
  await until(
    'the compiler process ends after the server is killed',
    3000,
    () => !alive(compilerPid),
  );
  return Date.now() - killed;
}

describe(
  'compiler process when the server is killed mid-check',
  { skip: process.platform !== 'linux' && 'reads /proc' },
  () => {
    const dir = makeTempDir();
    after(() => dir[Symbol.dispose]());
    const cache = join(dir.path, 'cache');

    it('has a snapshot to start from', async () => {
      {
        await using compiler = createCompilerService({ codeCacheDirectory: cache });
        // The snapshot is built once the compiler that serves meanwhile is warm.
        await compiler.warm();
        const compiled = await compiler.compile(ADD_NUMBERS.name, ADD_NUMBERS.source);
        assert.ok(compiled.ok);
      }
      const file = snapshotFile(cache, 512);
      await until('the snapshot is built', 60_000, () => existsSync(file));
    });

    it('ends with it, through the guard the server starts beside it', async () => {
      const server = standIn(cache);
      await said(server, 'ready');
      server.stdin?.write('go\n');
      await said(server, 'compiling');
      const children = childrenOf(server.pid ?? -1);
      const compiler = children.find((c) => c.cmdline.includes('--snapshot-blob'));
      const guard = children.find((c) => c.cmdline.startsWith('/bin/sh'));
      assert.ok(compiler, JSON.stringify(children));
      assert.ok(guard, 'a shell guards the compiler');
      const outlived = await killMidCheck(server, compiler.pid);
      assert.ok(outlived < 1000, `outlived the server by ${outlived} ms`);
      await until('the guard is gone too', 1000, () => !alive(guard.pid));
    });

    it('ends with it through its own watchdog when the guard is gone', async () => {
      const server = standIn(cache);
      await said(server, 'ready');
      const children = childrenOf(server.pid ?? -1);
      const compiler = children.find((c) => c.cmdline.includes('--snapshot-blob'));
      const guard = children.find((c) => c.cmdline.startsWith('/bin/sh'));
      assert.ok(compiler && guard, JSON.stringify(children));
      // Someone kills the guard: the server tells the compiler to start a watchdog of its own.
      process.kill(guard.pid, 'SIGKILL');
      await until('the guard is gone', 1000, () => !alive(guard.pid));
      await new Promise((resolve) => setTimeout(resolve, 200));
      server.stdin?.write('go\n');
      await said(server, 'compiling');
      const outlived = await killMidCheck(server, compiler.pid);
      // The watchdog looks every 500 ms.
      assert.ok(outlived < 1500, `outlived the server by ${outlived} ms`);
    });
  },
);
