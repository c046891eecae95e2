/**
 * A ToolStore on keyv. SQLite (@keyv/sqlite) is built in and the default; other keyv adapters
 * (@keyv/redis, @keyv/postgres, @keyv/mysql, @keyv/mongo) are loaded by URL scheme if the user installed them.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import Keyv, { type KeyvStoreAdapter } from 'keyv';
import KeyvSqlite from '@keyv/sqlite';
import { ToolsmithError } from '../errors.js';
import { isToolRecord, type AuditEntry, type HealthRecord } from './record.js';
import type { StoredState, ToolStore } from './tool-store.js';

const NAMESPACE = 'toolsmith';
/** Key prefixes: tool names match ^[a-z][a-z0-9_]*$, so none contains a colon and prefixes cannot collide. */
const TOOL_PREFIX = 'tool:';
const HEALTH_PREFIX = 'health:';
const AUDIT_PREFIX = 'audit:';
/** Rows per iterator query: keyv's default of 10 makes loading 10,000 tools take ~13 s. */
const ITERATION_LIMIT = 1000;

const ADAPTERS: Record<string, string> = {
  'redis:': '@keyv/redis',
  'rediss:': '@keyv/redis',
  'postgres:': '@keyv/postgres',
  'postgresql:': '@keyv/postgres',
  'mysql:': '@keyv/mysql',
  'mongodb:': '@keyv/mongo',
};

export interface KeyvStoreOptions {
  /** A keyv URL (`sqlite:///abs/path.sqlite`, `redis://…`) or a plain file path for SQLite. */
  readonly url: string;
  /** Called for each stored entry that cannot be read back as a tool (it is skipped, not deleted). */
  readonly onSkip?: (key: string, reason: string) => void;
  /** Called for store errors keyv reports asynchronously. */
  readonly onError?: (error: unknown) => void;
}

/** Opens the store and proves it works (one query) before returning. Throws ToolsmithError('store_unavailable'). */
export async function openKeyvStore(options: KeyvStoreOptions): Promise<ToolStore> {
  const { adapter, description, sqlite } = await createAdapter(options.url);
  const keyv = new Keyv<string>({ store: adapter, namespace: NAMESPACE, throwOnErrors: true });
  // keyv re-emits adapter errors; without a listener an EventEmitter 'error' would crash the process.
  keyv.on('error', (error: unknown) => options.onError?.(error));
  const wrap = (what: string, error: unknown): ToolsmithError =>
    new ToolsmithError(
      'store_unavailable',
      `the tool store (${description}) failed to ${what}: ${errorText(error)}`,
      { cause: error },
    );

  try {
    if (sqlite) {
      // Opening errors surface only through a query; WAL + synchronous=NORMAL make writes ~8x cheaper.
      await sqlite.query('PRAGMA journal_mode=WAL');
      await sqlite.query('PRAGMA synchronous=NORMAL');
    } else {
      await keyv.get('__toolsmith_probe__');
    }
  } catch (error) {
    try {
      await keyv.disconnect();
    } catch {
      // already failed to open; nothing to close
    }
    throw wrap('open', error);
  }

  let closed = false;
  const instanceId = randomUUID().slice(0, 8);
  const write = async (what: string, key: string, value: unknown): Promise<void> => {
    try {
      const written = await keyv.set(key, JSON.stringify(value));
      if (!written) throw new Error('the write was not acknowledged');
    } catch (error) {
      throw wrap(what, error);
    }
  };
  return {
    description,
    async loadAll() {
      const state: StoredState = { tools: [], health: new Map(), audit: [] };
      try {
        if (!keyv.iterator) throw new Error('this keyv adapter cannot list its entries');
        for await (const [rawKey, value] of keyv.iterator(undefined)) {
          const key = String(rawKey);
          let parsed: unknown;
          try {
            parsed = typeof value === 'string' ? JSON.parse(value) : value;
          } catch {
            options.onSkip?.(key, 'not valid JSON');
            continue;
          }
          if (key.startsWith(TOOL_PREFIX)) {
            if (isToolRecord(parsed)) state.tools.push(parsed);
            else options.onSkip?.(key, 'not a tool record of this version');
          } else if (key.startsWith(HEALTH_PREFIX)) {
            state.health.set(key.slice(HEALTH_PREFIX.length), parsed as HealthRecord);
          } else if (key.startsWith(AUDIT_PREFIX)) {
            state.audit.push(parsed as AuditEntry);
          } else {
            options.onSkip?.(key, 'unknown key');
          }
        }
      } catch (error) {
        throw wrap('list its tools', error);
      }
      // By time, then sequence: entries from several servers sharing the store interleave correctly.
      state.audit.sort((a, b) => a.at.localeCompare(b.at) || a.seq - b.seq);
      return state;
    },
    async get(name) {
      let value: unknown;
      try {
        value = await keyv.get(TOOL_PREFIX + name);
      } catch (error) {
        throw wrap('read a tool', error);
      }
      if (typeof value !== 'string') return undefined;
      try {
        const parsed: unknown = JSON.parse(value);
        return isToolRecord(parsed) ? parsed : undefined;
      } catch {
        return undefined;
      }
    },
    put: (record) => write('save a tool', TOOL_PREFIX + record.name, record),
    putHealth: (name, health) => write('save tool health', HEALTH_PREFIX + name, health),
    // The key carries this process's id too: two servers sharing a store never overwrite each other's entries.
    appendAudit: (entry) =>
      write(
        'append to the audit log',
        `${AUDIT_PREFIX}${String(entry.seq).padStart(12, '0')}:${instanceId}`,
        entry,
      ),
    async delete(name) {
      try {
        const existed = await keyv.delete(TOOL_PREFIX + name);
        await keyv.delete(HEALTH_PREFIX + name);
        return existed;
      } catch (error) {
        throw wrap('delete a tool', error);
      }
    },
    async [Symbol.asyncDispose]() {
      if (closed) return;
      closed = true;
      await keyv.disconnect();
    },
  };
}

async function createAdapter(
  url: string,
): Promise<{ adapter: KeyvStoreAdapter; description: string; sqlite?: KeyvSqlite }> {
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === undefined || scheme === 'sqlite:') {
    const raw = scheme ? url.slice('sqlite://'.length) : url;
    // A relative path would resolve against the client's cwd, which MCP clients leave undefined.
    const path = isAbsolute(raw) ? raw : resolve(raw);
    try {
      mkdirSync(dirname(path), { recursive: true });
    } catch (error) {
      throw new ToolsmithError(
        'store_unavailable',
        `cannot create the directory for ${path}: ${errorText(error)}`,
        { cause: error },
      );
    }
    const sqlite = new KeyvSqlite({
      uri: `sqlite://${path}`,
      iterationLimit: ITERATION_LIMIT,
      busyTimeout: 5000,
    });
    return { adapter: sqlite, description: `sqlite ${path}`, sqlite };
  }
  const packageName = ADAPTERS[scheme];
  if (!packageName) {
    throw new ToolsmithError(
      'store_unavailable',
      `unsupported store URL scheme "${scheme}//"; use a SQLite path or sqlite://, redis://, postgres://, mysql://, mongodb://`,
    );
  }
  let imported: { default: new (url: string) => KeyvStoreAdapter };
  try {
    imported = (await import(packageName)) as { default: new (url: string) => KeyvStoreAdapter };
  } catch (error) {
    throw new ToolsmithError(
      'store_unavailable',
      `the store URL needs the ${packageName} package: install it next to toolsmith (npm install ${packageName})`,
      { cause: error },
    );
  }
  return { adapter: new imported.default(url), description: `${scheme}// (${packageName})` };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
