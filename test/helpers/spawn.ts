/** Spawns the built server over stdio exactly as an MCP client would. */
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

export const CLI_PATH = fileURLToPath(new URL('../../src/cli.js', import.meta.url));

export interface Spawned extends AsyncDisposable {
  readonly client: Client;
  readonly stderr: () => string;
  /** Errors the client transport saw (a non-JSON line on stdout would land here). */
  readonly protocolErrors: () => readonly Error[];
  listChangedCount(): number;
}

export async function spawnServer(
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<Spawned> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_PATH, ...args],
    // No code cache in the developer's data directory unless a test asks for it (TOOLSMITH_CACHE_DIR: '').
    env: {
      ...(process.env as Record<string, string>),
      TOOLSMITH_LOG_LEVEL: 'info',
      TOOLSMITH_CACHE_DIR: 'off',
      ...env,
    },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const client = new Client({ name: 'toolsmith-e2e', version: '1.0.0' });
  let listChanged = 0;
  const errors: Error[] = [];
  client.onerror = (error) => errors.push(error);
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    listChanged++;
  });
  await client.connect(transport);
  return {
    client,
    stderr: () => stderr,
    protocolErrors: () => errors,
    listChangedCount: () => listChanged,
    async [Symbol.asyncDispose]() {
      await client.close();
    },
  };
}
