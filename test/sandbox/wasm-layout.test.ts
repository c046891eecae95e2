/**
 * The memory layout a memory image relies on, read from the QuickJS binary, and the stack size it assumes
 * checked against what the same release's debug build states.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { MAX_ZEROED_STATICS, readWasmLayout, STACK_BYTES } from '../../src/sandbox/wasm-layout.js';

const require = createRequire(import.meta.url);

/** A minimal binary: a stack-pointer global initialised to `stackTop` and one data segment at `dataAt`. */
function binary(stackTop: number, dataAt: number, dataLength: number): Uint8Array {
  const leb = (value: number): number[] => {
    const out: number[] = [];
    let rest = value;
    for (;;) {
      const byte = rest & 0x7f;
      rest = Math.floor(rest / 128);
      const done = rest === 0 && !(byte & 0x40);
      out.push(done ? byte : byte | 0x80);
      if (done) return out;
    }
  };
  const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
  const globals = section(6, [1, 0x7f, 1, 0x41, ...leb(stackTop), 0x0b]);
  const data = section(11, [
    1,
    0,
    0x41,
    ...leb(dataAt),
    0x0b,
    ...leb(dataLength),
    ...new Array<number>(dataLength).fill(1),
  ]);
  return new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...globals, ...data]);
}

describe('readWasmLayout', () => {
  it("finds the stack's top and where the statics end in the build that runs", () => {
    const path = require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
    const layout = readWasmLayout(new Uint8Array(readFileSync(path)));
    assert.ok(layout.dataEnd > 1024 && layout.dataEnd <= layout.stackTop - STACK_BYTES);
    assert.equal(
      layout.staticEnd,
      Math.max(layout.stackTop - STACK_BYTES, layout.dataEnd + MAX_ZEROED_STATICS),
    );
    assert.ok(layout.staticEnd < 1024 * 1024, String(layout.staticEnd));
  });

  it('assumes the stack size the debug build of the same release states', () => {
    const release = require('@jitl/quickjs-wasmfile-release-sync/package.json') as {
      version: string;
    };
    const debugGlue = require.resolve('@jitl/quickjs-wasmfile-debug-sync/emscripten-module');
    const debug = require('@jitl/quickjs-wasmfile-debug-sync/package.json') as { version: string };
    assert.equal(debug.version, release.version);
    const stated = /STACK_SIZE=' \+ (\d+)/.exec(readFileSync(debugGlue, 'utf8'));
    assert.equal(Number(stated?.[1]), STACK_BYTES);
  });

  it('copies the statics up to the larger of their two bounds, and the whole stack when data reaches into it', () => {
    // The data ends at 33,024; the stack would start at 140,000.
    assert.deepEqual(readWasmLayout(binary(STACK_BYTES + 140_000, 1024, 32_000)), {
      stackTop: STACK_BYTES + 140_000,
      dataEnd: 33_024,
      staticEnd: 140_000,
    });
    // The stack would start at 40,000: the statics may still reach 64 KiB past the data.
    assert.equal(
      readWasmLayout(binary(STACK_BYTES + 40_000, 1024, 32_000)).staticEnd,
      33_024 + MAX_ZEROED_STATICS,
    );
    // Data past where the stack would start: the stack is smaller than assumed.
    const overlapping = binary(STACK_BYTES + 20_000, 1024, 32_000);
    assert.equal(readWasmLayout(overlapping).staticEnd, STACK_BYTES + 20_000);
  });

  it('refuses a binary with no stack pointer', () => {
    assert.throws(
      () => readWasmLayout(new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])),
      /stack pointer/,
    );
  });
});
