import { LATENCY_BUCKETS_MS } from "../contract.js";

/**
 * The q-quantile (0–1) of a latency histogram, in ms: `counts[i]` ops took at most
 * `LATENCY_BUCKETS_MS[i]` (and more than the bound before), the last count is `le_inf`.
 * Linear interpolation inside the bucket the rank falls in, from its lower bound (0 for
 * the first) to its upper one; a rank in `le_inf` answers the highest finite bound, as
 * Prometheus' histogram_quantile does. null without ops.
 */
export function quantileMs(counts: readonly number[], q: number): number | null {
  const total = counts.reduce((sum, c) => sum + c, 0);
  if (total <= 0) return null;
  const rank = q * total;
  let before = 0;
  for (let i = 0; i < counts.length; i++) {
    const inBucket = counts[i]!;
    if (inBucket > 0 && before + inBucket >= rank) {
      if (i >= LATENCY_BUCKETS_MS.length) return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_MS[i - 1]!;
      const upper = LATENCY_BUCKETS_MS[i]!;
      return round(lower + ((upper - lower) * Math.max(0, rank - before)) / inBucket);
    }
    before += inBucket;
  }
  return LATENCY_BUCKETS_MS[LATENCY_BUCKETS_MS.length - 1]!;
}

/** p50, p95 and p99 of a histogram, ms. */
export function percentilesMs(counts: readonly number[]): { p50: number | null; p95: number | null; p99: number | null } {
  return { p50: quantileMs(counts, 0.5), p95: quantileMs(counts, 0.95), p99: quantileMs(counts, 0.99) };
}

export const round = (value: number, digits = 3): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/**
 * The share of reads served whole from the cache: hits / (hits + misses + partial hits).
 * A partial hit (some keys of a multi-key read missing) is not a hit. null without reads.
 */
export function hitRate(hits: number, misses: number, partialHits: number): number | null {
  const reads = hits + misses + partialHits;
  return reads > 0 ? round(hits / reads, 4) : null;
}
