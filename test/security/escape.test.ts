/**
 * Sandbox escapes: the techniques used against vm2 and node:vm (constructor chains to Function, indirect
 * eval, dynamic import, V8 stack-trace hooks, Symbol.species, Proxies and getters on thrown values), run
 * against toolsmith. Classic spellings must be refused by the screen; variants the screen cannot see (a key
 * computed at run time) must run inside QuickJS and find nothing of the host there.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertHealthy,
  assertRefused,
  assertRunFailure,
  attack,
  createGuarded,
  createTool,
  excerpt,
  openApp,
  PING,
  valueOf,
  type Connected,
} from './support.js';

/** Host objects that must not exist in the guest under any name. */
const HOST_NAMES = [
  'process',
  'require',
  'module',
  'exports',
  'global',
  'Buffer',
  'std',
  'os',
  'print',
  'scriptArgs',
  'bjson',
  'fetch',
  'XMLHttpRequest',
  'WebSocket',
  'setTimeout',
  'setInterval',
  'setImmediate',
  'queueMicrotask',
  'WebAssembly',
  'Atomics',
  'Deno',
  'Bun',
  '__filename',
  '__dirname',
  'importScripts',
  'navigator',
  'window',
  'document',
  'structuredClone',
  'performance',
];

/** ECMAScript globals (plus QuickJS's InternalError and toolsmith's captured console). */
const ALLOWED_GLOBALS = new Set([
  'AggregateError',
  'Array',
  'ArrayBuffer',
  'BigInt',
  'BigInt64Array',
  'BigUint64Array',
  'Boolean',
  'DataView',
  'Date',
  'Error',
  'EvalError',
  'FinalizationRegistry',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'Function',
  'Infinity',
  'Int16Array',
  'Int32Array',
  'Int8Array',
  'InternalError',
  'Iterator',
  'JSON',
  'Map',
  'Math',
  'NaN',
  'Number',
  'Object',
  'Promise',
  'Proxy',
  'RangeError',
  'ReferenceError',
  'Reflect',
  'RegExp',
  'Set',
  'SharedArrayBuffer',
  'String',
  'Symbol',
  'SyntaxError',
  'TypeError',
  'URIError',
  'Uint16Array',
  'Uint32Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'WeakMap',
  'WeakRef',
  'WeakSet',
  'console',
  'decodeURI',
  'decodeURIComponent',
  'encodeURI',
  'encodeURIComponent',
  'escape',
  'eval',
  'globalThis',
  'isFinite',
  'isNaN',
  'parseFloat',
  'parseInt',
  'undefined',
  'unescape',
  'Symbol(Symbol.toStringTag)',
]);

/** Guest code that reaches Function without spelling "constructor" where the screen can fold it. */
const REACH_FUNCTION = `const key = ['con', 'struc', 'tor'].join('');
  const F = ((() => 0) as any)[key];`;

