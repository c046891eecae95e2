/**
 * The compiler as the registry sees it: an async `compile(name, source)`, served by one worker thread
 * (see worker.ts). A check that runs past `timeoutMs` (hostile types can make the checker exponential) is
 * refused and its worker replaced; so is a worker that dies.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { Result } from '../errors.js';
import type { CompiledTool } from './compile.js';
import { guardChild } from './orphan-guard.js';
import {
  buildSnapshot,
  type GuardMessage,
  isPrivateFile,
  snapshotArguments,
  snapshotEnvironment,
  snapshotFile,
} from './snapshot.js';
import type { CompileJob, CompileReply, CompilerWorkerData, WarmReply } from './worker.js';

export interface CompilerService extends AsyncDisposable {
  compile(name: string, source: string): Promise<Result<CompiledTool>>;
  /**
   * Resolves once the current worker has loaded TypeScript, compiled a first tool and written the code
   * cache if it had to: with how the cache was used, or undefined if the worker stopped before that.
   */
  warm(): Promise<WarmReport | undefined>;
}

/** How the compiler that serves got ready. */
export type WarmReport = Omit<WarmReply, 'warm'>;

export interface CompilerServiceOptions {
  /** Longest a single compilation may take (default 10 s). */
  readonly timeoutMs?: number;
  /** V8 heap cap of the compiler worker, MiB (default 512). */
  readonly maxHeapMb?: number;
  /**
   * Directory of the V8 code cache for typescript.js (see code-cache.ts) and of the compiler's startup
   * snapshot (see snapshot.ts), which make a fresh compiler ready sooner. Default: none.
   */
  readonly codeCacheDirectory?: string;
  /** Whether to build and use the startup snapshot in `codeCacheDirectory` (default true). */
  readonly snapshot?: boolean;
}

/** One compiler process or worker thread, whichever serves. */
interface Backend {
  send(job: CompileJob): void;
  stop(): Promise<void>;
}

