/**
 * Ways to smuggle a forbidden construct past a naive AST screen: computed and escaped property names,
 * templates, reflection, destructuring, indirect eval, ambient declarations, triple-slash directives,
 * imports, require and with. Each must be refused at create time, naming the stage. The benign controls at
 * the end are what a too-eager screen would refuse; they must register and work.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertHealthy,
  assertRefused,
  createTool,
  excerpt,
  openApp,
  valueOf,
  type Connected,
} from './support.js';

/** A source whose tool function `name` runs `body` and returns a string. */
function tool(name: string, body: string, prelude = ''): string {
  return `${prelude}\nexport function ${name}(input: { s: string }): string {\n  ${body}\n}\n`;
}

const TESTS = [{ input: { s: 'x' }, expected: 'x' }];

interface Case {
  readonly title: string;
  readonly body: string;
  readonly prelude?: string;
  /** Stages that may refuse it (the screen, unless noted). */
  readonly stages?: readonly string[];
  readonly pattern: RegExp;
}

const REFUSED: readonly Case[] = [
  {
    title: 'x.constructor.constructor chain',
    body: `const x: any = input; return x.constructor.constructor('return process')();`,
    pattern: /\.constructor/,
  },
  {
    title: "computed concatenation x['constr' + 'uctor']",
    body: `const x: any = input; return x['constr' + 'uctor']['constr' + 'uctor']('return 1')();`,
    pattern: /\["constructor"\]/,
  },
  {
    title: 'template literal key x[`constructor`]',
    body: 'const x: any = input; return x[`constructor`];',
    pattern: /\["constructor"\]/,
  },
  {
    title: 'template with substitution x[`constr${"uctor"}`]',
    body: 'const x: any = input; return x[`constr${"uctor"}`];',
    pattern: /\["constructor"\]/,
  },
  {
    title: 'unicode escape in a property name x.\\u0063onstructor',
    body: 'const x: any = input; return x.\\u0063onstructor;',
    pattern: /\.constructor/,
  },
  {
    title: "unicode escape in a string key x['\\u0063onstructor']",
    body: "const x: any = input; return x['\\u0063onstructor'];",
    pattern: /\["constructor"\]/,
  },
  {
    title: 'unicode-escaped identifier \\u0065val(...)',
    body: "return \\u0065val('1');",
    pattern: /eval is not allowed/,
  },
  {
    title: 'unicode-escaped identifier \\u0046unction(...)',
    body: "return String(\\u0046unction('return 1')());",
    pattern: /Function is not allowed/,
  },
  {
    title: "Reflect.get(fn, 'constructor')",
    body: "return Reflect.get(() => 0, 'constructor')('return 1')();",
    pattern: /"constructor" reflectively/,
  },
  {
    title: "Object.getOwnPropertyDescriptor(proto, 'constructor')",
    body: "return String(Object.getOwnPropertyDescriptor(Object.getPrototypeOf(() => 0), 'constructor'));",
    pattern: /"constructor" reflectively/,
  },
  {
    title: 'destructuring { constructor }',
    body: 'const { constructor } = (() => 0) as any; return constructor;',
    pattern: /destructuring `constructor`/,
  },
  {
    title: 'destructuring with rename { constructor: C }',
    body: 'const { constructor: C } = (() => 0) as any; return C;',
    pattern: /destructuring `constructor`/,
  },
  {
    title: "computed destructuring { ['construct' + 'or']: C }",
    body: "const { ['construct' + 'or']: C } = (() => 0) as any; return C;",
    pattern: /destructuring `constructor`/,
  },
  {
    title: 'optional chaining x?.constructor',
    body: 'const x: any = input; return x?.constructor;',
    pattern: /\.constructor/,
  },
  {
    title: 'super.constructor in a class',
    body: 'return String(new B().m());',
    prelude: 'class A {}\nclass B extends A { m(): unknown { return super.constructor; } }',
    pattern: /\.constructor/,
  },
  {
    title: '__proto__.constructor',
    body: 'const x: any = input; return x.__proto__.constructor;',
    pattern: /\.constructor/,
  },
  {
    title: 'indirect eval (0, eval)(...)',
    body: "return (0, eval)('1');",
    pattern: /eval is not allowed/,
  },
  {
    title: 'new Function(...)',
    body: "return new Function('return 1')();",
    pattern: /Function is not allowed/,
  },
  {
    title: 'ambient declare const process: any',
    body: 'return String(process.pid);',
    prelude: 'declare const process: any;',
    pattern: /ambient `declare`/,
  },
  {
    title: 'declare global { var process }',
    body: 'return String((globalThis as any).process);',
    prelude: 'export {};\ndeclare global { var process: any }',
    pattern: /ambient `declare`|`global` augmentations/,
  },
  {
    title: '/// <reference lib="dom" />',
    body: 'return String(document.cookie);',
    prelude: '/// <reference lib="dom" />',
    pattern: /triple-slash/,
  },
  {
    title: '/// <reference types="node" />',
    body: "return 'x';",
    prelude: '/// <reference types="node" />',
    pattern: /triple-slash/,
  },
  {
    title: '/// <reference path="/etc/passwd" />',
    body: "return 'x';",
    prelude: '/// <reference path="/etc/passwd" />',
    pattern: /triple-slash/,
  },
  {
    title: "dynamic import('fs')",
    body: "void import('fs'); return 'x';",
    pattern: /dynamic import\(\)/,
  },
  {
    title: "static import fs from 'fs'",
    body: 'return String(fs);',
    prelude: "import fs from 'fs';",
    pattern: /imports are not allowed/,
  },
  {
    title: "import fs = require('fs')",
    body: 'return String(fs);',
    prelude: "import fs = require('fs');",
    pattern: /imports are not allowed/,
  },
  {
    title: "export * from 'fs'",
    body: "return 'x';",
    prelude: "export * from 'fs';",
    pattern: /re-exports/,
  },
  {
    title: "require('child_process')",
    body: "return String(require('child_process'));",
    pattern: /require is not available/,
  },
  { title: 'import.meta', body: 'return String(import.meta.url);', pattern: /import\.meta/ },
  {
    title: 'with statement',
    body: "with ({ s: 1 }) { } return 'x';",
    pattern: /`with` statements/,
  },
  {
    title: 'bare process',
    body: 'return String(process.env);',
    pattern: /process is not available/,
  },
  {
    title: 'setTimeout',
    body: "setTimeout(() => 0, 1); return 'x';",
    pattern: /setTimeout is not available/,
  },
  {
    title: 'shorthand { require }',
    body: 'return String({ require }.require);',
    pattern: /require is not available/,
  },
];

