/**
 * Where the QuickJS build keeps its state in WebAssembly memory, read from the binary itself, so that a
 * memory image (see memory-image.ts) copies every byte that matters and skips the idle stack.
 *
 * emscripten lays memory out as: static data (initialised segments, then zeroed statics) from GLOBAL_BASE,
 * then the stack (STACK_SIZE bytes, growing down from `__stack_pointer`'s initial value), then the heap,
 * which starts where the stack's top is. The binary gives the stack's top (global 0's initial value) and
 * the end of the initialised data; the zeroed statics between that end and the stack's bottom are not in
 * the binary. Their end is bounded twice: by the stack's size (the stack starts where they end) and by
 * how far zeroed statics ever reach past the data here. The larger bound is used, so that either one
 * being right is enough; copying part of the idle stack costs only time.
 */

/** The QuickJS build's stack size: `-sSTACK_SIZE=5MB`, as the same release's debug build states. */
export const STACK_BYTES = 5 * 1024 * 1024;

/** Zeroed statics past the initialised data reach about 3 KiB in this build: far below this. */
export const MAX_ZEROED_STATICS = 64 * 1024;

export interface WasmLayout {
  /** Where the stack starts (its top: it grows down) and the heap begins. */
  readonly stackTop: number;
  /** Where the initialised data ends. */
  readonly dataEnd: number;
  /**
   * Where a memory image stops copying static data, past the end of the zeroed statics (see above): it
   * copies `[0, staticEnd)` and the heap from `stackTop`. Equals `stackTop` (the whole stack copied too)
   * when the data reaches past where the stack would start, which is slower but never wrong.
   */
  readonly staticEnd: number;
}

/** Reads the layout of an emscripten build from its binary. Throws if the binary is not one. */
export function readWasmLayout(binary: Uint8Array): WasmLayout {
  let stackTop: number | undefined;
  let dataEnd = 0;
  const reader = new Reader(binary, 8);
  while (!reader.done()) {
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.offset + size;
    if (id === GLOBAL_SECTION) stackTop = readFirstGlobal(reader);
    if (id === DATA_SECTION) dataEnd = readDataEnd(reader);
    reader.offset = end;
  }
  if (stackTop === undefined) throw new Error('the QuickJS binary has no stack pointer global');
  const stackBottom = stackTop - STACK_BYTES;
  const staticEnd =
    dataEnd > stackBottom
      ? stackTop
      : Math.min(stackTop, Math.max(stackBottom, dataEnd + MAX_ZEROED_STATICS));
  return { stackTop, dataEnd, staticEnd };
}

const GLOBAL_SECTION = 6;
const DATA_SECTION = 11;
const I32 = 0x7f;
const I32_CONST = 0x41;

/** emscripten's global 0 is `__stack_pointer`: a mutable i32 whose initial value is the stack's top. */
function readFirstGlobal(reader: Reader): number {
  if (reader.u32() === 0) throw new Error('the QuickJS binary has no globals');
  const type = reader.byte();
  const mutable = reader.byte();
  const op = reader.byte();
  if (type !== I32 || mutable !== 1 || op !== I32_CONST)
    throw new Error('the QuickJS binary does not start its globals with the stack pointer');
  return reader.i32();
}

/** The end of the last active data segment placed at a constant offset. */
function readDataEnd(reader: Reader): number {
  let end = 0;
  const count = reader.u32();
  for (let segment = 0; segment < count; segment++) {
    const flags = reader.u32();
    if (flags === 2) reader.u32(); // an explicit memory index
    let offset: number | undefined;
    if (flags !== 1) {
      // An active segment: its offset is a constant expression ending in `end` (0x0b).
      if (reader.byte() !== I32_CONST)
        throw new Error('a QuickJS data segment has no constant offset');
      offset = reader.i32();
      if (reader.byte() !== 0x0b) throw new Error('a QuickJS data segment offset is not constant');
    }
    const length = reader.u32();
    if (offset !== undefined) end = Math.max(end, offset + length);
    reader.offset += length;
  }
  return end;
}

/** Reads the LEB128 integers of the WebAssembly binary format. */
class Reader {
  private readonly bytes: Uint8Array;
  offset: number;

  constructor(bytes: Uint8Array, offset: number) {
    this.bytes = bytes;
    this.offset = offset;
  }

  done(): boolean {
    return this.offset >= this.bytes.length;
  }

  byte(): number {
    const value = this.bytes[this.offset++];
    if (value === undefined) throw new Error('the QuickJS binary ends early');
    return value;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(byte & 0x80)) return result;
    }
  }

  i32(): number {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = this.byte();
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    if (shift < 32 && byte & 0x40) result |= -1 << shift;
    return result;
  }
}
