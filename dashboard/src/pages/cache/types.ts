/**
 * The cache/DB monitor's API answers, as this page reads them. Defined by the plugin:
 * plugins/cache-db/src/api/monitor.ts, series.ts, settings.ts and src/contract.ts. Keep
 * them in step when the plugin's API changes.
 */

export const OPS = ["cache_read", "cache_write", "db_read", "db_write", "hybrid"] as const;
export type Op = (typeof OPS)[number];
export type Mode = "detailed" | "sampled" | "aggregated" | "disabled";

/** contract.ts `settingsSchema`. */
export interface CacheSettings {
  enabled: boolean;
  detailed_below: number;
  sampled: { below: number; rate: number }[];
  aggregated_at: number;
  buffer_size: number;
}

export interface Latency {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  avg: number | null;
}

export interface Summary {
  window_s: number;
  ops: number;
  items: number;
  cache_reads: number;
  hits: number;
  misses: number;
  partial_hits: number;
  hit_rate: number | null;
  cache_writes: number;
  db_reads: number;
  db_writes: number;
  hybrid_queries: number;
  latency_ms: Partial<Record<Op, Latency>>;
}

/** One logged operation (`recent`), newest first. */
export interface RecentOp {
  ts: string;
  op: string;
  key_label: string;
  result: string | null;
  count: number | null;
  duration_ms: number | null;
  sample_rate: number | null;
  mode: string | null;
  origin: string | null;
}

export interface AppMonitor {
  app: string;
  mode: Mode | null;
  enabled: boolean;
  ops_per_s: number;
  last_seen: string | null;
  dropped_events: number;
  summary: Summary;
  key_labels: { key_label: string; ops: number; hit_rate: number | null }[];
  recent: RecentOp[];
}

/** `GET /api/cache-monitor`. */
export interface MonitorAnswer {
  since: string;
  until: string;
  apps: AppMonitor[];
  /** "*" always present; an app has an entry when it has settings of its own. */
  settings: Record<string, CacheSettings>;
  settings_version: string;
}

/** `PUT /api/cache-monitor/settings`. */
export interface PutSettingsAnswer {
  app: string;
  settings: CacheSettings;
  version: string;
  agents_notified: number;
}

/** `GET /api/cache-monitor/series`. */
export interface SeriesAnswer {
  step: "minute" | "hour";
  since: string;
  until: string;
  points: { t: string; ops: number; ops_per_s: number; hit_rate: number | null; p95_ms: number | null }[];
}
