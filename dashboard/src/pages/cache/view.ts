import type { Query } from "../../lib/api.js";
import type { ChartData } from "../../lib/components/Chart.svelte";
import { formatNumber, formatPercent } from "../../lib/format.js";
import type { Tone } from "../../lib/status.js";
import type { AppMonitor, CacheSettings, MonitorAnswer, Mode, Op, RecentOp, SeriesAnswer, Summary } from "./types.js";

/**
 * What the cache monitor page shows, worked out from the API's answers: pure functions,
 * so the tests pin them without a DOM. The page itself only wires them to the controls.
 */

export const SOURCE = "cache";
export const OP_EVENT = "cache.op";
export const DEFAULT_APP = "*";

/** The refresh interval choices, in seconds (the terminal view's range, 1–10 s). */
export const INTERVALS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] as const;
export const DEFAULT_INTERVAL = 2;

/** How far back the figures and the log reach (the API's `window`). */
export const WINDOWS = [
  { value: "1m", label: "Last minute" },
  { value: "5m", label: "Last 5 minutes" },
  { value: "15m", label: "Last 15 minutes" },
  { value: "1h", label: "Last hour" },
] as const;
export type WindowValue = (typeof WINDOWS)[number]["value"];

export const OP_LABELS: Record<Op, string> = {
  cache_read: "Cache reads",
  cache_write: "Cache writes",
  db_read: "DB reads",
  db_write: "DB writes",
  hybrid: "Hybrid queries",
};
/** The op kinds, in the order the filters and tables list them. */
export const OPS = Object.keys(OP_LABELS) as Op[];

/** Entries the log keeps on screen (the API sends up to 100 per app, the live tail adds more). */
export const LOG_LIMIT = 200;

export interface MonitorFilters {
  /** "" for every application. */
  app: string;
  keyLabel: string;
  /** "" for every kind. */
  op: Op | "";
  window: WindowValue;
}

/** `GET /api/cache-monitor`'s query for these filters; empty ones are left out. */
export function monitorQuery(filters: MonitorFilters): Query {
  return {
    app: filters.app || undefined,
    key_label: filters.keyLabel.trim() || undefined,
    type: filters.op || undefined,
    window: filters.window,
    limit: 100,
  };
}

// ---------------------------------------------------------------- the mode and the switch

/** The mode indicator's colour: logging everything is the calm state, counters only is informative, off is neutral. */
export function modeTone(mode: Mode | null): Tone {
  switch (mode) {
    case "detailed":
      return "ok";
    case "sampled":
      return "warn";
    case "aggregated":
      return "info";
    default:
      return "neutral";
  }
}

export function modeText(mode: Mode | null): string {
  return mode ?? "unknown";
}

/**
 * The gap between the switch and what the app last reported: the settings reach an app
 * through its agent within seconds, and its mode shows once it reports again.
 */
export function modeNote(app: Pick<AppMonitor, "mode" | "enabled">): string | null {
  if (app.mode === null) return app.enabled ? "has not reported a mode yet" : "switched off; it has not reported yet";
  if (!app.enabled && app.mode !== "disabled") return "switched off: waiting for the app to apply it (a few seconds through its agent)";
  if (app.enabled && app.mode === "disabled") return "switched on: waiting for the app to apply it (a few seconds through its agent)";
  return null;
}

/** What the enable switch controls for the selection: "*" (every app without its own settings) or one app. */
export interface SwitchTarget {
  app: string;
  enabled: boolean;
  /** The app has settings of its own (a snapshot), so a change of "*" does not reach it. */
  own: boolean;
}

export function switchTarget(settings: Record<string, CacheSettings>, app: string): SwitchTarget {
  const fallback = settings[DEFAULT_APP]?.enabled ?? true;
  if (!app || app === DEFAULT_APP) return { app: DEFAULT_APP, enabled: fallback, own: false };
  const own = settings[app];
  return { app, enabled: own ? own.enabled : fallback, own: own !== undefined };
}

