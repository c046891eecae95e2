/**
 * Fresh sandboxes at the cost of a memory copy: a QuickJS module whose prepared sandboxes (runtime,
 * context, encoder, captured intrinsics) are captured once as a memory image, which is written back before
 * every run.
 *
 * Every run therefore starts from the same bytes as the first: whatever a tool did to its globals, its
 * prototypes, its job queue or the heap, the next run cannot see it, and Math.random gets a fresh seed.
 * Building a sandbox costs about 150 µs of QuickJS work (runtime, context, encoder compile, freeing it
 * all afterwards); restoring the image costs a copy of about 150 KiB, a few microseconds.
 *
 * A worker owns one image. It holds up to MAX_SANDBOXES sandboxes at once, each for one set of built-ins
 * and limits (see intrinsics.ts): one for any tool with those, and one of its own for each tool called
 * often, its code compiled in (QuickJS compiles ~55 µs per KiB of source: otherwise most of a call's
 * cost). A run uses only a sandbox built with exactly its own built-ins and limits, holding its own code
 * or none, so what a tool finds never depends on which tool ran before.
 */
import type { QuickJSHandle, QuickJSWASMModule } from 'quickjs-emscripten';
import { intrinsicsFor, type IntrinsicSet } from './intrinsics.js';
import type { RunLimits } from './limits.js';
import { heapReach, locateHeapBreak, readBreak } from './heap-break.js';
import { MemoryImage, scannedHeapEnd } from './memory-image.js';
import {
  heapBytes,
  loadCappedModule,
  loadQuickJSBuild,
  wasmMemoryOf,
  type QuickJSBuild,
  type WasmMemory,
} from './module.js';
import type { RunOutcome, RunRequest } from './outcome.js';
import { locateRandomState, reseed } from './random-state.js';
import { prepareSandbox, type FreshSandbox } from './run.js';
import type { WasmLayout } from './wasm-layout.js';

/**
 * Sandboxes held at once. Each adds 70–110 KiB (and a compiled tool's code) to what every restore copies
 * (150 KiB: 1.4 µs, 1 MiB: about 12 µs), while preparing one that is not held costs about 0.5 ms (the
 * image is retaken).
 */
export const MAX_SANDBOXES = 12;

/** A tool gets a sandbox of its own from its second run on this worker. */
const RUNS_BEFORE_OWN_SANDBOX = 2;
/**
 * A tool's own sandbox replaces the least recently used one only if that has not run for this many runs:
 * more tools taking turns than there is room for keep compiling per run, instead of evicting each other.
 */
export const IDLE_RUNS_BEFORE_EVICTION = 64;
/** Tools larger than this are compiled per run: their code would weigh on every restore. */
const MAX_OWN_SANDBOX_SOURCE = 32 * 1024;
/** Nor does a tool get a sandbox of its own if compiling it takes more heap than this. */
const MAX_OWN_SANDBOX_GROWTH = 512 * 1024;
/** Tools whose runs are counted at once (the count is only a hint: it is cleared when full). */
const MAX_COUNTED_TOOLS = 64;
/**
 * An image whose heap has grown past this (freed sandboxes leave their space below the break) should be
 * replaced: every restore copies it, and free space in it is room a run's memory limit does not see.
 */
export const MAX_IMAGE_BYTES = 4 * 1024 * 1024;

interface Held {
  readonly sandbox: FreshSandbox;
  /** Where its context keeps Math.random's state (see random-state.ts). */
  readonly randomState: number;
  /** The compiled factory of the one tool this sandbox is for; none in a sandbox for any tool. */
  readonly factory: QuickJSHandle | undefined;
  /** The image's run count when it last ran. */
  lastRun: number;
}

export class SandboxImage {
  private readonly module: QuickJSWASMModule;
  private readonly memory: WasmMemory;
  private readonly layout: WasmLayout;
  private readonly breakAddress: number | undefined;
  /** Least recently used first. */
  private readonly held = new Map<string, Held>();
  private image: MemoryImage | undefined;
  /** Whether a run has touched the memory since it was last restored. */
  private dirty = false;
  private runs = 0;
  private reach = 0;
  private prepared = 0;
  /** How far preparing sandboxes for the current run reached (see `lastReach`). */
  private buildReach = 0;
  /** Runs so far of tools without a sandbox of their own, by tool key (-1: their code does not compile). */
  private readonly toolRuns = new Map<string, number>();

  private constructor(module: QuickJSWASMModule, build: QuickJSBuild) {
    this.module = module;
    this.memory = wasmMemoryOf(module);
    this.layout = build.layout;
    this.breakAddress = locateHeapBreak(module, this.memory, build.layout);
  }

  /**
   * Loads a module capped for runs of up to `memoryLimitBytes` (see module.ts) with a sandbox prepared
   * for `limits` and the leanest built-ins, so that the first run finds one ready.
   */
  static async load(memoryLimitBytes: number, limits: RunLimits): Promise<SandboxImage> {
    const [build, module] = await Promise.all([
      loadQuickJSBuild(),
      loadCappedModule(memoryLimitBytes),
    ]);
    const image = new SandboxImage(module, build);
    image.hold(sharedKey(limits, 0), limits, 0);
    return image;
  }

  /** The module's WebAssembly heap size: it never shrinks. */
  get heapBytes(): number {
    return heapBytes(this.module);
  }

  /**
   * How far the last run's heap reached, or preparing a sandbox for it did (the program break at their
   * end; see heap-break.ts): the pages touched up to there stay resident, whatever the restore does.
   */
  get lastReach(): number {
    return this.reach;
  }

  /** Bytes each restore copies. */
  get imageBytes(): number {
    return this.image?.size ?? 0;
  }

