/**
 * A compiler host that parses the ECMAScript lib files once per process and hands the same `SourceFile`
 * objects to every check. A fresh `ts.createProgram` with the default host re-reads and re-parses ~57 lib
 * files (~70 ms); with the cache a check costs a few milliseconds.
 */
import { dirname, join } from 'node:path';
import type * as TS from 'typescript';
import { ts } from './typescript.js';

/** Virtual file name of the tool source inside each check. */
export const TOOL_FILE_NAME = '/toolsmith/tool.ts';
/** Virtual declaration file describing what the sandbox adds to ECMAScript: the captured `console`. */
export const SANDBOX_GLOBALS_FILE_NAME = '/toolsmith/sandbox-globals.d.ts';

const SANDBOX_GLOBALS = `
/** Captured console: output comes back with the tool's result (capped), it is never printed by the host. */
interface ToolsmithConsole {
  log(...data: unknown[]): void;
  info(...data: unknown[]): void;
  warn(...data: unknown[]): void;
  error(...data: unknown[]): void;
  debug(...data: unknown[]): void;
}
declare var console: ToolsmithConsole;
`;

/** Strict, ES-only options every tool is checked with: no DOM, no Node types, no emit. */
export const CHECK_OPTIONS: TS.CompilerOptions = Object.freeze({
  target: ts.ScriptTarget.ES2022,
  // CommonJS so that top-level await is refused at check time: the sandbox runs the code as a function body.
  module: ts.ModuleKind.CommonJS,
  moduleDetection: ts.ModuleDetectionKind.Force,
  lib: ['lib.es2023.d.ts'],
  types: [],
  strict: true,
  noImplicitReturns: true,
  noFallthroughCasesInSwitch: true,
  // Emit comes from the same program (one parse, one checker): cheaper than a separate transpileModule.
  noEmit: false,
  removeComments: true,
  sourceMap: false,
  declaration: false,
  esModuleInterop: false,
  importHelpers: false,
  skipLibCheck: true,
  allowJs: false,
  noResolve: true,
});

/** Caches parsed lib files for the life of the process; safe to share across checks (they are immutable). */
export class LibCache {
  /** The previous check's program, passed to the next as `oldProgram` so its structure is reused. */
  lastProgram: TS.Program | undefined;
  private readonly files = new Map<string, TS.SourceFile | undefined>();
  private readonly libDirectory = dirname(ts.getDefaultLibFilePath(CHECK_OPTIONS));

  /** Returns a host that serves `toolFile` plus cached libs, and nothing else from the file system. */
  createHost(toolFile: TS.SourceFile): TS.CompilerHost {
    return {
      getSourceFile: (fileName) => {
        if (fileName === TOOL_FILE_NAME) return toolFile;
        return this.getLibFile(fileName);
      },
      getDefaultLibFileName: () => join(this.libDirectory, 'lib.es2023.d.ts'),
      getDefaultLibLocation: () => this.libDirectory,
      writeFile: () => undefined,
      getCurrentDirectory: () => '/toolsmith',
      getDirectories: () => [],
      getCanonicalFileName: (f) => f,
      useCaseSensitiveFileNames: () => true,
      getNewLine: () => '\n',
      fileExists: (f) =>
        f === TOOL_FILE_NAME || f === SANDBOX_GLOBALS_FILE_NAME || ts.sys.fileExists(f),
      readFile: (f) => (f === TOOL_FILE_NAME ? toolFile.text : ts.sys.readFile(f)),
    };
  }

  private getLibFile(fileName: string): TS.SourceFile | undefined {
    if (this.files.has(fileName)) return this.files.get(fileName);
    let file: TS.SourceFile | undefined;
    if (fileName === SANDBOX_GLOBALS_FILE_NAME) {
      file = ts.createSourceFile(fileName, SANDBOX_GLOBALS, ts.ScriptTarget.ES2022, false);
    } else if (fileName.startsWith(this.libDirectory)) {
      // Only the compiler's own lib directory is readable: a tool cannot make the checker read other files.
      const text = ts.sys.readFile(fileName);
      // Without their JSDoc (most of their text): checking never reads it, and parsing the libs is most
      // of a fresh worker's first check.
      file =
        text === undefined
          ? undefined
          : ts.createSourceFile(
              fileName,
              text,
              {
                languageVersion: ts.ScriptTarget.ES2022,
                jsDocParsingMode: ts.JSDocParsingMode.ParseNone,
              },
              false,
            );
    }
    this.files.set(fileName, file);
    return file;
  }
}
