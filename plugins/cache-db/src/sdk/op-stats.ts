import { LATENCY_BUCKETS_MS, bucketKey } from "../contract.js";
import { RESULT_HIT, RESULT_MISS, RESULT_PARTIAL } from "./codes.js";

/**
 * The exact counters of one (label, op kind) over one flush window, in one preallocated
 * Float64Array so counting an op is a few stores: the fields below, then one latency
 * bucket per LATENCY_BUCKETS_MS bound and `le_inf`.
 */
export const STAT_OPS = 0;
export const STAT_ITEMS = 1;
export const STAT_HITS = 2;
export const STAT_MISSES = 3;
export const STAT_PARTIAL = 4;
export const STAT_SUM_MS = 5;
const STAT_BUCKETS = 6;
const BOUNDS = LATENCY_BUCKETS_MS;
export const STAT_WIDTH = STAT_BUCKETS + BOUNDS.length + 1;

const BUCKET_KEYS = [...BOUNDS.map(bucketKey), "le_inf" as const];

export function countOp(stats: Float64Array, result: number, count: number, durationMs: number): void {
  stats[STAT_OPS]! += 1;
  stats[STAT_ITEMS]! += count;
  if (result === RESULT_HIT) stats[STAT_HITS]! += 1;
  else if (result === RESULT_MISS) stats[STAT_MISSES]! += 1;
  else if (result === RESULT_PARTIAL) stats[STAT_PARTIAL]! += 1;
  stats[STAT_SUM_MS]! += durationMs;
  let bucket = 0;
  while (bucket < BOUNDS.length && durationMs > BOUNDS[bucket]!) bucket++;
  stats[STAT_BUCKETS + bucket]! += 1;
}

/** The histogram and counters as cache.stats attrs (per bucket, not cumulative). */
export function statsAttrs(stats: Float64Array): Record<string, number> {
  const attrs: Record<string, number> = {
    ops: stats[STAT_OPS]!,
    items: stats[STAT_ITEMS]!,
    hits: stats[STAT_HITS]!,
    misses: stats[STAT_MISSES]!,
    partial_hits: stats[STAT_PARTIAL]!,
    sum_ms: roundMs(stats[STAT_SUM_MS]!),
  };
  for (let i = 0; i < BUCKET_KEYS.length; i++) attrs[BUCKET_KEYS[i]!] = stats[STAT_BUCKETS + i]!;
  return attrs;
}

/** Microsecond precision is all a latency needs, and it keeps float noise out of events. */
export function roundMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