  /** Sandboxes held now, and sandboxes prepared so far (each preparation retakes the image). */
  get sandboxes(): { readonly held: number; readonly prepared: number } {
    return { held: this.held.size, prepared: this.prepared };
  }

  /** Sandboxes held for one tool each (the others serve any tool with their built-ins and limits). */
  get toolSandboxes(): number {
    let count = 0;
    for (const held of this.held.values()) if (held.factory) count++;
    return count;
  }

  /**
   * Runs `request` under `limits` in a sandbox restored to its image. Never throws for guest behaviour;
   * throws for a host fault (a WASM trap, a host stack overflow), after which the image must be dropped.
   */
  run(request: RunRequest, limits: RunLimits): RunOutcome {
    const intrinsics = intrinsicsFor(request.code);
    const shared = sharedKey(limits, intrinsics);
    const own = `${shared}\n${request.entry}\n${request.code}`;
    this.runs++;
    const held =
      this.take(own) ??
      this.holdOwn(own, request, limits, intrinsics) ??
      this.take(shared) ??
      this.hold(shared, limits, intrinsics);
    held.lastRun = this.runs;
    if (this.dirty) this.image?.restore(this.memory);
    reseed(this.memory, held.randomState);
    this.dirty = true;
    held.sandbox.rewind();
    try {
      return held.sandbox.run(request, limits.timeoutMs, Date.now, held.factory);
    } finally {
      this.reach = Math.max(heapReach(this.memory), this.buildReach);
      this.buildReach = 0;
    }
  }

  /** The held sandbox under `key`, now the most recently used. */
  private take(key: string): Held | undefined {
    const held = this.held.get(key);
    if (held) {
      this.held.delete(key);
      this.held.set(key, held);
    }
    return held;
  }

  /** A sandbox of the tool's own, if it has run often enough and there is room for one. */
  private holdOwn(
    key: string,
    request: RunRequest,
    limits: RunLimits,
    intrinsics: IntrinsicSet,
  ): Held | undefined {
    if (request.code.length > MAX_OWN_SANDBOX_SOURCE) return undefined;
    const runs = (this.toolRuns.get(key) ?? 0) + 1;
    if (runs <= 0) return undefined;
    if (runs < RUNS_BEFORE_OWN_SANDBOX) {
      if (this.toolRuns.size >= MAX_COUNTED_TOOLS) this.toolRuns.clear();
      this.toolRuns.set(key, runs);
      return undefined;
    }
    const oldest = this.held.values().next().value;
    const evictable = !oldest || oldest.lastRun <= this.runs - IDLE_RUNS_BEFORE_EVICTION;
    if (this.held.size >= MAX_SANDBOXES && !evictable) return undefined;
    const held = this.hold(key, limits, intrinsics, request);
    if (held) this.toolRuns.delete(key);
    else this.toolRuns.set(key, -1);
    return held;
  }

  /**
   * Prepares a sandbox for `limits` and `intrinsics`, with `tool` compiled in if given, frees the least
   * recently used beyond the cap, and retakes the image. Undefined only when `tool` does not compile.
   */
  private hold(key: string, limits: RunLimits, intrinsics: IntrinsicSet): Held;
  private hold(
    key: string,
    limits: RunLimits,
    intrinsics: IntrinsicSet,
    tool: RunRequest,
  ): Held | undefined;
  private hold(
    key: string,
    limits: RunLimits,
    intrinsics: IntrinsicSet,
    tool?: RunRequest,
  ): Held | undefined {
    const { memory } = this;
    if (this.image) {
      // Back to the image, so that the new one is taken from a state no run has touched.
      this.image.restore(memory);
      // Finding the heap's end by scanning needs nothing left above it.
      if (this.breakAddress === undefined) this.image.clearAbove(memory);
      this.dirty = false;
    }
    const sandbox = prepareSandbox(this.module, limits, intrinsics);
    this.prepared++;
    const before = heapReach(memory);
    let factory = tool && sandbox.compileTool(tool.code, tool.entry, limits.timeoutMs);
    // Whatever compiling reached stays resident, restored or not: it counts as the run's reach.
    this.buildReach = Math.max(this.buildReach, heapReach(memory));
    if (factory && heapReach(memory) - before > MAX_OWN_SANDBOX_GROWTH) {
      factory.dispose();
      factory = undefined;
    }
    if (tool && !factory) {
      // The tool does not compile, or only to more than it may hold: its runs compile it (and report why
      // if it does not). Free what was built for it and leave the memory as the image has it.
      if (!sandbox.dispose()) throw new Error('a sandbox could not be freed');
      this.image?.restore(memory);
      return undefined;
    }
    for (const [oldKey, oldest] of this.held) {
      if (this.held.size < MAX_SANDBOXES) break;
      this.held.delete(oldKey);
      oldest.factory?.dispose();
      if (!oldest.sandbox.dispose()) throw new Error('a held sandbox could not be freed');
    }
    sandbox.armInterrupts();
    const randomState = locateRandomState(memory, sandbox.contextAddress, () =>
      sandbox.drawRandom(),
    );
    const held: Held = { sandbox, randomState, factory, lastRun: this.runs };
    this.held.set(key, held);
    const heapEnd =
      this.breakAddress === undefined
        ? scannedHeapEnd(memory, this.layout)
        : readBreak(memory, this.breakAddress);
    this.image = new MemoryImage(memory, this.layout, heapEnd);
    this.dirty = false;
    return held;
  }
}

/** Sandboxes differ by built-ins and by every limit fixed when they are prepared (all but the timeout). */
function sharedKey(limits: RunLimits, intrinsics: IntrinsicSet): string {
  return `${intrinsics}/${limits.memoryLimitBytes}/${limits.maxStackSizeBytes}/${limits.maxResultBytes}/${limits.maxConsoleBytes}/${limits.maxJsonDepth}`;
}
