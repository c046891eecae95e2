/**
 * Runs restored from a memory image: each starts from the image's bytes whatever the run before did, draws
 * its own random numbers, and finds exactly the built-ins its code names.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { DEBUG_SYNC, newQuickJSWASMModule } from 'quickjs-emscripten';
import { MAX_SANDBOXES, SandboxImage } from '../../src/sandbox/image.js';
import { DEFAULT_RUN_LIMITS } from '../../src/sandbox/limits.js';
import { findHeapBreak, locateHeapBreak, readBreak } from '../../src/sandbox/heap-break.js';
import { lastNonZero, MemoryImage } from '../../src/sandbox/memory-image.js';
import { loadCappedModule, loadQuickJSBuild, wasmMemoryOf } from '../../src/sandbox/module.js';
import type { RunOutcome } from '../../src/sandbox/outcome.js';
import { locateRandomState } from '../../src/sandbox/random-state.js';
import { prepareSandbox, runInQuickJS } from '../../src/sandbox/run.js';

const LIMITS = {
  ...DEFAULT_RUN_LIMITS,
  timeoutMs: 300,
  memoryLimitBytes: 16 * 1024 * 1024,
  maxStackSizeBytes: 256 * 1024,
};

const request = (body: string) => ({
  code: `function t(input) { ${body} }`,
  entry: 't',
  inputJson: '{}',
});

function json(outcome: RunOutcome): unknown {
  assert.ok(outcome.ok, JSON.stringify(outcome));
  return JSON.parse(outcome.json);
}

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

describe('MemoryImage', () => {
  it('writes back every byte of the static data and the heap in use, even after the memory grew', async () => {
    const [{ layout }, module] = await Promise.all([
      loadQuickJSBuild(),
      loadCappedModule(LIMITS.memoryLimitBytes),
    ]);
    const memory = wasmMemoryOf(module);
    const breakAddress = locateHeapBreak(module, memory, layout);
    assert.ok(breakAddress !== undefined, 'the program break is found in this build');
    const sandbox = prepareSandbox(module, LIMITS, 0);
    sandbox.armInterrupts();
    const image = new MemoryImage(memory, layout, readBreak(memory, breakAddress));
    const statics = new Uint8Array(memory.buffer).slice(0, layout.staticEnd);
    const heap = new Uint8Array(memory.buffer).slice(layout.stackTop, image.end);
    const sizeBefore = memory.buffer.byteLength;

    const outcome = sandbox.run(
      request(
        'const keep = []; for (let i = 0; i < 96; i++) keep.push(new Array(16384).fill(i)); return keep.length;',
      ),
      LIMITS.timeoutMs,
    );
    assert.deepEqual(outcome, { ok: true, json: '96', logs: [] });
    assert.ok(memory.buffer.byteLength > sizeBefore, 'the run grew the memory');
    assert.notDeepEqual(new Uint8Array(memory.buffer).slice(layout.stackTop, image.end), heap);

    image.restore(memory);
    assert.deepEqual(new Uint8Array(memory.buffer).slice(0, layout.staticEnd), statics);
    assert.deepEqual(new Uint8Array(memory.buffer).slice(layout.stackTop, image.end), heap);
    // And the restored sandbox runs again, as if for the first time.
    sandbox.rewind();
    assert.deepEqual(sandbox.run(request('return 7;'), LIMITS.timeoutMs), {
      ok: true,
      json: '7',
      logs: [],
    });
  });
});

describe('the program break', () => {
  it('is found in a fresh module, whose memory is left exactly as it was', async () => {
    const [{ layout }, module] = await Promise.all([
      loadQuickJSBuild(),
      loadCappedModule(LIMITS.memoryLimitBytes),
    ]);
    const memory = wasmMemoryOf(module);
    const before = new Uint8Array(memory.buffer).slice();
    const address = findHeapBreak(module, memory, layout);
    assert.ok(address !== undefined && address < layout.staticEnd, String(address));
    assert.equal(address, locateHeapBreak(module, memory, layout));
    assert.ok(Buffer.from(new Uint8Array(memory.buffer)).equals(before), 'memory unchanged');
    // And the module works as if never probed.
    const sandbox = prepareSandbox(module, LIMITS, 0);
    assert.deepEqual(sandbox.run(request('return 5;'), LIMITS.timeoutMs), {
      ok: true,
      json: '5',
      logs: [],
    });
  });

  it('covers every byte the allocator uses, as the heap grows', async () => {
    const [{ layout }, module] = await Promise.all([
      loadQuickJSBuild(),
      loadCappedModule(LIMITS.memoryLimitBytes),
    ]);
    const memory = wasmMemoryOf(module);
    const breakAddress = locateHeapBreak(module, memory, layout);
    assert.ok(breakAddress !== undefined);
    const sandbox = prepareSandbox(module, LIMITS, 0);
    const before = readBreak(memory, breakAddress);
    // A fresh module: nothing was ever written above the break.
    assert.ok(before >= lastNonZero(memory.buffer, layout.stackTop));
    // Keep 8 MiB alive past the run (a global holds it): the break must move past all of it.
    const kept = sandbox.run(
      request(
        'globalThis.keep = []; for (let i = 0; i < 64; i++) keep.push(new Array(16384).fill(i)); return 1;',
      ),
      LIMITS.timeoutMs,
    );
    assert.deepEqual(kept, { ok: true, json: '1', logs: [] });
    const after = readBreak(memory, breakAddress);
    assert.ok(after >= lastNonZero(memory.buffer, layout.stackTop));
    assert.ok(after > before + 8 * 1024 * 1024, `${after} grew from ${before}`);
  });

  it('makes the memory limit the same for every run, whatever earlier runs grew the memory to', async () => {
    const limits = { ...LIMITS, timeoutMs: 5000 };
    const image = await SandboxImage.load(limits.memoryLimitBytes, limits);
    // Allocates `mib` MiB in 64 KiB buffers, with enough steps between them for the limit to be checked.
    const allocate = (mib: number) =>
      image.run(
        request(`const keep = []; let steps = 0;
          for (let i = 0; i < ${mib * 16}; i++) { keep.push(new Uint8Array(65536)); for (let j = 0; j < 2000; j++) steps++; }
          return keep.length;`),
        limits,
      );
    const over = () => {
      const outcome = allocate(28);
      assert.ok(!outcome.ok && outcome.kind === 'memory', JSON.stringify(outcome));
    };
    over();
    // 14 MiB is within the 16 MiB limit, and grows the WebAssembly memory, which never shrinks.
    assert.deepEqual(allocate(14), { ok: true, json: String(14 * 16), logs: [] });
    over();
  });

  it('fails a run whose heap ends above its limit, however few steps it took to get there', async () => {
    const image = await SandboxImage.load(LIMITS.memoryLimitBytes, LIMITS);
    // Twenty-four 1 MiB buffers in a loop of 24 steps: too few for an interrupt check on the way.
    const outcome = image.run(
      request(
        'const k = []; for (let i = 0; i < 24; i++) k.push(new Uint8Array(1 << 20)); return k.length;',
      ),
      LIMITS,
    );
    assert.ok(!outcome.ok);
    assert.equal(outcome.kind, 'memory');
    assert.deepEqual(
      json(image.run(request('return new Uint8Array(1 << 20).length;'), LIMITS)),
      1 << 20,
    );
  });
});

describe('heapReach', () => {
  it("falls back to the memory's size for a module of another build, whose statics it does not know", async () => {
    // This thread has located the break of the release build; the debug build keeps other things there.
    await SandboxImage.load(LIMITS.memoryLimitBytes, LIMITS);
    const debug = await newQuickJSWASMModule(DEBUG_SYNC);
    const limits = { ...LIMITS, memoryLimitBytes: 4 * 1024 * 1024, timeoutMs: 3000 };
    const burst = runInQuickJS(
      debug,
      request(
        'const k = []; for (let i = 0; i < 30; i++) k.push(new Uint8Array(1 << 20)); return 1;',
      ),
      limits,
    );
    assert.ok(!burst.outcome.ok && burst.outcome.kind === 'memory', JSON.stringify(burst.outcome));
  });
});

describe('locateRandomState', () => {
  it('refuses a context whose Math.random state it cannot find, rather than repeat numbers', async () => {
    const module = await loadCappedModule(LIMITS.memoryLimitBytes);
    const sandbox = prepareSandbox(module, LIMITS, 0);
    const memory = wasmMemoryOf(module);
    // No 64-bit state gives 0.5 exactly after a step and a multiply... and if one did, seeding would not steer it.
    assert.throws(
      () => locateRandomState(memory, sandbox.contextAddress, () => 0.5),
      /Math\.random/,
    );
    const address = locateRandomState(memory, sandbox.contextAddress, () => sandbox.drawRandom());
    assert.ok(address >= sandbox.contextAddress && address < sandbox.contextAddress + 4096);
  });
});