describe('security: sandbox escapes', () => {
  let app: Connected;
  before(async () => {
    app = await openApp();
  });
  after(async () => {
    await app[Symbol.asyncDispose]();
  });

  it('refuses the classic vm escape this.constructor.constructor("return process")() at the screen', async () => {
    const source = `export function esc_classic(input: { mode: string }): string {
  const self: any = input;
  return String(self.constructor.constructor('return process')());
}`;
    assertRefused(
      await createTool(app, 'esc_classic', source, [{ input: { mode: 'x' }, expected: 'x' }]),
      'screen',
      /constructor/,
    );
    await assertHealthy(app);
  });

  it('Function reached through a run-time key finds no host global', async () => {
    await createGuarded(
      app,
      'esc_dynamic_ctor',
      'string[]',
      '[]',
      [],
      `${REACH_FUNCTION}
  const names: string[] = ${JSON.stringify(HOST_NAMES)};
  return names.filter((n) => F('return typeof ' + n)() !== 'undefined');`,
    );
    assert.deepEqual(
      valueOf(await attack(app, 'esc_dynamic_ctor')),
      [],
      'no host global is visible to Function-evaluated code',
    );
    await assertHealthy(app);
  });

  it("the guest's global object holds only ECMAScript built-ins", async () => {
    await createGuarded(
      app,
      'esc_globals',
      'string[]',
      '[]',
      [],
      `${REACH_FUNCTION}
  const g = F('return this')();
  console.log('the console is installed for tools that use it');
  return Object.getOwnPropertyNames(g).concat(Object.getOwnPropertySymbols(g).map(String));`,
    );
    const names = valueOf(await attack(app, 'esc_globals')) as string[];
    assert.ok(
      names.includes('Object') && names.includes('console'),
      'the list is the real global object',
    );
    const unexpected = names.filter((n) => !ALLOWED_GLOBALS.has(n));
    assert.deepEqual(unexpected, [], 'globals beyond ECMAScript');
    await assertHealthy(app);
  });

  it('indirect eval through globalThis["ev" + "al"] evaluates in the guest, not the host', async () => {
    await createGuarded(
      app,
      'esc_indirect_eval',
      'string',
      "'ok'",
      'ok',
      `const ev = Reflect.get(globalThis, 'ev' + 'al');
  return String(ev('typeof process + "/" + typeof require + "/" + typeof module + "/" + (this === globalThis)'));`,
    );
    assert.equal(
      valueOf(await attack(app, 'esc_indirect_eval')),
      'undefined/undefined/undefined/true',
    );
    await assertHealthy(app);
  });

  it('dynamic import() from Function-evaluated code cannot load any module', async () => {
    await createGuarded(
      app,
      'esc_import',
      'string[]',
      '[]',
      [],
      `const tag = (s: TemplateStringsArray): string => s.raw.join('');
  const F = ((() => 0) as any)[tag\`constructor\`];
  const out: string[] = [];
  for (const m of ['os', 'std', 'fs', 'node:fs', 'node:child_process', '/etc/passwd', 'file:///etc/passwd']) {
    try {
      await F('m', 'return import(m)')(m);
      out.push('loaded ' + m);
    } catch (e) {
      out.push('refused');
    }
  }
  return out;`,
      { async: true },
    );
    const outcome = valueOf(await attack(app, 'esc_import')) as string[];
    assert.equal(outcome.length, 7);
    assert.deepEqual(
      outcome.filter((o) => o !== 'refused'),
      [],
      'no module loads',
    );
    await assertHealthy(app);
  });

  it('the AsyncFunction constructor reached via Reflect.get is confined to the guest too', async () => {
    await createGuarded(
      app,
      'esc_async_ctor',
      'string',
      "'ok'",
      'ok',
      `const AsyncProto = Object.getPrototypeOf(async function () {});
  const AF = Reflect.get(AsyncProto, ['con', 'structor'].join(''));
  const probe = AF('try { await import("fs"); return "imported"; } catch (e) { return "no import; process is " + typeof process; }');
  return String(await probe());`,
      { async: true },
    );
    assert.equal(valueOf(await attack(app, 'esc_async_ctor')), 'no import; process is undefined');
    await assertHealthy(app);
  });

  it('V8 stack-trace hooks (Error.prepareStackTrace, captureStackTrace, CallSite.getThis) do not exist or leak', async () => {
    await createGuarded(
      app,
      'esc_stack_hooks',
      'string',
      "'ok'",
      'ok',
      `const E: any = Error;
  const before = typeof E.prepareStackTrace + '/' + typeof E.captureStackTrace;
  let hookCalls = 0;
  E.prepareStackTrace = (_error: unknown, callSites: any[]) => {
    hookCalls++;
    return callSites.map((c) => typeof c.getThis());
  };
  const stack = String(new Error('probe').stack);
  return before + '|' + hookCalls + '|' + stack;`,
    );
    const [hooks, calls, stack] = String(valueOf(await attack(app, 'esc_stack_hooks'))).split('|');
    assert.equal(hooks, 'undefined/undefined', 'the V8-only hooks are absent');
    assert.equal(calls, '0', 'assigning prepareStackTrace has no effect');
    assert.match(stack ?? '', /tool\.js/, 'frames name only the guest script');
    assert.doesNotMatch(
      stack ?? '',
      /\/work|node_modules|node:|file:|dist\/|\.ts\b/,
      'no host path leaks into guest stacks',
    );
    await assertHealthy(app);
  });

  it('a getter on a thrown object runs inside the guest and sees no host', async () => {
    await createGuarded(
      app,
      'esc_thrown_getter',
      'string',
      "'ok'",
      'ok',
      `throw {
    get message(): string {
      return 'getter sees process as ' + typeof Reflect.get(globalThis, 'process');
    },
  };`,
    );
    const result = await attack(app, 'esc_thrown_getter');
    assertRunFailure(result, 'threw', /getter sees process as undefined/);
    await assertHealthy(app);
  });

  it('a thrown Proxy whose every trap throws is reported as a plain guest error', async () => {
    await createGuarded(
      app,
      'esc_thrown_proxy',
      'string',
      "'ok'",
      'ok',
      `const trap = (): never => { throw new Error('trap fired'); };
  throw new Proxy(new Error('inner'), { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap, getOwnPropertyDescriptor: trap });`,
    );
    assertRunFailure(
      await attack(app, 'esc_thrown_proxy'),
      'threw',
      /trap fired|cannot be printed|unprintable/,
    );
    await assertHealthy(app);
  });

  it('replacing Promise.prototype.then at load time cannot hijack the result driver', async () => {
    const prelude = `(Promise.prototype as any).then = function () { return 'hijacked'; };`;
    await createGuarded(app, 'esc_then', 'string', "'benign'", 'benign', `return 'real answer';`, {
      prelude,
    });
    assert.equal(valueOf(await attack(app, 'esc_then')), 'real answer');
    await assertHealthy(app);
  });

  it('a Promise[Symbol.species] booby trap set at load time finds no promise machinery of the host to hijack', async () => {
    // The host settles a tool's promise through QuickJS's own promise state, never through then/species.
    const prelude = `Object.defineProperty(Promise, Symbol.species, { get() { return function () { throw new Error('species hijack'); }; } });`;
    const source = `${prelude}\nexport async function esc_species(input: { mode: string }): Promise<string> { await null; return input.mode; }`;
    const result = await createTool(app, 'esc_species', source, [
      { input: { mode: 'test' }, expected: 'test' },
    ]);
    assert.equal(result.isError, undefined, excerpt(result));
    assert.equal(valueOf(await app.call('esc_species', { mode: 'attack' })), 'attack');
    await assertHealthy(app);
  });

  it('Symbol.species on an Array subclass smuggles no exotic object out: the result is refused as not JSON', async () => {
    const prelude = `class Evil extends Array<number> {}`;
    await createGuarded(
      app,
      'esc_array_species',
      'unknown',
      '1',
      1,
      `return Evil.from([1, 2]).map((x) => x * 2);`,
      { prelude },
    );
    assertRunFailure(
      await attack(app, 'esc_array_species'),
      'not_json',
      /Evil, not a plain object or array/,
    );
    await assertHealthy(app);
  });

  it('nothing a run leaves on globalThis or Object.prototype is visible to the next run', async () => {
    await createGuarded(
      app,
      'esc_persist',
      'string',
      "'ok'",
      'ok',
      `const g: any = globalThis;
  const seen = String(g.leftBehind) + '/' + String((Object.prototype as any).leftBehind) + '/' + String((Array.prototype as any).leftBehind);
  g.leftBehind = 'global';
  (Object.prototype as any).leftBehind = 'object prototype';
  (Array.prototype as any).leftBehind = 'array prototype';
  return seen;`,
    );
    for (let i = 0; i < 3; i++) {
      assert.equal(
        valueOf(await attack(app, 'esc_persist')),
        'undefined/undefined/undefined',
        `run ${i + 1} starts clean`,
      );
    }
    await assertHealthy(app);
  });

  it("one tool cannot reach another tool's function or source", async () => {
    await createGuarded(
      app,
      'esc_cross_tool',
      'string',
      "'ok'",
      'ok',
      `${REACH_FUNCTION}
  return [typeof Reflect.get(globalThis, '${PING}'), F('return typeof ${PING}')(), typeof Reflect.get(globalThis, 'esc_persist')].join('/');`,
    );
    assert.equal(valueOf(await attack(app, 'esc_cross_tool')), 'undefined/undefined/undefined');
    await assertHealthy(app);
  });

  it("prototype pollution inside the guest never reaches the host's prototypes", async () => {
    await createGuarded(
      app,
      'esc_pollute',
      'string',
      "'ok'",
      'ok',
      `(Object.prototype as any).polluted = 'yes';
  (Array.prototype as any).polluted = 'yes';
  (Object.getPrototypeOf(() => 0) as any).polluted = 'yes';
  Object.defineProperty(Object.prototype, 'isAdmin', { get() { return true; }, configurable: true });
  return 'polluted the guest';`,
    );
    assert.equal(valueOf(await attack(app, 'esc_pollute')), 'polluted the guest');
    const plain: Record<string, unknown> = {};
    assert.equal(plain['polluted'], undefined, 'host Object.prototype is clean');
    assert.equal(plain['isAdmin'], undefined, 'host Object.prototype has no injected getter');
    assert.equal(
      ([] as unknown as Record<string, unknown>)['polluted'],
      undefined,
      'host Array.prototype is clean',
    );
    assert.equal(
      (assertHealthy as unknown as Record<string, unknown>)['polluted'],
      undefined,
      'host Function.prototype is clean',
    );
    await assertHealthy(app);
  });

  it('WebAssembly and Atomics are unavailable even when looked up by a computed name', async () => {
    await createGuarded(
      app,
      'esc_wasm',
      'string',
      "'ok'",
      'ok',
      `const g: any = globalThis;
  return typeof g['Web' + 'Assembly'] + '/' + typeof g['Atom' + 'ics'];`,
    );
    assert.equal(valueOf(await attack(app, 'esc_wasm')), 'undefined/undefined');
    await assertHealthy(app);
  });

  it('the arguments.callee / caller chain is closed (strict mode) and leads nowhere', async () => {
    await createGuarded(
      app,
      'esc_callee',
      'string',
      "'ok'",
      'ok',
      `function probe(): string {
    try {
      return typeof (probe as any).caller;
    } catch (e) {
      return 'caller blocked';
    }
  }
  return probe();`,
    );
    assert.equal(
      valueOf(await attack(app, 'esc_callee')),
      'caller blocked',
      'reading .caller of a strict function throws',
    );
    await assertHealthy(app);
  });
});
