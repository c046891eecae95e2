/**
 * The memory layout a memory image relies on, read from the QuickJS binary, and the stack size it assumes
 * checked against what the same release's debug build states.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { readWasmLayout, STACK_BYTES } from '../../src/sandbox/wasm-layout.js';

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
  it("finds the stack's top and skips the idle stack in the build that runs", () => {
    const path = require.resolve('@jitl/quickjs-wasmfile-release-sync/wasm');
    const layout = readWasmLayout(new Uint8Array(readFileSync(path)));
    assert.equal(layout.staticEnd, layout.stackTop - STACK_BYTES);
    assert.ok(layout.staticEnd > 1024 && layout.staticEnd < 1024 * 1024, String(layout.staticEnd));
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

  it('copies the whole stack too when the statics could reach into it', () => {
    const expected = binary(STACK_BYTES + 40_000, 1024, 32_000);
    assert.deepEqual(readWasmLayout(expected), {
      stackTop: STACK_BYTES + 40_000,
      staticEnd: 40_000,
    });
    // Far more room between the data and the assumed stack than statics need: the stack is smaller.
    const smallStack = binary(STACK_BYTES + 900_000, 1024, 32_000);
    assert.equal(readWasmLayout(smallStack).staticEnd, STACK_BYTES + 900_000);
    // Data past the assumed stack's bottom.
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
