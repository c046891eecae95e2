/** Limits, requests and results for tests that drive QuickJS sandboxes directly. */
import assert from 'node:assert/strict';
import { DEFAULT_RUN_LIMITS } from '../../src/sandbox/limits.js';
import type { QuickJSWASMModule } from 'quickjs-emscripten';
import {
  loadCappedModule,
  loadQuickJSBuild,
  wasmMemoryOf,
  type WasmMemory,
} from '../../src/sandbox/module.js';
import type { RunOutcome, RunRequest } from '../../src/sandbox/outcome.js';
import type { WasmLayout } from '../../src/sandbox/wasm-layout.js';

/** Tight enough that limit tests finish fast, loose enough for honest runs on a loaded machine. */
export const SANDBOX_LIMITS = {
  ...DEFAULT_RUN_LIMITS,
  timeoutMs: 300,
  memoryLimitBytes: 16 * 1024 * 1024,
  maxStackSizeBytes: 256 * 1024,
};

/** A request for the tool `t` whose body is `body`, with no input. */
export function bodyRequest(body: string): RunRequest {
  return { code: `function t(input) { ${body} }`, entry: 't', inputJson: '{}' };
}

/** The value of a successful outcome; fails the test otherwise. */
export function resultOf(outcome: RunOutcome): unknown {
  assert.ok(outcome.ok, JSON.stringify(outcome));
  return JSON.parse(outcome.json);
}

/** A freshly loaded module of the release build (nothing run in it), its memory and the build's layout. */
export async function freshModule(): Promise<{
  module: QuickJSWASMModule;
  memory: WasmMemory;
  layout: WasmLayout;
}> {
  const [{ layout }, module] = await Promise.all([
    loadQuickJSBuild(),
    loadCappedModule(SANDBOX_LIMITS.memoryLimitBytes),
  ]);
  return { module, memory: wasmMemoryOf(module), layout };
}
