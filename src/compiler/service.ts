/**
 * The compiler as the registry sees it: an async `compile(name, source)`, served by one worker thread
 * (see worker.ts). A check that runs past `timeoutMs` (hostile types can make the checker exponential) is
 * refused and its worker replaced; so is a worker that dies.
 */
import { Worker } from 'node:worker_threads';
import type { Result } from '../errors.js';
import type { CompiledTool } from './compile.js';
import type { CompileJob, CompileReply, CompilerWorkerData, WarmReply } from './worker.js';

export interface CompilerService extends AsyncDisposable {
  compile(name: string, source: string): Promise<Result<CompiledTool>>;
  /**
   * Resolves once the current worker has loaded TypeScript, compiled a first tool and written the code
   * cache if it had to: with how the cache was used, or undefined if the worker stopped before that.
   */
  warm(): Promise<Omit<WarmReply, 'warm'> | undefined>;
}

export interface CompilerServiceOptions {
  /** Longest a single compilation may take (default 10 s). */
  readonly timeoutMs?: number;
  /** V8 heap cap of the compiler worker, MiB (default 512). */
  readonly maxHeapMb?: number;
  /**
   * Directory of the V8 code cache for typescript.js (see code-cache.ts), which makes a fresh worker ready
   * sooner. Default: none.
   */
  readonly codeCacheDirectory?: string;
}

interface Pending {
  readonly job: CompileJob;
  readonly resolve: (result: Result<CompiledTool>) => void;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);

/** Starts the compiler worker at once so it warms up in the background. The caller must dispose it. */
export function createCompilerService(options: CompilerServiceOptions = {}): CompilerService {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const queue: Pending[] = [];
  let current: { pending: Pending; timer: NodeJS.Timeout } | undefined;
  let worker: Worker;
  let warmed: Promise<Omit<WarmReply, 'warm'> | undefined>;
  let nextId = 1;
  let closed = false;

  const start = (): void => {
    // A hostile type can make the checker allocate without bound: cap its heap (the worker dies, is replaced,
    // and the job is refused) instead of letting it take the machine's memory.
    const w = new Worker(WORKER_URL, {
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: options.maxHeapMb ?? 512 },
      workerData: { codeCacheDirectory: options.codeCacheDirectory } satisfies CompilerWorkerData,
    });
    // Nothing the compiler prints may reach stdout (JSON-RPC); drain both streams.
    w.stdout.resume();
    w.stderr.resume();
    w.unref();
    worker = w;
    warmed = new Promise((resolve) => {
      w.on('message', (message: CompileReply | WarmReply) => {
        if (!('id' in message))
          return resolve({ codeCache: message.codeCache, saved: message.saved });
        if (!current || current.pending.job.id !== message.id) return;
        finish(message.result);
      });
      w.once('exit', () => resolve(undefined));
    });
    w.on('error', () => undefined); // the exit handler below decides
    w.on('exit', () => {
      if (closed || worker !== w) return;
      // Replace the worker before failing the job: failing pumps the queue, and the next job must go to
      // the new worker, not to the dead one.
      start();
      fail(
        'the TypeScript compiler stopped while checking this source (out of memory?); simplify it',
      );
    });
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
      const stuck = worker;
      start(); // first, so the queue (pumped by fail) goes to the fresh worker
      void stuck.terminate();
      fail(`type-checking did not finish within ${timeoutMs} ms; simplify the types`);
    }, timeoutMs);
    timer.unref();
    current = { pending, timer };
    worker.postMessage(pending.job);
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
      await worker.terminate();
    },
  };
}
