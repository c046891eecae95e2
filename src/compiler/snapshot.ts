/**
 * A V8 startup snapshot of the compiler: a process started from it has TypeScript loaded, its lib files
 * parsed and a first tool checked, and compiles its first real tool ~0.1 s after spawn instead of the ~0.45 s
 * a fresh compiler worker takes. Built once per Node, TypeScript and toolsmith build into the cache
 * directory, in the background after the first start; until it exists, the compiler runs as a worker thread.
 *
 * Node 20's snapshot builder runs one CommonJS script that can `require` only built-in modules, and a process
 * started from a snapshot cannot `import()` ES modules. So the builder script is `snapshotMain` below, written
 * out as source; it loads typescript.js as a function body and the compiler's own ES modules through
 * `ts.transpileModule` to CommonJS, and the snapshot then holds them. The process started from the snapshot
 * speaks the compiler worker's protocol (worker.ts) over its IPC channel.
 *
 * The blob is code: it lives in the per-user cache directory (never a shared temp directory), is written
 * atomically, and a blob that fails to start is deleted and the worker used instead.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const COMPILER_DIRECTORY = dirname(fileURLToPath(import.meta.url));
const TYPESCRIPT_FILE = createRequire(import.meta.url).resolve('typescript');

/**
 * Where this build's snapshot lives in `cacheDirectory`. The name changes with Node, the CPU architecture,
 * TypeScript and every file of the compiler, so a stale snapshot is never used.
 */
export function snapshotFile(cacheDirectory: string, maxHeapMb: number): string {
  const hash = createHash('sha256');
  // Everything that changes V8's configuration or the code it holds: V8 refuses a snapshot built otherwise.
  hash.update(
    `${JSON.stringify(process.versions)}\0${process.arch}\0${maxHeapMb}\0${TYPESCRIPT_FILE}\0`,
  );
  const typescript = statSync(TYPESCRIPT_FILE);
  hash.update(`${typescript.size}\0${typescript.mtimeMs}\0`);
  for (const file of compilerFiles()) hash.update(readFileSync(file));
  return join(cacheDirectory, `compiler-${hash.digest('hex').slice(0, 16)}.snapshot`);
}

/** The compiled files the snapshot holds: the compiler's modules and the shared ones they import. */
function compilerFiles(): string[] {
  const own = readdirSync(COMPILER_DIRECTORY)
    .filter((f) => f.endsWith('.js'))
    .sort()
    .map((f) => join(COMPILER_DIRECTORY, f));
  return [...own, join(COMPILER_DIRECTORY, '..', 'errors.js')];
}

/**
 * The environment for the compiler process and the snapshot build: the server's, without NODE_OPTIONS, whose
 * V8 flags would make a snapshot start only under the very options it was built with.
 */
export function snapshotEnvironment(): NodeJS.ProcessEnv {
  // eslint-disable-next-line no-restricted-syntax -- not configuration: passed through to a child, minus one
  const { NODE_OPTIONS: _ignored, ...environment } = process.env;
  return environment;
}

/**
 * Whether `file` and its directory belong to this user and nobody else may write them: the snapshot is code
 * this process will run, so one another user could have planted is never started.
 */
export function isPrivateFile(file: string): boolean {
  try {
    const uid = process.getuid?.();
    return [file, dirname(file)].every((path) => {
      const stat = statSync(path);
      return (uid === undefined || stat.uid === uid) && (stat.mode & 0o022) === 0;
    });
  } catch {
    return false; // missing
  }
}

/** A build older than this is taken to have died; its lock is taken over. */
const STALE_LOCK_MS = 120_000;

/**
 * Starts building the snapshot into `file` in a detached process of its own, so the build finishes (and is
 * renamed into place) even if this server exits first, as short-lived servers do. A lock file keeps servers
 * started together from building it several times. Resolves once the build process has ended (or at once if
 * another build holds the lock); never rejects. Whether it worked shows in whether `file` exists.
 */
