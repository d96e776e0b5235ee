import { loadavg } from "node:os";
/**
 * How every benchmark reports: human-readable progress on stderr while it runs, then its
 * figures as JSON lines on stdout, one object per figure (see DESIGN.md, "Tests and
 * benchmarks"). Keeping stdout for figures only lets `pnpm bench | grep '^{'` collect them.
 */

export interface Figure {
  bench: string;
  metric: string;
  value: number;
  unit: string;
  [extra: string]: string | number;
}

export interface Spread {
  value: number;
  min: number;
  max: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The median of repeated runs, with their min and max (the machines are noisy). */
export function spread(values: readonly number[]): Spread {
  return { value: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * A figure's value, min and max beside its baseline's, with their ratio (DESIGN.md's
 * format), each rounded by `round` (whole numbers unless said otherwise).
 */
export function versusBaseline(measured: Spread, baseline: Spread, round: (value: number) => number = Math.round) {
  return {
    value: round(measured.value),
    min: round(measured.min),
    max: round(measured.max),
    baseline: round(baseline.value),
    baseline_min: round(baseline.min),
    baseline_max: round(baseline.max),
    ratio: Number((measured.value / baseline.value).toFixed(3)),
  };
}

export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

export function printFigures(figures: readonly Figure[]): void {
  for (const figure of figures) process.stdout.write(`${JSON.stringify(figure)}\n`);
}

/** 61234.5 -> "61,235": progress lines are read by people. */
export function formatCount(value: number): string {
  return Math.round(value).toLocaleString("en-US");
}

/** The machine's load averages (1, 5, 15 min), for progress lines: figures from a busy machine say so. */
export function load(): string {
  return loadavg()
    .map((value) => value.toFixed(2))
    .join(" ");
}

/** Milliseconds rounded to two decimals, as the JSON lines print them. */
export const ms = (value: number) => Number(value.toFixed(2));
