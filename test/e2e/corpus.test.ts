/**
 * Every corpus entry registers through create_tool, advertises the expected schema, and every call
 * returns its expected value, through a real SDK Client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { jsonEqual } from '../../src/registry/json-values.js';
import { connectInMemory, textOf, type Connected } from '../helpers/connect.js';
import { loadCorpus } from '../helpers/corpus.js';

const corpus = loadCorpus();

describe('corpus: realistic tools agents write', () => {
  let app: Connected;
  before(async () => {
    app = await connectInMemory();
  });
  after(async () => {
    await app[Symbol.asyncDispose]();
  });

  for (const entry of corpus) {
    it(`${entry.name}: registers, advertises its schema and answers its calls (${entry.types})`, async () => {
      const created = await app.call('create_tool', {
        name: entry.name,
        description: entry.description,
        source: entry.source,
        tests: entry.tests,
      });
      assert.equal(created.isError, undefined, textOf(created));

      const { tools } = await app.client.listTools();
      const tool = tools.find((t) => t.name === entry.name);
      assert.ok(tool, 'the tool is listed');
      const props = tool.inputSchema.properties as Record<string, Record<string, unknown>>;
      assert.deepEqual(
        Object.keys(props).sort(),
        Object.keys(entry.expectSchema.properties).sort(),
      );
      assert.deepEqual(
        [...(tool.inputSchema.required ?? [])].sort(),
        [...entry.expectSchema.required].sort(),
      );
      for (const [name, expected] of Object.entries(entry.expectSchema.properties)) {
        const actual = props[name] ?? {};
        if (expected.type !== undefined)
          assert.deepEqual(typeSet(actual), new Set([expected.type].flat()), `${name} type`);
        if (expected.enum)
          assert.deepEqual(
            new Set(actual['enum'] as unknown[]),
            new Set(expected.enum),
            `${name} enum`,
          );
        if (expected.description)
          assert.ok(
            String(actual['description']).includes(expected.description),
            `${name} description`,
          );
      }

      for (const call of entry.calls) {
        const result = await app.call(entry.name, call.arguments);
        assert.equal(result.isError, undefined, textOf(result));
        const value: unknown = JSON.parse(textOf(result));
        assert.ok(
          jsonEqual(call.expected, value),
          `${JSON.stringify(call.arguments)} -> ${JSON.stringify(value)}, expected ${JSON.stringify(call.expected)}`,
        );
        const isObject =
          typeof call.expected === 'object' &&
          call.expected !== null &&
          !Array.isArray(call.expected);
        if (isObject) {
          assert.ok(tool.outputSchema, 'object results declare an outputSchema');
          assert.ok(
            jsonEqual(call.expected, result.structuredContent),
            'structuredContent carries the object',
          );
        }
      }
    });
  }
});

/** The set of JSON types a property schema admits, whichever spelling it uses. */
function typeSet(schema: Record<string, unknown>): Set<string> {
  const out = new Set<string>();
  const visit = (s: Record<string, unknown>): void => {
    if (Array.isArray(s['type'])) (s['type'] as string[]).forEach((t) => out.add(t));
    else if (typeof s['type'] === 'string') out.add(s['type']);
    for (const branch of [
      ...((s['anyOf'] as Record<string, unknown>[]) ?? []),
      ...((s['oneOf'] as Record<string, unknown>[]) ?? []),
    ])
      visit(branch);
  };
  visit(schema);
  return out;
}
