/**
 * Builds a toolsmith instance: store, sandbox pool, compiler, registry and the MCP server on top. The
 * factory knows no transport; `cli.ts` connects stdio, tests connect an in-memory pair.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CallToolRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ReadResourceRequestSchema,
  McpError,
  ErrorCode,
  type ListToolsResult,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { createCompilerService, type CompilerService } from '../compiler/service.js';
import type { Config } from '../config.js';
import { ToolsmithError } from '../errors.js';
import type { Logger } from '../log.js';
import { runLimitsOf } from '../registry/limits.js';
import { ToolRegistry } from '../registry/registry.js';
import { createSandboxPool, type Sandbox } from '../sandbox/pool.js';
import { openKeyvStore } from '../store/keyv-store.js';
import type { ToolStore } from '../store/tool-store.js';
import { VERSION } from '../version.js';
import { callMetaTool, metaToolDefinitions } from './meta-tools.js';
import { WRITE_TOOL_PROMPT, writeToolPrompt } from './prompts.js';
import { pageOf } from './pagination.js';
import { reuseJson } from './stdio-transport.js';
import { listResources, readResource, RESOURCE_TEMPLATES } from './resources.js';
import { callResult, internalError, unknownToolError } from './results.js';

export interface Toolsmith extends AsyncDisposable {
  readonly server: Server;
  readonly registry: ToolRegistry;
  readonly sandbox: Sandbox;
  readonly store: ToolStore;
  /** Connects the MCP server to `transport` and warms the compiler in the background. */
  connect(transport: Transport): Promise<void>;
}

export interface ToolsmithDeps {
  readonly config: Config;
  readonly logger: Logger;
  /** A store to use instead of opening `config.storeUrl` (tests, embedding). Disposed with the instance. */
  readonly store?: ToolStore;
  /**
   * A compiler started earlier (the CLI starts it before loading the rest of toolsmith, so it warms up
   * meanwhile). Owned by the instance from here on, disposed with it.
   */
  readonly compiler?: CompilerService;
}

const INSTRUCTIONS = `toolsmith lets you write your own tools in TypeScript. Before writing one, call search_tools to find an existing tool. To create a tool call create_tool with a function named like the tool, typed input, and tests (the write_tool prompt explains how). New tools appear in the tool list; if yours does not, call it with run_tool.`;

