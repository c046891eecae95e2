/**
 * Per-tool call statistics kept in memory since the server started (persisted health is issue #6).
 */
export interface StatsSnapshot {
  readonly calls: number;
  readonly successes: number;
  readonly failures: Readonly<Record<string, number>>;
  readonly argumentRefusals: number;
  readonly medianMs: number | null;
  readonly lastError: {
    readonly at: string;
    readonly kind: string;
    readonly message: string;
  } | null;
}

const WINDOW = 101;

export class ToolStats {
  private calls = 0;
  private successes = 0;
  private argumentRefusals = 0;
  private readonly failures: Record<string, number> = {};
  private readonly recentMs: number[] = [];
  private lastError: StatsSnapshot['lastError'] = null;

  recordSuccess(ms: number): void {
    this.calls++;
    this.successes++;
    this.remember(ms);
  }

  recordFailure(kind: string, message: string, ms: number, at: Date): void {
    this.calls++;
    this.failures[kind] = (this.failures[kind] ?? 0) + 1;
    this.lastError = { at: at.toISOString(), kind, message: message.slice(0, 500) };
    this.remember(ms);
  }

  recordRefusal(): void {
    this.argumentRefusals++;
  }

  snapshot(): StatsSnapshot {
    const sorted = [...this.recentMs].sort((a, b) => a - b);
    const median = sorted.length ? sorted[Math.floor(sorted.length / 2)]! : null;
    return {
      calls: this.calls,
      successes: this.successes,
      failures: { ...this.failures },
      argumentRefusals: this.argumentRefusals,
      medianMs: median === null ? null : Math.round(median * 100) / 100,
      lastError: this.lastError,
    };
  }

  private remember(ms: number): void {
    this.recentMs.push(ms);
    if (this.recentMs.length > WINDOW) this.recentMs.shift();
  }
}
