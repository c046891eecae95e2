/**
 * The seven figures. Each adds its rows (and its baselines' rows) to `ctx.results`; none asserts on time.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ToolCompiler } from '../src/compiler/compile.js';
import { META_TOOL_NAMES } from '../src/registry/arguments.js';
import { DEFAULT_LIMITS, runLimitsOf } from '../src/registry/limits.js';
import { runTests } from '../src/registry/test-runner.js';
import { createSandboxPool } from '../src/sandbox/pool.js';
import { openKeyvStore } from '../src/store/keyv-store.js';
import type { ToolRecord } from '../src/store/record.js';
import { available, naiveTypeCheck, run, vmCall, writeToolFile } from './baselines.js';
import {
  batchPasses,
  LENGTH_CALL,
  LENGTH_CALL_RESULT,
  LENGTH_TESTS,
  LENGTH_TOOL,
  lengthCreateArguments,
  lengthSource,
  nodeBatchScript,
  pythonBatchScript,
  SPIN_ARGUMENTS,
  SPIN_TOOL,
} from './fixture.js';
import { loadPeer } from './peer.js';
import type { Results } from './report.js';
import {
  cpuMs,
  mainThreadCpuMs,
  POOL_SIZE,
  rssMiB,
  spawnServer,
  startInProcess,
  textOf,
  type Session,
  type SpawnedSession,
} from './server.js';
import { runInFlight, sleep, timeEach, timeEachSync } from './stats.js';

export interface Counts {
  readonly createWarmup: number;
  readonly create: number;
  readonly naiveCheck: number;
  readonly firstCreate: number;
  readonly coldPool: number;
  readonly callSequential: number;
  readonly callRounds: number;
  readonly callsPerRound: number;
  readonly vmCalls: number;
  readonly peerCalls: number;
  readonly nodeBatches: number;
  readonly pythonBatches: number;
  readonly stdioSequential: number;
  /** Calls at 32 in flight before the rate rounds: the server's JIT (QuickJS's WASM included) warms up. */
  readonly stdioRateWarmup: number;
  readonly stdioRounds: number;
  readonly stdioPerRound: number;
  readonly listTools: number;
  readonly listRequests: number;
  readonly starts: number;
  readonly cheapNoLoad: number;
  readonly cheapUnderLoad: number;
  readonly rssSamples: number;
}

export const QUICK: Counts = {
  createWarmup: 5,
  create: 10,
  naiveCheck: 3,
  firstCreate: 2,
  coldPool: 2,
  callSequential: 100,
  callRounds: 3,
  callsPerRound: 100,
  vmCalls: 100,
  peerCalls: 50,
  nodeBatches: 3,
  pythonBatches: 2,
  stdioSequential: 100,
  stdioRateWarmup: 200,
  stdioRounds: 3,
  stdioPerRound: 200,
  listTools: 200,
  listRequests: 10,
  starts: 2,
  cheapNoLoad: 50,
  cheapUnderLoad: 20,
  rssSamples: 5,
};

export const FULL: Counts = {
  createWarmup: 10,
  create: 60,
  naiveCheck: 15,
  firstCreate: 5,
  coldPool: 5,
  callSequential: 1000,
  callRounds: 10,
  callsPerRound: 500,
  vmCalls: 1000,
  peerCalls: 500,
  nodeBatches: 10,
  pythonBatches: 5,
  stdioSequential: 1000,
  stdioRateWarmup: 4000,
  stdioRounds: 8,
  stdioPerRound: 2000,
  listTools: 10_000,
  listRequests: 50,
  starts: 5,
  cheapNoLoad: 400,
  cheapUnderLoad: 200,
  rssSamples: 20,
};

export interface Context {
  readonly counts: Counts;
  readonly quick: boolean;
  readonly results: Results;
  /** A fresh temporary directory, removed after the run. */
  readonly tmp: string;
  /** A real record produced by create_tool in figure 1 (figure 5 copies it); set by figure 1. */
  template?: ToolRecord;
  /** Per-call latency of a warm in-process registry.call (figure 3), for the stdio comparison. */
  inProcessCallSamples?: number[];
  /** Median of a warm create_tool (figure 1, memory store), for the first-create comparison. */
  warmCreateSamples?: number[];
}

let sequence = 0;
/** A path for a fresh SQLite store in the run's temporary directory. */
function freshStore(ctx: Context, what: string): string {
  return join(ctx.tmp, `${what}-${++sequence}.sqlite`);
}

