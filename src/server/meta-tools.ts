/**
 * The meta-tools an agent uses to grow its toolset: create_tool, rollback_tool, delete_tool, get_tool,
 * search_tools and run_tool. Their argument schemas are the registry's zod schemas, advertised as JSON Schema.
 */
import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import {
  CreateToolArgumentsSchema,
  GetToolArgumentsSchema,
  NameArgumentsSchema,
  parseArguments,
  RollbackToolArgumentsSchema,
  RunToolArgumentsSchema,
  SearchToolsArgumentsSchema,
} from '../registry/arguments.js';
import type { Actor } from '../registry/audit.js';
import { medianMs } from '../registry/health.js';
import type { Limits } from '../registry/limits.js';
import { notFoundDiagnostic, signatureOf, type ToolRegistry } from '../registry/registry.js';
import type { ToolRecord } from '../store/record.js';
import { callResult, refusalResult, successResult } from './results.js';

function inputSchemaOf(schema: z.ZodType): Tool['inputSchema'] {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<
    string,
    unknown
  >;
  return rest as Tool['inputSchema'];
}

/** The meta-tools as advertised in tools/list. */
export function metaToolDefinitions(limits: Limits): Tool[] {
  return [
    {
      name: 'create_tool',
      title: 'Create a tool',
      description: `Publish a new tool written in TypeScript, which then appears in your tool list and can be called like any other tool. Call search_tools first: reuse or replace an existing tool rather than writing a duplicate (a new tool that closely resembles an existing one is refused unless allowSimilar: true).
The source must define a function named exactly like the tool, taking ONE object parameter whose typed properties are the tool's arguments (its TypeScript type becomes the JSON input schema; JSDoc comments on properties become descriptions) and returning JSON (number, string, boolean, null, array or plain object; async allowed). Only ECMAScript built-ins are available: no imports, network, file system, timers, process, eval or Function.
Example source: "export function add(input: { /** First addend */ a: number; b: number }): number { return input.a + input.b; }"
Every test ({input, expected} or {input, error}: text the thrown message must contain) must pass, or nothing is published; the answer then names the refusing stage and line:column. Use replace: true to publish a new version of an existing tool (earlier versions are kept; see rollback_tool).
Limits per call: ${limits.timeoutMs} ms, ${Math.round(limits.memoryLimitBytes / 1048576)} MiB memory; source up to ${limits.maxSourceBytes} bytes, up to ${limits.maxTests} tests.`,
      inputSchema: inputSchemaOf(CreateToolArgumentsSchema),
      annotations: {
        title: 'Create a tool',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    {
      name: 'rollback_tool',
      title: 'Roll a tool back',
      description:
        'Make an earlier version of a tool current again (published as a new version number, so the history only grows). get_tool lists the versions. Also lifts a quarantine.',
      inputSchema: inputSchemaOf(RollbackToolArgumentsSchema),
      annotations: {
        title: 'Roll a tool back',
        readOnlyHint: false,
        destructiveHint: false,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    {
      name: 'delete_tool',
      title: 'Delete a tool',
      description:
        'Delete a tool created with create_tool, permanently, with all its versions: it disappears from the tool list and from the store. Meta-tools cannot be deleted.',
      inputSchema: inputSchemaOf(NameArgumentsSchema),
      annotations: {
        title: 'Delete a tool',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
    {
      name: 'get_tool',
      title: 'Inspect a tool',
      description:
        'Show everything about a created tool: its TypeScript source, description, input and output schemas, tests, version history, runtime health (calls, failures by kind, median latency, last error, quarantine) and the limits it runs under. Use it before replacing or rolling back a tool.',
      inputSchema: inputSchemaOf(GetToolArgumentsSchema),
      annotations: { title: 'Inspect a tool', readOnlyHint: true, openWorldHint: false },
    },
    {
      name: 'search_tools',
      title: 'Search tools',
      description:
        'Find created tools relevant to a task, ranked by how well their name, parameter names and description match the query. Call this before create_tool so you reuse a tool instead of writing a duplicate. An empty query lists all tools. Quarantined tools are shown with their state.',
      inputSchema: inputSchemaOf(SearchToolsArgumentsSchema),
      annotations: { title: 'Search tools', readOnlyHint: true, openWorldHint: false },
    },
    {
      name: 'run_tool',
      title: 'Run a tool by name',
      description:
        'Call a created tool by name with its arguments. Use this when a tool you created does not appear in your tool list (some clients do not refresh it); otherwise call the tool directly.',
      inputSchema: inputSchemaOf(RunToolArgumentsSchema),
      annotations: { title: 'Run a tool by name', readOnlyHint: false, openWorldHint: false },
    },
  ];
}

/** Handles a call to a meta-tool; `undefined` when `name` is not one. Throws only for infrastructure faults. */
export async function callMetaTool(
  registry: ToolRegistry,
  limits: Limits,
  name: string,
  args: unknown,
  context: { signal: AbortSignal | undefined; actor: Actor | null },
): Promise<CallToolResult | undefined> {
  switch (name) {
    case 'create_tool': {
      const created = await registry.create(args, context.actor);
      if (!created.ok) return refusalResult('create_tool', created.diagnostics);
      const { record, replaced, tests, released } = created.value;
      const passed = tests.length;
      const testMs = Math.round(Math.max(0, ...tests.map((t) => t.ms)));
      return successResult(
        `${replaced ? 'Replaced' : 'Created'} tool "${record.name}" (version ${record.version}); ${passed}/${passed} tests passed (slowest ${testMs} ms).${released ? ' Its quarantine is lifted.' : ''} It is now in the tool list as "${record.name}"; if your client does not show it, call it with run_tool. Arguments: ${signatureOf(record)}.`,
        {
          name: record.name,
          version: record.version,
          replaced,
          released,
          inputSchema: record.inputSchema,
          ...(record.outputSchema ? { outputSchema: record.outputSchema } : {}),
          tests: tests.map((t) => ({
            index: t.index,
            passed: t.passed,
            ms: Math.round(t.ms * 100) / 100,
          })),
        },
      );
    }
    case 'rollback_tool': {
      const rolled = await registry.rollback(args, context.actor);
      if (!rolled.ok) return refusalResult('rollback_tool', rolled.diagnostics);
      const { record, from, released } = rolled.value;
      return successResult(
        `Rolled "${record.name}" back to the code of version ${from}, published as version ${record.version}.${released ? ' Its quarantine is lifted.' : ''}`,
        { name: record.name, version: record.version, restoredFrom: from, released },
      );
    }
    case 'delete_tool': {
      const parsed = parseArguments(NameArgumentsSchema, args);
      if (!parsed.ok) return refusalResult('delete_tool', parsed.diagnostics);
      const deleted = await registry.delete(parsed.value.name, context.actor);
      if (!deleted.ok) return refusalResult('delete_tool', deleted.diagnostics);
      return successResult(
        `Deleted tool "${deleted.value.name}" (it was at version ${deleted.value.version}).`,
        {
          name: deleted.value.name,
          deleted: true,
          version: deleted.value.version,
        },
      );
    }
    case 'get_tool': {
      const parsed = parseArguments(GetToolArgumentsSchema, args);
      if (!parsed.ok) return refusalResult('get_tool', parsed.diagnostics);
      const record = registry.get(parsed.value.name);
      if (!record) return refusalResult('get_tool', [notFoundDiagnostic(parsed.value.name)]);
      const details = describeTool(
        record,
        registry,
        limits,
        parsed.value.includeHistorySource === true,
      );
      return successResult(JSON.stringify(details, null, 2), details);
    }
    case 'search_tools': {
      const parsed = parseArguments(SearchToolsArgumentsSchema, args);
      if (!parsed.ok) return refusalResult('search_tools', parsed.diagnostics);
      const hits = registry.search(parsed.value.query, parsed.value.limit ?? 10);
      const results = hits.map((h) => ({
        name: h.record.name,
        description: h.record.description,
        score: h.score,
        signature: signatureOf(h.record),
        version: h.record.version,
        state: registry.isQuarantined(h.record.name) ? 'quarantined' : 'serving',
      }));
      const summary =
        results.length === 0
          ? `No tool matches "${parsed.value.query}". Create one with create_tool.`
          : results
              .map(
                (r) =>
                  `${r.name}(${r.signature}) [score ${r.score}${r.state === 'quarantined' ? ', QUARANTINED' : ''}]: ${r.description}`,
              )
              .join('\n');
      return successResult(summary, { results });
    }
    case 'run_tool': {
      const parsed = parseArguments(RunToolArgumentsSchema, args);
      if (!parsed.ok) return refusalResult('run_tool', parsed.diagnostics);
      const result = await registry.call(
        parsed.value.name,
        parsed.value.arguments ?? {},
        context.signal,
      );
      // run_tool declares no outputSchema, so structured results are safe to attach in any shape.
      return callResult(parsed.value.name, result, true);
    }
    default:
      return undefined;
  }
}

/** Everything get_tool and the toolsmith://tools/{name} resource show about a tool. */
export function describeTool(
  record: ToolRecord,
  registry: ToolRegistry,
  limits: Limits,
  includeHistorySource: boolean,
): Record<string, unknown> {
  const health = registry.healthOf(record.name);
  return {
    name: record.name,
    description: record.description,
    state: health.quarantine ? 'quarantined' : 'serving',
    ...(health.quarantine
      ? {
          quarantine: {
            ...health.quarantine,
            failingInputs: health.failingInputs,
            howToFix: registry.quarantineMessage(record.name),
          },
        }
      : {}),
    version: record.version,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    sourceHash: record.sourceHash,
    compilerVersion: record.compilerVersion,
    signature: signatureOf(record),
    inputSchema: record.inputSchema,
    ...(record.outputSchema ? { outputSchema: record.outputSchema } : {}),
    source: record.source,
    tests: record.tests,
    history: [...(record.history ?? [])].reverse().map((v) => ({
      version: v.version,
      at: v.updatedAt,
      sourceHash: v.sourceHash,
      description: v.description,
      ...(includeHistorySource ? { source: v.source } : {}),
    })),
    health: {
      calls: health.calls,
      successes: health.successes,
      failures: health.failures,
      argumentRefusals: health.argumentRefusals,
      medianMs: medianMs(health),
      consecutiveFailures: health.consecutiveFailures,
      lastError: health.lastError,
    },
    limits: {
      timeoutMs: limits.timeoutMs,
      maxSourceBytes: limits.maxSourceBytes,
      maxTests: limits.maxTests,
      memoryLimitBytes: limits.memoryLimitBytes,
      maxStackSizeBytes: limits.maxStackSizeBytes,
      maxArgumentsBytes: limits.maxArgumentsBytes,
      maxResultBytes: limits.maxResultBytes,
      maxConsoleBytes: limits.maxConsoleBytes,
    },
  };
}
