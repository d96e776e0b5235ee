import { randomBytes } from "node:crypto";

/**
 * mulberry32: a few integer operations per number and no allocation, which is all that
 * deciding "log this op or not" needs; it is not for anything secret. Seeded from the
 * OS so two processes do not sample the same ops.
 */
export function createRandom(seed: number = randomBytes(4).readUInt32LE(0)): () => number {
  let state = seed >>> 0;
  return function nextRandom(): number {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
