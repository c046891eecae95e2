/**
 * Resolves the configuration once: flag > environment (`TOOLSMITH_*`) > default. The only module that
 * reads process.env (it is passed in as `env`).
 */
import { homedir } from 'node:os';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { LogLevel } from './log.js';
import { DEFAULT_QUARANTINE_POLICY, type QuarantinePolicy } from './registry/health.js';
import { DEFAULT_LIMITS, type Limits } from './registry/limits.js';
import { DEFAULT_DUPLICATE_THRESHOLD } from './registry/similarity.js';

/**
 * Large libraries are listed in pages so no answer nears the 10 MiB an SDK stdio transport buffers; below
 * this many tools every client sees everything in one answer, whether it follows cursors or not.
 */
export const DEFAULT_LIST_PAGE_SIZE = 1000;

export interface Config {
  /** keyv URL or SQLite file path of the tool store. */
  readonly storeUrl: string;
  readonly limits: Limits;
  /** Worker threads running guest code. */
  readonly poolSize: number;
  readonly logLevel: LogLevel;
  /** When a failing tool is quarantined. */
  readonly quarantine: QuarantinePolicy;
  /** Similarity (0..1) at which create_tool refuses a new tool as a duplicate. */
  readonly duplicateThreshold: number;
  /** Tools per tools/list page; 0 = everything in one answer. */
  readonly listPageSize: number;
  /** Directory of the compiler's start-up code cache; undefined = none (see compiler/code-cache.ts). */
  readonly codeCacheDirectory?: string | undefined;
}

export type ParsedCommandLine =
  | { readonly kind: 'run'; readonly config: Config }
  | { readonly kind: 'help'; readonly text: string }
  | { readonly kind: 'version' }
  | { readonly kind: 'error'; readonly message: string };

/** Environment facts the defaults depend on; injected so tests need not touch the real machine. */
export interface Platform {
  readonly platform: NodeJS.Platform;
  readonly home: string;
  readonly cores: number;
}

