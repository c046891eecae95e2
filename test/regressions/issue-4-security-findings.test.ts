/**
 * Regression tests for the findings of the issue-4 adversarial review. Each block's title says what the
 * attack did before the fix; the tests assert the fixed behaviour (FINDING 8 since issue #5).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  allText,
  assertCallRefused,
  assertHealthy,
  assertRefused,
  assertRunFailure,
  attack,
  createGuarded,
  createTool,
  excerpt,
  nestedObject,
  openApp,
  valueOf,
  type Connected,
} from '../security/support.js';

describe('security: known failures', () => {
  let app: Connected;
  before(async () => {
    app = await openApp();
  });
  after(async () => {
    await app[Symbol.asyncDispose]();
  });

  describe('FINDING 1 (screen bypass): a local named `Function` anywhere in the file lets the global Function be called elsewhere (screen.ts collects declared names file-wide, ignoring scope)', () => {
    it('refuses Function(...) when the only local named Function is in another scope', async () => {
      const source = `function decoy(): number { const Function = 1; return Function; }
export function kf_decoy_function(input: { s: string }): string {
  return String(Function('return 1 + 1')()) + decoy() + input.s;
}`;
      assertRefused(
        await createTool(app, 'kf_decoy_function', source, [{ input: { s: '' }, expected: '21' }]),
        'screen',
        /Function is not allowed/,
      );
      await assertHealthy(app);
    });
  });

  describe('FINDING 2 (screen bypass, direct eval): a type parameter named `eval` (or a type-only `namespace eval`) makes eval(...) pass the screen; it is a DIRECT eval inside the driver function and reads its internals (__ts_logs, __ts_logBytes)', () => {
    it('refuses eval(...) when eval is only "declared" as a type parameter', async () => {
      const source = `function identity<eval>(x: string): string { return x; }
export function kf_eval_typeparam(input: { s: string }): string { return identity(String(eval('typeof __ts_logs'))) + input.s; }`;
      assertRefused(
        await createTool(app, 'kf_eval_typeparam', source, [
          { input: { s: '' }, expected: 'object' },
        ]),
        'screen',
        /eval is not allowed/,
      );
      await assertHealthy(app);
    });

    it('refuses eval(...) when eval is only "declared" as a type-only namespace', async () => {
      const source = `namespace eval { export type T = number; }
export function kf_eval_namespace(input: { s: string }): string { return String(eval('typeof __ts_logBytes')) + input.s; }`;
      assertRefused(
        await createTool(app, 'kf_eval_namespace', source, [
          { input: { s: '' }, expected: 'number' },
        ]),
        'screen',
        /eval is not allowed/,
      );
      await assertHealthy(app);
    });
  });

  describe('FINDING 3 (output bomb via FINDING 2): direct eval resets __ts_logBytes or pushes into __ts_logs, so 3-4 MB of console output come back although the cap is 16 KiB (the host does not re-check the size of logs)', () => {
    for (const [name, attackBody] of [
      [
        'kf_console_reset',
        "eval('__ts_logBytes = -1e15'); for (let i = 0; i < 40; i++) console.log('y'.repeat(100000)); return 'done';",
      ],
      ['kf_console_push', "eval('__ts_logs').push('z'.repeat(3000000)); return 'done';"],
    ] as const) {
      it(`${name}: console output stays under the 16 KiB cap (or the source is refused)`, async () => {
        const source = `function identity<eval>(x: number): number { return x; }
export function ${name}(input: { mode: string }): string {
  if (input.mode !== 'attack') return 'ok' + identity(0);
  ${attackBody}
}`;
        const created = await createTool(app, name, source, [
          { input: { mode: 'test' }, expected: 'ok0' },
        ]);
        if (created.isError) {
          assertRefused(created, 'screen');
        } else {
          const result = await attack(app, name);
          assert.ok(
            allText(result).length < 16384 + 1024,
            `console output of ${allText(result).length} chars`,
          );
        }
        await assertHealthy(app);
      });
    }
  });

  describe('FINDING 4 (envelope forgery): Object.prototype.toJSON in the guest replaces the result envelope; a non-JSON "json" makes the host JSON.parse throw in registry.call (MCP InternalError -32603 instead of a not_json tool error), and a 4 MB "json" bypasses the 1 MiB result cap', () => {
    const forge = (json: string): string => `const forged = ${json};
  (Object.prototype as any).toJSON = function (this: any, key: string) {
    return key === '' && this !== null && typeof this === 'object' && 'ok' in this ? { ok: true, json: forged } : this;
  };
  return 'x';`;

    it('a forged non-JSON envelope has no effect: the call returns the real result', async () => {
      await createGuarded(app, 'kf_forge_invalid', 'string', "'ok'", 'ok', forge("'NOT JSON {'"));
      const result = await attack(app, 'kf_forge_invalid');
      assert.equal(result.isError, undefined, allText(result));
      assert.equal(valueOf(result), 'x');
      await assertHealthy(app);
    });

    it('a forged envelope in a test has no effect: the tests judge the real result', async () => {
      const source = `(Object.prototype as any).toJSON = function (this: any, key: string) {
  return key === '' && this !== null && typeof this === 'object' && 'ok' in this ? { ok: true, json: 'NOT JSON {' } : this;
};
export function kf_forge_in_test(input: { n: number }): number { return input.n; }`;
      const forgedPass = await createTool(app, 'kf_forge_in_test', source, [
        { input: { n: 1 }, expected: 2 },
      ]);
      assertRefused(forgedPass, 'tests', /expected 2, got 1/);
      await assertHealthy(app);
    });

    it('a forged 4 MB envelope does not get past the 1 MiB result cap', async () => {
      await createGuarded(
        app,
        'kf_forge_big',
        'string',
        "'ok'",
        'ok',
        forge("JSON.stringify('b'.repeat(4_000_000))"),
      );
      const result = await attack(app, 'kf_forge_big');
      assert.ok(
        allText(result).length <= 1_048_576 + 1024,
        `answer of ${allText(result).length} chars`,
      );
      assert.equal(valueOf(result), 'x');
      await assertHealthy(app);
    });
  });

  describe('FINDING 5 (output bomb): error texts are not capped: a 12 MB Error message (over the 10 MiB stdio budget), a 2 MB error name, or a 3 MB key in a not_json path is returned whole', () => {
    const CASES = [
      ['kf_big_message', "throw new Error('x'.repeat(12_000_000));"],
      ['kf_big_name', "const e = new Error('m'); e.name = 'N'.repeat(2_000_000); throw e;"],
      ['kf_big_thrown_string', "throw 's'.repeat(3_000_000);"],
      [
        'kf_big_path',
        "const o: Record<string, number> = {}; o['k'.repeat(3_000_000)] = NaN; return o as any;",
      ],
    ] as const;
    for (const [name, body] of CASES) {
      it(`${name}: the failure text stays under the 1 MiB result cap`, async () => {
        await createGuarded(app, name, 'string', "'ok'", 'ok', body);
        const result = await attack(app, name);
        assert.equal(result.isError, true);
        assert.ok(
          allText(result).length <= 1_048_576,
          `failure text of ${allText(result).length} chars`,
        );
        await assertHealthy(app);
      });
    }

    it('a test that throws a huge message yields a bounded create_tool refusal', async () => {
      const source =
        "export function kf_big_test(input: { n: number }): number { throw new Error('t'.repeat(3_000_000)); }";
      const result = await createTool(app, 'kf_big_test', source, [
        { input: { n: 1 }, expected: 1 },
      ]);
      assertRefused(result, 'tests');
      assert.ok(
        JSON.stringify(result).length <= 1_048_576,
        `refusal of ${JSON.stringify(result).length} chars`,
      );
      await assertHealthy(app);
    });
  });

  describe('FINDING 6 (wrong error): arguments nested ~100 000 deep make the host JSON.stringify overflow (the size check runs before the depth check), answered with MCP InternalError -32603 instead of a limits/too_deep refusal; same for create_tool tests', () => {
    it('refuses 100 000-deep call arguments at the limits stage', async () => {
      const result = await app.call('run_tool', {
        name: 'sec_ping',
        arguments: { n: 1, deep: nestedObject(100_000) },
      });
      assertCallRefused(result, 'limits', /deeper than/);
      await assertHealthy(app);
    });

    it('refuses a 100 000-deep dynamic tool argument at the limits stage', async () => {
      const result = await app.call('sec_ping', { n: 1, deep: nestedObject(100_000) });
      assertCallRefused(result, 'limits', /deeper than/);
      await assertHealthy(app);
    });

    it('refuses 100 000-deep create_tool tests at the limits stage', async () => {
      const source = 'export function kf_deep_tests(input: { v: unknown }): number { return 1; }';
      const result = await createTool(app, 'kf_deep_tests', source, [
        { input: { v: nestedObject(100_000) }, expected: 1 },
      ]);
      assertRefused(result, 'limits', /nests deeper/);
      await assertHealthy(app);
    });
  });

  describe('FINDING 7 (wrong error): running out of memory while growing a Map or Set is reported as `threw: object: null` instead of kind memory', () => {
    for (const [name, body] of [
      [
        'kf_oom_map',
        'const m = new Map<number, number[]>(); for (let i = 0; ; i++) m.set(i, [i]);',
      ],
      ['kf_oom_set', 'const s = new Set<number[]>(); for (let i = 0; ; i++) s.add([i]);'],
    ] as const) {
      it(`${name} fails with kind memory`, async () => {
        await createGuarded(app, name, 'number', '1', 1, body);
        assertRunFailure(await attack(app, name), 'memory', /memory limit/);
        await assertHealthy(app);
      });
    }
  });

  // Fixed in issue #5: the cause was that this QuickJS build counts allocations, not bytes, against its limit;
  // each worker's WASM memory now has a hard maximum (src/sandbox/module.ts).
  describe('FINDING 8 (limit not enforced): retaining 1 MiB strings or typed arrays was not stopped by the 32 MiB memory limit nor by the interrupt; only the pool backstop killed the worker after timeoutMs + 1 s, reported as a timeout', () => {
    for (const [name, body] of [
      ['kf_oom_repeat', "const keep: string[] = []; for (;;) keep.push('y'.repeat(1 << 20));"],
      [
        'kf_oom_typed',
        'const keep: Uint8Array[] = []; for (;;) keep.push(new Uint8Array(1 << 20));',
      ],
    ] as const) {
      it(`${name} fails with kind memory within the time limit`, async () => {
        await createGuarded(app, name, 'number', '1', 1, body);
        const started = Date.now();
        const result = await attack(app, name);
        assertRunFailure(result, 'memory', /memory limit/);
        assert.ok(
          Date.now() - started < 1500,
          `took ${Date.now() - started} ms (time limit 1000 ms)`,
        );
        await assertHealthy(app);
      });
    }
  });

  describe('FINDING 9 (wrong error, intermittent): `for (;;) await null` is sometimes (about 1 run in 3 to 7) reported as `threw: TypeError: not a function` instead of timeout', () => {
    it('an await loop always fails with kind timeout', async () => {
      await createGuarded(app, 'kf_await_loop', 'number', '1', 1, 'for (;;) await null;', {
        async: true,
      });
      for (let i = 0; i < 8; i++) {
        assertRunFailure(await attack(app, 'kf_await_loop'), 'timeout', /time limit/);
      }
      await assertHealthy(app);
    });
  });

  describe('FINDING 10 (wrong error, worker churn): a guest that throws a Promise at load time, or makes Promise.resolve throw one, is reported as `crashed` (the worker is torn down and replaced) instead of `threw`: context.dump disposes a promise handle that run.ts disposes again', () => {
    for (const [name, prelude, refused] of [
      ['kf_throw_promise', 'if (Math.random() < 2) throw Promise.resolve(7);', true],
      // The driver captured Promise.resolve before tool code ran: the sabotage changes nothing.
      [
        'kf_resolve_throws',
        '(Promise as any).resolve = function () { throw Promise.reject(1); };',
        false,
      ],
    ] as const) {
      it(`${name}: a guest error (or nothing at all), without crashing the sandbox`, async () => {
        const source = `${prelude}\nexport function ${name}(input: { n: number }): number { return input.n; }`;
        const before = app.toolsmith.sandbox.stats.workersReplaced;
        const result = await createTool(app, name, source, [{ input: { n: 1 }, expected: 1 }]);
        if (refused) assertRefused(result, 'tests', /threw/);
        else assert.equal(result.isError, undefined, allText(result));
        assert.doesNotMatch(excerpt(result), /crashed/);
        assert.equal(
          app.toolsmith.sandbox.stats.workersReplaced,
          before,
          'no worker was replaced for guest behaviour',
        );
        await assertHealthy(app);
      });
    }
  });

  describe('FINDING 11 (false positive): the screen refuses the string "constructor" passed to ANY call, e.g. text.includes("constructor") or console.log("constructor")', () => {
    it('accepts "constructor" as an argument of a harmless string method', async () => {
      const source = `export function kf_ctor_word(input: { text: string }): boolean {
  return input.text.includes('constructor');
}`;
      const created = await createTool(app, 'kf_ctor_word', source, [
        { input: { text: 'a constructor call' }, expected: true },
      ]);
      assert.equal(created.isError, undefined, excerpt(created));
      assert.equal(valueOf(await app.call('kf_ctor_word', { text: 'no' })), false);
      await assertHealthy(app);
    });
  });
});
