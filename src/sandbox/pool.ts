/**
 * A pool of worker threads, each with its own QuickJS module, behind the one async interface the rest of
 * toolsmith uses: `run(request, limits, signal) -> Promise<RunOutcome>`. The server's event loop never runs
 * guest code, so tools/list and other clients' calls are answered while slow tools run.
 *
 * Guarantees: `run` never rejects for guest behaviour; a worker that dies, hangs past the backstop, or is
 * cancelled is terminated and replaced, and only its own call gets an error.
 */
import { Worker } from 'node:worker_threads';
import { DEFAULT_RUN_LIMITS, type RunLimits } from './limits.js';
import type { RunOutcome, RunRequest } from './outcome.js';
import type { WorkerJob, WorkerReply, WorkerStart } from './worker.js';

/** What the registry sees of the sandbox. */
export interface Sandbox extends AsyncDisposable {
  run(request: RunRequest, limits: RunLimits, signal?: AbortSignal): Promise<RunOutcome>;
  /** Starts every worker not started yet, and resolves once all have loaded their QuickJS module. */
  ready(): Promise<void>;
  readonly stats: { readonly workersStarted: number; readonly workersReplaced: number };
}

export interface SandboxPoolOptions {
  /** Number of worker threads. */
  readonly size: number;
  /** Extra time past a run's `timeoutMs` before the worker is killed (QuickJS's interrupt should fire first). */
  readonly backstopGraceMs?: number;
  /** V8 stack for each worker; WASM frames run on it, so it bounds how deep QuickJS can recurse safely. */
  readonly workerStackMb?: number;
  /** Replace a worker after this many runs, bounding WASM heap growth. */
  readonly recycleAfterRuns?: number;
  /**
   * Most workers one tool (`RunRequest.entry`) may occupy at once; default `size - 1` (at least 1), so a tool
   * that keeps hitting its time limit can never take every worker from the other tools' calls. (The CLI's
   * default pool has one worker more than cores, so one tool can still keep every core busy.)
   */
  readonly maxPerTool?: number;
  /**
   * The limits most runs will use: each worker builds its first sandbox with them before it reports ready
   * (a run under other memory, stack or size limits builds its own). Default: DEFAULT_RUN_LIMITS.
   */
  readonly limits?: RunLimits;
  /**
   * The first worker starts at once; the others start one after another once it is ready, after this long
   * (default 0). Each start costs ~55 ms of CPU (a V8 isolate, QuickJS's WASM, a first sandbox): all at once,
   * on a small machine, they competed with the server's own start and its first create_tool. A call that
   * waits 50 ms for a worker meanwhile starts the next one. `ready()` starts them all.
   */
  readonly startRestAfterMs?: number;
  /** Receives what a worker prints (diagnostics from the WASM runtime); dropped by default. */
  readonly onWorkerOutput?: (text: string) => void;
}

interface Job {
  readonly id: number;
  readonly request: RunRequest;
  readonly limits: RunLimits;
  readonly signal: AbortSignal | undefined;
  readonly resolve: (outcome: RunOutcome) => void;
  onAbort?: () => void;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  /** Its module is loaded: only then does it get jobs (one still starting would make them wait). */
  loaded: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
  runs: number;
  dead: boolean;
}

const WORKER_URL = new URL('./worker.js', import.meta.url);
/** How long a call waits for a free worker before one not started yet is started for it. */
const GROW_ON_DEMAND_MS = 50;

const failed = (kind: 'crashed' | 'cancelled', message: string): RunOutcome =>
  Object.freeze({ ok: false, kind, message, logs: [] });
const SHUT_DOWN = failed('crashed', 'the sandbox is shut down');
const SHUTTING_DOWN = failed('crashed', 'the sandbox is shutting down');
const CANCELLED = failed('cancelled', 'the call was cancelled by the client');

