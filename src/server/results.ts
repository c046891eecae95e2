/**
 * The one place that decides how toolsmith's outcomes reach the wire. Refusals and guest failures become
 * `CallToolResult`s with `isError: true` (so the model can read and fix them); unknown tools and malformed
 * requests become `McpError(InvalidParams)`; anything unexpected is logged with its stack and answered with
 * `InternalError` (-32603) carrying no host paths. A catch-all never answers -32602.
 */
import { ErrorCode, McpError, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { formatDiagnostic, ToolsmithError, type Diagnostic } from '../errors.js';
import type { Logger } from '../log.js';
import type { CallResult } from '../registry/registry.js';

/** A refusal: the stage that refused, every diagnostic zod-style, and the same data as structuredContent. */
export function refusalResult(what: string, diagnostics: readonly Diagnostic[]): CallToolResult {
  const stage = diagnostics[0]?.stage ?? 'arguments';
  const lines = diagnostics.map(formatDiagnostic);
  return {
    isError: true,
    content: [{ type: 'text', text: `${what} refused at stage "${stage}":\n${lines.join('\n')}` }],
    structuredContent: { stage, diagnostics: diagnostics.map((d) => ({ ...d })) },
  };
}

/** A successful meta-tool answer: a human summary plus the structured data. */
export function successResult(summary: string, data: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: summary }], structuredContent: data };
}

/**
 * The result of calling a dynamic tool. `declaresOutput` says whether the advertised tool has an
 * outputSchema: only then is structuredContent attached, and never on errors (clients validate
 * structuredContent against outputSchema even on isError results).
 */
export function callResult(
  name: string,
  result: CallResult,
  declaresOutput: boolean,
): CallToolResult {
  if (result.ok) {
    const content: CallToolResult['content'] = [
      { type: 'text', text: JSON.stringify(result.value) },
    ];
    if (result.logs.length > 0)
      content.push({ type: 'text', text: `console output:\n${result.logs.join('\n')}` });
    const structured =
      declaresOutput &&
      typeof result.value === 'object' &&
      result.value !== null &&
      !Array.isArray(result.value);
    return structured
      ? { content, structuredContent: result.value as Record<string, unknown> }
      : { content };
  }
  if ('refused' in result) {
    const text = `${name}: the call was refused:\n${result.refused.map(formatDiagnostic).join('\n')}`;
    return { isError: true, content: [{ type: 'text', text }] };
  }
  const label: Record<string, string> = {
    threw: 'threw an error',
    timeout: 'hit its time limit',
    memory: 'hit its memory limit',
    stack: 'hit its stack limit',
    not_json: 'returned a value that is not JSON',
    bad_result: 'returned a value of the wrong type',
    crashed: 'crashed its sandbox',
    cancelled: 'was cancelled',
    quarantined: 'is quarantined',
  };
  const content: CallToolResult['content'] = [
    {
      type: 'text',
      text: `${name} ${label[result.kind] ?? 'failed'} (${result.kind}): ${result.message}`,
    },
  ];
  if (result.logs.length > 0)
    content.push({ type: 'text', text: `console output:\n${result.logs.join('\n')}` });
  return { isError: true, content };
}

/** Unknown tool names are a protocol-level mistake of the client. */
export function unknownToolError(name: string): McpError {
  return new McpError(
    ErrorCode.InvalidParams,
    `Unknown tool: "${name}". tools/list shows the available tools.`,
  );
}

/** Maps an unexpected exception to an InternalError without leaking host details; logs the full error. */
export function internalError(logger: Logger, context: string, error: unknown): McpError {
  if (error instanceof McpError) return error;
  logger.error(`${context} failed`, error);
  const reason =
    error instanceof ToolsmithError && error.code === 'store_unavailable'
      ? 'the tool store is unavailable; nothing was changed (see the server log)'
      : 'an internal error occurred (see the server log)';
  return new McpError(ErrorCode.InternalError, `${context}: ${reason}`);
}
