/**
 * Runtime health per tool, and the quarantine rule. Counts live in memory and are written to the store in
 * batches (at most once per `flushIntervalMs`), so health tracking adds no I/O to a call; a crash loses at
 * most the last interval of counts.
 */
import type { HealthRecord } from '../store/record.js';
import type { ToolStore } from '../store/tool-store.js';
import type { Logger } from '../log.js';

export interface QuarantinePolicy {
  /** Quarantine after this many consecutive tool-fault failures. */
  readonly consecutiveFailures: number;
  /** ... or when the tool-fault failure rate over the last `window` calls exceeds this (0..1). */
  readonly failureRate: number;
  readonly window: number;
}

export const DEFAULT_QUARANTINE_POLICY: QuarantinePolicy = Object.freeze({
  consecutiveFailures: 5,
  failureRate: 0.5,
  window: 20,
});

const LATENCY_SAMPLES = 101;
const FAILING_INPUTS = 5;
const INPUT_CAP_CHARS = 1000;
const MESSAGE_CAP_CHARS = 500;

/**
 * Whether a failure is the tool's own fault. A plain `Error` is a tool refusing bad input on purpose (the
 * caller's fault) and engine errors (TypeError, ReferenceError, RangeError…) are bugs; time, memory and
 * stack limits and wrong results are always the tool's. Cancellations and sandbox crashes are nobody's.
 */
export function isToolFault(kind: string, message: string): boolean {
  if (kind === 'threw')
    return /^(TypeError|ReferenceError|RangeError|InternalError|SyntaxError|URIError|EvalError): /.test(
      message,
    );
  return (
    kind === 'timeout' ||
    kind === 'memory' ||
    kind === 'stack' ||
    kind === 'not_json' ||
    kind === 'bad_result'
  );
}

export function emptyHealth(): HealthRecord {
  return {
    calls: 0,
    successes: 0,
    failures: {},
    argumentRefusals: 0,
    recentMs: [],
    recentOutcomes: [],
    consecutiveFailures: 0,
    lastError: null,
    failingInputs: [],
    quarantine: null,
  };
}

/** What a recorded outcome changed about the tool's quarantine state. */
export type QuarantineChange = { readonly quarantined: { readonly reason: string } } | undefined;

export class HealthTracker implements AsyncDisposable {
  private readonly records = new Map<string, HealthRecord>();
  private readonly dirty = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly store: ToolStore;
  private readonly policy: QuarantinePolicy;
  private readonly logger: Logger;
  private readonly clock: () => Date;

  constructor(
    store: ToolStore,
    policy: QuarantinePolicy,
    logger: Logger,
    clock: () => Date,
    flushIntervalMs = 1000,
  ) {
    this.store = store;
    this.policy = policy;
    this.logger = logger;
    this.clock = clock;
    this.timer = setInterval(() => void this.flush(), flushIntervalMs);
    this.timer.unref();
  }

  load(name: string, record: HealthRecord): void {
    this.records.set(name, { ...emptyHealth(), ...record });
  }

  get(name: string): HealthRecord {
    return this.records.get(name) ?? emptyHealth();
  }

  isQuarantined(name: string): boolean {
    return this.records.get(name)?.quarantine != null;
  }

  recordSuccess(name: string, ms: number): void {
    const h = this.get(name);
    this.update(name, {
      ...h,
      calls: h.calls + 1,
      successes: h.successes + 1,
      recentMs: bounded(h.recentMs, ms, LATENCY_SAMPLES),
      recentOutcomes: bounded(h.recentOutcomes, true, this.policy.window),
      consecutiveFailures: 0,
    });
  }

  recordRefusal(name: string): void {
    const h = this.get(name);
    this.update(name, { ...h, argumentRefusals: h.argumentRefusals + 1 });
  }

  /** Records a failed call; returns the quarantine it triggered, if any. */
  recordFailure(
    name: string,
    kind: string,
    message: string,
    ms: number,
    inputJson: string,
  ): QuarantineChange {
    const h = this.get(name);
    const fault = isToolFault(kind, message);
    const input =
      inputJson.length > INPUT_CAP_CHARS ? `${inputJson.slice(0, INPUT_CAP_CHARS)}…` : inputJson;
    const next: HealthRecord = {
      ...h,
      calls: h.calls + 1,
      failures: { ...h.failures, [kind]: (h.failures[kind] ?? 0) + 1 },
      recentMs: bounded(h.recentMs, ms, LATENCY_SAMPLES),
      // Only the tool's own faults count against it; a refused input or a cancelled call does not.
      recentOutcomes: fault
        ? bounded(h.recentOutcomes, false, this.policy.window)
        : h.recentOutcomes,
      consecutiveFailures: fault ? h.consecutiveFailures + 1 : h.consecutiveFailures,
      lastError: {
        at: this.clock().toISOString(),
        kind,
        message: message.slice(0, MESSAGE_CAP_CHARS),
        input,
      },
      failingInputs: fault
        ? bounded(
            h.failingInputs.filter((i) => i !== input),
            input,
            FAILING_INPUTS,
          )
        : h.failingInputs,
    };
    const reason = next.quarantine ? undefined : this.quarantineReason(next);
    this.update(
      name,
      reason ? { ...next, quarantine: { since: this.clock().toISOString(), reason } } : next,
    );
    return reason ? { quarantined: { reason } } : undefined;
  }

  /** Lifts a quarantine (after a successful replace or rollback) and starts the failure window afresh. */
  release(name: string): boolean {
    const h = this.get(name);
    if (!h.quarantine) return false;
    this.update(name, {
      ...h,
      quarantine: null,
      consecutiveFailures: 0,
      recentOutcomes: [],
      failingInputs: [],
    });
    return true;
  }

  forget(name: string): void {
    this.records.delete(name);
    this.dirty.delete(name);
  }

  /** Writes every changed record now. */
  async flush(): Promise<void> {
    const run = async (): Promise<void> => {
      const names = [...this.dirty];
      this.dirty.clear();
      for (const name of names) {
        const record = this.records.get(name);
        if (!record) continue;
        try {
          await this.store.putHealth(name, record);
        } catch (error) {
          this.dirty.add(name);
          this.logger.warn(`could not save the health of "${name}"`, error);
        }
      }
    };
    this.flushing = this.flushing.then(run, run);
    await this.flushing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private quarantineReason(h: HealthRecord): string | undefined {
    const p = this.policy;
    if (h.consecutiveFailures >= p.consecutiveFailures)
      return `${h.consecutiveFailures} consecutive failures`;
    const window = h.recentOutcomes;
    if (window.length >= p.window) {
      const failures = window.filter((o) => !o).length;
      if (failures / window.length > p.failureRate)
        return `${failures} of the last ${window.length} calls failed`;
    }
    return undefined;
  }

  private update(name: string, record: HealthRecord): void {
    this.records.set(name, record);
    this.dirty.add(name);
  }
}

function bounded<T>(list: readonly T[], item: T, max: number): T[] {
  const next = [...list, item];
  return next.length > max ? next.slice(next.length - max) : next;
}

/** Median of the recent latencies, or null. */
export function medianMs(h: HealthRecord): number | null {
  if (h.recentMs.length === 0) return null;
  const sorted = [...h.recentMs].sort((a, b) => a - b);
  return Math.round((sorted[Math.floor(sorted.length / 2)] ?? 0) * 100) / 100;
}
