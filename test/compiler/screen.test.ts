import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSource } from '../../src/compiler/parse.js';
import { screenAst } from '../../src/compiler/screen.js';

function screen(body: string): ReturnType<typeof screenAst> {
  const source = `export function t(input: { s: string }): unknown {\n${body}\n}`;
  const parsed = parseSource('t', source);
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.diagnostics));
  return screenAst(parsed.value.sourceFile);
}

function screenFile(source: string): ReturnType<typeof screenAst> {
  const parsed = parseSource('t', source);
  assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.diagnostics));
  return screenAst(parsed.value.sourceFile);
}

const REFUSED: { name: string; body: string; mentions: RegExp }[] = [
  { name: 'eval call', body: 'return eval(input.s);', mentions: /eval is not allowed/ },
  { name: 'indirect eval', body: 'return (0, eval)(input.s);', mentions: /eval/ },
  { name: 'eval by unicode escape', body: 'return \\u0065val(input.s);', mentions: /eval/ },
  { name: 'Function call', body: 'return Function("return 1")();', mentions: /Function/ },
  { name: 'new Function', body: 'return new Function("return 1")();', mentions: /Function/ },
  { name: 'tagged template on Function', body: 'return Function`return 1`;', mentions: /Function/ },
  {
    name: '.constructor',
    body: 'return ((() => 1) as any).constructor("return 1")();',
    mentions: /constructor/,
  },
  {
    name: '["constructor"]',
    body: 'return ((() => 1) as any)["constructor"]("return 1")();',
    mentions: /constructor/,
  },
  {
    name: 'concatenated constructor key',
    body: 'return (input as any)["constr" + "uctor"];',
    mentions: /constructor/,
  },
  {
    name: 'template constructor key',
    body: 'return (input as any)[`constructor`];',
    mentions: /constructor/,
  },
  {
    name: 'destructured constructor',
    body: 'const { constructor: c } = input as any; return c;',
    mentions: /constructor/,
  },
  {
    name: 'Reflect.get constructor',
    body: 'return Reflect.get(input, "constructor");',
    mentions: /constructor/,
  },
  { name: 'process', body: 'return typeof process;', mentions: /process is not available/ },
  { name: 'require', body: 'return require("fs");', mentions: /require/ },
  { name: 'fetch', body: 'return fetch("http://x");', mentions: /network/ },
  { name: 'setTimeout', body: 'setTimeout(() => 1, 1); return 1;', mentions: /timers/ },
  {
    name: 'shorthand property reads a host global',
    body: 'return { process };',
    mentions: /process/,
  },
  { name: 'dynamic import', body: 'return import("fs");', mentions: /dynamic import/ },
  { name: 'import.meta', body: 'return import.meta;', mentions: /import\.meta/ },
  { name: 'Atomics', body: 'return Atomics;', mentions: /Atomics/ },
];

const ALLOWED: { name: string; body: string }[] = [
  { name: 'a property named eval', body: 'const o = { eval: 1 }; return o.eval;' },
  { name: 'a method named eval', body: 'class K { eval() { return 1; } } return new K().eval();' },
  {
    name: 'a local variable named process',
    body: 'const process = (x: string) => x.length; return process(input.s);',
  },
  { name: 'the word process in a string', body: 'return "process the require(fs) eval Function";' },
  {
    name: 'a property named constructorName',
    body: 'const o = { constructorName: "x" }; return o.constructorName;',
  },
  {
    name: 'a class with a constructor',
    body: 'class P { v: number; constructor(v: number) { this.v = v; } } return new P(2).v;',
  },
  { name: 'a property called fetch', body: 'const api = { fetch: () => 1 }; return api.fetch();' },
  {
    name: 'computed access with a variable key',
    body: 'const k = input.s; const r: Record<string, number> = {}; return r[k] ?? null;',
  },
  { name: 'a label named process', body: 'process: for (;;) { break process; } return 1;' },
  { name: 'globalThis is the guest global', body: 'return typeof globalThis;' },
];

describe('screen refuses what untrusted code has no business doing', () => {
  for (const c of REFUSED) {
    it(`refuses ${c.name}`, () => {
      const findings = screen(c.body);
      assert.ok(findings.length > 0, 'refused');
      assert.ok(findings.every((f) => f.stage === 'screen'));
      assert.ok(
        findings.some((f) => c.mentions.test(f.message)),
        JSON.stringify(findings),
      );
      assert.ok(findings.every((f) => typeof f.line === 'number' && typeof f.column === 'number'));
    });
  }
  it('refuses imports, reports their position', () => {
    const findings = screenFile(
      'import fs from "fs";\nexport function t(input: { s: string }): string { return input.s; }',
    );
    assert.equal(findings[0]?.line, 1);
    assert.equal(findings[0]?.column, 1);
    assert.match(findings[0]?.message ?? '', /imports are not allowed/);
  });
  it('refuses ambient declarations that would silence the type check', () => {
    const findings = screenFile(
      'declare const process: any;\nexport function t(input: { s: string }): string { return process.env.HOME; }',
    );
    assert.ok(findings.some((f) => /declare/.test(f.message) && f.line === 1));
  });
  it('refuses triple-slash lib references', () => {
    const findings = screenFile(
      '/// <reference lib="dom" />\nexport function t(input: { s: string }): string { return input.s; }',
    );
    assert.ok(findings.some((f) => /triple-slash/.test(f.message)));
  });
  it('reports every finding, each with its own position', () => {
    const findings = screen('eval("1");\nreturn process;');
    assert.equal(findings.length, 2);
    assert.deepEqual(
      findings.map((f) => f.line),
      [2, 3],
    );
  });
});

describe('screen accepts ordinary code', () => {
  for (const c of ALLOWED) {
    it(`accepts ${c.name}`, () => {
      assert.deepEqual(screen(c.body), []);
    });
  }
});
