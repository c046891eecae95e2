#!/usr/bin/env node
/**
 * Composition root and bin entry: argv + env -> Config, build toolsmith, connect stdio, handle signals.
 * stdout carries nothing but JSON-RPC (except --help and --version, which exit at once).
 */
import { createCompilerService } from './compiler/service.js';
import { parseConfig } from './config.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';

async function main(): Promise<number | undefined> {
  const parsed = parseConfig(process.argv.slice(2), process.env);
  switch (parsed.kind) {
    case 'help':
      process.stdout.write(parsed.text);
      return 0;
    case 'version':
      process.stdout.write(`${VERSION}\n`);
      return 0;
    case 'error':
      process.stderr.write(`toolsmith: ${parsed.message} (see --help)\n`);
      return 2;
    case 'run':
      break;
  }
  const logger = createLogger(parsed.config.logLevel);
  // The compiler first, before the server's modules load (~0.1 s): its process (or worker) warms up on the
  // other core meanwhile, so the first create_tool finds it ready.
  const compiler = createCompilerService({ codeCacheDirectory: parsed.config.codeCacheDirectory });
  const [{ createToolsmith }, { ToolsmithStdioTransport }] = await Promise.all([
    import('./server/create-server.js'),
    import('./server/stdio-transport.js'),
  ]);
  let toolsmith;
  try {
    toolsmith = await createToolsmith({ config: parsed.config, logger, compiler });
  } catch (error) {
    process.stderr.write(
      `toolsmith: cannot start: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return 1;
  }
  const instance = toolsmith;
  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    Promise.resolve(instance[Symbol.asyncDispose]())
      .catch((error: unknown) => logger.error('shutdown failed', error))
      .finally(() => process.exit(code));
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  process.stdin.on('end', () => stop(0));
  process.stdin.on('close', () => stop(0));
  process.on('uncaughtException', (error) => {
    // Guest code never runs here; anything reaching this is a toolsmith bug. Log it and keep serving.
    logger.error('uncaught exception', error);
  });
  process.on('unhandledRejection', (reason) => logger.error('unhandled rejection', reason));
  await instance.connect(new ToolsmithStdioTransport());
  logger.info(`toolsmith ${VERSION} ready on stdio (store: ${instance.store.description})`);
  return undefined;
}

main().then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `toolsmith: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
