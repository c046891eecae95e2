/**
 * Fresh sandboxes at the cost of a memory copy: a QuickJS module whose prepared sandboxes (runtime,
 * context, encoder, captured intrinsics; no tool code) are captured once as a memory image, which is
 * written back before every run.
 *
 * Every run therefore starts from the same bytes as the first: whatever a tool did to its globals, its
 * prototypes, its job queue or the heap, the next run cannot see it, and Math.random gets a fresh seed.
 * Building a sandbox costs about 150 µs of QuickJS work (runtime, context, encoder compile, freeing it
 * all afterwards); restoring the image costs a copy of about 150 KiB, a few microseconds.
 *
 * A worker owns one image. It holds up to MAX_SANDBOXES sandboxes at once, one per set of built-ins and
 * limits recently called for (see intrinsics.ts); a run uses only the sandbox built with exactly its own,
 * so what a tool finds never depends on which tool ran before.
 */
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import { intrinsicsFor, type IntrinsicSet } from './intrinsics.js';
import type { RunLimits } from './limits.js';
import { MemoryImage } from './memory-image.js';
import {
  heapBytes,
  loadCappedModule,
  loadQuickJSBuild,
  wasmMemoryOf,
  type WasmMemory,
} from './module.js';
import type { RunOutcome, RunRequest } from './outcome.js';
import { locateRandomState, reseed } from './random-state.js';
import { prepareSandbox, type FreshSandbox } from './run.js';
import type { WasmLayout } from './wasm-layout.js';

/**
 * Sandboxes held at once. Each adds about 70 KiB to what every restore copies (150 KiB: 1.4 µs, 600 KiB:
 * about 6 µs), while preparing one for a set not held costs about 0.5 ms (the image is retaken): enough
 * that tools taking turns with up to eight sets of built-ins never pay that.
 */
export const MAX_SANDBOXES = 8;

interface Held {
  readonly sandbox: FreshSandbox;
  /** Where its context keeps Math.random's state (see random-state.ts). */
  readonly randomState: number;
}

export class SandboxImage {
  private readonly module: QuickJSWASMModule;
  private readonly memory: WasmMemory;
  private readonly layout: WasmLayout;
  /** Least recently used first. */
  private readonly held = new Map<string, Held>();
  private image: MemoryImage | undefined;
  /** Whether a run has touched the memory since it was last restored. */
  private dirty = false;

  private constructor(module: QuickJSWASMModule, layout: WasmLayout) {
    this.module = module;
    this.memory = wasmMemoryOf(module);
    this.layout = layout;
  }

  /**
   * Loads a module capped for runs of up to `memoryLimitBytes` (see module.ts) with a sandbox prepared
   * for `limits` and the leanest built-ins, so that the first run finds one ready.
   */
  static async load(memoryLimitBytes: number, limits: RunLimits): Promise<SandboxImage> {
    const [{ layout }, module] = await Promise.all([
      loadQuickJSBuild(),
      loadCappedModule(memoryLimitBytes),
    ]);
    const image = new SandboxImage(module, layout);
    image.hold(limits, 0);
    return image;
  }

  /** The module's WebAssembly heap size: it never shrinks. */
  get heapBytes(): number {
    return heapBytes(this.module);
  }

  /** Bytes each restore copies. */
  get imageBytes(): number {
    return this.image?.size ?? 0;
  }

  /**
   * Runs `request` under `limits` in a sandbox restored to its image. Never throws for guest behaviour;
   * throws for a host fault (a WASM trap, a host stack overflow), after which the image must be dropped.
   */
  run(request: RunRequest, limits: RunLimits): RunOutcome {
    const intrinsics = intrinsicsFor(request.code);
    const key = keyOf(limits, intrinsics);
    let held = this.held.get(key);
    if (held) {
      this.held.delete(key);
      this.held.set(key, held);
      if (this.dirty) this.image?.restore(this.memory);
    } else {
      held = this.hold(limits, intrinsics);
    }
    reseed(this.memory, held.randomState);
    this.dirty = true;
    held.sandbox.rewind();
    return held.sandbox.run(request, limits.timeoutMs);
  }

  /** Prepares a sandbox for `limits` and `intrinsics`, frees the least recently used beyond the cap, and retakes the image. */
  private hold(limits: RunLimits, intrinsics: IntrinsicSet): Held {
    const { memory } = this;
    if (this.image) {
      // Back to the image, with nothing above its heap, so the new image is taken from a clean state.
      this.image.restore(memory);
      this.image.clearAbove(memory);
    }
    for (const [key, oldest] of this.held) {
      if (this.held.size < MAX_SANDBOXES) break;
      this.held.delete(key);
      if (!oldest.sandbox.dispose()) throw new Error('a held sandbox could not be freed');
    }
    const sandbox = prepareSandbox(this.module, limits, intrinsics);
    sandbox.armInterrupts();
    const randomState = locateRandomState(memory, sandbox.contextAddress, () =>
      sandbox.drawRandom(),
    );
    const held = { sandbox, randomState };
    this.held.set(keyOf(limits, intrinsics), held);
    this.image = new MemoryImage(memory, this.layout);
    this.dirty = false;
    return held;
  }
}

/** Sandboxes differ by built-ins and by every limit fixed when they are prepared (all but the timeout). */
function keyOf(limits: RunLimits, intrinsics: IntrinsicSet): string {
  return `${intrinsics}/${limits.memoryLimitBytes}/${limits.maxStackSizeBytes}/${limits.maxResultBytes}/${limits.maxConsoleBytes}/${limits.maxJsonDepth}`;
}
