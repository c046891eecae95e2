/**
 * Worker-thread entry: owns one QuickJS WASM module and runs requests from the pool one at a time. Runs
 * off the server's event loop, so a guest that burns its whole time budget stalls only this thread, and a
 * guest that somehow ignores the interrupt can be killed with `worker.terminate()` without touching the
 * server (the pool's backstop).
 */
import { parentPort } from 'node:worker_threads';
import { newQuickJSWASMModule, type QuickJSWASMModule } from 'quickjs-emscripten';
import type { RunLimits } from './limits.js';
import type { RunOutcome, RunRequest } from './outcome.js';
import { runInQuickJS } from './run.js';

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

const port = parentPort;
if (port) {
  let module: QuickJSWASMModule | undefined;
  let chain = Promise.resolve();
  port.on('message', (job: WorkerJob) => {
    // Jobs arrive one at a time from the pool; the chain only guards module loading.
    chain = chain.then(async () => {
      module ??= await newQuickJSWASMModule();
      let reply: WorkerReply;
      try {
        const { outcome, moduleHealthy } = runInQuickJS(module, job.request, job.limits);
        if (!moduleHealthy) module = undefined;
        // A memory-limit hit leaves the WASM heap grown for good (it never shrinks), and an unhealthy module
        // is gone: ask to be replaced so a long-running server's memory stays flat.
        reply = {
          id: job.id,
          outcome,
          recycle: !moduleHealthy || (!outcome.ok && outcome.kind === 'memory'),
        };
      } catch (error) {
        // A host fault inside the module (host stack overflow, WASM trap): the module may be corrupt.
        module = undefined;
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
    });
  });
  // Load the module before announcing readiness, so the first real run does not pay for it.
  void newQuickJSWASMModule().then(
    (loaded) => {
      module ??= loaded;
      port.postMessage({ ready: true });
    },
    () => port.postMessage({ ready: true }),
  );
}