describe('security: screen bypass attempts', () => {
  let app: Connected;
  before(async () => {
    app = await openApp();
  });
  after(async () => {
    await app[Symbol.asyncDispose]();
  });

  let index = 0;
  for (const c of REFUSED) {
    const name = `scr_${++index}`;
    it(`refuses ${c.title}`, async () => {
      const result = await createTool(app, name, tool(name, c.body, c.prelude), TESTS);
      assertRefused(result, c.stages ?? 'screen', c.pattern);
      assert.equal(app.toolsmith.registry.get(name), undefined, 'nothing was registered');
      await assertHealthy(app);
    });
  }

  it('a screen refusal reports every finding with line:column, not just the first', async () => {
    const source = tool(
      'scr_many',
      "const x: any = input; void x.constructor; void eval('1'); return String(process);",
    );
    const result = await createTool(app, 'scr_many', source, TESTS);
    assertRefused(result, 'screen');
    const diagnostics = (
      result.structuredContent as {
        diagnostics: { code: string; line?: number; column?: number }[];
      }
    ).diagnostics;
    assert.ok(diagnostics.length >= 3, `all three findings: ${excerpt(result)}`);
    assert.ok(diagnostics.every((d) => typeof d.line === 'number' && typeof d.column === 'number'));
    await assertHealthy(app);
  });

  describe('benign controls a too-eager screen would refuse', () => {
    const controls: {
      title: string;
      name: string;
      source: string;
      input: Record<string, unknown>;
      expected: unknown;
    }[] = [
      {
        title: 'a property named eval',
        name: 'ok_eval_prop',
        source: `export function ok_eval_prop(input: { text: string }): number {
  const calc = { eval: (s: string): number => s.length };
  return calc.eval(input.text);
}`,
        input: { text: 'abcd' },
        expected: 4,
      },
      {
        title: 'a class method named eval',
        name: 'ok_eval_method',
        source: `class Calculator {
  eval(a: number, b: number): number { return a + b; }
}
export function ok_eval_method(input: { a: number; b: number }): number { return new Calculator().eval(input.a, input.b); }`,
        input: { a: 2, b: 3 },
        expected: 5,
      },
      {
        title: 'a local variable named process',
        name: 'ok_local_process',
        source: `export function ok_local_process(input: { text: string }): string {
  const process = input.text.toUpperCase();
  return process;
}`,
        input: { text: 'pipeline' },
        expected: 'PIPELINE',
      },
      {
        title: 'the word require (and eval, process) in strings and comments',
        name: 'ok_require_word',
        source: `// This tool does not require('fs'); it never calls eval() or reads process.env.
export function ok_require_word(input: { who: string }): string {
  return \`\${input.who} may require eval(process.env) help\`;
}`,
        input: { who: 'Ada' },
        expected: 'Ada may require eval(process.env) help',
      },
      {
        title: 'an obj.constructorName property',
        name: 'ok_constructor_name',
        source: `export function ok_constructor_name(input: { kind: string }): string {
  const meta = { constructorName: 'Widget', constructorArgs: 2 };
  return meta.constructorName + ':' + input.kind + ':' + meta.constructorArgs;
}`,
        input: { kind: 'gear' },
        expected: 'Widget:gear:2',
      },
      {
        title: 'a class with a constructor',
        name: 'ok_class_ctor',
        source: `class Box {
  readonly value: number;
  constructor(value: number) { this.value = value; }
  doubled(): number { return this.value * 2; }
}
export function ok_class_ctor(input: { n: number }): number { return new Box(input.n).doubled(); }`,
        input: { n: 21 },
        expected: 42,
      },
      {
        title: 'arguments named process and require',
        name: 'ok_param_names',
        source: `export function ok_param_names(input: { process: string; require: boolean }): string {
  return input.require ? input.process : 'none';
}`,
        input: { process: 'build', require: true },
        expected: 'build',
      },
      {
        title: "comparing a value with the string 'constructor'",
        name: 'ok_compare_ctor',
        source: `export function ok_compare_ctor(input: { word: string }): boolean {
  return input.word === 'constructor' || input.word === 'prototype';
}`,
        input: { word: 'constructor' },
        expected: true,
      },
      {
        title: 'an object literal with a constructor key, read with Object.entries',
        name: 'ok_ctor_key',
        source: `export function ok_ctor_key(input: { n: number }): string[] {
  const table = { constructor: input.n, other: 1 };
  return Object.entries(table).map(([k, v]) => k + '=' + v);
}`,
        input: { n: 7 },
        expected: ['constructor=7', 'other=1'],
      },
      {
        title: 'instanceof and typeof type tests, and Function in a type position',
        name: 'ok_type_tests',
        source: `type Callback = Function | null;
export function ok_type_tests(input: { n: number }): string {
  const cb: Callback = null;
  const d = new Date(input.n);
  return [d instanceof Date, typeof input.n, cb === null].join(',');
}`,
        input: { n: 0 },
        expected: 'true,number,true',
      },
      {
        title: 'an async tool awaiting its own promises',
        name: 'ok_async',
        source: `export async function ok_async(input: { n: number }): Promise<number> {
  const a = await Promise.resolve(input.n);
  const b = await new Promise<number>((resolve) => resolve(a + 1));
  return b;
}`,
        input: { n: 1 },
        expected: 2,
      },
    ];
    for (const control of controls) {
      it(`accepts ${control.title}`, async () => {
        const created = await createTool(app, control.name, control.source, [
          { input: control.input, expected: control.expected },
        ]);
        assert.equal(created.isError, undefined, `a benign tool was refused: ${excerpt(created)}`);
        assert.deepEqual(valueOf(await app.call(control.name, control.input)), control.expected);
        await assertHealthy(app);
      });
    }
  });
});
