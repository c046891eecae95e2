/**
 * Runs the compiler stages in order (parse, screen, typecheck, schema, transpile) and stops at the first
 * stage that refuses. Owns the process-wide lib cache.
 */
import { ts } from './typescript.js';
import { ok, refuse, type Result } from '../errors.js';
import { checkTypes } from './check.js';
import { LibCache } from './host.js';
import { parseSource } from './parse.js';
import { deriveSchemas, type ToolSchemas } from './schema.js';
import { screenAst } from './screen.js';
import { emitJavaScript } from './transpile.js';

/** What the compiler hands the registry for a source that passed every stage. */
export interface CompiledTool extends ToolSchemas {
  /** JavaScript for the sandbox. */
  readonly code: string;
  /** The TypeScript version that checked and transpiled it (stored, so a later upgrade can re-check). */
  readonly compilerVersion: string;
}

/** The TypeScript compiler, with its lib files cached across compilations. */
export class ToolCompiler {
  private readonly libs = new LibCache();

  /** Compiles `source` for the tool `name`. Never throws for bad source. */
  compile(name: string, source: string): Result<CompiledTool> {
    const parsed = parseSource(name, source);
    if (!parsed.ok) return parsed;
    const screened = screenAst(parsed.value.sourceFile);
    if (screened.length > 0) return refuse(...screened);
    const checked = checkTypes(this.libs, parsed.value.sourceFile);
    if (!checked.ok) return checked;
    const schemas = deriveSchemas(parsed.value, checked.value.getTypeChecker());
    if (!schemas.ok) return schemas;
    return ok({
      ...schemas.value,
      code: emitJavaScript(checked.value),
      compilerVersion: ts.version,
    });
  }

  /**
   * Like `compile`, for the compiler's own process: if TypeScript itself gives up (a pathologically nested
   * source overflows its recursion), that is still the source's fault, so it is a refusal, not a crash.
   */
  compileOrRefuse(name: string, source: string): Result<CompiledTool> {
    try {
      return this.compile(name, source);
    } catch (error) {
      return refuse({
        stage: 'parse',
        code: 'syntax_error',
        message: `the TypeScript compiler could not process this source (${error instanceof RangeError ? 'it nests too deeply' : String(error)}); simplify it`,
      });
    }
  }

  /** Compiles a small tool once so the first real create_tool does not pay for loading the libs. */
  warm(): void {
    this.compile(
      'warm_up',
      'export function warm_up(input: { n: number }): { n: number } { return { n: input.n }; }',
    );
  }
}
