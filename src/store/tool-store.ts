/**
 * Where tools live between restarts. Implementations: memory (tests, embedding) and keyv (SQLite by
 * default, any keyv adapter by URL). Every implementation runs the shared contract suite.
 */
import type { ToolRecord } from './record.js';

export interface ToolStore extends AsyncDisposable {
  /** Every stored record, in no particular order. Corrupt entries are skipped (and reported via `onSkip`). */
  loadAll(): Promise<ToolRecord[]>;
  /** Writes `record` under its name, replacing any previous one. Throws ToolsmithError('store_unavailable'). */
  put(record: ToolRecord): Promise<void>;
  /** Removes the record; false if there was none. Throws ToolsmithError('store_unavailable'). */
  delete(name: string): Promise<boolean>;
  /** A short description for logs, without credentials. */
  readonly description: string;
}
