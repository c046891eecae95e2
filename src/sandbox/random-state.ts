/**
 * Math.random's state inside a QuickJS context, so that each run from a memory image gets a seed of its
 * own. Without this every run restored from one image would draw the same "random" numbers.
 *
 * QuickJS keeps a 64-bit xorshift64* state in the context (seeded from the clock at creation) and makes
 * each number from the state after one step: `((state * M) >> 12) as a double in [1, 2) - 1`. The state's
 * offset in the context struct is not published, so it is found by value: draw a number, then look for
 * the 8 bytes in the context from which QuickJS would have made it; then check by seeding it.
 */
import { randomFillSync } from 'node:crypto';
import type { WasmMemory } from './module.js';

const MASK = (1n << 64n) - 1n;
const MULTIPLIER = 0x2545f4914f6cdd1dn;
/** How far into the context struct to look: the state sits in its first few hundred bytes. */
const SEARCH_BYTES = 4096;

/** The number QuickJS draws from a state that has just been stepped to `state`. */
function drawn(state: bigint): number {
  const bits = (((state * MULTIPLIER) & MASK) >> 12n) | (0x3ffn << 52n);
  return new Float64Array(new BigUint64Array([bits]).buffer)[0]! - 1;
}

/** One xorshift64* step. */
function step(state: bigint): bigint {
  let x = state;
  x ^= x >> 12n;
  x ^= (x << 25n) & MASK;
  x ^= x >> 27n;
  return x;
}

/**
 * The byte address of the Math.random state of the context at `contextAddress`. `random` draws one number
 * in that context. Throws if the state cannot be found or seeding it does not steer Math.random: running
 * from an image without it would repeat every run's numbers.
 */
export function locateRandomState(
  memory: WasmMemory,
  contextAddress: number,
  random: () => number,
): number {
  const value = random();
  const words = new BigUint64Array(memory.buffer);
  const first = Math.ceil(contextAddress / 8);
  let found: number | undefined;
  for (let index = first; index < first + SEARCH_BYTES / 8 && index < words.length; index++) {
    const candidate = words[index]!;
    if (candidate !== 0n && drawn(candidate) === value) {
      if (found !== undefined) throw new Error('Math.random has more than one candidate state');
      found = index * 8;
    }
  }
  if (found === undefined) throw new Error('Math.random state not found in the QuickJS context');
  const seed = 0x9e3779b97f4a7c15n;
  writeState(memory, found, seed);
  if (random() !== drawn(step(seed)))
    throw new Error('seeding the Math.random state found does not steer Math.random');
  return found;
}

/** Gives the state at `address` a fresh seed from the host's cryptographic generator. */
export function reseed(memory: WasmMemory, address: number): void {
  writeState(memory, address, nextSeed());
}

function writeState(memory: WasmMemory, address: number, state: bigint): void {
  new BigUint64Array(memory.buffer, address, 1)[0] = state;
}

/** Seeds drawn ahead in batches: one crypto call per 256 runs. */
const seeds = new BigUint64Array(256);
let nextIndex = seeds.length;

function nextSeed(): bigint {
  for (;;) {
    if (nextIndex === seeds.length) {
      randomFillSync(seeds);
      nextIndex = 0;
    }
    const seed = seeds[nextIndex++]!;
    // xorshift stays at zero forever from a zero state.
    if (seed !== 0n) return seed;
  }
}