const OPTIONS = {
  store: {
    type: 'string',
    env: 'TOOLSMITH_STORE',
    help: 'keyv URL or SQLite file path of the tool store (default: a SQLite file in your data directory)',
  },
  'cache-dir': {
    type: 'string',
    env: 'TOOLSMITH_CACHE_DIR',
    help: "directory of the compiler's start-up cache, or 'off' (default: cache/ in your data directory)",
  },
  'timeout-ms': {
    type: 'string',
    env: 'TOOLSMITH_TIMEOUT_MS',
    help: `time limit per tool run, ms (default ${DEFAULT_LIMITS.timeoutMs})`,
  },
  'memory-limit-mb': {
    type: 'string',
    env: 'TOOLSMITH_MEMORY_LIMIT_MB',
    help: `memory limit per tool run, MiB, 1-2048 (default ${DEFAULT_LIMITS.memoryLimitBytes / 1048576})`,
  },
  'stack-size-kb': {
    type: 'string',
    env: 'TOOLSMITH_STACK_SIZE_KB',
    help: `stack limit per tool run, KiB (default ${DEFAULT_LIMITS.maxStackSizeBytes / 1024})`,
  },
  'max-source-bytes': {
    type: 'string',
    env: 'TOOLSMITH_MAX_SOURCE_BYTES',
    help: `largest tool source, bytes (default ${DEFAULT_LIMITS.maxSourceBytes})`,
  },
  'max-description-chars': {
    type: 'string',
    env: 'TOOLSMITH_MAX_DESCRIPTION_CHARS',
    help: `longest tool description, characters (default ${DEFAULT_LIMITS.maxDescriptionChars})`,
  },
  'max-tests': {
    type: 'string',
    env: 'TOOLSMITH_MAX_TESTS',
    help: `most tests per tool (default ${DEFAULT_LIMITS.maxTests})`,
  },
  'max-arguments-bytes': {
    type: 'string',
    env: 'TOOLSMITH_MAX_ARGUMENTS_BYTES',
    help: `largest arguments of one call, bytes of JSON (default ${DEFAULT_LIMITS.maxArgumentsBytes})`,
  },
  'max-result-bytes': {
    type: 'string',
    env: 'TOOLSMITH_MAX_RESULT_BYTES',
    help: `largest result of one call, characters of JSON (default ${DEFAULT_LIMITS.maxResultBytes})`,
  },
  'max-console-bytes': {
    type: 'string',
    env: 'TOOLSMITH_MAX_CONSOLE_BYTES',
    help: `most console output kept per run (default ${DEFAULT_LIMITS.maxConsoleBytes})`,
  },
  'pool-size': {
    type: 'string',
    env: 'TOOLSMITH_POOL_SIZE',
    help: 'worker threads running tools (default: cores (1 to 4) + 1)',
  },
  'quarantine-after': {
    type: 'string',
    env: 'TOOLSMITH_QUARANTINE_AFTER',
    help: `quarantine a tool after this many consecutive failures (default ${DEFAULT_QUARANTINE_POLICY.consecutiveFailures})`,
  },
  'quarantine-rate': {
    type: 'string',
    env: 'TOOLSMITH_QUARANTINE_RATE',
    help: `... or when more than this share of its last calls failed, 0-1 (default ${DEFAULT_QUARANTINE_POLICY.failureRate})`,
  },
  'quarantine-window': {
    type: 'string',
    env: 'TOOLSMITH_QUARANTINE_WINDOW',
    help: `... counted over this many calls (default ${DEFAULT_QUARANTINE_POLICY.window})`,
  },
  'duplicate-threshold': {
    type: 'string',
    env: 'TOOLSMITH_DUPLICATE_THRESHOLD',
    help: `similarity 0-1 at which a new tool is refused as a duplicate; 2 disables (default ${DEFAULT_DUPLICATE_THRESHOLD})`,
  },
  'list-page-size': {
    type: 'string',
    env: 'TOOLSMITH_LIST_PAGE_SIZE',
    help: 'tools per tools/list page (cursor pagination); 0 = all in one answer (default 1000)',
  },
  'log-level': {
    type: 'string',
    env: 'TOOLSMITH_LOG_LEVEL',
    help: 'debug | info | warn | error | silent (default info; logs go to stderr)',
  },
  help: { type: 'boolean', short: 'h', help: 'print this help and exit' },
  version: { type: 'boolean', short: 'v', help: 'print the version and exit' },
} as const;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const ValuesSchema = z.object({
  store: z.string().min(1).optional(),
  'cache-dir': z.string().min(1).optional(),
  'timeout-ms': int(10, 600_000).optional(),
  // A worker's WebAssembly heap tops out at 2 GiB (see sandbox/module.ts); QuickJS's own limit is a 32-bit size.
  'memory-limit-mb': int(1, 2048).optional(),
  'stack-size-kb': int(16, 2048).optional(),
  'max-source-bytes': int(1000, 1000000).optional(),
  'max-description-chars': int(10, 100000).optional(),
  'max-tests': int(1, 1000).optional(),
  'max-arguments-bytes': int(1024, 4194304).optional(),
  'max-result-bytes': int(1024, 4194304).optional(),
  'max-console-bytes': int(0, 1048576).optional(),
  'pool-size': int(1, 64).optional(),
  'quarantine-after': int(1, 1_000_000).optional(),
  'quarantine-rate': z.coerce.number().min(0).max(1).optional(),
  'quarantine-window': int(1, 10_000).optional(),
  'duplicate-threshold': z.coerce.number().min(0).max(2).optional(),
  'list-page-size': int(0, 1_000_000).optional(),
  'log-level': z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional(),
});

/** The per-user data directory toolsmith keeps its default store in. */
export function defaultDataDirectory(
  env: Readonly<Record<string, string | undefined>>,
  p: Platform,
): string {
  if (p.platform === 'win32')
    return join(
      env['LOCALAPPDATA'] ?? env['APPDATA'] ?? join(p.home, 'AppData', 'Local'),
      'toolsmith',
    );
  if (p.platform === 'darwin') return join(p.home, 'Library', 'Application Support', 'toolsmith');
  return join(env['XDG_DATA_HOME'] || join(p.home, '.local', 'share'), 'toolsmith');
}

export function helpText(): string {
  const lines = Object.entries(OPTIONS).map(([name, o]) => {
    const flag = `--${name}${o.type === 'string' ? ' <value>' : ''}`;
    const env = 'env' in o ? ` [env ${o.env}]` : '';
    return `  ${flag.padEnd(26)} ${o.help}${env}`;
  });
  return `toolsmith: an MCP server (stdio) on which an agent writes, tests and uses its own TypeScript tools.\n\nUsage: toolsmith [options]\n\nOptions:\n${lines.join('\n')}\n`;
}