/** The body of `PUT /api/cache-monitor/settings` that flips the switch (only the field that changes). */
export function switchBody(target: SwitchTarget, enabled: boolean): { app: string; settings: { enabled: boolean } } {
  return { app: target.app, settings: { enabled } };
}

/** The apps whose own settings keep them out of a change of "*". */
export function appsWithOwnSettings(settings: Record<string, CacheSettings>): string[] {
  return Object.keys(settings)
    .filter((app) => app !== DEFAULT_APP)
    .sort();
}

// ---------------------------------------------------------------- the figures

export interface Figure {
  label: string;
  value: string;
  hint?: string;
  tone: Tone;
}

/** Below this hit rate the plugin's alert template fires (`cache-hit-rate-low`): shown as bad news. */
export const HIT_RATE_LOW = 0.8;

export function hitRateTone(rate: number | null): Tone {
  if (rate === null) return "neutral";
  return rate < HIT_RATE_LOW ? "bad" : "ok";
}

/** The headline numbers of one app's summary, in the seed dashboard's order. */
export function figures(summary: Summary): Figure[] {
  const reads = summary.cache_reads;
  const share = (n: number) => (reads > 0 ? `${formatPercent(n / reads)} of ${formatNumber(reads)} cache reads` : "no cache reads");
  return [
    {
      label: "Hit rate",
      value: formatPercent(summary.hit_rate, { digits: 1 }),
      hint: reads > 0 ? `hits ÷ ${formatNumber(reads)} cache reads` : "no cache reads in the window",
      tone: hitRateTone(summary.hit_rate),
    },
    { label: "Hits", value: formatNumber(summary.hits, { compact: true }), hint: share(summary.hits), tone: "neutral" },
    { label: "Misses", value: formatNumber(summary.misses, { compact: true }), hint: share(summary.misses), tone: "neutral" },
    { label: "Partial hits", value: formatNumber(summary.partial_hits, { compact: true }), hint: share(summary.partial_hits), tone: "neutral" },
    { label: "Cache writes", value: formatNumber(summary.cache_writes, { compact: true }), tone: "neutral" },
    { label: "DB reads", value: formatNumber(summary.db_reads, { compact: true }), tone: "neutral" },
    { label: "DB writes", value: formatNumber(summary.db_writes, { compact: true }), tone: "neutral" },
    { label: "Hybrid queries", value: formatNumber(summary.hybrid_queries, { compact: true }), tone: "neutral" },
  ];
}

/** "0.45 ms", "38.8 ms", "1,000 ms"; a dash when unknown. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return "—";
  return `${formatNumber(ms, { digits: ms < 10 ? 2 : 1 })} ms`;
}

/** The latency per kind with operations, in the kinds' usual order. */
export function latencyRows(summary: Summary): { op: Op; label: string; p50: string; p95: string; p99: string; avg: string }[] {
  const rows = [];
  for (const op of OPS) {
    const latency = summary.latency_ms[op];
    if (!latency) continue;
    rows.push({ op, label: OP_LABELS[op], p50: formatMs(latency.p50), p95: formatMs(latency.p95), p99: formatMs(latency.p99), avg: formatMs(latency.avg) });
  }
  return rows;
}

/** Ops/s per minute for the chart; too few points (< 2) draw nothing. */
export function seriesData(series: SeriesAnswer | undefined): ChartData {
  const points = series?.points ?? [];
  if (points.length < 2) return [[]];
  return [points.map((p) => Date.parse(p.t) / 1000), points.map((p) => p.ops_per_s)];
}

// ---------------------------------------------------------------- the event log

/** The colour family of a logged operation, as the terminal view colours them. */
export type LogClass = "hit" | "miss" | "partial" | "write" | "db-read" | "hybrid" | "other";

/** A logged operation on screen: one of an app's `recent` (its mode aside) or one from the live tail. */
export interface LogEntry extends Omit<RecentOp, "mode"> {
  /** Unique on screen. */
  key: string;
  app: string;
  /** The wrapped client's call failed. */
  error: boolean;
  /** Arrived on the live tail (not yet in a polled answer). */
  live?: boolean;
}

