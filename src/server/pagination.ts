/**
 * Cursor pagination for list answers. The cursor is opaque to clients (base64 of an offset into the list
 * built for the current tool set); a malformed cursor is the client's mistake (InvalidParams).
 */
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

export function pageOf<T>(
  items: readonly T[],
  cursor: string | undefined,
  pageSize: number,
): { tools: T[]; nextCursor?: string } {
  if (pageSize <= 0 && cursor === undefined) return { tools: [...items] };
  let start = 0;
  if (cursor !== undefined) {
    const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
    start = /^\d{1,9}$/.test(decoded) ? Number(decoded) : -1;
    if (start < 0 || start > items.length) {
      throw new McpError(
        ErrorCode.InvalidParams,
        'Invalid cursor: ask for the first page again (no cursor)',
      );
    }
  }
  const end = pageSize <= 0 ? items.length : Math.min(items.length, start + pageSize);
  const page = { tools: items.slice(start, end) };
  return end < items.length
    ? { ...page, nextCursor: Buffer.from(String(end)).toString('base64url') }
    : page;
}
