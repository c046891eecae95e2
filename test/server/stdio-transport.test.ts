import assert from 'node:assert/strict';
import { PassThrough, Writable } from 'node:stream';
import { describe, it } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { reuseJson, ToolsmithStdioTransport } from '../../src/server/stdio-transport.js';

/** An output that, like a pipe socket, takes a batch of chunks in one `writev`; `chunks` has one entry per write. */
function harness(): { transport: ToolsmithStdioTransport; chunks: string[] } {
  const chunks: string[] = [];
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
    writev(batch: { chunk: Buffer }[], callback) {
      chunks.push(batch.map((b) => b.chunk.toString('utf8')).join(''));
      callback();
    },
  });
  return { transport: new ToolsmithStdioTransport(new PassThrough(), output), chunks };
}

const lines = (chunks: readonly string[]): unknown[] =>
  chunks
    .join('')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);

describe('stdio transport', () => {
  it('writes a reused result as the same JSON-RPC line, and serialises it only once', async () => {
    const { transport, chunks } = harness();
    let reads = 0;
    const page = reuseJson({
      tools: [{ name: 'a' }],
      get nextCursor(): string {
        reads++;
        return 'MQ';
      },
    });
    await transport.send({ jsonrpc: '2.0', id: 7, result: page });
    await transport.send({ jsonrpc: '2.0', id: 'x"y', result: page });
    await transport.close();
    assert.deepEqual(lines(chunks), [
      { result: { tools: [{ name: 'a' }], nextCursor: 'MQ' }, jsonrpc: '2.0', id: 7 },
      { result: { tools: [{ name: 'a' }], nextCursor: 'MQ' }, jsonrpc: '2.0', id: 'x"y' },
    ]);
    assert.equal(reads, 1, 'the page was serialised once');
  });

  it('sends everything else exactly as the SDK does, answers of one turn in one write', async () => {
    const { transport, chunks } = harness();
    const messages: JSONRPCMessage[] = [
      { jsonrpc: '2.0', id: 1, result: { content: [] } },
      { jsonrpc: '2.0', method: 'notifications/tools/list_changed' },
      { jsonrpc: '2.0', id: 2, error: { code: -32602, message: 'bad' } },
    ];
    await Promise.all(messages.map((m) => transport.send(m)));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(lines(chunks), messages);
    assert.equal(chunks.length, 1, 'one write for the three messages');
    await transport.close();
  });
});
