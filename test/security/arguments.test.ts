/**
 * Hostile arguments, to dynamic tools and to the meta-tools: wrong types, unknown and prototype-polluting
 * keys, nesting past the cap, oversized payloads, strings built to break out of a JSON or JavaScript
 * context, and malformed create_tool submissions. Each must be refused at the right stage (or passed
 * through as inert data), and the server must answer the next request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertCallRefused,
  assertHealthy,
  assertRefused,
  createOk,
  createTool,
  nestedObject,
  openApp,
  protocolError,
  valueOf,
  type Connected,
} from './support.js';

describe('security: hostile arguments', () => {
  let app: Connected;
  before(async () => {
    app = await openApp();
    await createOk(
      app,
      'arg_typed',
      `export function arg_typed(input: { n: number; label?: string }): string {
  return String(input.n) + ':' + String(input.label) + ':' + Object.keys(input).sort().join(',') + ':' + String((input as Record<string, unknown>)['polluted']);
}`,
      [{ input: { n: 1 }, expected: '1:undefined:n:undefined' }],
    );
    await createOk(
      app,
      'arg_record',
      `export function arg_record(input: { data: Record<string, unknown> }): string[] {
  return Object.keys(input.data).concat(String(({} as Record<string, unknown>)['polluted']));
}`,
      [{ input: { data: { a: 1 } }, expected: ['a', 'undefined'] }],
    );
    await createOk(
      app,
      'arg_echo',
      `export function arg_echo(input: { value: unknown }): unknown { return input.value; }`,
      [{ input: { value: 1 }, expected: 1 }],
    );
  });
  after(async () => {
    await app[Symbol.asyncDispose]();
  });

  describe('to dynamic tools', () => {
    it('refuses an argument of the wrong type', async () => {
      assertCallRefused(
        await app.call('arg_typed', { n: 'two' }),
        'arguments',
        /n must be number, got string/,
      );
      await assertHealthy(app);
    });

    it('refuses a missing required argument', async () => {
      assertCallRefused(
        await app.call('arg_typed', { label: 'x' }),
        'arguments',
        /missing the required property "n"/,
      );
      await assertHealthy(app);
    });

    it('refuses an unknown extra argument', async () => {
      assertCallRefused(
        await app.call('arg_typed', { n: 1, isAdmin: true }),
        'arguments',
        /unknown property "isAdmin"/,
      );
      await assertHealthy(app);
    });

    it('refuses a nested object where a string is expected (type confusion)', async () => {
      assertCallRefused(
        await app.call('arg_typed', { n: 1, label: { toString: 'x' } }),
        'arguments',
        /label must be string/,
      );
      await assertHealthy(app);
    });

    it('does not let a __proto__ argument key pollute the host or reach the tool as a prototype', async () => {
      const args = JSON.parse(
        '{"n": 1, "__proto__": {"polluted": "yes", "label": "injected"}}',
      ) as Record<string, unknown>;
      const result = await app.call('arg_typed', args);
      if (result.isError) {
        assertCallRefused(result, 'arguments', /__proto__/);
      } else {
        assert.equal(
          valueOf(result),
          '1:undefined:n:undefined',
          'the tool sees neither the key nor an inherited value',
        );
      }
      assert.equal(
        ({} as Record<string, unknown>)['polluted'],
        undefined,
        'host Object.prototype is clean',
      );
      await assertHealthy(app);
    });

    it('passes __proto__, constructor and prototype keys inside a record through as inert own data', async () => {
      const data = JSON.parse(
        '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "prototype": 1}',
      ) as Record<string, unknown>;
      const keys = valueOf(await app.call('arg_record', { data })) as string[];
      assert.equal(keys.at(-1), 'undefined', "the guest's Object.prototype is not polluted");
      assert.ok(keys.includes('constructor') && keys.includes('prototype'));
      assert.equal(
        ({} as Record<string, unknown>)['polluted'],
        undefined,
        'host Object.prototype is clean',
      );
      await assertHealthy(app);
    });

    it('refuses arguments nested deeper than the 64-level cap', async () => {
      assertCallRefused(
        await app.call('arg_echo', { value: nestedObject(70) }),
        'limits',
        /deeper than the 64-level cap/,
      );
      await assertHealthy(app);
    });

    it('refuses arguments over the 1 MiB cap', async () => {
      assertCallRefused(
        await app.call('arg_echo', { value: 'x'.repeat(1_100_000) }),
        'limits',
        /over the 1048576-byte cap/,
      );
      await assertHealthy(app);
    });

    it('accepts a large argument just under the cap', async () => {
      const value = 'y'.repeat(900_000);
      assert.equal(valueOf(await app.call('arg_echo', { value })), value);
      await assertHealthy(app);
    });

    it('round-trips strings built to break out of JSON or JavaScript verbatim', async () => {
      const nasty = [
        '"); globalThis.pwned = 1; ("',
        "'; } }); process.exit(1); //",
        '\u2028\u2029 line separators',
        '\u0000 NUL and \u001b[31m ANSI',
        '</script><script>alert(1)</script>',
        '${process.env.HOME} `backticks`',
        '\\u0065val \\x41',
        '\ud800 lone surrogate',
      ];
      const echoed = valueOf(await app.call('arg_echo', { value: nasty }));
      assert.deepEqual(echoed, nasty);
      await assertHealthy(app);
    });

    it('round-trips numbers at the edges of IEEE 754', async () => {
      const numbers = [
        1.7976931348623157e308,
        5e-324,
        Number.MAX_SAFE_INTEGER + 2,
        -1e-7,
        0.1 + 0.2,
      ];
      assert.deepEqual(valueOf(await app.call('arg_echo', { value: numbers })), numbers);
      await assertHealthy(app);
    });

    it('bounds the work of an argument with 50 000 keys', async () => {
      const data = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}`, i]));
      const keys = valueOf(await app.call('arg_record', { data })) as string[];
      assert.equal(keys.length, 50_001);
      await assertHealthy(app);
    });
  });

  describe('to run_tool and unknown tools', () => {
    it('refuses run_tool arguments that are an array instead of an object', async () => {
      assertRefused(
        await app.call('run_tool', { name: 'arg_echo', arguments: [1, 2, 3] }),
        'arguments',
        /expected record/,
      );
      await assertHealthy(app);
    });

    it('refuses run_tool aimed at a meta-tool (no recursion into create_tool or run_tool)', async () => {
      for (const name of ['create_tool', 'run_tool', 'delete_tool']) {
        assertCallRefused(
          await app.call('run_tool', { name, arguments: { name: 'x' } }),
          'arguments',
          /there is no tool named/,
        );
      }
      await assertHealthy(app);
    });

    it('refuses run_tool with a path-like tool name', async () => {
      assertRefused(
        await app.call('run_tool', { name: '../../etc/passwd' }),
        'arguments',
        /lowercase letters/,
      );
      await assertHealthy(app);
    });

    it('answers an unknown tool name with a protocol error (InvalidParams), not a crash', async () => {
      const error = await protocolError(app, 'constructor__proto__', {});
      assert.equal(error.code, -32602);
      assert.match(error.message, /Unknown tool/);
      await assertHealthy(app);
    });

    it('refuses search_tools with an oversized query or absurd limit', async () => {
      assertRefused(await app.call('search_tools', { query: 'q'.repeat(1001) }), 'arguments');
      assertRefused(await app.call('search_tools', { query: 'x', limit: 1e9 }), 'arguments');
      await assertHealthy(app);
    });
  });

  describe('to create_tool', () => {
    const SOURCE = 'export function ct_probe(input: { n: number }): number { return input.n; }';

    it('refuses wrongly typed create_tool arguments', async () => {
      assertRefused(
        await app.call('create_tool', {
          name: 'ct_probe',
          description: 'd',
          source: 42,
          tests: 'all',
        }),
        'arguments',
      );
      assertRefused(
        await app.call('create_tool', {
          name: 'ct_probe',
          description: 'd',
          source: SOURCE,
          tests: [],
        }),
        'arguments',
        /tests/,
      );
      await assertHealthy(app);
    });

    it('refuses a test with both expected and error', async () => {
      const result = await createTool(app, 'ct_probe', SOURCE, [
        { input: { n: 1 }, expected: 1, error: 'x' },
      ]);
      assertRefused(result, 'arguments', /exactly one of "expected"/);
      await assertHealthy(app);
    });

    it('refuses a source over the 100 000-byte cap', async () => {
      const source = `${SOURCE}\n// ${'x'.repeat(100_000)}`;
      assertRefused(
        await createTool(app, 'ct_probe', source, [{ input: { n: 1 }, expected: 1 }]),
        'limits',
        /source is \d+ bytes/,
      );
      await assertHealthy(app);
    });

    it('refuses more than 50 tests', async () => {
      const tests = Array.from({ length: 51 }, (_, n) => ({ input: { n }, expected: n }));
      assertRefused(await createTool(app, 'ct_probe', SOURCE, tests), 'limits', /51 tests/);
      await assertHealthy(app);
    });

    it('refuses tests over the 512 KiB cap', async () => {
      const tests = [{ input: { n: 1 }, expected: 'z'.repeat(600_000) }];
      assertRefused(
        await createTool(app, 'ct_probe', SOURCE, tests),
        'limits',
        /tests are \d+ bytes/,
      );
      await assertHealthy(app);
    });

    it('refuses a test input nested past the depth cap', async () => {
      const tests = [{ input: { n: 1, deep: nestedObject(80) }, expected: 1 }];
      assertRefused(await createTool(app, 'ct_probe', SOURCE, tests), 'limits', /nests deeper/);
      await assertHealthy(app);
    });

    it('refuses a test input that does not match the derived input schema before running anything', async () => {
      const tests = [{ input: { n: 'one', extra: true }, expected: 1 }];
      assertRefused(await createTool(app, 'ct_probe', SOURCE, tests), 'tests', /test 1: input/);
      await assertHealthy(app);
    });
  });
});
