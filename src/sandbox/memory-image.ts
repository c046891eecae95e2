/**
 * A copy of the state in a QuickJS module's WebAssembly memory, written back before every run: each run
 * starts from the same bytes, whatever the runs before it did.
 *
 * What is copied: the static data (libc and allocator state, QuickJS's statics) and the heap up to the
 * program break (see heap-break.ts), or failing that up to its last non-zero byte. What is not: the stack,
 * which holds nothing between calls into the module, and the memory above the heap, which the allocator
 * does not own until it moves the break, and never reads before writing (QuickJS zeroes what it needs
 * zeroed).
 */
import type { WasmMemory } from './module.js';
import type { WasmLayout } from './wasm-layout.js';

export class MemoryImage {
  private readonly layout: WasmLayout;
  private readonly statics: Uint8Array;
  private readonly heap: Uint8Array;

  /**
   * Copies `memory` now: the static data, and the heap up to `heapEnd`, which must be at or above every
   * byte the allocator uses: the program break (see heap-break.ts), or `scannedHeapEnd` when the memory
   * above the heap is all zero (a fresh module, or `clearAbove` after a restore).
   */
  constructor(memory: WasmMemory, layout: WasmLayout, heapEnd: number) {
    this.layout = layout;
    const bytes = new Uint8Array(memory.buffer);
    this.statics = bytes.slice(0, layout.staticEnd);
    this.heap = bytes.slice(layout.stackTop, Math.max(layout.stackTop, heapEnd));
  }

  /** Bytes copied back on each restore. */
  get size(): number {
    return this.statics.length + this.heap.length;
  }

  /** Where the copied heap ends: the memory above is the allocator's free space. */
  get end(): number {
    return this.layout.stackTop + this.heap.length;
  }

  /** Writes the copy back. Only between calls into the module: its stack must be idle. */
  restore(memory: WasmMemory): void {
    // The buffer is replaced whenever the memory grows: take it fresh every time.
    const bytes = new Uint8Array(memory.buffer);
    bytes.set(this.statics, 0);
    bytes.set(this.heap, this.layout.stackTop);
  }

  /** Zeroes the free space above the copied heap, as it was when copied (before a new image is taken). */
  clearAbove(memory: WasmMemory): void {
    // Only the chunks that are not zero already: writing pages never touched would make them resident.
    const { buffer } = memory;
    for (let start = this.end; start < buffer.byteLength; start += CHUNK_BYTES) {
      const chunk = new Uint8Array(buffer, start, Math.min(CHUNK_BYTES, buffer.byteLength - start));
      if (!isZero(chunk)) chunk.fill(0);
    }
  }
}

/** The end of the heap in use, when the memory above it is all zero: past its last non-zero byte. */
export function scannedHeapEnd(memory: WasmMemory, layout: WasmLayout): number {
  return Math.ceil(lastNonZero(memory.buffer, layout.stackTop) / 16) * 16;
}

const CHUNK_BYTES = 64 * 1024;
const ZERO_CHUNK = new Uint8Array(CHUNK_BYTES);

/**
 * Just past the last non-zero byte of `buffer` at or above `from` (or `from`): whole chunks are compared
 * with zeros natively (a 16 MiB memory in about 0.2 ms), only the last non-zero chunk byte by byte.
 */
export function lastNonZero(buffer: ArrayBuffer, from: number): number {
  let end = buffer.byteLength;
  while (end > from) {
    const start = Math.max(from, end - CHUNK_BYTES);
    const chunk = new Uint8Array(buffer, start, end - start);
    if (!isZero(chunk)) {
      let last = chunk.length - 1;
      while (chunk[last] === 0) last--;
      return start + last + 1;
    }
    end = start;
  }
  return from;
}

/** Whether every byte of `chunk` (at most CHUNK_BYTES) is zero, compared natively. */
function isZero(chunk: Uint8Array): boolean {
  return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length).equals(
    ZERO_CHUNK.subarray(0, chunk.length),
  );
}
