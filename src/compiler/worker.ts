/**
 * Compiler worker entry: owns the TypeScript compiler and its lib cache, off the server's event loop.
 * Loading TypeScript and the first check (~0.25 s with the code cache, ~0.35 s without, ~80 MB) and every
 * later check (~10 ms) happen here, so tools/list and tool calls are answered while an agent's create_tool
 * is being type-checked, and start-up does not wait for it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Result } from '../errors.js';
import {
  preloadTypeScript,
  type CodeCacheSave,
  type CodeCacheState,
  type TypeScriptPreload,
} from './code-cache.js';
import type { CompiledTool } from './compile.js';

/** What the service passes to a new worker. */
export interface CompilerWorkerData {
  /** Where the V8 code cache for typescript.js lives; undefined: no code cache. */
  readonly codeCacheDirectory: string | undefined;
}

export interface CompileJob {
  readonly id: number;
  readonly name: string;
  readonly source: string;
}

export interface CompileReply {
  readonly id: number;
  readonly result: Result<CompiledTool>;
}

/** Sent once, after the warm-up check and the code cache write (if any). */
export interface WarmReply {
  readonly warm: true;
  readonly codeCache: CodeCacheState;
  readonly saved: CodeCacheSave;
}

const port = parentPort;
if (port) {
  const { codeCacheDirectory } = workerData as CompilerWorkerData;
  let preload: TypeScriptPreload | undefined;
  try {
    // Before compile.js is imported: it takes TypeScript from require's cache, where this puts it.
    if (codeCacheDirectory !== undefined) preload = preloadTypeScript(codeCacheDirectory);
  } catch {
    // The cache is only a speed-up; compile.js loads TypeScript the plain way.
  }
  const { ToolCompiler } = await import('./compile.js');
  const compiler = new ToolCompiler();
  port.on('message', (job: CompileJob) => {
    const result = compiler.compileOrRefuse(job.name, job.source);
    port.postMessage({ id: job.id, result } satisfies CompileReply);
  });
  // Warm up in the background: the first real create_tool then costs a normal check.
  compiler.warm();
  // After the warm-up, so the cache holds the functions a check compiles, not just the top level.
  const saved = preload ? await preload.save() : 'off';
  port.postMessage({ warm: true, codeCache: preload?.state ?? 'off', saved } satisfies WarmReply);
}
