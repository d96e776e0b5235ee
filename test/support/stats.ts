/** Small statistics for tests that recompute, from the data they sent, what the collector should answer. */

export function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}

/** ClickHouse's quantileExact: the element at floor(q × n) of the sorted values. */
export function quantileExact(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export const percentilesOf = (values: readonly number[]) => ({ p50: quantileExact(values, 0.5), p95: quantileExact(values, 0.95) });