/** Parses argv (without node and script) and env into a frozen Config, help, version, or a one-line error. */
export function parseConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  platform: Platform = {
    platform: process.platform,
    home: homedir(),
    cores: availableParallelism(),
  },
): ParsedCommandLine {
  let values: Record<string, string | boolean | undefined>;
  try {
    const options = Object.fromEntries(
      Object.entries(OPTIONS).map(([name, o]) => [
        name,
        'short' in o ? { type: o.type, short: o.short } : { type: o.type },
      ]),
    ) as Parameters<typeof parseArgs>[0] extends infer P
      ? P extends { options?: infer O }
        ? O
        : never
      : never;
    values = parseArgs({ args: [...argv], options, strict: true, allowPositionals: false })
      .values as typeof values;
  } catch (error) {
    return { kind: 'error', message: error instanceof Error ? error.message : String(error) };
  }
  if (values['help']) return { kind: 'help', text: helpText() };
  if (values['version']) return { kind: 'version' };

  const merged: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(OPTIONS)) {
    if (!('env' in o)) continue;
    const fromFlag = values[name];
    const fromEnv = env[o.env];
    if (fromFlag !== undefined) merged[name] = fromFlag;
    else if (fromEnv !== undefined && fromEnv !== '') merged[name] = fromEnv;
  }
  const parsed = ValuesSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    return { kind: 'error', message: `invalid --${key}: ${issue?.message ?? 'bad value'}` };
  }
  const v = parsed.data;
  const limits: Limits = Object.freeze({
    ...DEFAULT_LIMITS,
    ...(v['timeout-ms'] !== undefined ? { timeoutMs: v['timeout-ms'] } : {}),
    ...(v['memory-limit-mb'] !== undefined
      ? { memoryLimitBytes: v['memory-limit-mb'] * 1048576 }
      : {}),
    ...(v['stack-size-kb'] !== undefined ? { maxStackSizeBytes: v['stack-size-kb'] * 1024 } : {}),
    ...(v['max-source-bytes'] !== undefined ? { maxSourceBytes: v['max-source-bytes'] } : {}),
    ...(v['max-description-chars'] !== undefined
      ? { maxDescriptionChars: v['max-description-chars'] }
      : {}),
    ...(v['max-tests'] !== undefined ? { maxTests: v['max-tests'] } : {}),
    ...(v['max-arguments-bytes'] !== undefined
      ? { maxArgumentsBytes: v['max-arguments-bytes'] }
      : {}),
    ...(v['max-result-bytes'] !== undefined ? { maxResultBytes: v['max-result-bytes'] } : {}),
    ...(v['max-console-bytes'] !== undefined ? { maxConsoleBytes: v['max-console-bytes'] } : {}),
  });
  const config: Config = Object.freeze({
    storeUrl: v.store ?? join(defaultDataDirectory(env, platform), 'tools.sqlite'),
    limits,
    // At least 2 even on one core: one tool may hold all but one worker, so cheap calls always find one free.
    // One worker per core (1-4) plus one: a tool may use all but one worker (see pool.ts), so one busy tool
    // can keep every core working while another tool's call still finds a free worker.
    poolSize: v['pool-size'] ?? Math.max(1, Math.min(4, platform.cores)) + 1,
    logLevel: v['log-level'] ?? 'info',
    quarantine: Object.freeze({
      consecutiveFailures: v['quarantine-after'] ?? DEFAULT_QUARANTINE_POLICY.consecutiveFailures,
      failureRate: v['quarantine-rate'] ?? DEFAULT_QUARANTINE_POLICY.failureRate,
      window: v['quarantine-window'] ?? DEFAULT_QUARANTINE_POLICY.window,
    }),
    duplicateThreshold: v['duplicate-threshold'] ?? DEFAULT_DUPLICATE_THRESHOLD,
    listPageSize: v['list-page-size'] ?? DEFAULT_LIST_PAGE_SIZE,
    codeCacheDirectory:
      v['cache-dir'] === 'off'
        ? undefined
        : (v['cache-dir'] ?? join(defaultDataDirectory(env, platform), 'cache')),
  });
  return { kind: 'run', config };
}
