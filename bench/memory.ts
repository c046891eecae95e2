/**
 * Figure 9 (issue #4): the server's RSS stays flat over 10,000 calls (quick: 1,000), 1% of which hit the
 * memory limit. A QuickJS WASM heap never shrinks, so the pool recycles a worker after a memory-limit hit;
 * this figure shows that the recycling keeps a long-running server's memory flat.
 */
import { join } from 'node:path';
import type { Context } from './figures.js';
import { LENGTH_CALL, LENGTH_TOOL, lengthCreateArguments } from './fixture.js';
import { rssMiB, spawnServer, textOf } from './server.js';
import { runInFlight } from './stats.js';

const BOMB = {
  name: 'memory_bomb',
  description: 'Allocates until the memory limit when asked to (a benchmark load generator).',
  source: `export function memory_bomb(input: { explode: boolean }): number {
  const kept: number[][] = [];
  while (input.explode || kept.length < 10) kept.push([kept.length, 1, 2, 3]);
  return kept.length;
}
`,
  tests: [{ input: { explode: false }, expected: 10 }],
  allowSimilar: true,
};

export async function figure9(ctx: Context): Promise<void> {
  const total = ctx.quick ? 1_000 : 10_000;
  await using app = await spawnServer(join(ctx.tmp, 'rss.sqlite'), [
    // The bomb fails on purpose every time: keep it out of quarantine for this measurement.
    '--quarantine-after',
    '1000000',
    '--quarantine-window',
    '10000',
  ]);
  for (const args of [lengthCreateArguments(LENGTH_TOOL), BOMB]) {
    const created = await app.call('create_tool', args);
    if (created.isError) throw new Error(`create_tool failed: ${textOf(created)}`);
  }
  const checkpoints: { calls: number; rss: number }[] = [{ calls: 0, rss: await rssMiB(app.pid) }];
  let done = 0;
  let memoryHits = 0;
  const step = total / 4;
  for (let block = 0; block < 4; block++) {
    await runInFlight(step, 4, async () => {
      const n = done++;
      if (n % 100 === 99) {
        const result = await app.call('memory_bomb', { explode: true }, true);
        if (!result.isError || !/memory/.test(textOf(result)))
          throw new Error(`expected a memory-limit hit: ${textOf(result)}`);
        memoryHits++;
      } else {
        const result = await app.call(LENGTH_TOOL, { ...LENGTH_CALL });
        if (result.isError) throw new Error(`call failed: ${textOf(result)}`);
      }
    });
    checkpoints.push({ calls: (block + 1) * step, rss: await rssMiB(app.pid) });
  }
  for (const point of checkpoints) {
    ctx.results.add({
      id: `9.rss.${point.calls}`,
      figure: 9,
      label: `server RSS after ${point.calls.toLocaleString('en')} calls (${Math.round(point.calls / 100)} memory-limit hits)`,
      unit: 'MiB',
      samples: [point.rss],
      ...(point.calls === total
        ? {
            note: `${memoryHits} memory-limit hits in all; growth from the first checkpoint ${(point.rss - (checkpoints[1]?.rss ?? point.rss)).toFixed(1)} MiB`,
          }
        : {}),
    });
  }
}
