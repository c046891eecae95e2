/**
 * Where the QuickJS build keeps its program break: emscripten's `sbrk` pointer, the end of the heap the
 * allocator has taken. Nothing at or above it belongs to the allocator. Reading it tells
 *
 * - how much a run has grown the heap, counted from the restored image, so that the memory limit is the
 *   same for every run whatever earlier runs did to the WebAssembly memory's size (which never shrinks);
 * - where a memory image must end (memory-image.ts), without scanning the memory.
 *
 * The pointer is a static variable whose address the build does not export. It is the same in every
 * instance of the build, so it is found once per thread in a scratch module, by what changes: one
 * allocation larger than any free space moves the break past its end. Of the static words that change to
 * a value between that end and the memory's size, the break is the largest (the other is the allocator's
 * free top chunk, which starts below it). The find is checked: in a fresh module nothing was ever written
 * at or above the break.
 */
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import { lastNonZero } from './memory-image.js';
import type { WasmMemory } from './module.js';
import type { WasmLayout } from './wasm-layout.js';

/** The probe allocation: far more than a fresh module's free space, far less than its memory. */
const PROBE_BYTES = 4 * 1024 * 1024;

/** emscripten's allocator exports; quickjs-emscripten keeps its module in a protected field. */
interface Allocator {
  _malloc(bytes: number): number;
  _free(pointer: number): void;
}

/**
 * The byte address of the break in `scratch`, a module loaded for this and used for nothing else (the
 * probe leaves its heap larger); undefined if no word passes the checks.
 */
export function locateHeapBreak(
  scratch: QuickJSWASMModule,
  memory: WasmMemory,
  layout: WasmLayout,
): number | undefined {
  const allocator = (scratch as unknown as { module: Allocator }).module;
  const words = layout.staticEnd >>> 2;
  const usedBefore = lastNonZero(memory.buffer, layout.stackTop);
  const before = new Uint32Array(memory.buffer, 0, words).slice();
  const probe = allocator._malloc(PROBE_BYTES);
  if (probe === 0) return undefined;
  const after = new Uint32Array(memory.buffer, 0, words);
  let found: number | undefined;
  let highest = 0;
  let tied = false;
  for (let index = 0; index < words; index++) {
    const value = after[index]!;
    if (value === before[index] || value < probe + PROBE_BYTES) continue;
    if (value > memory.buffer.byteLength) continue;
    tied = value === highest;
    if (value > highest) {
      highest = value;
      found = index;
    }
  }
  allocator._free(probe);
  if (found === undefined || tied || before[found]! < usedBefore) return undefined;
  const address = found * 4;
  return readBreak(memory, address) >= lastNonZero(memory.buffer, layout.stackTop)
    ? address
    : undefined;
}

/** The break's value: the end of the heap the allocator has taken. */
export function readBreak(memory: WasmMemory, address: number): number {
  return new Uint32Array(memory.buffer, address, 1)[0]!;
}
