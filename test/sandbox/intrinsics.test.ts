/**
 * A tool's context has the optional built-ins (typed arrays, Proxy, normalize, Date, WeakRef) only when its
 * code names them: each works when named, is absent otherwise, and the pool's prepared sandboxes follow
 * whichever tool is called next.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { newQuickJSWASMModule, type QuickJSWASMModule } from 'quickjs-emscripten';
import { contextOptions, FULL_CONTEXT, intrinsicsFor } from '../../src/sandbox/intrinsics.js';
import { DEFAULT_RUN_LIMITS } from '../../src/sandbox/limits.js';
import { createSandboxPool } from '../../src/sandbox/pool.js';
import { runInQuickJS } from '../../src/sandbox/run.js';

const LIMITS = { ...DEFAULT_RUN_LIMITS, timeoutMs: 500 };

/** What each optional built-in's tool does with it, and what it returns. */
const USES = [
  {
    name: 'typed arrays',
    body: 'const b = new Uint8Array(new ArrayBuffer(4)); b[1] = 7; return new DataView(b.buffer).getUint8(1);',
    expected: '7',
  },
  {
    name: 'Proxy',
    body: 'return new Proxy({}, { get: (_t, k) => String(k) + "!" }).hi;',
    expected: '"hi!"',
  },
  { name: 'normalize', body: 'return "e\\u0301".normalize("NFC").length;', expected: '1' },
  {
    name: 'localeCompare',
    body: 'return ["b", "a", "c"].sort((x, y) => x.localeCompare(y)).join("");',
    expected: '"abc"',
  },
  {
    name: 'Date',
    body: 'return new Date(Date.UTC(2026, 0, 2)).toISOString();',
    expected: '"2026-01-02T00:00:00.000Z"',
  },
  {
    name: 'WeakRef',
    body: 'const o = {}; return new WeakRef(o).deref() === o && typeof FinalizationRegistry;',
    expected: '"function"',
  },
];

/** Globals a tool can reach without naming them: absent unless some other part of its code names them. */
const UNNAMED = [
  ['Uint8', 'Array'],
  ['Pro', 'xy'],
  ['Da', 'te'],
  ['Weak', 'Ref'],
  ['Data', 'View'],
] as const;

const code = (body: string): string => `function t(input) { ${body} }`;

/** Lists every global, its own properties and theirs, as dotted paths (a guest script). */
const WALK = `(() => {
  const out = [];
  const names = (o) => { try { return Object.getOwnPropertyNames(o); } catch (e) { return []; } };
  const get = (o, k) => { try { return o[k]; } catch (e) { return undefined; } };
  const isObject = (v) => (typeof v === "object" && v !== null) || typeof v === "function";
  for (const a of names(globalThis)) {
    out.push(a);
    const va = get(globalThis, a);
    if (!isObject(va) || va === globalThis) continue;
    for (const b of names(va)) {
      out.push(a + "." + b);
      const vb = get(va, b);
      if (isObject(vb)) for (const c of names(vb)) out.push(a + "." + b + "." + c);
    }
  }
  return JSON.stringify(out);
})()`;

describe('optional built-ins', () => {
  let module: QuickJSWASMModule;
  before(async () => {
    module = await newQuickJSWASMModule();
  });
  const run = (body: string) =>
    runInQuickJS(module, { code: code(body), entry: 't', inputJson: '{}' }, LIMITS).outcome;

  it('add nothing a tool reaches except through a name that is detected', () => {
    // Every global, its properties and theirs, in a context with the sets in `set`.
    const paths = (set: number): Set<string> => {
      const runtime = module.newRuntime();
      const context = runtime.newContext(contextOptions(set));
      try {
        const walked = context.evalCode(WALK);
        if (walked.error) throw new Error(String(context.dump(walked.error)));
        using text = walked.value;
        return new Set(JSON.parse(context.getString(text)) as string[]);
      } finally {
        context.dispose();
        runtime.dispose();
      }
    };
    const lean = paths(0);
    const everyBit = 0b1111;
    const cases = [
      ...[0, 1, 2, 3].map((bit) => ({ base: lean, set: 1 << bit })),
      { base: paths(everyBit), set: FULL_CONTEXT },
    ];
    for (const { base, set } of cases) {
      const added = [...paths(set)].filter((path) => !base.has(path));
      assert.ok(added.length > 0, `set ${set} adds something`);
      for (const path of added) {
        // The first part of the path a context without the set lacks: a tool has to name it to get there.
        const parts = path.split('.');
        const first = parts.find((_, i) => !base.has(parts.slice(0, i + 1).join('.'))) ?? path;
        const detected = intrinsicsFor(`x.${first}`);
        assert.ok(
          set === FULL_CONTEXT ? detected === FULL_CONTEXT : (detected & set) !== 0,
          `${path} (set ${set}) is reached through "${first}", which does not give the set`,
        );
      }
    }
  });

  it('are detected by name, and only by name', () => {
    assert.equal(intrinsicsFor(code('return 1 + 2 / 3;')), 0);
    assert.equal(intrinsicsFor(code('return new WeakRef({});')), FULL_CONTEXT);
    assert.notEqual(intrinsicsFor(code('return Date.now();')), 0);
    assert.equal(intrinsicsFor(code('const myDate = 1; return updated;')), 0, 'part of a name');
    const each = USES.slice(0, 5).map((use) => intrinsicsFor(code(use.body)));
    assert.equal(
      new Set(each).size,
      4,
      'each optional set has its own bit (normalize and localeCompare share one)',
    );
  });

  for (const use of USES) {
    it(`work when named: ${use.name}`, () => {
      assert.deepEqual(run(use.body), { ok: true, json: use.expected, logs: [] });
    });
  }

  it('are absent from code that does not name them, and the base built-ins are all there', () => {
    const outcome = run(
      `return [${UNNAMED.map(([head, tail]) => `typeof globalThis["${head}" + "${tail}"]`).join(', ')},
        typeof Map, typeof Set, typeof RegExp, typeof JSON, typeof Promise, typeof BigInt, typeof Symbol,
        typeof Reflect, typeof Math, "a-b".replace(/-/g, "+"), "a,b".split(",").length];`,
    );
    assert.deepEqual(outcome.ok && JSON.parse(outcome.json), [
      ...UNNAMED.map(() => 'undefined'),
      ...['function', 'function', 'function', 'object', 'function', 'function', 'function'],
      ...['object', 'object'],
      'a+b',
      2,
    ]);
  });

  describe('through the pool, alternating tools with different built-ins', () => {
    it('gives every call the built-ins its own code names', async () => {
      await using pool = createSandboxPool({ size: 2, limits: LIMITS });
      await pool.ready();
      const lean = { body: 'return typeof globalThis["Da" + "te"];', expected: '"undefined"' };
      const calls = [...USES, lean, ...USES.slice().reverse(), lean];
      for (let round = 0; round < 3; round++) {
        for (const use of calls) {
          const outcome = await pool.run(
            { code: code(use.body), entry: 't', inputJson: '{}' },
            LIMITS,
          );
          assert.deepEqual(outcome, { ok: true, json: use.expected, logs: [] }, use.body);
        }
      }
    });
  });
});
