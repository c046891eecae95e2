/** Small statistics and timing helpers for the benchmark harness. */

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p95: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** Nearest-rank percentile of an ascending array; `p` in (0, 100]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN;
}

/** Median (mean of the two middle values for an even count) of `samples`. */
export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const mid = Math.floor(n / 2);
  const upper = sorted[mid] ?? Number.NaN;
  return n % 2 === 1 ? upper : ((sorted[mid - 1] ?? upper) + upper) / 2;
}

export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    median: median(sorted),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

/**
 * Summary of rates (higher is better): the "p95" and "p99" are the rates of the rounds at the 95th and
 * 99th percentile of round duration, i.e. the 5th and 1st percentile of the rates.
 */
export function summarizeRates(rates: readonly number[]): Summary {
  const sorted = [...rates].sort((a, b) => b - a);
  return {
    n: sorted.length,
    median: median([...rates].sort((a, b) => a - b)),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    min: sorted[sorted.length - 1] ?? Number.NaN,
    max: sorted[0] ?? Number.NaN,
  };
}

/** Runs `fn` `count` times in sequence and returns the duration of each run in ms. */
export async function timeEach(
  count: number,
  fn: (i: number) => Promise<unknown>,
): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await fn(i);
    samples.push(performance.now() - started);
  }
  return samples;
}

/** Synchronous variant of `timeEach`. */
export function timeEachSync(count: number, fn: (i: number) => unknown): number[] {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    fn(i);
    samples.push(performance.now() - started);
  }
  return samples;
}

/**
 * Runs `total` calls of `fn` with at most `inFlight` outstanding; returns the wall time in ms and each
 * call's latency.
 */
export async function runInFlight(
  total: number,
  inFlight: number,
  fn: (i: number) => Promise<unknown>,
): Promise<{ ms: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const started = performance.now();
      await fn(i);
      latencies.push(performance.now() - started);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(inFlight, total) }, lane));
  return { ms: performance.now() - started, latencies };
}

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
