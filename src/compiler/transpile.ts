/**
 * Stage `transpile`: TypeScript to the JavaScript QuickJS runs, emitted from the program that type-checked
 * it. CommonJS output, so `export` becomes an assignment to a local `exports` object inside the sandbox's
 * function wrapper.
 */
import type * as TS from 'typescript';
import { ToolsmithError } from '../errors.js';
import { TOOL_FILE_NAME } from './host.js';

/** Returns plain JavaScript for the checked tool file of `program`. */
export function emitJavaScript(program: TS.Program): string {
  const toolFile = program.getSourceFile(TOOL_FILE_NAME);
  let output: string | undefined;
  program.emit(toolFile, (fileName, text) => {
    if (fileName.endsWith('.js')) output = text;
  });
  if (output === undefined)
    throw new ToolsmithError('invariant', 'the compiler emitted no JavaScript for a checked tool');
  return output;
}