export async function buildSnapshot(file: string, maxHeapMb: number): Promise<void> {
  const lock = `${file}.lock`;
  const temporary = `${file}.${process.pid}.tmp`;
  const script = `${temporary}.cjs`;
  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    try {
      if (Date.now() - statSync(lock).mtimeMs < STALE_LOCK_MS) return;
      await rm(lock, { force: true });
    } catch {
      // no lock: ours to take
    }
    await writeFile(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
    await writeFile(
      script,
      `(${snapshotMain.toString()})(${JSON.stringify(TYPESCRIPT_FILE)}, ${JSON.stringify(COMPILER_DIRECTORY)});\n`,
      { mode: 0o600 },
    );
  } catch {
    return; // another server took the lock first, or the directory is not writable
  }
  // The same V8 flags as the processes started from it: V8 refuses a snapshot built under others.
  const buildArguments = [...snapshotArguments(temporary, maxHeapMb), '--build-snapshot', script];
  const supervisor = spawn(
    process.execPath,
    [
      '-e',
      `(${superviseBuild.toString()})(${JSON.stringify([file, temporary, script, lock, buildArguments])});`,
    ],
    { detached: true, stdio: 'ignore', env: snapshotEnvironment() },
  );
  supervisor.unref();
  await new Promise<void>((resolve) => {
    supervisor.once('exit', () => resolve());
    supervisor.once('error', () => resolve());
  });
}

/**
 * The detached build process's script (written out with `Function.prototype.toString`): builds, renames the
 * blob into place on success, and removes its temporary files and the lock whatever happens.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a `node -e` script: CommonJS, built-ins only */
function superviseBuild([file, temporary, script, lock, buildArguments]: [
  string,
  string,
  string,
  string,
  string[],
]): void {
  const childProcess = require('node:child_process') as typeof import('node:child_process');
  const fs = require('node:fs') as typeof import('node:fs');
  try {
    const built = childProcess.spawnSync(process.execPath, buildArguments, {
      stdio: 'ignore',
      // Under STALE_LOCK_MS, so no other server takes the lock over while this build may still finish.
      timeout: 110_000,
    });
    if (built.status === 0 && fs.existsSync(temporary)) {
      fs.chmodSync(temporary, 0o600);
      fs.renameSync(temporary, file);
    }
    // Snapshots of other builds (an upgrade, another Node) go once they are a week old, or beyond the three
    // newest (~20 MB each): another install sharing this directory may still be using its own, and one that
    // loses it builds it again.
    const directory = (require('node:path') as typeof import('node:path')).dirname(file);
    const others: { path: string; mtime: number }[] = [];
    for (const name of fs.readdirSync(directory)) {
      const other = `${directory}/${name}`;
      const age = () => Date.now() - fs.statSync(other).mtimeMs;
      // Leftovers of a build that was killed (its lock is stale by then, see STALE_LOCK_MS).
      if (/^compiler-[0-9a-f]+\.snapshot\.\d+\.tmp(\.cjs)?$/.test(name) && age() > 120_000)
        fs.rmSync(other, { force: true });
      if (!/^compiler-[0-9a-f]+\.snapshot$/.test(name) || other === file) continue;
      if (age() > 7 * 24 * 3600 * 1000) fs.rmSync(other, { force: true });
      else others.push({ path: other, mtime: fs.statSync(other).mtimeMs });
    }
    others.sort((a, b) => b.mtime - a.mtime);
    for (const { path } of others.slice(3)) fs.rmSync(path, { force: true });
  } finally {
    for (const leftover of [temporary, script, lock]) fs.rmSync(leftover, { force: true });
  }
}
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * From the server to a compiler process started from the snapshot: 'external' (sent before any job) when
 * the server guards it against outliving the server (see orphan-guard.ts); 'self' when that guard is gone
 * and the process must start its own watchdog.
 */
