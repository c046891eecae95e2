/**
 * What toolsmith is compared against, measured in the same run: a naive type check (a fresh
 * `ts.createProgram` with the default host), node:vm with a fresh context per call, and spawning a
 * `node -e` or `python3 -c` process per test batch. The library peer (@sebastianwessel/quickjs) is in
 * peer.ts.
 */
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import vm from 'node:vm';
import ts from 'typescript';
import { CHECK_OPTIONS } from '../src/compiler/host.js';

const execFileAsync = promisify(execFile);

/**
 * Type-checks `source` the naive way: a fresh program with TypeScript's default compiler host, which
 * reads and parses the lib files again on every check. Returns the number of errors (0 expected).
 */
export function naiveTypeCheck(fileName: string): number {
  const program = ts.createProgram({
    rootNames: [fileName],
    options: CHECK_OPTIONS,
    host: ts.createCompilerHost(CHECK_OPTIONS),
  });
  return [
    ...program.getSyntacticDiagnostics(),
    ...program.getSemanticDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...program.getOptionsDiagnostics(),
  ].filter((d) => d.category === ts.DiagnosticCategory.Error).length;
}

/** Writes `source` to `<dir>/tool.ts` for `naiveTypeCheck`. */
export async function writeToolFile(dir: string, source: string): Promise<string> {
  const file = join(dir, 'tool.ts');
  await writeFile(file, source);
  return file;
}

/**
 * Runs the transpiled tool `code` once in a fresh node:vm context, JSON in and JSON out like the sandbox.
 * node:vm is not a security boundary; it is here as the cheapest way to run code in a fresh global.
 */
export function vmCall(code: string, entry: string, inputJson: string): string {
  const context = vm.createContext({ inputJson });
  const script = new vm.Script(
    `(function () { const exports = {}; const module = { exports };
${code}
;return JSON.stringify(${entry}(JSON.parse(inputJson))); })()`,
  );
  const out: unknown = script.runInContext(context, { timeout: 1000 });
  if (typeof out !== 'string') throw new Error('node:vm baseline returned no JSON');
  return out;
}

/** Runs `command args` and resolves with its stdout; rejects on a non-zero exit. */
export async function run(command: string, args: readonly string[]): Promise<string> {
  const { stdout } = await execFileAsync(command, [...args], { maxBuffer: 1024 * 1024 });
  return stdout;
}

/** Whether `command --version` runs. */
export async function available(command: string): Promise<boolean> {
  try {
    await run(command, ['--version']);
    return true;
  } catch {
    return false;
  }
}
