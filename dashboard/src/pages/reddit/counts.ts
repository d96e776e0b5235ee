import type { ChartData, ChartSeries } from "../../lib/components/Chart.svelte";
import type { MentionCounts } from "./types.js";

/**
 * `GET /api/mentions/counts` as chart columns. The API lists only the buckets that have
 * mentions; a line chart needs every bucket of the window, so the missing ones are 0
 * (not gaps: no mention in that hour is a count of zero). Buckets start at whole UTC
 * hours or days, as the API counts them.
 */

export const RANGES = [
  { value: "24h", label: "Last 24 hours", ms: 86_400_000, interval: "hour" },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000, interval: "hour" },
  { value: "30d", label: "Last 30 days", ms: 30 * 86_400_000, interval: "day" },
] as const;
export type RangeValue = (typeof RANGES)[number]["value"];

/** Most keywords drawn at once: beyond five lines a chart is unreadable (and the palette repeats). */
export const MAX_SERIES = 5;

export interface CountsChart {
  data: ChartData;
  series: ChartSeries[];
  /** Keywords with mentions that are not drawn (fewer mentions than the drawn ones). */
  hidden: number;
  total: number;
}

export function countsToChart(answer: MentionCounts, max = MAX_SERIES): CountsChart {
  const step = answer.interval === "day" ? 86_400 : 3_600;
  const since = Math.floor(Date.parse(answer.since) / 1000 / step) * step;
  const until = Date.parse(answer.until) / 1000;
  const times: number[] = [];
  for (let t = since; t < until; t += step) times.push(t);

  const keywords = [...answer.keywords].sort((a, b) => b.total - a.total || (a.keyword ?? "").localeCompare(b.keyword ?? ""));
  const shown = keywords.slice(0, max);
  const index = new Map(times.map((t, i) => [t, i]));
  const columns = shown.map((k) => {
    const values: number[] = times.map(() => 0);
    for (const bucket of k.buckets) {
      const i = index.get(Math.floor(Date.parse(bucket.start) / 1000 / step) * step);
      if (i !== undefined) values[i]! += bucket.mentions;
    }
    return values;
  });
  return {
    data: (times.length > 0 && shown.length > 0 ? [times, ...columns] : [[]]) as ChartData,
    series: shown.map((k) => ({ label: k.keyword ?? "(deleted keyword)" })),
    hidden: keywords.length - shown.length,
    total: keywords.reduce((sum, k) => sum + k.total, 0),
  };
}
