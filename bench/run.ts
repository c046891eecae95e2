/**
 * The benchmark harness: `npm run bench` (full, a few minutes) or `npm run bench -- --quick` (CI: small
 * counts, under a minute); `-- --only=3,4` runs some figures. Prints a table of median / p95 / p99 per figure with ratios against baselines
 * measured in the same run, and writes the same to bench/results/<ISO date>.json. Never asserts on time;
 * exits non-zero only when a figure could not be measured at all (a functional failure).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { ts } from '../src/compiler/typescript.js';
import { VERSION } from '../src/version.js';
import {
  figure1,
  figure2,
  figure3,
  figure4,
  figure5and7,
  figure6,
  FULL,
  QUICK,
  type Context,
} from './figures.js';
import { figure8 } from './lifecycle.js';
import { figure9 } from './memory.js';
import { renderTable, Results, writeResults } from './report.js';
import { POOL_SIZE } from './server.js';

const FIGURES: readonly { figure: number; title: string; run: (ctx: Context) => Promise<void> }[] =
  [
    { figure: 1, title: 'create_tool, warm', run: figure1 },
    { figure: 3, title: 'dynamic tool call, server-side', run: figure3 },
    { figure: 2, title: 'first create_tool after start', run: figure2 },
    { figure: 4, title: 'dynamic tool call over stdio', run: figure4 },
    { figure: 5, title: 'tools/list, start time and RSS (figures 5 and 7)', run: figure5and7 },
    { figure: 6, title: 'cheap calls under spinning load', run: figure6 },
    { figure: 8, title: 'lifecycle: duplicate check and health tracking', run: figure8 },
    { figure: 9, title: 'RSS over many calls with memory-limit hits', run: figure9 },
  ];

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const onlyArgument = args.find((a) => a.startsWith('--only='));
  const unknown = args.filter((a) => a !== '--quick' && a !== onlyArgument);
  const only = onlyArgument?.slice('--only='.length).split(',').map(Number);
  if (unknown.length > 0 || only?.some((n) => !FIGURES.some((f) => f.figure === n))) {
    process.stderr.write(
      `bench: unknown argument ${unknown.join(' ') || onlyArgument} (--quick, --only=N[,M...] with figures ${FIGURES.map((f) => f.figure).join(',')})\n`,
    );
    return 2;
  }
  const quick = args.includes('--quick');
  const counts = quick ? QUICK : FULL;
  const results = new Results();
  const tmp = await mkdtemp(join(tmpdir(), 'toolsmith-bench-'));
  const ctx: Context = { counts, quick, results, tmp };
  const started = performance.now();
  const log = (line: string): void => {
    process.stderr.write(`[bench ${((performance.now() - started) / 1000).toFixed(1)}s] ${line}\n`);
  };
  log(`${quick ? 'quick' : 'full'} mode, pool size ${POOL_SIZE}, temp dir ${tmp}`);
  try {
    // --only runs a subset, for working on one figure; a published table comes from a run of all of them.
    for (const { figure, title, run } of FIGURES.filter((f) => !only || only.includes(f.figure))) {
      log(`figure ${figure}: ${title}`);
      try {
        await run(ctx);
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        results.errors.push({ figure, message });
        log(
          `figure ${figure} failed: ${error instanceof Error ? (error.stack ?? message) : message}`,
        );
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  results.computeRatios();
  const seconds = (performance.now() - started) / 1000;
  log(`done in ${seconds.toFixed(1)} s`);

  const cpu = cpus()[0]?.model ?? 'unknown';
  const meta = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    seconds,
    toolsmith: VERSION,
    node: process.version,
    typescript: ts.version,
    platform: `${process.platform} ${process.arch}`,
    cpu,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    poolSize: POOL_SIZE,
    counts,
  };
  process.stdout.write(
    `toolsmith ${VERSION} benchmark (${meta.mode}): node ${process.version}, ${meta.cores} x ${cpu}, pool size ${POOL_SIZE}\n\n`,
  );
  process.stdout.write(`${renderTable(results)}\n`);
  const path = await writeResults(results, meta);
  process.stdout.write(`\nwrote ${path}\n`);
  return results.errors.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
