/** A ToolStore that keeps everything in Maps; nothing survives the process. */
import type { AuditEntry, HealthRecord, ToolRecord } from './record.js';
import type { ToolStore } from './tool-store.js';

export function createMemoryStore(): ToolStore {
  // Stored as JSON text so callers can never mutate what is "on disk" by keeping a reference.
  const tools = new Map<string, string>();
  const health = new Map<string, string>();
  const audit: string[] = [];
  return {
    description: 'memory (nothing is persisted)',
    loadAll() {
      return Promise.resolve({
        tools: [...tools.values()].map((text) => JSON.parse(text) as ToolRecord),
        health: new Map(
          [...health].map(([name, text]) => [name, JSON.parse(text) as HealthRecord]),
        ),
        audit: audit.map((text) => JSON.parse(text) as AuditEntry),
      });
    },
    get(name) {
      const text = tools.get(name);
      return Promise.resolve(text === undefined ? undefined : (JSON.parse(text) as ToolRecord));
    },
    put(record) {
      tools.set(record.name, JSON.stringify(record));
      return Promise.resolve();
    },
    delete(name) {
      health.delete(name);
      return Promise.resolve(tools.delete(name));
    },
    putHealth(name, record) {
      health.set(name, JSON.stringify(record));
      return Promise.resolve();
    },
    appendAudit(entry) {
      audit.push(JSON.stringify(entry));
      return Promise.resolve();
    },
    [Symbol.asyncDispose]() {
      tools.clear();
      health.clear();
      audit.length = 0;
      return Promise.resolve();
    },
  };
}
