import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultDataDirectory, parseConfig } from '../src/config.js';
import { DEFAULT_LIMITS } from '../src/registry/limits.js';

const linux = { platform: 'linux' as const, home: '/home/u', cores: 2 };

describe('parseConfig: flag > env > default', () => {
  it('defaults to a SQLite file in the per-user data directory and sane limits', () => {
    const parsed = parseConfig([], {}, linux);
    assert.ok(parsed.kind === 'run');
    assert.equal(parsed.config.storeUrl, '/home/u/.local/share/toolsmith/tools.sqlite');
    assert.deepEqual(parsed.config.limits, DEFAULT_LIMITS);
    assert.equal(parsed.config.poolSize, 3, 'a worker per core and one more');
    const oneCore = parseConfig([], {}, { ...linux, cores: 1 });
    assert.ok(oneCore.kind === 'run');
    assert.equal(
      oneCore.config.poolSize,
      2,
      'two workers even on one core, so a slow tool cannot take them all',
    );
    const manyCores = parseConfig([], {}, { ...linux, cores: 16 });
    assert.ok(manyCores.kind === 'run');
    assert.equal(manyCores.config.poolSize, 5);
  });
  it('reads TOOLSMITH_* and lets flags win', () => {
    const env = {
      TOOLSMITH_STORE: '/env.sqlite',
      TOOLSMITH_TIMEOUT_MS: '250',
      TOOLSMITH_POOL_SIZE: '3',
    };
    const fromEnv = parseConfig([], env, linux);
    assert.ok(fromEnv.kind === 'run');
    assert.equal(fromEnv.config.storeUrl, '/env.sqlite');
    assert.equal(fromEnv.config.limits.timeoutMs, 250);
    assert.equal(fromEnv.config.poolSize, 3);
    const fromFlag = parseConfig(
      ['--store', 'sqlite:///flag.sqlite', '--timeout-ms', '900', '--memory-limit-mb', '16'],
      env,
      linux,
    );
    assert.ok(fromFlag.kind === 'run');
    assert.equal(fromFlag.config.storeUrl, 'sqlite:///flag.sqlite');
    assert.equal(fromFlag.config.limits.timeoutMs, 900);
    assert.equal(fromFlag.config.limits.memoryLimitBytes, 16 * 1024 * 1024);
    const caps = parseConfig(
      ['--max-result-bytes', '2048', '--max-tests', '5', '--max-source-bytes', '5000'],
      {},
      linux,
    );
    assert.ok(caps.kind === 'run');
    assert.equal(caps.config.limits.maxResultBytes, 2048);
    assert.equal(caps.config.limits.maxTests, 5);
    assert.equal(caps.config.limits.maxSourceBytes, 5000);
  });
  it('answers help and version, and refuses bad flags and values in one line', () => {
    assert.equal(parseConfig(['--help'], {}, linux).kind, 'help');
    assert.equal(parseConfig(['-v'], {}, linux).kind, 'version');
    const largest = parseConfig(['--memory-limit-mb', '2048'], {}, linux);
    assert.ok(largest.kind === 'run');
    assert.equal(largest.config.limits.memoryLimitBytes, 2048 * 1048576);
    for (const argv of [
      ['--nope'],
      ['--timeout-ms', 'soon'],
      ['--timeout-ms', '1'],
      ['--log-level', 'loud'],
      ['positional'],
      // More than a worker's 2 GiB WebAssembly heap (4096 MiB also wrapped QuickJS's 32-bit limit to 0).
      ['--memory-limit-mb', '4096'],
    ]) {
      const parsed = parseConfig(argv, {}, linux);
      assert.equal(parsed.kind, 'error', argv.join(' '));
      assert.ok(parsed.kind === 'error' && !parsed.message.includes('\n'));
    }
  });
  it('keeps the code cache in the data directory unless told where, or off', () => {
    const byDefault = parseConfig([], {}, linux);
    assert.ok(byDefault.kind === 'run');
    assert.equal(byDefault.config.codeCacheDirectory, '/home/u/.local/share/toolsmith/cache');
    const fromEnv = parseConfig([], { TOOLSMITH_CACHE_DIR: '/var/cache/ts' }, linux);
    assert.ok(fromEnv.kind === 'run');
    assert.equal(fromEnv.config.codeCacheDirectory, '/var/cache/ts');
    const off = parseConfig(
      ['--cache-dir', 'off'],
      { TOOLSMITH_CACHE_DIR: '/var/cache/ts' },
      linux,
    );
    assert.ok(off.kind === 'run');
    assert.equal(off.config.codeCacheDirectory, undefined);
  });
  it('knows the data directory on each platform', () => {
    assert.equal(defaultDataDirectory({ XDG_DATA_HOME: '/xdg' }, linux), '/xdg/toolsmith');
    assert.equal(
      defaultDataDirectory({}, { ...linux, platform: 'darwin' }),
      '/home/u/Library/Application Support/toolsmith',
    );
    assert.match(
      defaultDataDirectory(
        { LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' },
        { ...linux, platform: 'win32' },
      ),
      /toolsmith$/,
    );
  });
});
