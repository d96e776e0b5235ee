const BUCKETS = 10;
const BUCKET_MS = 100;

export interface RateWindow {
  /** Counts one op at `now` (ms); returns the ops/s estimate, this op included. */
  add(now: number): number;
  /** The ops/s estimate at `now`. */
  rate(now: number): number;
  reset(): void;
}

/**
 * Ops per second over a sliding one-second window in O(1): ten 100 ms buckets in a ring
 * with their running sum, plus the count of the bucket that last fell out. Moving to a
 * new bucket clears the buckets skipped over (at most ten), so the cost per op does not
 * depend on the rate.
 *
 * The ten buckets span 900 ms plus the elapsed part of the current one; the fallen
 * bucket's count, weighted by the part of it still inside the last 1000 ms, fills the
 * rest. A steady rate then reads as itself at every instant rather than dipping 10 %
 * each time a bucket starts, which would make the mode flap around a threshold.
 */
export function createRateWindow(): RateWindow {
  const counts = new Float64Array(BUCKETS);
  let bucket = Number.NEGATIVE_INFINITY;
  let slot = 0;
  let total = 0;
  let fallen = 0;

  function advance(now: number): void {
    const target = Math.floor(now / BUCKET_MS);
    // A clock that went backwards keeps counting in the current bucket.
    if (target <= bucket) return;
    if (target - bucket > BUCKETS) {
      counts.fill(0);
      total = 0;
      fallen = 0;
    } else {
      for (let b = bucket + 1; b <= target; b++) {
        slot = slot === BUCKETS - 1 ? 0 : slot + 1;
        fallen = counts[slot]!;
        total -= fallen;
        counts[slot] = 0;
      }
    }
    bucket = target;
  }

  function estimate(now: number): number {
    const elapsed = (now - bucket * BUCKET_MS) / BUCKET_MS;
    return elapsed >= 1 ? total : total + fallen * (1 - elapsed);
  }

  return {
    add(now) {
      advance(now);
      counts[slot] = counts[slot]! + 1;
      total++;
      return estimate(now);
    },
    rate(now) {
      advance(now);
      return estimate(now);
    },
    reset() {
      counts.fill(0);
      total = 0;
      fallen = 0;
      bucket = Number.NEGATIVE_INFINITY;
    },
  };
}
