/**
 * Runs restored from a memory image: each starts from the image's bytes whatever the run before did, draws
 * its own random numbers, and finds exactly the built-ins its code names.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { MAX_SANDBOXES, SandboxImage } from '../../src/sandbox/image.js';
import { bodyRequest, resultOf, SANDBOX_LIMITS } from '../helpers/sandbox.js';

const LIMITS = SANDBOX_LIMITS;
const request = bodyRequest;
const json = resultOf;

describe('SandboxImage: every run from the same image', () => {
  let image: SandboxImage;
  before(async () => {
    image = await SandboxImage.load(LIMITS.memoryLimitBytes, LIMITS);
  });
  const run = (body: string) => image.run(request(body), LIMITS);

  it('shows no run what an earlier one changed: globals, prototypes, built-ins, queued jobs', () => {
    json(
      run(`
        globalThis.leak = 1;
        Object.prototype.polluted = true;
        Array.prototype.map = () => "hijacked";
        JSON.parse = () => "forged";
        Object.defineProperty(globalThis, "pinned", { value: 1, configurable: false });
        Promise.resolve().then(() => { globalThis.late = 1; });
        return 0;`),
    );
    assert.deepEqual(
      json(
        run(`return [typeof leak, ({}).polluted === undefined, [1].map((x) => x + 1)[0],
                     typeof JSON.parse("{}"), typeof pinned, typeof late];`),
      ),
      ['undefined', true, 2, 'object', 'undefined', 'undefined'],
    );
  });

  it('gives every run a Math.random seed of its own', () => {
    const drawn = new Set<number>();
    for (let i = 0; i < 200; i++) {
      const [a, b] = json(run('return [Math.random(), Math.random()];')) as [number, number];
      drawn.add(a).add(b);
      assert.ok(a >= 0 && a < 1 && b >= 0 && b < 1);
    }
    assert.equal(drawn.size, 400, 'no number repeats across runs');
  });

  it('leaves the next run unaffected by one stopped at its memory or time limit', () => {
    const memory = run('const a = []; for (;;) a.push(new Array(4096).fill(a.length));');
    assert.ok(!memory.ok);
    assert.equal(memory.kind, 'memory');
    assert.deepEqual(json(run('return [1, 2, 3].map((x) => x * 2);')), [2, 4, 6]);
    const timeout = run('for (;;) {}');
    assert.ok(!timeout.ok);
    assert.equal(timeout.kind, 'timeout');
    assert.deepEqual(json(run('return "after";')), 'after');
  });

  it(`holds ${MAX_SANDBOXES} sets of built-ins, frees the oldest beyond that, and gives each run exactly its own`, () => {
    // Every combination of the optional built-ins, and the full context: 17 sets, more than are held.
    const optional = [
      { global: 'Uint8Array', uses: 'new Uint8Array(1);' },
      { global: 'Proxy', uses: 'typeof Proxy;' },
      { global: 'Date', uses: 'new Date(0);' },
      { global: 'normalize', uses: '"x".normalize();' },
    ];
    const sets = Array.from({ length: 16 }, (_, mask) =>
      optional.filter((_, bit) => mask & (1 << bit)),
    );
    // The probe looks every optional built-in up by computed name, which names none of them.
    const probe = `const g = globalThis; const seen = [g["Uint8" + "Array"], g["Pro" + "xy"], g["Da" + "te"],
      ""["norm" + "alize"]].map((f) => typeof f === "function");`;
    for (let round = 0; round < 2; round++) {
      for (const set of sets) {
        const expected = optional.map((o) => set.includes(o));
        const body = `${probe} ${set.map((o) => o.uses).join(' ')} return seen;`;
        assert.deepEqual(json(run(body)), expected, body);
      }
      assert.deepEqual(json(run(`${probe} typeof WeakRef; return seen;`)), [
        true,
        true,
        true,
        true,
      ]);
    }
    // Cycling 17 sets leaves at most MAX_SANDBOXES held; each adds about 70 KiB to the image.
    assert.ok(image.sandboxes.held <= MAX_SANDBOXES, String(image.sandboxes.held));
    assert.ok(image.imageBytes < 100_000 + MAX_SANDBOXES * 120_000, String(image.imageBytes));
  });

  it('frees the least recently used sandbox, not the oldest', async () => {
    const fresh = await SandboxImage.load(LIMITS.memoryLimitBytes, LIMITS);
    // Sets of built-ins by bit: Uint8Array, Proxy, Date, normalize (see intrinsics.ts).
    const uses = ['new Uint8Array(1);', 'typeof Proxy;', 'new Date(0);', '"x".normalize();'];
    const runSet = (mask: number) =>
      json(
        fresh.run(
          request(`${uses.filter((_, bit) => mask & (1 << bit)).join(' ')} return ${mask};`),
          LIMITS,
        ),
      );
    // The load prepared set 0; sets 1..11 fill the image.
    for (let mask = 1; mask < MAX_SANDBOXES; mask++) runSet(mask);
    assert.equal(fresh.sandboxes.held, MAX_SANDBOXES);
    runSet(0); // now the most recently used
    runSet(MAX_SANDBOXES); // frees set 1, the least recently used
    const prepared = fresh.sandboxes.prepared;
    runSet(0);
    assert.equal(fresh.sandboxes.prepared, prepared, 'set 0 was still held');
    runSet(1);
    assert.equal(fresh.sandboxes.prepared, prepared + 1, 'set 1 had been freed');
  });
});

describe('SandboxImage: tools called often get a sandbox of their own', () => {
  let image: SandboxImage;
  before(async () => {
    image = await SandboxImage.load(LIMITS.memoryLimitBytes, LIMITS);
  });
  const tool = (entry: string, source: string, input: unknown = {}) =>
    image.run({ code: source, entry, inputJson: JSON.stringify(input) }, LIMITS);

  it("runs the tool's top level on every call, as on the first", () => {
    const source = `let calls = 0; calls++; console.log("loaded"); const seed = Math.random();
      function counter(input) { return [calls, seed, input.n]; }`;
    const seeds = new Set<number>();
    for (let n = 0; n < 5; n++) {
      const outcome = tool('counter', source, { n });
      assert.ok(outcome.ok);
      assert.deepEqual(outcome.logs, ['loaded']);
      const [calls, seed, echoed] = JSON.parse(outcome.json) as [number, number, number];
      assert.deepEqual([calls, echoed], [1, n]);
      seeds.add(seed);
    }
    assert.equal(seeds.size, 5);
    assert.equal(image.toolSandboxes, 1);
  });

  it('reports the same errors, at the same lines, from its own sandbox as from the shared one', () => {
    const source = `const table = { a: 1 };\nfunction failing(input) {\n  if (input.x) throw new Error("bad at " + new Error().stack.split("\\n")[0].trim());\n  return table.a;\n}`;
    const first = tool('failing', source, { x: true });
    const later = [tool('failing', source, { x: true }), tool('failing', source, { x: true })];
    assert.ok(!first.ok);
    for (const outcome of later) assert.deepEqual(outcome, first);
    // Line 1 is the wrapper: the throw is on the source's line 3.
    assert.match(first.message, /at failing \(tool\.js:4:/);
    const loadThrows = 'throw new TypeError("no table"); function broken() { return 1; }';
    for (let i = 0; i < 3; i++) {
      const outcome = tool('broken', loadThrows);
      assert.ok(!outcome.ok);
      assert.match(outcome.message, /TypeError: no table/);
    }
    for (let i = 0; i < 3; i++) {
      const outcome = tool('unparsable', 'function unparsable( { return 1; }');
      assert.ok(!outcome.ok);
      assert.match(outcome.message, /SyntaxError/);
    }
  });

  it("does not count a tool's compiled code against its memory limit, on its first call either", async () => {
    const limits = { ...LIMITS, memoryLimitBytes: 1024 * 1024 };
    // 32 KiB of source whose compiled code takes ~400 KiB of heap, and runs that allocate n x 64 KiB.
    let source = `function big(input) { const a = []; for (let i = 0; i < input.n; i++) a.push(new Uint8Array(65536)); return a.length; }\n`;
    for (let k = 0; source.length < 32 * 1024 - 40; k++)
      source += `const v${k} = [${k}, "s${k}"];\n`;
    const firstCall = async (n: number) => {
      const fresh = await SandboxImage.load(limits.memoryLimitBytes, limits);
      const outcome = fresh.run(
        { code: source, entry: 'big', inputJson: JSON.stringify({ n }) },
        limits,
      );
      return outcome.ok ? 'ok' : outcome.kind;
    };
    // 1,088 KiB: within the limit once the compiled code is not counted (measured: up to n = 19).
    assert.equal(await firstCall(17), 'ok');
    assert.equal(await firstCall(24), 'memory');
  });

  it('gives the same stack frames on every call, from the top level too', () => {
    const source = 'const where = new Error().stack; function frames() { return where; }';
    const stacks = [0, 1, 2].map(() => json(tool('frames', source)));
    assert.equal(new Set(stacks).size, 1, stacks.join('\n---\n'));
  });

  it('never holds code that closes its wrapper early, nor code that compiles to too much', () => {
    const start = image.imageBytes;
    const held = image.toolSandboxes;
    const closes =
      'function shut() { return 1; } }); globalThis.big = new Array(4e5).fill(7); (function () {';
    for (let i = 0; i < 3; i++) assert.ok(!tool('shut', closes).ok);
    // Cheap and quick, so only the check of the compiled function's source text refuses it.
    const marks = 'function mark() { return 1; } }); globalThis.marked = 1; (function () {';
    for (let i = 0; i < 3; i++) assert.ok(!tool('mark', marks).ok);
    const spins = 'function spin() { return 1; } }); for (;;) {} (function () {';
    for (let i = 0; i < 3; i++) {
      const outcome = tool('spin', spins);
      assert.ok(!outcome.ok && outcome.kind === 'timeout', JSON.stringify(outcome));
    }
    let functions = 'function many() { return 1; }\n';
    for (let k = 0; functions.length < 32 * 1024 - 40; k++)
      functions += `function f${k}(a) { return a * ${k}; }\n`;
    for (let i = 0; i < 3; i++) assert.deepEqual(json(tool('many', functions)), 1);
    assert.equal(image.toolSandboxes, held);
    assert.ok(image.imageBytes < start + 64 * 1024, `${start} -> ${image.imageBytes}`);
    // What such code allocates while it compiles counts against the run's limit like anything else.
    const hoards =
      'function hoard() { return 1; } }); const k = []; for (let i = 0; i < 40; i++) k.push(new Uint8Array(1 << 20)); (function () {';
    const hoarded = tool('hoard', hoards);
    assert.ok(!hoarded.ok && hoarded.kind === 'memory', JSON.stringify(hoarded));
  });

  it('keeps compiling per run when more tools take turns than there is room for, with the right answers', () => {
    const sources = Array.from({ length: 3 * MAX_SANDBOXES }, (_, i) => [
      `t${i}`,
      `const base = ${i}; function t${i}(input) { return base * 1000 + input.n; }`,
    ]);
    let preparedAfterRound2 = 0;
    for (let round = 0; round < 4; round++) {
      for (const [entry, source] of sources)
        assert.deepEqual(
          json(tool(entry!, source!, { n: round })),
          Number(entry!.slice(1)) * 1000 + round,
        );
      if (round === 1) preparedAfterRound2 = image.sandboxes.prepared;
    }
    assert.ok(image.toolSandboxes < MAX_SANDBOXES);
    // Once the room is taken, no tool's sandbox evicts another one still in use.
    assert.equal(image.sandboxes.prepared, preparedAfterRound2);
  });

  it("restores a tool's own sandbox before each of its calls too", async () => {
    const fresh = await SandboxImage.load(LIMITS.memoryLimitBytes, LIMITS);
    const source = `function mutates() {
      const seen = [globalThis.count ?? 0, ({}).polluted ?? null, [].flat === undefined];
      globalThis.count = seen[0] + 1; Object.prototype.polluted = 1; delete Array.prototype.flat;
      return seen; }`;
    for (let i = 0; i < 5; i++) {
      const outcome = fresh.run({ code: source, entry: 'mutates', inputJson: '{}' }, LIMITS);
      assert.deepEqual(json(outcome), [0, null, false]);
    }
    assert.equal(fresh.toolSandboxes, 1);
  });
});
