import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSource } from '../../src/compiler/parse.js';

describe('parseSource', () => {
  it('finds an exported, async or const-bound function named like the tool', () => {
    for (const source of [
      'export function add(input: { a: number }): number { return input.a; }',
      'function add(input: { a: number }): number { return input.a; }',
      'export async function add(input: { a: number }): Promise<number> { return input.a; }',
      'export const add = (input: { a: number }): number => input.a;',
    ]) {
      assert.equal(parseSource('add', source).ok, true, source);
    }
  });
  it('reports syntax errors with line and column', () => {
    const result = parseSource(
      'add',
      'export function add(input: { a: number }): number {\n  return input.a +;\n}',
    );
    assert.equal(result.ok, false);
    assert.ok(!result.ok);
    assert.equal(result.diagnostics[0]?.stage, 'parse');
    assert.equal(result.diagnostics[0]?.code, 'syntax_error');
    assert.equal(result.diagnostics[0]?.line, 2);
  });
  it('refuses a source without the named function', () => {
    const result = parseSource(
      'add',
      'export function sum(input: { a: number }): number { return input.a; }',
    );
    assert.ok(!result.ok);
    assert.equal(result.diagnostics[0]?.code, 'missing_function');
    assert.match(result.diagnostics[0]?.message ?? '', /named "add"/);
  });
  it('refuses zero, two or rest parameters, and an untyped one', () => {
    for (const [source, text] of [
      ['export function add(): number { return 1; }', /exactly one parameter/],
      [
        'export function add(a: { x: number }, b: number): number { return 1; }',
        /exactly one parameter/,
      ],
      ['export function add(...a: number[]): number { return 1; }', /rest parameter/],
      ['export function add(a) { return 1; }', /type annotation/],
    ] as const) {
      const result = parseSource('add', source);
      assert.ok(!result.ok, source);
      assert.equal(result.diagnostics[0]?.code, 'bad_signature');
      assert.match(result.diagnostics[0]?.message ?? '', text);
    }
  });
});
