/**
 * Where tools, their health and the audit log live between restarts. Implementations: memory (tests,
 * embedding) and keyv (SQLite by default, any keyv adapter by URL). Every implementation runs the shared
 * contract suite.
 */
import type { AuditEntry, HealthRecord, ToolRecord } from './record.js';

/** Everything a store holds, as loaded on start. */
export interface StoredState {
  readonly tools: ToolRecord[];
  readonly health: Map<string, HealthRecord>;
  /** Oldest first. */
  readonly audit: AuditEntry[];
}

export interface ToolStore extends AsyncDisposable {
  /** Everything stored. Corrupt entries are skipped (and reported via the store's `onSkip`). */
  loadAll(): Promise<StoredState>;
  /** The stored record of one tool (another server on the same store may have changed it). */
  get(name: string): Promise<ToolRecord | undefined>;
  /** Writes `record` under its name, replacing any previous one. Throws ToolsmithError('store_unavailable'). */
  put(record: ToolRecord): Promise<void>;
  /** Removes the tool and its health; false if there was no tool. Throws ToolsmithError('store_unavailable'). */
  delete(name: string): Promise<boolean>;
  /** Writes the health of one tool. */
  putHealth(name: string, health: HealthRecord): Promise<void>;
  /** Appends one audit entry (its `seq` is unique and increasing). */
  appendAudit(entry: AuditEntry): Promise<void>;
  /** A short description for logs, without credentials. */
  readonly description: string;
}