export interface GuardMessage {
  readonly guard: 'external' | 'self';
}

/** The arguments that start a compiler process from `file` (and build it), with the compiler's heap cap. */
export function snapshotArguments(file: string, maxHeapMb: number): string[] {
  return [`--max-old-space-size=${maxHeapMb}`, '--snapshot-blob', file];
}

interface Loaded {
  exports: Record<string, unknown>;
}

/**
 * The snapshot builder's script, written out with `Function.prototype.toString`: it may use only its
 * parameters, `require` of built-in modules and globals.
 */
/* eslint-disable @typescript-eslint/no-require-imports, @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call --
   Node's snapshot builder takes only require() of built-ins, and code is loaded as plain function bodies. */
function snapshotMain(typescriptFile: string, compilerDirectory: string): void {
  const fs = require('node:fs') as typeof import('node:fs');
  const path = require('node:path') as typeof import('node:path');
  const url = require('node:url') as typeof import('node:url');
  const v8 = require('node:v8') as typeof import('node:v8');

  const tsModule: Loaded = { exports: {} };
  new Function(
    'module',
    'exports',
    'require',
    '__filename',
    '__dirname',
    fs.readFileSync(typescriptFile, 'utf8'),
  )(tsModule, tsModule.exports, require, typescriptFile, path.dirname(typescriptFile));
  const ts = tsModule.exports as unknown as typeof import('typescript');

  const loaded = new Map<string, Loaded>();
  const load = (file: string): Record<string, unknown> => {
    // typescript.js would load TypeScript again through createRequire: hand it the one loaded above.
    if (file.endsWith(`${path.sep}typescript.js`)) return { ts };
    const known = loaded.get(file);
    if (known) return known.exports;
    const source = fs
      .readFileSync(file, 'utf8')
      .replaceAll('import.meta.url', JSON.stringify(url.pathToFileURL(file).href));
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
    });
    const module: Loaded = { exports: {} };
    loaded.set(file, module);
    const localRequire = (specifier: string): unknown =>
      specifier.startsWith('.')
        ? load(path.resolve(path.dirname(file), specifier))
        : require(specifier);
    new Function('module', 'exports', 'require', outputText)(module, module.exports, localRequire);
    return module.exports;
  };

  interface Compiler {
    warm(): void;
    compileOrRefuse(name: string, source: string): unknown;
  }
  const { ToolCompiler } = load(path.join(compilerDirectory, 'compile.js')) as {
    ToolCompiler: new () => Compiler;
  };
  const compiler = new ToolCompiler();
  compiler.warm();

  v8.startupSnapshot.setDeserializeMainFunction(() => {
    // The server went away: nothing left to compile for.
    process.on('disconnect', () => process.exit(0));
    // 'disconnect' waits for a check in progress, which only the server's timeout ends. Where the server
    // guards this process from outside (orphan-guard.ts) it says so first; otherwise, or once it says that
    // guard is gone, a thread of our own ends the process when the server dies (it is then re-parented).
    // Started with the first job, not at start, where its bootstrap would compete with the server's own start.
    let guarded = false;
    let watchdog = false;
    const startWatchdog = (): void => {
      if (watchdog) return;
      watchdog = true;
      const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
      new Worker(
        `const parent = ${process.ppid}; setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, 'SIGKILL'); }, 500);`,
        { eval: true },
      ).unref();
    };
    process.on(
      'message',
      (message: { id: number; name: string; source: string } | GuardMessage) => {
        if ('guard' in message) {
          if (message.guard === 'external') guarded = true;
          else startWatchdog();
          return;
        }
        if (!guarded) startWatchdog();
        process.send?.({
          id: message.id,
          result: compiler.compileOrRefuse(message.name, message.source),
        });
      },
    );
    process.send?.({ warm: true, codeCache: 'snapshot', saved: 'current' });
  });
}
/* eslint-enable @typescript-eslint/no-require-imports, @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call */
