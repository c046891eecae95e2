/**
 * The stderr logger. stdout carries JSON-RPC, so nothing in `src/` writes anywhere but here.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

export interface Logger {
  debug(message: string, detail?: unknown): void;
  info(message: string, detail?: unknown): void;
  warn(message: string, detail?: unknown): void;
  error(message: string, detail?: unknown): void;
}

/** A logger that writes one line per entry to `sink` (stderr by default) at or above `level`. */
export function createLogger(
  level: LogLevel = 'info',
  sink: (line: string) => void = (line) => process.stderr.write(line),
): Logger {
  const emit = (at: LogLevel, message: string, detail?: unknown): void => {
    if (ORDER[at] < ORDER[level]) return;
    let extra = '';
    if (detail instanceof Error) extra = ` ${detail.stack ?? detail.message}`;
    else if (detail !== undefined) extra = ` ${safeStringify(detail)}`;
    sink(`[toolsmith] ${at}: ${message}${extra}\n`);
  };
  return {
    debug: (m, d) => emit('debug', m, d),
    info: (m, d) => emit('info', m, d),
    warn: (m, d) => emit('warn', m, d),
    error: (m, d) => emit('error', m, d),
  };
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/** A logger that drops everything; for tests and embedding. */
export const SILENT_LOGGER: Logger = createLogger('silent');
