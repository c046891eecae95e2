import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jsonDepth, jsonEqual, validateValue } from '../../src/registry/json-values.js';

describe('jsonEqual', () => {
  it('ignores key order and tolerates last-digit libm differences', () => {
    assert.ok(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }));
    assert.ok(jsonEqual(1628.894626777442, 1628.8946267774422));
    assert.ok(!jsonEqual(1, 1.0001));
    assert.ok(!jsonEqual([1, 2], [2, 1]));
    assert.ok(!jsonEqual({ a: 1 }, { a: 1, b: 2 }));
    assert.ok(!jsonEqual(null, 0));
    assert.ok(!jsonEqual('1', 1));
  });
});

describe('validateValue', () => {
  const schema = {
    type: 'object',
    properties: {
      unit: { type: 'string', enum: ['m', 'km'] },
      xs: { type: 'array', items: { type: 'number' }, maxItems: 2 },
      n: { type: ['number', 'null'] },
    },
    required: ['unit'],
    additionalProperties: false,
  };
  it('accepts matching values and reports each mismatch with its path', () => {
    assert.deepEqual(validateValue(schema, { unit: 'm', xs: [1], n: null }), []);
    const issues = validateValue(schema, { xs: [1, 'a', 3], n: 'x', extra: 1 });
    const text = issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    assert.ok(text.some((t) => /missing the required property "unit"/.test(t)));
    assert.ok(text.some((t) => /^xs: must have at most 2 items/.test(t)));
    assert.ok(text.some((t) => /^xs\.1: must be number/.test(t)));
    assert.ok(text.some((t) => /^n: must be number or null/.test(t)));
    assert.ok(text.some((t) => /unknown property "extra"/.test(t)));
  });
  it('treats __proto__ as an ordinary unknown key', () => {
    const hostile = JSON.parse('{"unit":"m","__proto__":{"polluted":true}}') as unknown;
    assert.equal(validateValue(schema, hostile).length, 1);
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  });
});

describe('jsonDepth', () => {
  it('measures nesting without recursion, so hostile depth cannot overflow the host stack', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(jsonDepth(deep, 64), 65);
    assert.equal(jsonDepth({ a: [1] }, 64), 2);
  });
});
