/** A ToolStore that keeps records in a Map; nothing survives the process. */
import type { ToolRecord } from './record.js';
import type { ToolStore } from './tool-store.js';

export function createMemoryStore(): ToolStore {
  const records = new Map<string, string>();
  return {
    description: 'memory (nothing is persisted)',
    loadAll() {
      // Stored as JSON text so callers can never mutate what is "on disk" by keeping a reference.
      return Promise.resolve([...records.values()].map((text) => JSON.parse(text) as ToolRecord));
    },
    put(record) {
      records.set(record.name, JSON.stringify(record));
      return Promise.resolve();
    },
    delete(name) {
      return Promise.resolve(records.delete(name));
    },
    [Symbol.asyncDispose]() {
      records.clear();
      return Promise.resolve();
    },
  };
}
