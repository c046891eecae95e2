/** An in-memory SDK Client connected to a fresh toolsmith, as an AsyncDisposable. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import {
  ToolListChangedNotificationSchema,
  type CallToolResult,
} from '@modelcontextprotocol/sdk/types.js';
import { DEFAULT_LIST_PAGE_SIZE, type Config } from '../../src/config.js';
import { SILENT_LOGGER } from '../../src/log.js';
import { DEFAULT_QUARANTINE_POLICY, type QuarantinePolicy } from '../../src/registry/health.js';
import { DEFAULT_LIMITS, type Limits } from '../../src/registry/limits.js';
import { DEFAULT_DUPLICATE_THRESHOLD } from '../../src/registry/similarity.js';
import { createToolsmith, type Toolsmith } from '../../src/server/create-server.js';
import { createMemoryStore } from '../../src/store/memory-store.js';
import type { ToolStore } from '../../src/store/tool-store.js';

export interface Connected extends AsyncDisposable {
  readonly client: Client;
  readonly toolsmith: Toolsmith;
  /** How many tools/list_changed notifications the client has received. */
  listChangedCount(): number;
  /** Calls a tool and returns the result (throws on protocol errors). */
  call(name: string, args?: Record<string, unknown>): Promise<CallToolResult>;
}

export interface ConnectOptions {
  readonly store?: ToolStore;
  readonly storeUrl?: string;
  readonly limits?: Partial<Limits>;
  readonly poolSize?: number;
  readonly quarantine?: Partial<QuarantinePolicy>;
  readonly duplicateThreshold?: number;
  readonly listPageSize?: number;
}

export function testConfig(options: ConnectOptions = {}): Config {
  return {
    storeUrl: options.storeUrl ?? 'memory',
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    poolSize: options.poolSize ?? 2,
    logLevel: 'silent',
    quarantine: { ...DEFAULT_QUARANTINE_POLICY, ...options.quarantine },
    duplicateThreshold: options.duplicateThreshold ?? DEFAULT_DUPLICATE_THRESHOLD,
    listPageSize: options.listPageSize ?? DEFAULT_LIST_PAGE_SIZE,
  };
}

export async function connectInMemory(options: ConnectOptions = {}): Promise<Connected> {
  const store = options.store ?? (options.storeUrl ? undefined : createMemoryStore());
  const toolsmith = await createToolsmith({
    config: testConfig(options),
    logger: SILENT_LOGGER,
    ...(store ? { store } : {}),
  });
  const [clientTransport, serverTransport] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name: 'toolsmith-test', version: '1.0.0' });
  let listChanged = 0;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChanged++;
  });
  await toolsmith.connect(serverTransport);
  await client.connect(clientTransport);
  return {
    client,
    toolsmith,
    listChangedCount: () => listChanged,
    call: async (name, args = {}) =>
      (await client.callTool({ name, arguments: args })) as CallToolResult,
    async [Symbol.asyncDispose]() {
      try {
        await client.close();
      } finally {
        await toolsmith[Symbol.asyncDispose]();
      }
    },
  };
}

/** The text of a result's first content item. */
export function textOf(result: CallToolResult): string {
  const first = result.content[0];
  return first && first.type === 'text' ? first.text : '';
}

/** Waits until `predicate` holds, polling the event loop (no fixed sleeps). */
export async function eventually(predicate: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setImmediate(resolve));
  }
}
