/** The benchmark's rows, the printed table and the JSON results file. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summarize, summarizeRates, type Summary } from './stats.js';

export type Unit = 'ms' | 'calls/s' | 'MiB';

export interface Row {
  /** Stable id, e.g. "3.call.seq"; baselines refer to the row they are compared with by id. */
  readonly id: string;
  readonly figure: number;
  readonly label: string;
  readonly unit: Unit;
  /** null when the row was not measured (see `note`). */
  readonly summary: Summary | null;
  /** For a baseline row: the toolsmith row it is compared with. */
  readonly baselineOf?: string;
  /** The statistic the ratio compares (median unless stated). */
  readonly ratioOn?: 'median' | 'p99';
  /** toolsmith ÷ baseline on `ratioOn`, filled in by `computeRatios`. */
  ratio?: number;
  readonly note?: string;
}

export class Results {
  readonly rows: Row[] = [];
  readonly errors: { figure: number; message: string }[] = [];

  add(row: Omit<Row, 'summary'> & { samples: readonly number[] }): Row {
    const { samples, ...rest } = row;
    const summary = row.unit === 'calls/s' ? summarizeRates(samples) : summarize(samples);
    const added: Row = { ...rest, summary };
    this.rows.push(added);
    return added;
  }

  notMeasured(row: Omit<Row, 'summary' | 'note'> & { note: string }): void {
    this.rows.push({ ...row, summary: null });
  }

  /** Fills `ratio` on every baseline row whose subject was measured. */
  computeRatios(): void {
    for (const row of this.rows) {
      if (!row.baselineOf || !row.summary) continue;
      const subject = this.rows.find((r) => r.id === row.baselineOf);
      if (!subject?.summary) continue;
      const on = row.ratioOn ?? 'median';
      row.ratio = subject.summary[on] / row.summary[on];
    }
  }
}

const FIGURE_TITLES: Record<number, string> = {
  1: 'create_tool end to end, warm (tool with 3 tests)',
  2: 'first create_tool after start (spawned server, stdio)',
  3: 'dynamic tool call, server-side (registry.call)',
  4: 'dynamic tool call over stdio, end to end',
  5: 'tools/list with many tools over stdio, and start time',
  6: 'cheap call latency while 3 callers run a looping tool (--timeout-ms 200)',
  7: 'server RSS, idle',
  8: 'lifecycle: duplicate check, search ranking and health tracking',
  9: 'server RSS over many calls, 1% hitting the memory limit (workers recycled)',
};

function format(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return '-';
  if (unit === 'calls/s') return value >= 100 ? value.toFixed(0) : value.toFixed(1);
  if (unit === 'MiB') return value.toFixed(1);
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '-';
  return `${ratio >= 10 ? ratio.toFixed(0) : ratio >= 0.1 ? ratio.toFixed(2) : ratio.toFixed(3)}x`;
}

/** The table printed to stdout: one section per figure. */
export function renderTable(results: Results): string {
  const header = ['id', 'measure', 'n', 'median', 'p95', 'p99', 'unit', 'ratio', 'vs'];
  const cells = (r: Row): string[] => {
    const s = r.summary;
    if (!s) return [r.id, r.label, '', r.note ?? 'not measured'];
    const ratio =
      r.ratio === undefined ? '' : `${formatRatio(r.ratio)}${r.ratioOn === 'p99' ? ' p99' : ''}`;
    return [
      r.id,
      r.label,
      String(s.n),
      format(s.median, r.unit),
      format(s.p95, r.unit),
      format(s.p99, r.unit),
      r.unit,
      ratio,
      r.ratio === undefined ? '' : (r.baselineOf ?? ''),
    ];
  };
  const measured = results.rows.filter((r) => r.summary).map(cells);
  const widths = header.map((h, i) =>
    Math.max(h.length, ...measured.map((c) => (c[i] ?? '').length)),
  );
  const left = new Set([0, 1, 8]);
  const pad = (row: string[]): string =>
    row
      .map((c, i) => (left.has(i) ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  const out: string[] = [pad(header)];
  const figures = [...new Set(results.rows.map((r) => r.figure))].sort((a, b) => a - b);
  for (const figure of figures) {
    out.push('', `${figure}. ${FIGURE_TITLES[figure] ?? ''}`);
    for (const row of results.rows.filter((r) => r.figure === figure)) {
      const c = cells(row);
      if (row.summary) {
        out.push(pad(c));
        if (row.note) out.push(`${' '.repeat((widths[0] ?? 0) + 2)}  (${row.note})`);
      } else {
        out.push(
          `${(c[0] ?? '').padEnd(widths[0] ?? 0)}  ${(c[1] ?? '').padEnd(widths[1] ?? 0)}  ${c[3] ?? ''}`,
        );
      }
    }
  }
  for (const error of results.errors)
    out.push('', `figure ${error.figure} FAILED: ${error.message}`);
  out.push(
    '',
    'ratio = the "vs" row divided by this baseline row, on the median (p99 where marked); for time',
    'rows below 1 means the "vs" row is faster. For calls/s rows p95/p99 are the 5th/1st-percentile rates.',
  );
  return out.join('\n');
}

/** Writes `bench/results/<ISO date>.json` (relative to the repository) and returns its path. */
export async function writeResults(
  results: Results,
  meta: Record<string, unknown>,
): Promise<string> {
  const dir = fileURLToPath(new URL('../../bench/results/', import.meta.url));
  await mkdir(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/:/g, '-');
  const path = join(dir, `${stamp}.json`);
  const body = {
    meta,
    rows: results.rows.map((r) => ({
      id: r.id,
      figure: r.figure,
      label: r.label,
      unit: r.unit,
      ...(r.summary ?? { n: 0, median: null, p95: null, p99: null, min: null, max: null }),
      ...(r.baselineOf ? { baselineOf: r.baselineOf, ratioOn: r.ratioOn ?? 'median' } : {}),
      ...(r.ratio !== undefined ? { ratio: r.ratio } : {}),
      ...(r.note ? { note: r.note } : {}),
    })),
    errors: results.errors,
  };
  await writeFile(path, `${JSON.stringify(body, null, 2)}\n`);
  return path;
}