/** Starts `options.size` workers. The caller owns the pool and must dispose it. */
export function createSandboxPool(options: SandboxPoolOptions): Sandbox {
  const size = Math.max(1, Math.floor(options.size));
  const grace = options.backstopGraceMs ?? 1000;
  // A safety net only: heap growth is what replaces workers (see worker.ts). A worker's memory stays flat
  // over 100,000 runs (WASM heap 16 MiB, V8 heap 5-31 MiB), and each replacement costs a Worker and a QuickJS
  // compile, ~5% of throughput when it came every 5,000 runs.
  const recycleAfter = options.recycleAfterRuns ?? 100_000;
  const maxPerTool = Math.max(1, options.maxPerTool ?? size - 1);
  const runningPerTool = new Map<string, number>();
  const queue: Job[] = [];
  const slots: Slot[] = [];
  let nextId = 1;
  let closed = false;
  // Where the next search for an idle worker starts: rotating it spreads back-to-back calls over the
  // workers, so that each keeps its sandboxes for the tools called often warm.
  let nextSlot = 0;
  // Every worker starts with the configured limits (its heap cap and first sandbox); a run under larger ones
  // gets a module sized for it (see worker.ts).
  const limits = options.limits ?? DEFAULT_RUN_LIMITS;
  const stats = { workersStarted: 0, workersReplaced: 0 };

  const spawn = (): Slot => {
    const worker = new Worker(WORKER_URL, {
      workerData: { limits } satisfies WorkerStart,
      resourceLimits: { stackSizeMb: options.workerStackMb ?? 8 },
      // stdout carries JSON-RPC: nothing a worker prints may reach it. Emscripten prints "Aborted(...)" to
      // stderr when a runtime cannot be freed (the worker then replaces its module): route it to the log.
      stdout: true,
      stderr: true,
    });
    worker.unref();
    const forward = (chunk: Buffer | string): void =>
      options.onWorkerOutput?.(String(chunk).trim());
    worker.stdout.on('data', forward);
    worker.stderr.on('data', forward);
    stats.workersStarted++;
    const slot: Slot = {
      worker,
      ready: Promise.resolve(),
      loaded: false,
      job: undefined,
      timer: undefined,
      runs: 0,
      dead: false,
    };
    slot.ready = new Promise<void>((resolve) => {
      const onFirst = (message: unknown): void => {
        if (typeof message === 'object' && message !== null && 'ready' in message) {
          worker.off('message', onFirst);
          resolve();
        }
      };
      worker.on('message', onFirst);
      worker.once('exit', () => resolve());
    }).then(() => {
      slot.loaded = true;
      pump();
    });
    worker.on('message', (message: WorkerReply | { ready: true }) => {
      if (!('id' in message)) return;
      const job = slot.job;
      if (!job || job.id !== message.id) return;
      finish(slot, message.outcome);
      slot.runs++;
      if (message.recycle || slot.runs >= recycleAfter) replace(slot);
      pump();
    });
    worker.on('error', () => {
      // An uncaught error inside the worker: its job (if any) fails, the worker is replaced.
      failAndReplace(
        slot,
        'crashed',
        'the sandbox worker failed while running the tool and was replaced',
      );
    });
    worker.on('exit', () => {
      if (!slot.dead)
        failAndReplace(slot, 'crashed', 'the sandbox worker exited unexpectedly and was replaced');
    });
    return slot;
  };

  const finish = (slot: Slot, outcome: RunOutcome): void => {
    const job = slot.job;
    if (!job) return;
    slot.job = undefined;
    const running = (runningPerTool.get(job.request.entry) ?? 1) - 1;
    if (running > 0) runningPerTool.set(job.request.entry, running);
    else runningPerTool.delete(job.request.entry);
    if (slot.timer) clearTimeout(slot.timer);
    slot.timer = undefined;
    if (job.onAbort) job.signal?.removeEventListener('abort', job.onAbort);
    job.resolve(outcome);
  };

  const replace = (slot: Slot): void => {
    if (slot.dead) return;
    slot.dead = true;
    void slot.worker.terminate();
    const index = slots.indexOf(slot);
    if (index === -1 || closed) return;
    stats.workersReplaced++;
    slots[index] = spawn();
  };

  const failAndReplace = (
    slot: Slot,
    kind: 'crashed' | 'timeout' | 'cancelled',
    message: string,
  ): void => {
    finish(slot, { ok: false, kind, message, logs: [] });
    replace(slot);
    pump();
  };

  /** How many more workers `tool` may occupy under its share. */
  const roomFor = (tool: string): number => maxPerTool - (runningPerTool.get(tool) ?? 0);
  let growTimer: NodeJS.Timeout | undefined;
  /** How many more workers the queued calls could use now: those under their tool's share, less starts. */
  const wanted = (): number => {
    if (slots.length >= size) return 0;
    // Each tool's queued calls count up to the workers its share still leaves it.
    const room = new Map<string, number>();
    let runnable = 0;
    for (const job of queue) {
      const tool = job.request.entry;
      const left = room.get(tool) ?? roomFor(tool);
      if (left > 0) runnable++;
      room.set(tool, left - 1);
    }
    const starting = slots.filter((slot) => !slot.loaded && !slot.dead).length;
    return Math.min(size - slots.length, runnable - starting);
  };
  /** Starts the next worker not started yet, if any. */
  const grow = (): Slot | undefined => {
    if (closed || slots.length >= size) return undefined;
    const slot = spawn();
    slots.push(slot);
    return slot;
  };

  const pump = (): void => {
    if (closed) return;
    for (let n = 0; n < slots.length; n++) {
      const at = (nextSlot + n) % slots.length;
      const slot = slots[at];
      if (!slot || slot.job || slot.dead || !slot.loaded) continue;
      // Fairness: the oldest queued job whose tool is under its share of workers.
      const index = queue.findIndex((j) => roomFor(j.request.entry) > 0);
      if (index === -1) return;
      const [job] = queue.splice(index, 1);
      if (!job) return;
      runningPerTool.set(job.request.entry, (runningPerTool.get(job.request.entry) ?? 0) + 1);
      slot.job = job;
      nextSlot = (at + 1) % slots.length;
      if (job.signal) {
        job.onAbort = () =>
          failAndReplace(slot, 'cancelled', 'the call was cancelled by the client');
        job.signal.addEventListener('abort', job.onAbort, { once: true });
      }
      // The backstop: QuickJS's interrupt handler should end the run at timeoutMs; a native builtin that
      // never polls it (a huge JSON.stringify) is killed here instead.
      slot.timer = setTimeout(
        () =>
          failAndReplace(
            slot,
            'timeout',
            'the tool ran past its time limit and its sandbox was killed',
          ),
        job.limits.timeoutMs + grace,
      );
      slot.timer.unref();
      const message: WorkerJob = { id: job.id, request: job.request, limits: job.limits };
      slot.worker.postMessage(message);
    }
    // Calls still waiting while workers are yet to start: start as many as wait (less those already
    // starting, each takes a call once loaded) soon, unless the wait ends first (a busy worker typically frees
    // up within a millisecond or two; a start costs ~55 ms of CPU).
    if (wanted() > 0 && !growTimer) {
      growTimer = setTimeout(() => {
        growTimer = undefined;
        for (let n = wanted(); n > 0 && grow(); n--);
      }, GROW_ON_DEMAND_MS);
      growTimer.unref();
    }
  };

  const first = grow();
  const startRest = (): void => {
    const next = grow();
    if (next) void next.ready.then(() => setImmediate(startRest));
  };
  void first?.ready.then(() => {
    const timer = setTimeout(startRest, options.startRestAfterMs ?? 0);
    timer.unref();
  });

  return {
    stats,
    run(request, limits, signal) {
      if (closed) return Promise.resolve(SHUT_DOWN);
      if (signal?.aborted) {
        return Promise.resolve(CANCELLED);
      }
      return new Promise<RunOutcome>((resolve) => {
        const job: Job = { id: nextId++, request, limits, signal, resolve };
        if (signal) {
          // Cancelled while still queued: drop it from the queue (the running case is handled in pump).
          const onQueuedAbort = (): void => {
            const index = queue.indexOf(job);
            if (index !== -1) {
              queue.splice(index, 1);
              resolve(CANCELLED);
            }
          };
          signal.addEventListener('abort', onQueuedAbort, { once: true });
        }
        queue.push(job);
        pump();
      });
    },
    async ready() {
      while (grow() !== undefined) continue;
      // A worker replaced meanwhile has a successor to wait for; a bounded number of rounds, in case workers
      // keep dying as they start.
      for (let round = 0; round < 3 && slots.some((s) => !s.loaded && !s.dead); round++)
        await Promise.all(slots.map((s) => s.ready));
    },
    async [Symbol.asyncDispose]() {
      if (closed) return;
      closed = true;
      for (const job of queue.splice(0)) {
        job.resolve(SHUTTING_DOWN);
      }
      await Promise.all(
        slots.map(async (slot) => {
          try {
            slot.dead = true;
            finish(slot, SHUTTING_DOWN);
          } finally {
            await slot.worker.terminate();
          }
        }),
      );
    },
  };
}
