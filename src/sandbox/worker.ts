/**
 * Worker-thread entry: owns one QuickJS WASM module and runs requests from the pool one at a time. Runs
 * off the server's event loop, so a guest that burns its whole time budget stalls only this thread, and a
 * guest that somehow ignores the interrupt can be killed with `worker.terminate()` without touching the
 * server (the pool's backstop).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { MAX_IMAGE_BYTES, SandboxImage } from './image.js';
import { recycleAboveBytes } from './module.js';
import type { RunLimits } from './limits.js';
import type { RunOutcome, RunRequest } from './outcome.js';

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

const port = parentPort;
if (port) {
  const start = workerData as WorkerStart;
  // The module and its sandboxes (see image.ts): every run starts from the image's bytes.
  let image: SandboxImage | undefined;
  /** The per-run memory limit the module's heap cap was sized for (see module.ts). */
  let moduleLimitBytes = start.limits.memoryLimitBytes;
  let chain = Promise.resolve();

  const crashed = (id: number, message: string, kind: 'crashed' | 'stack' = 'crashed') =>
    port.postMessage({
      id,
      outcome: { ok: false, kind, message, logs: [] },
      recycle: true,
    } satisfies WorkerReply);

  port.on('message', (job: WorkerJob) => {
    // Jobs arrive one at a time from the pool; the chain only guards module loading.
    chain = chain.then(async () => {
      // A run allowed more memory than this module's heap was capped for gets a module sized for it.
      if (image && job.limits.memoryLimitBytes > moduleLimitBytes) image = undefined;
      if (!image) {
        moduleLimitBytes = Math.max(start.limits.memoryLimitBytes, job.limits.memoryLimitBytes);
        try {
          image = await SandboxImage.load(moduleLimitBytes, job.limits);
        } catch {
          crashed(job.id, 'the sandbox could not load QuickJS and was replaced');
          return;
        }
      }
      const loaded = image;
      let reply: WorkerReply;
      try {
        const outcome = loaded.run(job.request, job.limits);
        // A WASM heap never shrinks: once a run has reached far into it, ask to be replaced so that a
        // long-running server's memory stays flat. Decided by the measured heap, never by what the guest
        // reports (a tool that throws null looks out of memory but costs nothing).
        reply = {
          id: job.id,
          outcome,
          recycle:
            loaded.lastReach > recycleAboveBytes(job.limits.memoryLimitBytes) ||
            loaded.imageBytes > MAX_IMAGE_BYTES,
        };
      } catch (error) {
        // A host fault inside the module (host stack overflow, WASM trap): its memory and its stack
        // pointer may be anywhere, and nothing in it is touched again.
        image = undefined;
        if (error instanceof RangeError)
          crashed(job.id, 'the tool exhausted the sandbox stack and was stopped', 'stack');
        else crashed(job.id, 'the sandbox failed while running the tool and was replaced');
        return;
      }
      port.postMessage(reply);
    });
  });
  // Load the module and prepare the first sandbox before announcing readiness, so the first real run
  // does not pay for either.
  void SandboxImage.load(start.limits.memoryLimitBytes, start.limits).then(
    (loaded) => {
      image ??= loaded;
      port.postMessage({ ready: true });
    },
    () => port.postMessage({ ready: true }),
  );
}
