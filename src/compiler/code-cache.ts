/**
 * A V8 code cache for typescript.js, so a fresh compiler worker neither re-parses the 9 MB file nor
 * re-compiles the functions a check needs (Node 20 has no `module.enableCompileCache`).
 *
 * `preloadTypeScript()` compiles typescript.js as a `vm.Script` with the cached bytecode, runs it as the
 * CommonJS module `require('typescript')` would, and puts it in `require.cache`, so typescript.ts (and so
 * every compiler module) gets this instance. After the warm-up check, `save()` writes the bytecode V8 then
 * holds (including the functions the check compiled) for the next start.
 *
 * The cache is only ever a speed-up: a missing, unreadable, corrupt (digest mismatch) or rejected
 * (`cachedDataRejected`: another V8, other flags, other source) file means a normal compile. Security:
 * bytecode is code, so the file lives in the per-user data directory (never a shared temp directory),
 * and it is handed to V8 only if its SHA-256 matches the digest stored with it, which catches torn or
 * damaged files before V8 deserializes them.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync, statSync } from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { threadId } from 'node:worker_threads';

/** How a load used the cache. `off`: TypeScript was already loaded, nothing to do. */
export type CodeCacheState =
  | 'accepted'
  | 'missing'
  | 'corrupt'
  | 'rejected'
  | 'off'
  /** The compiler started from its startup snapshot (snapshot.ts): TypeScript was never loaded. */
  | 'snapshot';

/** What `save()` did: `written`, `current` (the cache was accepted, nothing to write), or why not. */
export type CodeCacheSave = 'written' | 'current' | 'off' | 'failed';

export interface TypeScriptPreload {
  /** The cache file for this Node + TypeScript, whether or not it exists. */
  readonly file: string;
  readonly state: CodeCacheState;
  /**
   * Writes the bytecode V8 holds now, atomically (temporary file + rename), and deletes cache files of
   * other versions. Call it after a warm-up check. Never throws; does nothing if the cache was accepted.
   */
  save(): Promise<CodeCacheSave>;
}

const FILE_PREFIX = 'typescript-';
const FILE_SUFFIX = '.v8cache';
/** File layout: MAGIC, then the SHA-256 of the payload, then the payload (V8's cached data). */
const MAGIC = Buffer.from('toolsmith-v8cache-1\n');
const DIGEST_BYTES = 32;
/** Cache files of other keys (and torn temporary files) untouched this long are deleted. */
const STALE_AFTER_MS = 7 * 24 * 3600 * 1000;

const require = createRequire(import.meta.url);

function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The payload of a cache file, or undefined if the file is not one of ours or is damaged. */
function unpack(file: Buffer): Buffer | undefined {
  if (file.length <= MAGIC.length + DIGEST_BYTES) return undefined;
  if (!file.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const digest = file.subarray(MAGIC.length, MAGIC.length + DIGEST_BYTES);
  const payload = file.subarray(MAGIC.length + DIGEST_BYTES);
  return sha256(payload).equals(digest) ? payload : undefined;
}

/** Everything the bytecode depends on; a change of any of them selects another file. */
function cacheKey(filename: string): string {
  const { size, mtimeMs } = statSync(filename);
  const { version } = require('typescript/package.json') as { version: string };
  const parts = [
    process.version,
    process.versions.v8,
    process.arch,
    version,
    filename,
    size,
    mtimeMs,
  ];
  return sha256(Buffer.from(JSON.stringify(parts)))
    .toString('hex')
    .slice(0, 24);
}

/**
 * Deletes cache files of other keys (other Node or TypeScript versions: never read again) and torn
 * temporary files, once they are a week old: another install sharing the directory may still use its
 * own. Best effort: another process may be doing the same.
 */
async function removeStale(directory: string, current: string): Promise<void> {
  for (const name of await readdir(directory).catch(() => [])) {
    const path = join(directory, name);
    if (!name.startsWith(FILE_PREFIX) || path === current) continue;
    try {
      const { mtimeMs } = await stat(path);
      if (Date.now() - mtimeMs > STALE_AFTER_MS) await rm(path, { force: true });
    } catch {
      // Gone already, or not ours to delete.
    }
  }
}

/**
 * Loads typescript.js through the code cache in `directory` and registers it as `require('typescript')`.
 * Call it before anything imports the compiler modules. Throws only if TypeScript itself cannot be loaded.
 */
export function preloadTypeScript(directory: string): TypeScriptPreload {
  const filename = require.resolve('typescript');
  const file = join(directory, `${FILE_PREFIX}${cacheKey(filename)}${FILE_SUFFIX}`);
  if (require.cache[filename]) return { file, state: 'off', save: () => Promise.resolve('off') };

  let cachedData: Buffer | undefined;
  let state: CodeCacheState;
  try {
    cachedData = unpack(readFileSync(file));
    state = cachedData ? 'accepted' : 'corrupt';
  } catch {
    state = 'missing';
  }
  // The wrapper Node itself puts around a CommonJS module.
  const source = readFileSync(filename, 'utf8');
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) { ${source}\n})`,
    { filename, ...(cachedData ? { cachedData } : {}) },
  );
  if (cachedData && script.cachedDataRejected === true) state = 'rejected';

  const module = new Module(filename);
  module.filename = filename;
  require.cache[filename] = module;
  try {
    const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
    wrapper.call(
      module.exports,
      module.exports,
      createRequire(filename),
      module,
      filename,
      dirname(filename),
    );
    module.loaded = true;
  } catch (error) {
    delete require.cache[filename];
    throw error;
  }

  return {
    file,
    state,
    async save() {
      if (state === 'accepted') return 'current';
      try {
        const payload = script.createCachedData();
        await mkdir(directory, { recursive: true, mode: 0o700 });
        const temporary = `${file}.${process.pid}-${threadId}.tmp`;
        await writeFile(temporary, Buffer.concat([MAGIC, sha256(payload), payload]), {
          mode: 0o600,
        });
        await rename(temporary, file);
      } catch {
        return 'failed';
      }
      await removeStale(directory, file);
      return 'written';
    },
  };
}