/** Opens the store, starts the sandbox pool, loads stored tools and builds the server. */
export async function createToolsmith(deps: ToolsmithDeps): Promise<Toolsmith> {
  const { config, logger } = deps;
  // First: loading TypeScript and checking a first tool takes the worker ~0.3 s, on its own thread, while
  // the store opens and the client connects; the first create_tool then costs a normal check.
  const compiler =
    deps.compiler ?? createCompilerService({ codeCacheDirectory: config.codeCacheDirectory });
  void compiler.warm().then((report) => {
    if (report) logger.debug(`compiler warm (code cache ${report.codeCache}, ${report.saved})`);
  });
  let store: ToolStore;
  try {
    store =
      deps.store ??
      (await openKeyvStore({
        url: config.storeUrl,
        onSkip: (key, reason) => logger.warn(`skipped stored entry "${key}": ${reason}`),
        onError: (error) => logger.error('tool store error', error),
      }));
  } catch (error) {
    await compiler[Symbol.asyncDispose]();
    throw error;
  }
  const sandbox = createSandboxPool({
    size: config.poolSize,
    limits: runLimitsOf(config.limits),
    onWorkerOutput: (text) => logger.debug(`sandbox worker: ${text}`),
  });
  const registry = new ToolRegistry({
    compiler,
    sandbox,
    store,
    limits: config.limits,
    logger,
    quarantine: config.quarantine,
    duplicateThreshold: config.duplicateThreshold,
  });
  try {
    const count = await registry.load();
    logger.info(`loaded ${count} tools from ${store.description}`);
  } catch (error) {
    await registry[Symbol.asyncDispose]();
    await compiler[Symbol.asyncDispose]();
    await sandbox[Symbol.asyncDispose]();
    await store[Symbol.asyncDispose]();
    throw error;
  }

  const server = new Server(
    { name: 'toolsmith', title: 'toolsmith', version: VERSION },
    {
      capabilities: { tools: { listChanged: true }, prompts: {}, resources: { listChanged: true } },
      instructions: INSTRUCTIONS,
    },
  );
  const metaTools = metaToolDefinitions(config.limits);
  const metaNames = new Set(metaTools.map((t) => t.name));

  // tools/list is answered from a list built once per change, not per request.
  let cachedList: ListToolsResult | undefined;
  // Each page answered, by cursor, for the current list; marked so the stdio transport serialises it once.
  const cachedPages = new Map<string | undefined, ReturnType<typeof pageOf<Tool>>>();
  const issuedCursors = new Set<string>();
  const buildList = (): ListToolsResult => {
    const dynamic: Tool[] = registry.listServing().map((record) => ({
      name: record.name,
      description: record.description,
      inputSchema: record.inputSchema,
      ...(record.outputSchema ? { outputSchema: record.outputSchema } : {}),
      annotations: { readOnlyHint: true, openWorldHint: false },
      _meta: { 'toolsmith/version': record.version },
    }));
    return { tools: [...metaTools, ...dynamic] };
  };
  let connected = false;
  registry.onChange((event) => {
    cachedList = undefined;
    cachedPages.clear();
    issuedCursors.clear();
    if (!connected) return;
    server
      .sendToolListChanged()
      .catch((error: unknown) => logger.warn('could not send tools/list_changed', error));
    // The resource list holds every tool, quarantined or not: it changes only when a tool comes or goes.
    if (event.type === 'created' || event.type === 'deleted') {
      server
        .sendResourceListChanged()
        .catch((error: unknown) => logger.warn('could not send resources/list_changed', error));
    }
  });
  /** Who is asking, for the audit log: the client's name and version from initialize. */
  const actor = () => {
    const info = server.getClientVersion();
    return info ? { name: info.name, version: info.version } : null;
  };

  server.setRequestHandler(ListToolsRequestSchema, (request) => {
    const all = (cachedList ??= buildList());
    const cursor = request.params?.cursor;
    let page = cachedPages.get(cursor);
    if (!page) {
      page = pageOf(all.tools, cursor, config.listPageSize);
      // Only pages reached the canonical way are kept (the first, or a cursor this list handed out), so other
      // spellings of a cursor cannot fill memory with copies.
      if (cursor === undefined || issuedCursors.has(cursor)) {
        cachedPages.set(cursor, reuseJson(page));
      }
      if (page.nextCursor !== undefined) issuedCursors.add(page.nextCursor);
    }
    return page;
  });

  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const { name, arguments: args } = request.params;
    try {
      if (metaNames.has(name)) {
        const result = await callMetaTool(registry, config.limits, name, args, {
          signal: extra.signal,
          actor: actor(),
        });
        if (result) return result;
      }
      // refresh(): a tool another server on the same store created becomes callable here too.
      const record = registry.get(name) ?? (await registry.refresh(name));
      if (!record) throw unknownToolError(name);
      const result = await registry.call(name, args ?? {}, extra.signal);
      return callResult(name, result, record.outputSchema !== undefined);
    } catch (error) {
      throw internalError(logger, `tools/call ${name}`, error);
    }
  });

  server.setRequestHandler(ListResourcesRequestSchema, () => ({
    resources: listResources(registry),
  }));
  server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({
    resourceTemplates: RESOURCE_TEMPLATES,
  }));
  server.setRequestHandler(ReadResourceRequestSchema, (request) =>
    readResource(registry, config.limits, request.params.uri),
  );

  server.setRequestHandler(ListPromptsRequestSchema, () => ({ prompts: [WRITE_TOOL_PROMPT] }));
  server.setRequestHandler(GetPromptRequestSchema, (request) => {
    if (request.params.name !== WRITE_TOOL_PROMPT.name) {
      throw new McpError(ErrorCode.InvalidParams, `Unknown prompt: "${request.params.name}"`);
    }
    return writeToolPrompt(request.params.arguments?.['task']);
  });

  let disposed = false;
  return {
    server,
    registry,
    sandbox,
    store,
    async connect(transport) {
      await server.connect(transport);
      connected = true;
    },
    async [Symbol.asyncDispose]() {
      if (disposed) return;
      disposed = true;
      connected = false;
      // Order: stop running guest code and compiling first (in-flight calls end with an error instead of
      // respawning workers when the server aborts them), then the protocol, then let the registry finish
      // its in-flight changes and flush health, and close the store last. Each step runs even if one fails.
      const steps = [
        () => sandbox[Symbol.asyncDispose](),
        () => compiler[Symbol.asyncDispose](),
        () => server.close(),
        () => registry[Symbol.asyncDispose](),
        () => store[Symbol.asyncDispose](),
      ];
      const failures: unknown[] = [];
      for (const step of steps) {
        try {
          await step();
        } catch (error) {
          failures.push(error);
        }
      }
      if (failures.length > 0) {
        throw new ToolsmithError('invariant', `shutdown: ${failures.length} step(s) failed`, {
          cause: failures[0],
        });
      }
    },
  };
}
