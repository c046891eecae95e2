/**
 * Stage `transpile`: TypeScript to the JavaScript QuickJS runs. CommonJS output so that `export` becomes
 * an assignment to a local `exports` object inside the sandbox's function wrapper.
 */
import ts from 'typescript';

const TRANSPILE_OPTIONS: ts.CompilerOptions = Object.freeze({
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.CommonJS,
  moduleDetection: ts.ModuleDetectionKind.Force,
  removeComments: true,
  sourceMap: false,
  inlineSourceMap: false,
  esModuleInterop: false,
  importHelpers: false,
});

/** Returns plain JavaScript for `source`. The source has passed parse, screen and typecheck. */
export function transpileSource(source: string): string {
  return ts.transpileModule(source, {
    compilerOptions: TRANSPILE_OPTIONS,
    reportDiagnostics: false,
  }).outputText;
}
