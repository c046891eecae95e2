/**
 * Where the QuickJS build keeps its program break: emscripten's `sbrk` pointer, the end of the heap the
 * allocator has taken. Nothing at or above it belongs to the allocator. Reading it tells
 *
 * - how much a run has grown the heap, counted from the restored image, so that the memory limit is the
 *   same for every run whatever earlier runs did to the WebAssembly memory's size (which never shrinks);
 * - where a memory image must end (memory-image.ts), without scanning the memory.
 *
 * The pointer is a static variable whose address the build does not export. It is the same in every
 * instance of the build, so it is found once per thread, in the first module loaded, before anything runs
 * in it, by what changes: one allocation larger than any free space moves the break past its end. Of the
 * static words that change to a value between that end and the memory's size, the break is the largest
 * (the other is the allocator's free top chunk, which starts below it). The find is checked: in a fresh
 * module nothing was ever written at or above the break. The module's memory is then put back exactly as
 * it was before the probe.
 */
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import { lastNonZero, MemoryImage } from './memory-image.js';
import type { WasmMemory } from './module.js';
import type { WasmLayout } from './wasm-layout.js';

/** The probe allocation: far more than a fresh module's free space, far less than its memory. */
const PROBE_BYTES = 4 * 1024 * 1024;

/** emscripten's allocator exports; quickjs-emscripten keeps its module in a protected field. */
interface Allocator {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

/** This thread's find: undefined until a module has been probed; `address` undefined if none passed. */
let located: { readonly address: number | undefined } | undefined;
/** The memories of modules of this build whose break has been located, with its address. */
const breaks = new WeakMap<WasmMemory, number>();

/**
 * The byte address of the break in this build, found in `module` if this thread has not found it yet.
 * `module` must be fresh (loaded, nothing run in it); its memory is left as it was. Undefined if no word
 * passes the checks. From now on `heapReach(memory)` reads the break.
 */
export function locateHeapBreak(
  module: QuickJSWASMModule,
  memory: WasmMemory,
  layout: WasmLayout,
): number | undefined {
  located ??= { address: findHeapBreak(module, memory, layout) };
  if (located.address !== undefined) breaks.set(memory, located.address);
  return located.address;
}

/**
 * How far a module's heap reaches: its program break if it has been located for this memory, or else
 * the WebAssembly memory's size (which counts what earlier runs grew it by too; so for any other build).
 */
export function heapReach(memory: WasmMemory): number {
  const address = breaks.get(memory);
  return address === undefined ? memory.buffer.byteLength : readBreak(memory, address);
}

/** The break's value: the end of the heap the allocator has taken. */
export function readBreak(memory: WasmMemory, address: number): number {
  return new Uint32Array(memory.buffer, address, 1)[0]!;
}

/** The uncached find (see `locateHeapBreak`): probes `module`, then puts its memory back as it was. */
export function findHeapBreak(
  module: QuickJSWASMModule,
  memory: WasmMemory,
  layout: WasmLayout,
): number | undefined {
  const allocator = (module as unknown as { module: Allocator }).module;
  const used = lastNonZero(memory.buffer, layout.stackTop);
  if (memory.buffer.byteLength - used < 2 * PROBE_BYTES) return undefined;
  // Everything the probe changes is in the statics or the heap up to `used`, or written above it.
  const saved = new MemoryImage(memory, layout, used);
  const words = layout.staticEnd >>> 2;
  const before = new Uint32Array(memory.buffer, 0, words).slice();
  const pointer = allocator._malloc(PROBE_BYTES);
  let address: number | undefined;
  if (pointer !== 0) {
    const after = new Uint32Array(memory.buffer, 0, words);
    let found: number | undefined;
    let highest = 0;
    let tied = false;
    for (let index = 0; index < words; index++) {
      const value = after[index]!;
      if (value === before[index] || value < pointer + PROBE_BYTES) continue;
      if (value > memory.buffer.byteLength) continue;
      if (value > highest) {
        highest = value;
        found = index;
        tied = false;
      } else if (value === highest) tied = true;
    }
    allocator._free(pointer);
    const valid =
      found !== undefined &&
      !tied &&
      before[found]! >= used &&
      after[found]! >= lastNonZero(memory.buffer, layout.stackTop);
    if (valid) address = found! * 4;
  }
  saved.restore(memory);
  saved.clearAbove(memory);
  return address;
}
