/**
 * Every QuickJS handle, context and runtime a run creates is disposed: on the DEBUG_SYNC build, wrapped in
 * TestQuickJSWASMModule, no runtime or context stays alive and no memory stays allocated after a run,
 * whatever the guest did (returned, threw, timed out, returned non-JSON, blew its stack).
 */
import assert from 'node:assert/strict';
import { afterEach, before, describe, it } from 'node:test';
import {
  DEBUG_SYNC,
  newQuickJSWASMModule,
  TestQuickJSWASMModule,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { DEFAULT_RUN_LIMITS } from '../../src/sandbox/limits.js';
import { runInQuickJS } from '../../src/sandbox/run.js';

// The debug build is slow (assertions, no optimisation): give runs time to finish when they should.
const LIMITS = { ...DEFAULT_RUN_LIMITS, timeoutMs: 1500, maxStackSizeBytes: 256 * 1024 };

const CASES: { name: string; body: string; ok: boolean; async?: boolean }[] = [
  {
    name: 'a returned object',
    body: 'console.log("hi"); return { a: [1, 2, { b: "c" }] };',
    ok: true,
  },
  { name: 'an awaited result', body: 'await null; return input.n;', ok: true, async: true },
  { name: 'a thrown error', body: 'throw new RangeError("bad");', ok: false },
  { name: 'a thrown object', body: 'throw { message: "m" };', ok: false },
  { name: 'a non-JSON result', body: 'const a: any = {}; a.self = a; return a;', ok: false },
  { name: 'an infinite loop', body: 'for (;;) {}', ok: false },
  {
    name: 'a never-settling promise',
    body: 'await new Promise(() => {}); return 1;',
    ok: false,
    async: true,
  },
  {
    name: 'runaway recursion',
    body: 'const f = (n: number): number => f(n + 1) + 1; return f(0);',
    ok: false,
  },
];

describe('sandbox runs leak nothing (DEBUG_SYNC + TestQuickJSWASMModule)', () => {
  let base: QuickJSWASMModule;
  let module: TestQuickJSWASMModule;
  before(async () => {
    base = await newQuickJSWASMModule(DEBUG_SYNC);
  });
  afterEach(() => {
    // TestQuickJSWASMModule (0.32) never drops a runtime from its set on dispose, so a disposed runtime
    // would read as leaked: keep only live ones. The leak sanitizer check below is the real test.
    for (const runtime of module.runtimes) if (!runtime.alive) module.runtimes.delete(runtime);
    module.assertNoMemoryAllocated();
  });
  for (const c of CASES) {
    it(`after ${c.name}`, () => {
      module = new TestQuickJSWASMModule(base);
      const code = `${c.async ? 'async ' : ''}function t(input) { ${c.body.replace(/: (any|number)/g, '')} }`;
      const { outcome, moduleHealthy } = runInQuickJS(
        module as unknown as QuickJSWASMModule,
        { code, entry: 't', inputJson: '{"n":3}' },
        LIMITS,
      );
      assert.equal(outcome.ok, c.ok, JSON.stringify(outcome));
      assert.equal(moduleHealthy, true);
      assert.ok(
        [...module.runtimes].every((runtime) => !runtime.alive),
        'no runtime left alive',
      );
    });
  }
});
