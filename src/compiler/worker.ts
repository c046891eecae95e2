/**
 * Compiler worker entry: owns the TypeScript compiler and its lib cache, off the server's event loop.
 * Loading TypeScript (~400 ms, ~80 MB) and every check (~10 ms) happen here, so tools/list and tool calls
 * are answered while an agent's create_tool is being type-checked, and start-up does not wait for it.
 */
import { parentPort } from 'node:worker_threads';
import type { Result } from '../errors.js';
import { ToolCompiler, type CompiledTool } from './compile.js';

export interface CompileJob {
  readonly id: number;
  readonly name: string;
  readonly source: string;
}

export interface CompileReply {
  readonly id: number;
  readonly result: Result<CompiledTool>;
}

const port = parentPort;
if (port) {
  const compiler = new ToolCompiler();
  port.on('message', (job: CompileJob) => {
    let result: Result<CompiledTool>;
    try {
      result = compiler.compile(job.name, job.source);
    } catch (error) {
      // The compiler itself gave up (a pathologically nested source overflows its recursion): that is
      // still the source's fault, so it is a refusal, not a crash.
      result = {
        ok: false,
        diagnostics: [
          {
            stage: 'parse',
            code: 'syntax_error',
            message: `the TypeScript compiler could not process this source (${error instanceof RangeError ? 'it nests too deeply' : String(error)}); simplify it`,
          },
        ],
      };
    }
    port.postMessage({ id: job.id, result } satisfies CompileReply);
  });
  // Warm up in the background: the first real create_tool then costs a normal check.
  compiler.warm();
  port.postMessage({ warm: true });
}
