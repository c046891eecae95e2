/**
 * Loads the QuickJS WebAssembly module a worker runs guests in, with its memory capped.
 *
 * Why a cap at this level: this QuickJS build has no `malloc_usable_size`, so its own memory limit
 * (JS_SetMemoryLimit) counts a fixed overhead per allocation rather than bytes. It stops floods of small
 * objects but not large buffers: one `new Uint8Array(1 << 20)` after another would grow the WASM heap to
 * 2 GiB. A WebAssembly.Memory with a `maximum` is a hard wall: past it, malloc returns NULL and QuickJS
 * throws its own out-of-memory error, cleanly. Runs also check the heap's growth against the per-run limit
 * (see run.ts and heap-break.ts), and the worker is replaced once a run's heap has reached past
 * `recycleAboveBytes` (a WASM heap never shrinks).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import {
  newQuickJSWASMModuleFromVariant,
  newVariant,
  RELEASE_SYNC,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { readWasmLayout, type WasmLayout } from './wasm-layout.js';

/** The part of a WebAssembly.Memory toolsmith reads (the project's libs carry no WebAssembly types). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
// The global exists in every Node; declared here, narrowly, because neither lib nor @types/node declare it.
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum: number }) => WasmMemory;
  compile(binary: Uint8Array): Promise<object>;
};

const PAGE_BYTES = 64 * 1024;
/** The release build's own initial memory (emscripten's INITIAL_MEMORY): 16 MiB. */
export const INITIAL_HEAP_BYTES = 256 * PAGE_BYTES;
/** WebAssembly's largest 32-bit memory. */
const MAX_PAGES = 32768;
/** The most heap any worker's module can have: 2 GiB. */
export const MAX_HEAP_BYTES = MAX_PAGES * PAGE_BYTES;

/** The hard cap for a module serving runs limited to `memoryLimitBytes` each. */
export function heapCapBytes(memoryLimitBytes: number): number {
  // Room for one run at its limit plus the same again for fragmentation and the next run's prepared sandbox.
  return INITIAL_HEAP_BYTES + 2 * memoryLimitBytes;
}

/**
 * A run whose heap reached past this has the worker replaced after it: the pages it touched stay
 * resident (a WASM heap never shrinks), and so a long-running server's memory stays flat. Runs that keep
 * within half their limit never cost a replacement.
 */
export function recycleAboveBytes(memoryLimitBytes: number): number {
  return INITIAL_HEAP_BYTES + memoryLimitBytes / 2;
}

/** The QuickJS release build, compiled once per thread, and where it keeps its state in memory. */
export interface QuickJSBuild {
  readonly compiled: object;
  readonly layout: WasmLayout;
}

let build: Promise<QuickJSBuild> | undefined;

/**
 * Reads and compiles the build quickjs-emscripten's RELEASE_SYNC variant loads (the same package and
 * version, a direct dependency for this reason), once per thread: every module loaded afterwards skips
 * the compile, and its layout is read from the very bytes that run.
 */
export function loadQuickJSBuild(): Promise<QuickJSBuild> {
  build ??= (async () => {
    const path = createRequire(import.meta.url).resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
    const binary = new Uint8Array(await readFile(path));
    return { compiled: await WebAssembly.compile(binary), layout: readWasmLayout(binary) };
  })();
  build.catch(() => {
    build = undefined;
  });
  return build;
}

/** A QuickJS module whose WebAssembly memory can never grow past `heapCapBytes(memoryLimitBytes)`. */
export async function loadCappedModule(memoryLimitBytes: number): Promise<QuickJSWASMModule> {
  const { compiled } = await loadQuickJSBuild();
  const maximum = Math.min(MAX_PAGES, Math.ceil(heapCapBytes(memoryLimitBytes) / PAGE_BYTES));
  const wasmMemory = new WebAssembly.Memory({ initial: INITIAL_HEAP_BYTES / PAGE_BYTES, maximum });
  // quickjs-emscripten types these options with WebAssembly types, which these libs do not declare.
  return newQuickJSWASMModuleFromVariant(
    newVariant(RELEASE_SYNC, { wasmMemory: wasmMemory as never, wasmModule: compiled as never }),
  );
}

/** The module's current WebAssembly heap size in bytes. */
export function heapBytes(module: QuickJSWASMModule): number {
  return wasmMemoryOf(module).buffer.byteLength;
}

/** The module's WebAssembly memory. */
export function wasmMemoryOf(module: QuickJSWASMModule): WasmMemory {
  return module.getWasmMemory() as WasmMemory;
}
