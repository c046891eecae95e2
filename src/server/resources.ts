/**
 * Provenance as MCP resources: `toolsmith://tools/{name}` (everything about a tool: source, tests,
 * schemas, version history with sources, health, source hash, its audit entries) and `toolsmith://audit`
 * (the audit log, newest first, paged with `?page=N`).
 */
import {
  McpError,
  type ReadResourceResult,
  type Resource,
  type ResourceTemplate,
} from '@modelcontextprotocol/sdk/types.js';
import type { Limits } from '../registry/limits.js';
import type { ToolRegistry } from '../registry/registry.js';
import { describeTool } from './meta-tools.js';

const TOOL_PREFIX = 'toolsmith://tools/';
const AUDIT_URI = 'toolsmith://audit';
const AUDIT_PAGE_SIZE = 50;
/** MCP's "resource not found" error code. */
const RESOURCE_NOT_FOUND = -32002;

export const RESOURCE_TEMPLATES: ResourceTemplate[] = [
  {
    uriTemplate: `${TOOL_PREFIX}{name}`,
    name: 'tool',
    title: 'A created tool',
    description:
      'Source, tests, schemas, version history, health and source hash of one tool, as JSON.',
    mimeType: 'application/json',
  },
  {
    uriTemplate: `${AUDIT_URI}{?page}`,
    name: 'audit',
    title: 'Audit log',
    description: `Every create, replace, rollback, delete, quarantine and release, newest first, ${AUDIT_PAGE_SIZE} per page.`,
    mimeType: 'application/json',
  },
];

export function listResources(registry: ToolRegistry): Resource[] {
  return [
    {
      uri: AUDIT_URI,
      name: 'audit',
      title: 'Audit log',
      description: 'Tool lifecycle events, newest first.',
      mimeType: 'application/json',
    },
    ...registry.list().map((record) => ({
      uri: `${TOOL_PREFIX}${record.name}`,
      name: record.name,
      title: `Tool ${record.name} (v${record.version})`,
      description: record.description,
      mimeType: 'application/json',
    })),
  ];
}

export function readResource(
  registry: ToolRegistry,
  limits: Limits,
  uri: string,
): ReadResourceResult {
  const json = (value: unknown): ReadResourceResult => ({
    contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }],
  });
  if (uri.startsWith(TOOL_PREFIX)) {
    let name: string;
    try {
      name = decodeURIComponent(uri.slice(TOOL_PREFIX.length));
    } catch {
      throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri} (malformed escape)`);
    }
    const record = registry.get(name);
    if (!record)
      throw new McpError(
        RESOURCE_NOT_FOUND,
        `Resource not found: ${uri} (no tool named "${name}")`,
      );
    return json({ ...describeTool(record, registry, limits, true), audit: registry.auditOf(name) });
  }
  if (uri === AUDIT_URI || uri.startsWith(`${AUDIT_URI}?`)) {
    const pageText = new URLSearchParams(uri.slice(AUDIT_URI.length + 1)).get('page') ?? '1';
    const page = Number(pageText);
    if (!Number.isInteger(page) || page < 1)
      throw new McpError(
        RESOURCE_NOT_FOUND,
        `Resource not found: ${uri} (page must be a positive integer)`,
      );
    const { entries, total, hasMore } = registry.auditPage(page, AUDIT_PAGE_SIZE);
    return json({
      page,
      pageSize: AUDIT_PAGE_SIZE,
      total,
      entries,
      ...(hasMore ? { nextPage: `${AUDIT_URI}?page=${page + 1}` } : {}),
    });
  }
  throw new McpError(RESOURCE_NOT_FOUND, `Resource not found: ${uri}`);
}
