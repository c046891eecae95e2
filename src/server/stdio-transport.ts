/**
 * The SDK's stdio transport, with two additions:
 * - a response whose result was marked with `reuseJson` is written from JSON text built once for that result
 *   object, instead of being serialised again on every request. tools/list pages are the case: up to
 *   ~600 KiB of JSON each, unchanged until the tool set changes, and asked for again by every client that
 *   (re)connects or follows a list_changed notification;
 * - messages sent in the same turn of the event loop are written together.
 */
import process from 'node:process';
import type { Readable, Writable } from 'node:stream';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

const reusable = new WeakSet<object>();
const jsonOf = new WeakMap<object, string>();

/**
 * Marks `result` as immutable from now on, so transports may serialise it once and reuse the text. Returns
 * `result`. The caller must never mutate it afterwards (hand out a new object instead).
 */
export function reuseJson<T extends object>(result: T): T {
  reusable.add(result);
  return result;
}

/** The JSON text of `result`, built on first use when it was marked with `reuseJson`. */
function reusedJson(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null || !reusable.has(result)) return undefined;
  let json = jsonOf.get(result);
  if (json === undefined) {
    json = JSON.stringify(result);
    jsonOf.set(result, json);
  }
  return json;
}

export class ToolsmithStdioTransport extends StdioServerTransport {
  private readonly output: Writable;
  private corked = false;

  constructor(input: Readable = process.stdin, output: Writable = process.stdout) {
    super(input, output);
    this.output = output;
  }

  override send(message: JSONRPCMessage): Promise<void> {
    const reused = 'result' in message ? reusedJson(message.result) : undefined;
    // The same shape serializeMessage produces: one JSON object per line.
    const line =
      reused !== undefined && 'id' in message
        ? `{"result":${reused},"jsonrpc":"2.0","id":${JSON.stringify(message.id)}}\n`
        : serializeMessage(message);
    // Answers that complete in the same turn of the event loop (several workers replying at once) leave in
    // one write: stdout to a pipe is a synchronous system call per write on Linux.
    if (!this.corked) {
      this.corked = true;
      this.output.cork();
      setImmediate(() => this.flush());
    }
    return new Promise((resolve) => {
      if (this.output.write(line)) resolve();
      else this.output.once('drain', resolve);
    });
  }

  override async close(): Promise<void> {
    this.flush();
    await super.close();
  }

  private flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.output.uncork();
  }
}
