/**
 * The TypeScript compiler API, loaded with `require`. Every module that needs TypeScript at run time takes
 * it from here; types come from `import type * as TS from 'typescript'`, which costs nothing at run time.
 *
 * Why not `import ts from 'typescript'`: for an ESM import of a CommonJS package, Node first scans the whole
 * file (9 MB for typescript.js) with cjs-module-lexer to find its named exports, ~220 ms on top of the
 * ~130 ms `require` takes, and all of it on the compiler worker's path to its first check.
 */
import { createRequire } from 'node:module';
import type * as TS from 'typescript';

/** The `typescript` package, as `require('typescript')` returns it. */
export const ts = createRequire(import.meta.url)('typescript') as typeof TS;