async function expectLengthAnswer(session: Session, name: string): Promise<void> {
  const result = await session.call(name, { ...LENGTH_CALL });
  const value: unknown = JSON.parse(textOf(result));
  if (value !== LENGTH_CALL_RESULT) throw new Error(`${name} answered ${textOf(result)}`);
}

// ---------------------------------------------------------------------------------------------------
// 1. create_tool end to end, warm

export async function figure1(ctx: Context): Promise<void> {
  const { counts, results } = ctx;
  // Both instances run side by side and are measured alternately, so neither gets the warmer JIT.
  await using memory = await startInProcess('memory');
  await using sqlite = await startInProcess(freshStore(ctx, 'f1'));
  const apps = [memory, sqlite] as const;
  for (const app of apps) await app.toolsmith.sandbox.ready();
  for (let i = 0; i < counts.createWarmup; i++) {
    for (const app of apps) {
      await app.call('create_tool', lengthCreateArguments(`${LENGTH_TOOL}_warm_${i}`));
    }
  }
  const samples: [number[], number[]] = [[], []];
  for (let i = 0; i < counts.create; i++) {
    for (const [index, app] of apps.entries()) {
      const started = performance.now();
      await app.call('create_tool', lengthCreateArguments(`${LENGTH_TOOL}_${i}`));
      samples[index]?.push(performance.now() - started);
    }
  }
  const [memorySamples, sqliteSamples] = samples;
  results.add({
    id: '1.create.memory',
    figure: 1,
    label: 'create_tool, memory store',
    unit: 'ms',
    samples: memorySamples,
  });
  results.add({
    id: '1.create.sqlite',
    figure: 1,
    label: 'create_tool, SQLite file store',
    unit: 'ms',
    samples: sqliteSamples,
  });
  ctx.warmCreateSamples = memorySamples;

  const record = memory.toolsmith.registry.get(`${LENGTH_TOOL}_0`);
  if (!record) throw new Error('the created tool is not registered');
  ctx.template = record;
  await expectLengthAnswer(memory, record.name);
  await expectLengthAnswer(sqlite, record.name);

  // Breakdown: the test stage alone (3 sandbox runs, in parallel as create_tool runs them).
  const subject = {
    name: record.name,
    code: record.code,
    inputSchema: record.inputSchema,
    resultSchema: record.resultSchema,
  };
  const limits = runLimitsOf(DEFAULT_LIMITS);
  const testSamples = await timeEach(counts.create, async () => {
    const tested = await runTests(memory.toolsmith.sandbox, subject, LENGTH_TESTS, limits);
    if (tested.diagnostics.length > 0) throw new Error('the benchmark tool failed its tests');
  });
  results.add({
    id: '1.stage.tests',
    figure: 1,
    label: '  of which: test stage (3 sandbox runs)',
    unit: 'ms',
    samples: testSamples,
  });

  // Breakdown: a store write (the SQLite store's put of the real record).
  const putSamples = await timeEach(counts.create, (i) =>
    sqlite.toolsmith.store.put({ ...record, name: `${LENGTH_TOOL}_put_${i}` }),
  );
  results.add({
    id: '1.stage.put',
    figure: 1,
    label: '  of which: SQLite store.put',
    unit: 'ms',
    samples: putSamples,
  });

  // Breakdown: the compiler alone, with its lib cache warm.
  const compiler = new ToolCompiler();
  compiler.warm();
  const source = lengthSource(LENGTH_TOOL);
  const compileSamples = timeEachSync(counts.create, () => {
    if (!compiler.compile(LENGTH_TOOL, source).ok)
      throw new Error('the benchmark tool does not compile');
  });
  results.add({
    id: '1.stage.compile',
    figure: 1,
    label: '  of which: compile (parse..transpile, cached libs)',
    unit: 'ms',
    samples: compileSamples,
  });

  // Baseline: a fresh ts.createProgram with the default host per check.
  const file = await writeToolFile(ctx.tmp, source);
  if (naiveTypeCheck(file) !== 0) throw new Error('the naive type check reports errors');
  const naiveSamples = timeEachSync(counts.naiveCheck, () => naiveTypeCheck(file));
  const subjects = [
    ['memory', '1.create.memory'],
    ['sqlite', '1.create.sqlite'],
    ['compile', '1.stage.compile'],
  ] as const;
  for (const [suffix, subject] of subjects) {
    results.add({
      id: `1.base.naive.${suffix}`,
      figure: 1,
      label: `baseline: fresh ts.createProgram (vs ${subject})`,
      unit: 'ms',
      samples: naiveSamples,
      baselineOf: subject,
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// 2. first create_tool after start

export async function figure2(ctx: Context): Promise<void> {
  const { counts, results } = ctx;
  const toInitialize: number[] = [];
  const toFirstCreate: number[] = [];
  const afterInitialize: number[] = [];
  for (let i = 0; i < counts.firstCreate; i++) {
    const started = performance.now();
    await using app = await spawnServer(freshStore(ctx, 'f2'));
    const initialized = performance.now();
    await app.call('create_tool', lengthCreateArguments(LENGTH_TOOL));
    const created = performance.now();
    toInitialize.push(initialized - started);
    toFirstCreate.push(created - started);
    afterInitialize.push(created - initialized);
  }
  results.add({
    id: '2.spawn.init',
    figure: 2,
    label: 'spawn -> initialize answered',
    unit: 'ms',
    samples: toInitialize,
  });
  results.add({
    id: '2.spawn.create',
    figure: 2,
    label: 'spawn -> first create_tool answered',
    unit: 'ms',
    samples: toFirstCreate,
  });
  results.add({
    id: '2.init.create',
    figure: 2,
    label: 'initialize -> first create_tool answered',
    unit: 'ms',
    samples: afterInitialize,
  });
  if (ctx.warmCreateSamples) {
    results.add({
      id: '2.base.warm',
      figure: 2,
      label: 'baseline: warm create_tool in-process (figure 1)',
      unit: 'ms',
      samples: ctx.warmCreateSamples,
      baselineOf: '2.init.create',
    });
  }

  // Where the first create's time goes: a fresh pool's first run pays for loading QuickJS in the worker.
  const toReady: number[] = [];
  const firstRun: number[] = [];
  const secondRun: number[] = [];
  const template = ctx.template;
  if (!template) return;
  const request = {
    code: template.code,
    entry: template.name,
    inputJson: JSON.stringify(LENGTH_CALL),
  };
  const limits = runLimitsOf(DEFAULT_LIMITS);
  for (let i = 0; i < counts.coldPool; i++) {
    const started = performance.now();
    await using pool = createSandboxPool({ size: POOL_SIZE });
    await pool.ready();
    const ready = performance.now();
    const first = await pool.run(request, limits);
    const ran = performance.now();
    if (!first.ok) throw new Error(`sandbox run failed: ${first.message}`);
    await pool.run(request, limits);
    toReady.push(ready - started);
    firstRun.push(ran - ready);
    secondRun.push(performance.now() - ran);
  }
  results.add({
    id: '2.pool.ready',
    figure: 2,
    label: 'sandbox pool: start -> ready()',
    unit: 'ms',
    samples: toReady,
  });
  results.add({
    id: '2.pool.first',
    figure: 2,
    label: 'sandbox pool: first run after ready()',
    unit: 'ms',
    samples: firstRun,
  });
  results.add({
    id: '2.pool.second',
    figure: 2,
    label: 'sandbox pool: second run',
    unit: 'ms',
    samples: secondRun,
  });
}

// ---------------------------------------------------------------------------------------------------
// 3. dynamic tool call, server-side

export async function figure3(ctx: Context): Promise<void> {
  const { counts, results } = ctx;
  await using app = await startInProcess('memory');
  await app.call('create_tool', lengthCreateArguments(LENGTH_TOOL));
  const registry = app.toolsmith.registry;
  const record = registry.get(LENGTH_TOOL);
  if (!record) throw new Error('the created tool is not registered');
  const call = async (): Promise<void> => {
    const result = await registry.call(LENGTH_TOOL, { ...LENGTH_CALL });
    if (!result.ok || result.value !== LENGTH_CALL_RESULT) throw new Error('registry.call failed');
  };
  // Warm every worker (each loads its QuickJS module on its first run).
  await runInFlight(POOL_SIZE * 10, POOL_SIZE, call);

  const sequential = await timeEach(counts.callSequential, call);
  ctx.inProcessCallSamples = sequential;
  results.add({
    id: '3.call.seq',
    figure: 3,
    label: 'registry.call, sequential',
    unit: 'ms',
    samples: sequential,
  });

  for (const inFlight of [...new Set([POOL_SIZE, 32])]) {
    const rates: number[] = [];
    const latencies: number[] = [];
    for (let round = 0; round < counts.callRounds; round++) {
      const measured = await runInFlight(counts.callsPerRound, inFlight, call);
      rates.push((counts.callsPerRound * 1000) / measured.ms);
      latencies.push(...measured.latencies);
    }
    results.add({
      id: `3.call.rate.${inFlight}`,
      figure: 3,
      label: `registry.call, ${inFlight} in flight`,
      unit: 'calls/s',
      samples: rates,
      note: `${counts.callRounds} rounds of ${counts.callsPerRound} calls`,
    });
    results.add({
      id: `3.call.lat.${inFlight}`,
      figure: 3,
      label: `registry.call latency, ${inFlight} in flight`,
      unit: 'ms',
      samples: latencies,
    });
  }

  // The 3-test batch toolsmith runs for create_tool, to compare with spawning a process per batch.
  const limits = runLimitsOf(DEFAULT_LIMITS);
  const subject = {
    name: record.name,
    code: record.code,
    inputSchema: record.inputSchema,
    resultSchema: record.resultSchema,
  };
  const batchSamples = await timeEach(Math.max(10, counts.nodeBatches * 3), async () => {
    const tested = await runTests(app.toolsmith.sandbox, subject, LENGTH_TESTS, limits);
    if (tested.diagnostics.length > 0) throw new Error('the benchmark tool failed its tests');
  });
  results.add({
    id: '3.batch',
    figure: 3,
    label: 'test batch of 3 in the sandbox pool',
    unit: 'ms',
    samples: batchSamples,
  });

  // Baseline: node:vm, a fresh context per call, the same transpiled JS.
  const inputJson = JSON.stringify(LENGTH_CALL);
  if (vmCall(record.code, record.name, inputJson) !== String(LENGTH_CALL_RESULT)) {
    throw new Error('the node:vm baseline computes a different answer');
  }
  const vmSamples = timeEachSync(counts.vmCalls, () => vmCall(record.code, record.name, inputJson));
  results.add({
    id: '3.base.vm',
    figure: 3,
    label: 'baseline: node:vm fresh context per call (vs 3.call.seq)',
    unit: 'ms',
    samples: vmSamples,
    baselineOf: '3.call.seq',
  });

  // Peer: @sebastianwessel/quickjs, module loaded once outside the timing, a fresh sandbox per call.
  // The first calls check the answer and warm it up, as the pool's warm-up does for registry.call.
  const peer = await loadPeer(limits);
  for (let i = 0; i < 10; i++) {
    const answer = await peer.call(record.code, record.name, inputJson);
    if (answer !== String(LENGTH_CALL_RESULT)) {
      throw new Error(`the @sebastianwessel/quickjs peer answered ${answer}`);
    }
  }
  const peerSamples = await timeEach(counts.peerCalls, () =>
    peer.call(record.code, record.name, inputJson),
  );
  results.add({
    id: '3.base.sebastianwessel',
    figure: 3,
    label: 'peer: @sebastianwessel/quickjs runSandboxed per call (vs 3.call.seq)',
    unit: 'ms',
    samples: peerSamples,
    baselineOf: '3.call.seq',
    note: 'module loaded once; timed: one runSandboxed + evalCode (fresh runtime and context, input via env, same limits, JSON out), QuickJS-ng variant',
  });

  // Baseline: a node process per test batch.
  const script = nodeBatchScript(record.code, record.name, LENGTH_TESTS);
  const nodeOut = await run(process.execPath, ['-e', script]);
  if (!batchPasses(nodeOut, LENGTH_TESTS))
    throw new Error(`the node -e baseline fails the tests: ${nodeOut}`);
  const nodeSamples = await timeEach(counts.nodeBatches, () =>
    run(process.execPath, ['-e', script]),
  );
  results.add({
    id: '3.base.node',
    figure: 3,
    label: 'baseline: spawn node -e per batch of 3 (vs 3.batch)',
    unit: 'ms',
    samples: nodeSamples,
    baselineOf: '3.batch',
  });

  // Baseline: a python3 process per test batch, running the equivalent Python function.
  const python = pythonBatchScript(LENGTH_TESTS);
  if (await available('python3')) {
    const pyOut = await run('python3', ['-c', python]);
    if (!batchPasses(pyOut, LENGTH_TESTS))
      throw new Error(`the python3 baseline fails the tests: ${pyOut}`);
    const pySamples = await timeEach(counts.pythonBatches, () => run('python3', ['-c', python]));
    results.add({
      id: '3.base.python',
      figure: 3,
      label: 'baseline: spawn python3 -c per batch of 3 (vs 3.batch)',
      unit: 'ms',
      samples: pySamples,
      baselineOf: '3.batch',
    });
  } else {
    results.notMeasured({
      id: '3.base.python',
      figure: 3,
      label: 'baseline: spawn python3 -c per batch of 3',
      unit: 'ms',
      note: 'not measured (python3 not found)',
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// 4. dynamic tool call over stdio

export async function figure4(ctx: Context): Promise<void> {
  const { counts, results } = ctx;
  await using app = await spawnServer(freshStore(ctx, 'f4'));
  await app.call('create_tool', lengthCreateArguments(LENGTH_TOOL));
  await expectLengthAnswer(app, LENGTH_TOOL);
  const call = async (): Promise<void> => {
    await app.call(LENGTH_TOOL, { ...LENGTH_CALL });
  };
  await runInFlight(POOL_SIZE * 20, POOL_SIZE * 2, call);

  const sequential = await timeEach(counts.stdioSequential, call);
  results.add({
    id: '4.call.seq',
    figure: 4,
    label: 'tools/call over stdio, sequential',
    unit: 'ms',
    samples: sequential,
  });
  if (ctx.inProcessCallSamples) {
    results.add({
      id: '4.base.inproc',
      figure: 4,
      label: 'baseline: registry.call in-process (figure 3)',
      unit: 'ms',
      samples: ctx.inProcessCallSamples,
      baselineOf: '4.call.seq',
    });
  }
  const rates: number[] = [];
  const latencies: number[] = [];
  // Steady state, as a server that has been serving for a while: V8 tiers QuickJS's WASM up as it runs hot.
  await runInFlight(counts.stdioRateWarmup, 32, call);
  const serverCpuBefore = await cpuMs(app.pid);
  const mainCpuBefore = await mainThreadCpuMs(app.pid);
  const clientCpuBefore = process.cpuUsage();
  for (let round = 0; round < counts.stdioRounds; round++) {
    const measured = await runInFlight(counts.stdioPerRound, 32, call);
    rates.push((counts.stdioPerRound * 1000) / measured.ms);
    latencies.push(...measured.latencies);
  }
  const serverCpuAfter = await cpuMs(app.pid);
  const mainCpuAfter = await mainThreadCpuMs(app.pid);
  const clientCpu = process.cpuUsage(clientCpuBefore);
  results.add({
    id: '4.call.rate.32',
    figure: 4,
    label: 'tools/call over stdio, 32 in flight',
    unit: 'calls/s',
    samples: rates,
    note: `${counts.stdioRounds} rounds of ${counts.stdioPerRound} calls, after ${counts.stdioRateWarmup} warm-up calls`,
  });
  results.add({
    id: '4.call.lat.32',
    figure: 4,
    label: 'tools/call latency, 32 in flight',
    unit: 'ms',
    samples: latencies,
  });
  // What limits the rate: CPU per call, on the cores the server and this client share.
  const calls = counts.stdioRounds * counts.stdioPerRound;
  if (serverCpuBefore !== undefined && serverCpuAfter !== undefined) {
    results.add({
      id: '4.cpu.server',
      figure: 4,
      label: 'server CPU per call at 32 in flight (all threads, compiler process)',
      unit: 'ms',
      samples: [(serverCpuAfter - serverCpuBefore) / calls],
    });
  }
  if (mainCpuBefore !== undefined && mainCpuAfter !== undefined) {
    results.add({
      id: '4.cpu.server.main',
      figure: 4,
      label: "of which the server's main thread (stdio, JSON-RPC, validation, the pool)",
      unit: 'ms',
      samples: [(mainCpuAfter - mainCpuBefore) / calls],
    });
  }
  results.add({
    id: '4.cpu.client',
    figure: 4,
    label: 'benchmark client (MCP SDK) CPU per call at 32 in flight',
    unit: 'ms',
    samples: [(clientCpu.user + clientCpu.system) / 1000 / calls],
  });
}

// ---------------------------------------------------------------------------------------------------
// 5 and 7. tools/list with many tools, start time, and idle RSS

/** A copy of `template` renamed to `name` (source, code and hash), so the copy is callable too. */
function renamed(template: ToolRecord, name: string): ToolRecord {
  const pattern = new RegExp(`\\b${template.name}\\b`, 'g');
  const source = template.source.replace(pattern, name);
  return {
    ...template,
    name,
    source,
    code: template.code.replace(pattern, name),
    sourceHash: createHash('sha256').update(source).digest('hex'),
  };
}

async function idleRss(ctx: Context, app: SpawnedSession, settleMs: number): Promise<number[]> {
  await sleep(settleMs);
  const samples: number[] = [];
  for (let i = 0; i < ctx.counts.rssSamples; i++) {
    samples.push(await rssMiB(app.pid));
    await sleep(100);
  }
  return samples;
}

export async function figure5and7(ctx: Context): Promise<void> {
  const { counts, results } = ctx;
  const template = ctx.template;
  if (!template) throw new Error('figure 1 produced no template record');
  const seeded = freshStore(ctx, 'f5-seeded');
  const names: string[] = [];
  {
    await using store = await openKeyvStore({ url: seeded });
    const putSamples = await timeEach(counts.listTools, async (i) => {
      const name = `${template.name}_${String(i).padStart(4, '0')}`;
      names.push(name);
      await store.put(renamed(template, name));
    });
    results.add({
      id: '5.seed.put',
      figure: 5,
      label: 'seeding: store.put per record (SQLite)',
      unit: 'ms',
      samples: putSamples,
    });
  }
  const settleMs = ctx.quick ? 500 : 1500;

  // Start time: spawn -> initialize answered (the first answered request) and -> first tools/list.
  const startSeries = async (
    storeFor: () => string,
  ): Promise<{ init: number[]; list: number[] }> => {
    const init: number[] = [];
    const list: number[] = [];
    for (let i = 0; i < counts.starts; i++) {
      const started = performance.now();
      await using app = await spawnServer(storeFor());
      init.push(performance.now() - started);
      await app.client.listTools();
      list.push(performance.now() - started);
    }
    return { init, list };
  };
  // The second start target: a store of at most 1,000 tools (the first 1,000 of the same seed).
  const smallCount = Math.min(1_000, counts.listTools);
  const small = freshStore(ctx, 'f5-small');
  {
    await using store = await openKeyvStore({ url: small });
    for (const name of names.slice(0, smallCount)) await store.put(renamed(template, name));
  }
  const seededStart = await startSeries(() => seeded);
  const smallStart = await startSeries(() => small);
  const emptyStart = await startSeries(() => freshStore(ctx, 'f5-empty'));
  results.add({
    id: '5.start.small.init',
    figure: 5,
    label: `${smallCount} tools: spawn -> initialize answered`,
    unit: 'ms',
    samples: smallStart.init,
  });
  const tools = `${counts.listTools} tools`;
  results.add({
    id: '5.start.init',
    figure: 5,
    label: `${tools}: spawn -> initialize answered`,
    unit: 'ms',
    samples: seededStart.init,
  });
  results.add({
    id: '5.start.list',
    figure: 5,
    label: `${tools}: spawn -> first tools/list answered`,
    unit: 'ms',
    samples: seededStart.list,
  });
  results.add({
    id: '5.base.start.init',
    figure: 5,
    label: 'baseline: empty store, spawn -> initialize answered',
    unit: 'ms',
    samples: emptyStart.init,
    baselineOf: '5.start.init',
  });
  results.add({
    id: '5.base.start.list',
    figure: 5,
    label: 'baseline: empty store, spawn -> first tools/list answered',
    unit: 'ms',
    samples: emptyStart.list,
    baselineOf: '5.start.list',
  });

  // tools/list and RSS on one seeded server, listing everything in one answer (no pagination).
  await using app = await spawnServer(seeded, ['--list-page-size', '0']);
  const first = await app.client.listTools();
  const expected = counts.listTools + META_TOOL_NAMES.length;
  if (first.tools.length !== expected)
    throw new Error(`tools/list returned ${first.tools.length} tools, expected ${expected}`);
  const bytes = JSON.stringify(first).length;
  const listSamples = await timeEach(counts.listRequests, async () => {
    const listed = await app.client.listTools();
    if (listed.tools.length !== expected) throw new Error('tools/list lost tools');
  });
  results.add({
    id: '5.list',
    figure: 5,
    label: `tools/list, ${counts.listTools} tools (+${META_TOOL_NAMES.length} meta), one answer`,
    unit: 'ms',
    samples: listSamples,
    note: `${(bytes / 1024).toFixed(0)} KiB of JSON`,
  });
  {
    // The default server pages tools/list (1,000 tools per page): time a first and a later page.
    await using paged = await spawnServer(seeded);
    const firstPage = await paged.client.listTools();
    const cursor = firstPage.nextCursor;
    const pageSamples = await timeEach(counts.listRequests, async (i) => {
      const page = await paged.client.listTools(i % 2 === 1 && cursor ? { cursor } : {});
      if (page.tools.length === 0) throw new Error('empty tools/list page');
    });
    results.add({
      id: '5.list.page',
      figure: 5,
      label: `tools/list, one page of ${firstPage.tools.length} (default pagination)`,
      unit: 'ms',
      samples: pageSamples,
      note: `${(JSON.stringify(firstPage).length / 1024).toFixed(0)} KiB of JSON per page`,
    });
  }

  const idle = await idleRss(ctx, app, settleMs);
  results.add({
    id: '7.rss.seeded',
    figure: 7,
    label: `idle, ${counts.listTools} tools, after tools/list`,
    unit: 'MiB',
    samples: idle,
  });
  // After every worker has run a tool (each worker loads its own QuickJS module on its first run).
  const callName = names[0] ?? template.name;
  await runInFlight(POOL_SIZE * 4, POOL_SIZE * 2, async () => {
    await app.call(callName, { ...LENGTH_CALL });
  });
  await expectLengthAnswer(app, callName);
  const afterCalls = await idleRss(ctx, app, settleMs);
  results.add({
    id: '7.rss.seeded.called',
    figure: 7,
    label: `idle, ${counts.listTools} tools, after calls on every worker`,
    unit: 'MiB',
    samples: afterCalls,
  });

  {
    await using empty = await spawnServer(freshStore(ctx, 'f7-empty'));
    await empty.client.listTools();
    const emptyIdle = await idleRss(ctx, empty, settleMs);
    results.add({
      id: '7.base.rss.empty',
      figure: 7,
      label: 'baseline: idle, empty store, after tools/list',
      unit: 'MiB',
      samples: emptyIdle,
      baselineOf: '7.rss.seeded',
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// 6. cheap call latency while 3 callers run a tool that loops until its time limit

export async function figure6(ctx: Context): Promise<void> {
  const { counts, results } = ctx;
  await using app = await spawnServer(freshStore(ctx, 'f6'), ['--timeout-ms', '200']);
  await app.call('create_tool', lengthCreateArguments(LENGTH_TOOL));
  await app.call('create_tool', SPIN_ARGUMENTS);
  const cheap = async (): Promise<void> => {
    await app.call(LENGTH_TOOL, { ...LENGTH_CALL });
  };
  await runInFlight(POOL_SIZE * 10, POOL_SIZE, cheap);

  const noLoad = await timeEach(counts.cheapNoLoad, cheap);

  let stop = false;
  let spins = 0;
  let timeouts = 0;
  const failures: unknown[] = [];
  const spinner = async (): Promise<void> => {
    try {
      while (!stop) {
        const result = await app.call(SPIN_TOOL, { forever: true }, true);
        spins++;
        if (result.isError === true && textOf(result).includes('(timeout)')) timeouts++;
      }
    } catch (error) {
      failures.push(error);
    }
  };
  const spinners = [spinner(), spinner(), spinner()];
  await sleep(50);
  const underLoad = await timeEach(counts.cheapUnderLoad, cheap);
  stop = true;
  await Promise.all(spinners);
  if (failures.length > 0) throw new Error(`a spinning caller failed: ${String(failures[0])}`);
  if (timeouts !== spins)
    throw new Error(`only ${timeouts} of ${spins} spin calls hit the time limit`);

  results.add({
    id: '6.cheap.load',
    figure: 6,
    label: `cheap call, 3 callers spinning (pool ${POOL_SIZE})`,
    unit: 'ms',
    samples: underLoad,
    note: `${spins} spin calls, all stopped at the 200 ms limit`,
  });
  results.add({
    id: '6.base.cheap.idle',
    figure: 6,
    label: 'baseline: cheap call, no load',
    unit: 'ms',
    samples: noLoad,
    baselineOf: '6.cheap.load',
    ratioOn: 'p99',
  });
}
