/**
 * Worker-thread entry: owns one QuickJS WASM module and runs requests from the pool one at a time. Runs
 * off the server's event loop, so a guest that burns its whole time budget stalls only this thread, and a
 * guest that somehow ignores the interrupt can be killed with `worker.terminate()` without touching the
 * server (the pool's backstop).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import { heapBytes, loadCappedModule, recycleAboveBytes } from './module.js';
import type { RunLimits } from './limits.js';
import type { RunOutcome, RunRequest } from './outcome.js';
import { fitsLimits, prepareSandbox, type FreshSandbox } from './run.js';
import { intrinsicsFor, type IntrinsicSet } from './intrinsics.js';

/** The first spare: the built-ins most tools need, none of the optional ones (see intrinsics.ts). */
const LEANEST: IntrinsicSet = 0;
/**
 * Spares kept at most: two, so that calls taking turns between two tools with different built-ins still each
 * find theirs ready (each spare is a runtime of a few hundred KiB).
 */
const MAX_SPARES = 2;

/** What the pool passes a worker at start: the limits most runs will use, to build the first sandbox. */
export interface WorkerStart {
  readonly limits: RunLimits;
}

/** Message from the pool to a worker. */
export interface WorkerJob {
  readonly id: number;
  readonly request: RunRequest;
  readonly limits: RunLimits;
}

/** Message from a worker to the pool. `recycle` asks the pool to replace this worker after the reply. */
export interface WorkerReply {
  readonly id: number;
  readonly outcome: RunOutcome;
  readonly recycle: boolean;
}

/** Sent on its own when the worker learns after a reply that it should be replaced. */
export interface WorkerRecycle {
  readonly recycle: true;
}

const port = parentPort;
if (port) {
  const start = workerData as WorkerStart;
  let module: QuickJSWASMModule | undefined;
  /** The per-run memory limit the module's heap cap was sized for (see module.ts). */
  let moduleLimitBytes = start.limits.memoryLimitBytes;
  // The next runs' sandboxes, built while the worker would otherwise sit idle: fresh runtimes and contexts
  // with the encoder in place and no tool code, one per set of built-ins recently called for (see
  // intrinsics.ts), oldest first. Each serves one run, like any other. A run takes only a spare with exactly
  // its own built-ins, so what a tool finds never depends on which tool ran before it.
  const spares = new Map<IntrinsicSet, FreshSandbox>();
  let chain = Promise.resolve();

  /** The module may be corrupt or is the wrong size: nothing built in it (the spares) is used again. */
  const dropModule = (): void => {
    module = undefined;
    spares.clear();
  };

  const take = (
    loaded: QuickJSWASMModule,
    limits: RunLimits,
    intrinsics: IntrinsicSet,
  ): FreshSandbox => {
    const ready = spares.get(intrinsics);
    spares.delete(intrinsics);
    if (ready && fitsLimits(ready.limits, limits)) return ready;
    ready?.dispose();
    return prepareSandbox(loaded, limits, intrinsics);
  };

  /** Builds a spare for the next run with `intrinsics`, dropping the oldest beyond MAX_SPARES. */
  const prepareSpare = (loaded: QuickJSWASMModule, limits: RunLimits, intrinsics: IntrinsicSet) => {
    if (spares.has(intrinsics)) return;
    spares.set(intrinsics, prepareSandbox(loaded, limits, intrinsics));
    for (const [set, oldest] of spares) {
      if (spares.size <= MAX_SPARES) break;
      spares.delete(set);
      if (!oldest.dispose()) throw new Error('a spare sandbox could not be freed');
    }
  };

  port.on('message', (job: WorkerJob) => {
    // Jobs arrive one at a time from the pool; the chain only guards module loading.
    chain = chain.then(async () => {
      // A run allowed more memory than this module's heap was capped for gets a module sized for it.
      if (module && job.limits.memoryLimitBytes > moduleLimitBytes) dropModule();
      if (!module) {
        moduleLimitBytes = Math.max(start.limits.memoryLimitBytes, job.limits.memoryLimitBytes);
        try {
          module = await loadCappedModule(moduleLimitBytes);
        } catch {
          port.postMessage({
            id: job.id,
            outcome: {
              ok: false,
              kind: 'crashed',
              message: 'the sandbox could not load QuickJS and was replaced',
              logs: [],
            },
            recycle: true,
          } satisfies WorkerReply);
          return;
        }
      }
      const loaded = module;
      let sandbox: FreshSandbox | undefined;
      let reply: WorkerReply;
      // The next call is most likely of the same tool: the spare is built with the same built-ins.
      const intrinsics = intrinsicsFor(job.request.code);
      try {
        sandbox = take(loaded, job.limits, intrinsics);
        const outcome = sandbox.run(job.request, job.limits.timeoutMs);
        // A WASM heap never shrinks: once a run has grown it well past its start, ask to be replaced so a
        // long-running server's memory stays flat. Decided by the measured heap, never by what the guest
        // reports (a tool that throws null looks out of memory but costs nothing).
        reply = {
          id: job.id,
          outcome,
          recycle: heapBytes(loaded) > recycleAboveBytes(job.limits.memoryLimitBytes),
        };
      } catch (error) {
        // A host fault inside the module (host stack overflow, WASM trap): the module may be corrupt and
        // nothing in it is touched again.
        dropModule();
        sandbox = undefined;
        reply = {
          id: job.id,
          outcome: {
            ok: false,
            kind: error instanceof RangeError ? 'stack' : 'crashed',
            message:
              error instanceof RangeError
                ? 'the tool exhausted the sandbox stack and was stopped'
                : 'the sandbox failed while running the tool and was replaced',
            logs: [],
          },
          recycle: true,
        };
      }
      port.postMessage(reply);
      if (reply.recycle) return;
      // The answer is on its way: free this run's sandbox and build the next one off the call's path.
      if (sandbox && !sandbox.dispose()) {
        // QuickJS could not free the runtime (see RunReport.moduleHealthy): drop the module and have the
        // pool replace this worker when it is idle.
        dropModule();
        port.postMessage({ recycle: true } satisfies WorkerRecycle);
        return;
      }
      try {
        prepareSpare(loaded, job.limits, intrinsics);
      } catch {
        dropModule();
      }
    });
  });
  // Load the module and build the first sandbox before announcing readiness, so the first real run does
  // not pay for either.
  void loadCappedModule(start.limits.memoryLimitBytes).then(
    (loaded) => {
      module ??= loaded;
      try {
        prepareSpare(loaded, start.limits, LEANEST);
      } catch {
        dropModule();
      }
      port.postMessage({ ready: true });
    },
    () => port.postMessage({ ready: true }),
  );
}
