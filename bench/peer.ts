/**
 * The closest library peer (issue #5): @sebastianwessel/quickjs, which runs JS/TS in a QuickJS WebAssembly
 * sandbox. Used the way its README recommends for repeated runs: the WASM module is loaded once
 * (`loadQuickJs(variant)`, with the variant its README names), then every call is one `runSandboxed`,
 * which creates and disposes a fresh QuickJS runtime and context around one `evalCode`.
 */
import variantExports from '@jitl/quickjs-ng-wasmfile-release-sync';
import { loadQuickJs, type SandboxOptions } from '@sebastianwessel/quickjs';
import type { RunLimits } from '../src/sandbox/limits.js';

type Variant = Parameters<typeof loadQuickJs>[0];

/**
 * The variant package's types describe its CommonJS build (the variant under `.default`), while Node's
 * ESM import loads its .mjs build, whose default export is the variant itself; accept either.
 */
function variantOf(imported: Variant | { readonly default: Variant }): Variant {
  return 'default' in imported ? imported.default : imported;
}

/** Runs a transpiled tool once per call in a fresh @sebastianwessel/quickjs sandbox. */
export interface PeerSandbox {
  /** Calls `entry` of the transpiled tool `code` on `inputJson` and resolves with its result as JSON. */
  call(code: string, entry: string, inputJson: string): Promise<string>;
}

/** Loads the peer's QuickJS module (the costly part, done once) and returns its per-call runner. */
export async function loadPeer(limits: RunLimits): Promise<PeerSandbox> {
  const { runSandboxed } = await loadQuickJs(variantOf(variantExports));
  return {
    async call(code, entry, inputJson) {
      // The peer evaluates an ES module and answers its default export; the input travels in `env`,
      // its documented way in. The same limits as toolsmith's sandbox, so the peer does the same checks.
      const options: SandboxOptions = {
        executionTimeout: limits.timeoutMs,
        memoryLimit: limits.memoryLimitBytes,
        maxStackSize: limits.maxStackSizeBytes,
        env: { inputJson },
      };
      const module = `const exports = {}; const module = { exports };
${code}
;export default JSON.stringify(${entry}(JSON.parse(env.inputJson)));`;
      const result = await runSandboxed(async ({ evalCode }) => evalCode(module), options);
      if (!result.ok) throw new Error(`the peer sandbox failed: ${result.error.message}`);
      if (typeof result.data !== 'string') throw new Error('the peer sandbox returned no JSON');
      return result.data;
    },
  };
}
