/**
 * Stage `parse`: turns the source into a TypeScript AST and finds the tool's entry function, a function
 * named like the tool (`export` optional, may be `async`) taking one parameter.
 */
import type * as TS from 'typescript';
import { ts } from './typescript.js';
import { ok, refuse, type Diagnostic, type Result } from '../errors.js';
import { TOOL_FILE_NAME } from './host.js';

/** The parsed source and the entry function's declaration. */
export interface ParsedTool {
  readonly sourceFile: TS.SourceFile;
  /** The function-like node: a declaration, or an arrow/function expression bound to a `const`. */
  readonly entry: TS.SignatureDeclaration & { readonly body?: TS.Node | undefined };
  readonly parameter: TS.ParameterDeclaration;
}

/** Line and column (1-based) of `node` in its file. */
export function positionOf(
  sourceFile: TS.SourceFile,
  node: TS.Node | number,
): { line: number; column: number } {
  const pos = typeof node === 'number' ? node : node.getStart(sourceFile);
  const lc = sourceFile.getLineAndCharacterOfPosition(pos);
  return { line: lc.line + 1, column: lc.character + 1 };
}

/** Parses `source` and locates the function named `name`. Never throws for bad source. */
export function parseSource(name: string, source: string): Result<ParsedTool> {
  const sourceFile = ts.createSourceFile(
    TOOL_FILE_NAME,
    source,
    { languageVersion: ts.ScriptTarget.ES2022, impliedNodeFormat: ts.ModuleKind.CommonJS },
    true,
    ts.ScriptKind.TS,
  );
  // parseDiagnostics is internal but has been stable for years; it is the parser's own list of syntax
  // errors, available without building a Program.
  const syntax = (
    sourceFile as unknown as { parseDiagnostics?: readonly TS.DiagnosticWithLocation[] }
  ).parseDiagnostics;
  if (syntax && syntax.length > 0) {
    return refuse(
      ...syntax.map((d): Diagnostic => ({
        stage: 'parse',
        code: 'syntax_error',
        message: ts.flattenDiagnosticMessageText(d.messageText, ' '),
        ...positionOf(sourceFile, d.start),
      })),
    );
  }

  const candidates = findEntryCandidates(sourceFile, name);
  const entry = candidates.find((c) => c.body !== undefined) ?? candidates[0];
  if (!entry) {
    return refuse({
      stage: 'parse',
      code: 'missing_function',
      message: `the source must define a function named "${name}" (the tool's name), e.g. \`export function ${name}(input: { … }): … { … }\``,
      line: 1,
      column: 1,
    });
  }
  if (candidates.filter((c) => c.body !== undefined).length > 1 || candidates.length > 2) {
    return refuse({
      stage: 'parse',
      code: 'bad_signature',
      message: `"${name}" is defined more than once (overloads are not supported); keep one signature`,
      ...positionOf(sourceFile, candidates[1] ?? entry),
    });
  }
  const parameters = entry.parameters;
  const [parameter] = parameters;
  if (parameters.length !== 1 || !parameter) {
    return refuse({
      stage: 'parse',
      code: 'bad_signature',
      message: `"${name}" must take exactly one parameter, an object whose properties are the tool's arguments (it takes ${parameters.length})`,
      ...positionOf(sourceFile, entry),
    });
  }
  if (parameter.dotDotDotToken || !parameter.type) {
    return refuse({
      stage: 'parse',
      code: 'bad_signature',
      message: parameter.dotDotDotToken
        ? 'the parameter must not be a rest parameter'
        : "the parameter needs a type annotation: its type becomes the tool's input schema (e.g. `input: { city: string }`)",
      ...positionOf(sourceFile, parameter),
    });
  }
  return ok({ sourceFile, entry, parameter });
}

type EntryNode = TS.SignatureDeclaration & { readonly body?: TS.Node | undefined };

function findEntryCandidates(sourceFile: TS.SourceFile, name: string): EntryNode[] {
  const found: EntryNode[] = [];
  for (const statement of sourceFile.statements) {
    if (ts.isFunctionDeclaration(statement) && statement.name?.text === name) found.push(statement);
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) {
        if (!ts.isIdentifier(declaration.name) || declaration.name.text !== name) continue;
        const init = declaration.initializer;
        if (init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init))) found.push(init);
      }
    }
  }
  return found;
}