interface Pending {
  readonly job: CompileJob;
  readonly resolve: (result: Result<CompiledTool>) => void;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** How long a process started from the snapshot may take to report ready (it takes ~0.1 s). */
const SNAPSHOT_READY_MS = 10_000;

/** Starts the compiler worker at once so it warms up in the background. The caller must dispose it. */
export function createCompilerService(options: CompilerServiceOptions = {}): CompilerService {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const queue: Pending[] = [];
  let current: { pending: Pending; timer: NodeJS.Timeout } | undefined;
  let backend: Backend | undefined;
  let warmed: Promise<WarmReport | undefined> = Promise.resolve(undefined);
  let nextId = 1;
  let closed = false;

  const maxHeapMb = options.maxHeapMb ?? 512;
  const cacheDirectory = options.codeCacheDirectory;
  let snapshot: string | undefined;
  try {
    snapshot =
      cacheDirectory === undefined || options.snapshot === false
        ? undefined
        : snapshotFile(cacheDirectory, maxHeapMb);
  } catch {
    snapshot = undefined; // the compiler's files cannot be read: no snapshot, the worker serves
  }
  let snapshotBuildStarted = false;
  // False once the snapshot failed to start in this process: the worker serves, and rebuilds it for the next.
  let snapshotStarts = true;

  const onMessage = (
    from: Backend,
    message: CompileReply | WarmReply,
    warm: (r: WarmReport) => void,
  ): void => {
    if (from !== backend) return;
    if (!('id' in message)) return warm({ codeCache: message.codeCache, saved: message.saved });
    if (!current || current.pending.job.id !== message.id) return;
    finish(message.result);
  };

  const onExit = (from: Backend): void => {
    if (closed || backend !== from) return;
    // Replace the compiler before failing the job: failing pumps the queue, and the next job must go to
    // the new one, not to the dead one.
    start();
    fail(
      'the TypeScript compiler stopped while checking this source (out of memory?); simplify it',
    );
  };

  const start = (): void => {
    if (snapshot !== undefined && snapshotStarts && isPrivateFile(snapshot))
      startFromSnapshot(snapshot);
    else startWorker();
  };

  /** A compiler process started from the snapshot: ready ~0.1 s after spawn. */
  const startFromSnapshot = (file: string): void => {
    const child = spawn(process.execPath, snapshotArguments(file, maxHeapMb), {
      // Nothing the compiler prints may reach stdout (JSON-RPC).
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      env: snapshotEnvironment(),
    });
    // Once ready, the process never keeps the server alive and its channel does only while an answer is
    // awaited; until then it does, so that a snapshot that fails to start is seen to exit.
    let ready = false;
    let exited = false;
    // Ends the process if the server dies mid-check (see orphan-guard.ts). Without one, the process runs a
    // watchdog thread of its own, started with its first job. If the guard is killed (which takes local
    // access to this user's processes), the process hears so only after the check it is busy with: a server
    // that dies during that same check leaves it running until the check ends. Accepted.
    const guard =
      child.pid === undefined
        ? undefined
        : guardChild(child.pid, () => {
            if (!exited) child.send({ guard: 'self' } satisfies GuardMessage);
          });
    if (guard) child.send({ guard: 'external' } satisfies GuardMessage);
    const self: Backend = {
      send: (job) => {
        child.channel?.ref();
        child.send(job);
      },
      stop: () => {
        guard?.release();
        child.kill('SIGKILL');
        return Promise.resolve();
      },
    };
    backend = self;
    let resolveWarm: (
      report: WarmReport | undefined | Promise<WarmReport | undefined>,
    ) => void = () => undefined;
    warmed = new Promise((resolve) => {
      resolveWarm = resolve;
      child.on('message', (message: CompileReply | WarmReply) => {
        if (!('id' in message) && !ready) {
          ready = true;
          clearTimeout(readiness);
          child.unref();
        }
        // Keep the channel while an answer is still awaited (a job sent before the warm-up report).
        if ('id' in message || current === undefined) child.channel?.unref();
        onMessage(self, message, resolve);
      });
    });
    // A snapshot that starts but never reports ready counts as one that does not start.
    const readiness = setTimeout(() => {
      if (!ready) child.kill('SIGKILL');
    }, SNAPSHOT_READY_MS);
    readiness.unref();
    child.on('error', () => undefined); // the exit handler decides
    child.once('exit', () => {
      exited = true;
      guard?.release();
      clearTimeout(readiness);
      const failedToStart = !ready && !closed && backend === self;
      if (failedToStart) {
        // The snapshot does not start (a damaged file): drop it and use the worker, which builds it again.
        snapshotStarts = false;
        void rm(file, { force: true });
      }
      onExit(self);
      // Whoever awaits warm() hears from the worker that took over.
      resolveWarm(failedToStart ? warmed : undefined);
    });
  };

  const startWorker = (): void => {
    // A hostile type can make the checker allocate without bound: cap its heap (the worker dies, is replaced,
    // and the job is refused) instead of letting it take the machine's memory.
    const w = new Worker(WORKER_URL, {
      stdout: true,
      stderr: true,
      // The stack of a process's main thread, as the snapshot-started compiler has: both refuse the same
      // nesting depth ("nests too deeply"), whichever serves.
      resourceLimits: { maxOldGenerationSizeMb: maxHeapMb, stackSizeMb: 1 },
      workerData: { codeCacheDirectory: cacheDirectory } satisfies CompilerWorkerData,
    });
    // Nothing the compiler prints may reach stdout (JSON-RPC); drain both streams.
    w.stdout.resume();
    w.stderr.resume();
    w.unref();
    const self: Backend = {
      // Kept alive only while an answer is awaited, like the snapshot process's channel.
      send: (job) => {
        w.ref();
        w.postMessage(job);
      },
      stop: async () => {
        await w.terminate();
      },
    };
    backend = self;
    warmed = new Promise((resolve) => {
      w.on('message', (message: CompileReply | WarmReply) => {
        if ('id' in message) w.unref();
        onMessage(self, message, resolve);
      });
      w.once('exit', () => resolve(undefined));
    });
    w.on('error', () => undefined); // the exit handler decides
    w.on('exit', () => onExit(self));
    // Once this worker is warm, build the snapshot the next start will use (once per process).
    if (snapshot !== undefined && !snapshotBuildStarted) {
      snapshotBuildStarted = true;
      const file = snapshot;
      void warmed.then(async (report) => {
        if (report && !closed) await buildSnapshot(file, maxHeapMb);
      });
    }
  };

  const finish = (result: Result<CompiledTool>): void => {
    if (!current) return;
    clearTimeout(current.timer);
    const { pending } = current;
    current = undefined;
    pending.resolve(result);
    pump();
  };

  const fail = (message: string): void => {
    finish({ ok: false, diagnostics: [{ stage: 'typecheck', code: 'type_error', message }] });
  };

  const pump = (): void => {
    if (current || closed) return;
    const pending = queue.shift();
    if (!pending) return;
    const timer = setTimeout(() => {
      const stuck = backend;
      start(); // first, so the queue (pumped by fail) goes to the fresh compiler
      void stuck?.stop();
      fail(`type-checking did not finish within ${timeoutMs} ms; simplify the types`);
    }, timeoutMs);
    timer.unref();
    current = { pending, timer };
    backend?.send(pending.job);
  };

  start();

  return {
    compile(name, source) {
      if (closed)
        return Promise.resolve({
          ok: false,
          diagnostics: [
            { stage: 'typecheck', code: 'type_error', message: 'the compiler is shut down' },
          ],
        });
      return new Promise((resolve) => {
        queue.push({ job: { id: nextId++, name, source }, resolve });
        pump();
      });
    },
    warm: () => warmed,
    async [Symbol.asyncDispose]() {
      if (closed) return;
      closed = true;
      if (current) clearTimeout(current.timer);
      const shutdown = {
        ok: false,
        diagnostics: [
          { stage: 'typecheck', code: 'type_error', message: 'the compiler is shutting down' },
        ],
      } as const;
      current?.pending.resolve(shutdown);
      current = undefined;
      for (const pending of queue.splice(0)) pending.resolve(shutdown);
      await backend?.stop();
      // A snapshot being built is left to finish: it is written atomically, and only ever a speed-up.
    },
  };
}
