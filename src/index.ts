/** Public API of toolsmith as a library. Explicit named exports only. */
export { createToolsmith, type Toolsmith, type ToolsmithDeps } from './server/create-server.js';
export {
  parseConfig,
  defaultDataDirectory,
  type Config,
  type ParsedCommandLine,
} from './config.js';
export { createLogger, SILENT_LOGGER, type Logger, type LogLevel } from './log.js';
export {
  ToolsmithError,
  formatDiagnostic,
  type Diagnostic,
  type DiagnosticCode,
  type Stage,
  type Result,
} from './errors.js';
export { DEFAULT_LIMITS, type Limits } from './registry/limits.js';
export { createMemoryStore } from './store/memory-store.js';
export { openKeyvStore } from './store/keyv-store.js';
export type { ToolStore } from './store/tool-store.js';
export type { ToolRecord, TestCase } from './store/record.js';
