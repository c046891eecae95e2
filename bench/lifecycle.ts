/**
 * Figure 8 (issue #6): the duplicate check's speed at 1,000 and 10,000 tools, and the per-call cost of health
 * tracking, measured in the same run as registry.call itself.
 */
import { join } from 'node:path';
import { SILENT_LOGGER } from '../src/log.js';
import { DEFAULT_QUARANTINE_POLICY, HealthTracker } from '../src/registry/health.js';
import {
  DEFAULT_DUPLICATE_THRESHOLD,
  ToolIndex,
  type ToolShape,
} from '../src/registry/similarity.js';
import { openKeyvStore } from '../src/store/keyv-store.js';
import type { Context } from './figures.js';
import { timeEach, timeEachSync } from './stats.js';

const VERBS = [
  'convert',
  'parse',
  'format',
  'compute',
  'validate',
  'count',
  'merge',
  'split',
  'sort',
  'filter',
  'encode',
  'decode',
  'round',
  'scale',
  'normalize',
  'summarize',
];
const NOUNS = [
  'length',
  'temperature',
  'date',
  'duration',
  'csv',
  'json',
  'color',
  'currency',
  'invoice',
  'matrix',
  'vector',
  'word',
  'email',
  'url',
  'semver',
  'roman',
  'bytes',
  'weights',
  'histogram',
  'password',
  'token',
  'angle',
  'speed',
  'volume',
];
const PARAMS = [
  'value',
  'text',
  'from',
  'to',
  'unit',
  'items',
  'rows',
  'decimals',
  'limit',
  'separator',
  'locale',
  'strict',
  'base',
  'factor',
];

/** A deterministic library of `count` plausible, distinct tools. */
function syntheticTools(count: number): ToolShape[] {
  const tools: ToolShape[] = [];
  for (let i = 0; i < count; i++) {
    const verb = VERBS[i % VERBS.length] ?? 'do';
    const noun = NOUNS[Math.floor(i / VERBS.length) % NOUNS.length] ?? 'thing';
    const properties: Record<string, { type: string }> = {};
    for (let p = 0; p < 1 + (i % 4); p++)
      properties[PARAMS[(i + p * 5) % PARAMS.length] ?? 'x'] = {
        type: p % 2 ? 'number' : 'string',
      };
    tools.push({
      name: `${verb}_${noun}_${i}`,
      description: `${verb} a ${noun} (variant ${i}) using ${Object.keys(properties).join(' and ')}.`,
      inputSchema: { type: 'object', properties },
    });
  }
  return tools;
}

export async function figure8(ctx: Context): Promise<void> {
  const { results } = ctx;
  const probe: ToolShape = {
    name: 'convert_length_units',
    description: 'Convert a length between metric and imperial units.',
    inputSchema: {
      type: 'object',
      properties: { value: { type: 'number' }, from: { type: 'string' }, to: { type: 'string' } },
    },
  };
  for (const size of [1_000, 10_000]) {
    const index = new ToolIndex();
    for (const tool of syntheticTools(size)) index.upsert(tool);
    const repetitions = ctx.quick ? 5 : size >= 10_000 ? 30 : 100;
    results.add({
      id: `8.similar.${size}`,
      figure: 8,
      label: `duplicate check against ${size.toLocaleString('en')} tools`,
      unit: 'ms',
      samples: timeEachSync(repetitions, () => index.similar(probe, DEFAULT_DUPLICATE_THRESHOLD)),
    });
    results.add({
      id: `8.search.${size}`,
      figure: 8,
      label: `search_tools ranking over ${size.toLocaleString('en')} tools`,
      unit: 'ms',
      samples: timeEachSync(repetitions, () => index.search('convert length units metric', 10)),
    });
  }

  // Health tracking: the in-memory update a call pays, plus its share of the batched SQLite writes.
  await using store = await openKeyvStore({ url: join(ctx.tmp, 'health.sqlite') });
  const tracker = new HealthTracker(
    store,
    DEFAULT_QUARANTINE_POLICY,
    SILENT_LOGGER,
    () => new Date(),
    3_600_000,
  );
  const perBatch = 1000;
  const batches = ctx.quick ? 3 : 20;
  const samples = await timeEach(batches, async (b) => {
    for (let i = 0; i < perBatch; i++) {
      // 50 tools, as a busy server would see: every batch flushes 50 dirty records.
      const name = `tool_${i % 50}`;
      if (i % 10 === 0)
        tracker.recordFailure(name, 'threw', 'Error: nope', 1.2, `{"i":${b * perBatch + i}}`);
      else tracker.recordSuccess(name, 0.8);
    }
    await tracker.flush();
  });
  await tracker[Symbol.asyncDispose]();
  results.add({
    id: '8.health.per-call',
    figure: 8,
    label: 'health tracking per call (update + share of batched SQLite flush)',
    unit: 'ms',
    samples: samples.map((ms) => ms / perBatch),
  });
  if (ctx.inProcessCallSamples) {
    results.add({
      id: '8.call.with-health',
      figure: 8,
      label: 'registry.call with health tracking (figure 3, same run)',
      unit: 'ms',
      samples: ctx.inProcessCallSamples,
    });
  }
}