/**
 * Hits green, misses red, partial hits yellow, writes (cache and database) blue, database
 * reads and hybrid queries magenta. The word is always printed too: colour is never the
 * only cue.
 */
export function logClass(entry: Pick<LogEntry, "op" | "result">): LogClass {
  switch (entry.op) {
    case "cache_read":
      return entry.result === "hit" ? "hit" : entry.result === "partial" ? "partial" : "miss";
    case "cache_write":
    case "db_write":
      return "write";
    case "db_read":
      return "db-read";
    case "hybrid":
      return "hybrid";
    default:
      return "other";
  }
}

/** "1/20" for an operation logged at a 5 % sample rate; "" when every operation is logged. */
export function sampleText(rate: number | null): string {
  if (rate === null || rate >= 1 || rate <= 0) return "";
  return `1/${Math.round(1 / rate)}`;
}

const numberOrNull = (text: string | undefined): number | null => {
  if (text === undefined || text === "") return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
};

let liveKey = 0;

/** The polled answer's logged operations of every app, newest first. */
export function entriesFromAnswer(answer: MonitorAnswer): LogEntry[] {
  const entries: LogEntry[] = [];
  for (const app of answer.apps) {
    app.recent.forEach((r, i) =>
      entries.push({
        key: `${app.app}|${r.ts}|${i}`,
        app: app.app,
        ts: r.ts,
        op: r.op,
        key_label: r.key_label,
        result: r.result,
        count: r.count,
        duration_ms: r.duration_ms,
        sample_rate: r.sample_rate,
        origin: r.origin,
        error: false,
      }),
    );
  }
  return entries.sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0));
}

/** A `cache.op` event from the `events` live topic (its attributes arrive as strings); null for anything else. */
export function entryFromLiveEvent(event: { ts: string; source: string; type: string; attrs: Record<string, string> }): LogEntry | null {
  if (event.source !== SOURCE || event.type !== OP_EVENT) return null;
  const a = event.attrs;
  if (!a.app || !a.op) return null;
  return {
    key: `live-${++liveKey}`,
    app: a.app,
    ts: event.ts,
    op: a.op,
    key_label: a.key_label ?? "",
    result: a.result || null,
    count: numberOrNull(a.count),
    duration_ms: numberOrNull(a.duration_ms),
    sample_rate: numberOrNull(a.sample_rate),
    origin: a.origin || null,
    error: a.error === "true",
    live: true,
  };
}

/** The same narrowing the API applies to `recent` (app, exact key label, kind), for the live tail. */
export function matchesFilters(entry: Pick<LogEntry, "app" | "key_label" | "op">, filters: Pick<MonitorFilters, "app" | "keyLabel" | "op">): boolean {
  if (filters.app && entry.app !== filters.app) return false;
  const label = filters.keyLabel.trim();
  if (label && entry.key_label !== label) return false;
  if (filters.op && entry.op !== filters.op) return false;
  return true;
}

/**
 * The log on screen: live arrivals newer than the polled answer's newest operation on
 * top, then the polled ones. A live entry the next poll covers (at or before its newest
 * time) gives way to the stored copy, so nothing shows twice.
 */
export function mergeLog(live: readonly LogEntry[], polled: readonly LogEntry[], limit = LOG_LIMIT): LogEntry[] {
  const newest = polled[0]?.ts;
  const fresh = newest === undefined ? live : live.filter((e) => e.ts > newest);
  return [...fresh, ...polled].slice(0, limit);
}

/** Live entries still newer than the polled answer (the others are in it now). */
export function pruneLive(live: readonly LogEntry[], polled: readonly LogEntry[]): LogEntry[] {
  const newest = polled[0]?.ts;
  return newest === undefined ? [...live] : live.filter((e) => e.ts > newest);
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** Local time to the millisecond, "10:58:08.044": operations come many per second. */
export function clockTime(ts: string): string {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return "—";
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** What the log's coloured tag says for each class. */
export const LOG_CLASS_TEXT: Record<LogClass, string> = {
  hit: "hit",
  miss: "miss",
  partial: "partial",
  write: "write",
  "db-read": "db read",
  hybrid: "hybrid",
  other: "other",
};
