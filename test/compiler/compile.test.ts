import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ToolCompiler } from '../../src/compiler/compile.js';

const compiler = new ToolCompiler();

function schemaOf(type: string, returns = 'number', body = 'return 1;') {
  const result = compiler.compile('t', `export function t(input: ${type}): ${returns} { ${body} }`);
  assert.ok(result.ok, JSON.stringify(!result.ok && result.diagnostics));
  return result.value;
}

describe('typecheck stage', () => {
  it('reports type errors with TS codes and positions', () => {
    const result = compiler.compile(
      't',
      'export function t(input: { a: number }): number {\n  return input.a.toUpperCase();\n}',
    );
    assert.ok(!result.ok);
    assert.equal(result.diagnostics[0]?.stage, 'typecheck');
    assert.match(result.diagnostics[0]?.message ?? '', /^TS2339/);
    assert.equal(result.diagnostics[0]?.line, 2);
  });
  it('checks against ES libs only: no DOM, no Node', () => {
    const result = compiler.compile(
      't',
      'export function t(input: { a: number }): string { return String(new TextEncoder()); }',
    );
    assert.ok(!result.ok);
    assert.match(result.diagnostics[0]?.message ?? '', /TextEncoder/);
  });
  it('is strict (implicit any refused) and knows the sandbox console', () => {
    assert.equal(
      compiler.compile(
        't',
        'export function t(input: { a: number }): number { const f = (x) => x; return f(input.a); }',
      ).ok,
      false,
    );
    assert.equal(
      compiler.compile(
        't',
        'export function t(input: { a: number }): number { console.log("a", input); return input.a; }',
      ).ok,
      true,
    );
  });
  it('refuses top-level await', () => {
    const result = compiler.compile(
      't',
      'await 1;\nexport function t(input: { a: number }): number { return input.a; }',
    );
    assert.ok(!result.ok);
    assert.equal(result.diagnostics[0]?.stage, 'typecheck');
  });
});

describe('schema stage', () => {
  it('derives primitives, literal unions, optional properties and JSDoc descriptions', () => {
    const { inputSchema } = schemaOf(
      '{\n  /** The name */\n  name: string; unit: "m" | "km"; n?: number; flag: boolean; level: 1 | 2 | null }',
    );
    assert.deepEqual(inputSchema, {
      type: 'object',
      properties: {
        name: { type: 'string', description: 'The name' },
        unit: { type: 'string', enum: ['m', 'km'] },
        n: { type: 'number' },
        flag: { type: 'boolean' },
        level: { type: ['null', 'number'], enum: [null, 1, 2] },
      },
      required: ['name', 'unit', 'flag', 'level'],
      additionalProperties: false,
    });
  });
  it('derives arrays, tuples, nested objects, records and mixed unions', () => {
    const { inputSchema } = schemaOf(
      '{ xs: readonly number[]; pair: [number, string]; at: { x: number }; m: Record<string, number>; v: string | number; o: { a: number } | null }',
    );
    const p = inputSchema.properties as Record<string, unknown>;
    assert.deepEqual(p['xs'], { type: 'array', items: { type: 'number' } });
    assert.deepEqual(p['pair'], {
      type: 'array',
      items: { anyOf: [{ type: 'number' }, { type: 'string' }] },
      minItems: 2,
      maxItems: 2,
    });
    assert.deepEqual(p['at'], {
      type: 'object',
      properties: { x: { type: 'number' } },
      required: ['x'],
      additionalProperties: false,
    });
    assert.deepEqual(p['m'], {
      type: 'object',
      properties: {},
      additionalProperties: { type: 'number' },
    });
    assert.deepEqual(p['v'], { type: ['string', 'number'] });
    assert.deepEqual(p['o'], {
      anyOf: [
        { type: 'null' },
        {
          type: 'object',
          properties: { a: { type: 'number' } },
          required: ['a'],
          additionalProperties: false,
        },
      ],
    });
  });
  it('derives an open outputSchema for object returns, none for scalars', () => {
    assert.equal(schemaOf('{ a: number }').outputSchema, undefined);
    const compiled = compiler.compile(
      't',
      'export async function t(input: { a: number }): Promise<{ total: number; note?: string }> { return { total: input.a }; }',
    );
    assert.ok(compiled.ok);
    const withOutput = compiled.value;
    assert.deepEqual(withOutput.outputSchema, {
      type: 'object',
      properties: { total: { type: 'number' }, note: { type: 'string' } },
      required: ['total'],
    });
    assert.equal(withOutput.isAsync, true);
  });
  it('refuses types without a JSON form, naming where', () => {
    for (const [type, text] of [
      ['{ f: () => void }', /parameter\.f: .*function/],
      ['{ d: Date }', /Date|method/],
      ['{ b: bigint }', /bigint/],
      ['{ s: symbol }', /symbol/],
      ['string', /object type/],
      ['{ a: number }[]', /object type/],
    ] as const) {
      const result = compiler.compile(
        't',
        `export function t(input: ${type}): number { return 1; }`,
      );
      assert.ok(!result.ok, type);
      assert.equal(result.diagnostics[0]?.stage, 'schema', type);
      assert.match(result.diagnostics[0]?.message ?? '', text);
      assert.equal(typeof result.diagnostics[0]?.line, 'number');
    }
    const voidReturn = compiler.compile('t', 'export function t(input: { a: number }): void { }');
    assert.ok(!voidReturn.ok);
    assert.match(voidReturn.diagnostics[0]?.message ?? '', /return type/);
  });
});
