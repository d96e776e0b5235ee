import { z } from "zod";

/**
 * The one definition of what the cache/DB monitor's three parts exchange: the in-app SDK
 * (`sdk.ts`), the agent part (`agent.ts`, relays settings from the collector to apps) and
 * the collector part (`collector.ts`, stores settings, rolls up, answers the API).
 */

/** Event source and types the SDK emits (through the agent's local intake). */
export const SOURCE = "cache";
/** One operation, sampled: attrs `CacheOpAttrs`. */
export const OP_EVENT = "cache.op";
/** Exact counters of one app and key label over one flush interval: attrs `CacheStatsAttrs`. */
export const STATS_EVENT = "cache.stats";
/** The SDK switched mode (detailed/sampled/aggregated/disabled): attrs `{app, from, to, ops_per_s}`. */
export const MODE_EVENT = "cache.mode";

export const OPS = ["cache_read", "cache_write", "db_read", "db_write", "hybrid"] as const;
export type Op = (typeof OPS)[number];
export const MODES = ["detailed", "sampled", "aggregated", "disabled"] as const;
export type Mode = (typeof MODES)[number];

/**
 * Latency histogram bucket upper bounds, ms (one histogram per op kind). The `le_inf`
 * bucket is implied. Shared by the SDK's exact histograms and the collector's rollup.
 */
export const LATENCY_BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000] as const;

/** attrs of a `cache.op` event (values flat: strings, numbers, booleans). */
export interface CacheOpAttrs {
  app: string;
  op: Op;
  key_label: string;
  /** cache_read only: "hit" | "miss" | "partial". */
  result?: "hit" | "miss" | "partial";
  /** Items read or written (multi-key commands, rows). */
  count: number;
  duration_ms: number;
  /** Who served it, when the caller says (e.g. "redis", "pg", "memory"). */
  origin?: string;
  /** hybrid only. */
  cache_count?: number;
  db_count?: number;
  cache_ms?: number;
  db_ms?: number;
  /** 1 in detailed mode; 0.1, 0.05, 0.01 … when sampled: each event stands for 1/sample_rate ops. */
  sample_rate: number;
  mode: Mode;
  /** Set on ops whose client call failed (a failed read counts as a miss); severity "warning". */
  error?: boolean;
}

/**
 * attrs of a `cache.stats` event: exact counts of one (app, key_label, op) over
 * [window_start_ms, window_end_ms), whatever the mode (one event per triple with any
 * operation in the window). The latency histogram is per bucket (not cumulative):
 * `bucketKey(bound)` for each of LATENCY_BUCKETS_MS, then `le_inf`; plus `sum_ms`.
 */
export interface CacheStatsAttrs {
  app: string;
  key_label: string;
  op: Op;
  /** The mode at the end of the window. */
  mode: Mode;
  window_start_ms: number;
  window_end_ms: number;
  /** Operations of this op kind. */
  ops: number;
  /** Items read or written (sum of `count`). */
  items: number;
  /** cache_read only (0 otherwise). */
  hits: number;
  misses: number;
  partial_hits: number;
  sum_ms: number;
  /** Events the SDK could not deliver (backlog full while the agent was down), since the app started. */
  dropped_events: number;
  [bucket: `le_${string}`]: number;
}

/** The attribute name of a latency bucket: `le_0_5`, `le_1`, … (`le_inf` for the last). */
export function bucketKey(bound: number): `le_${string}` {
  return `le_${String(bound).replace(".", "_")}`;
}

const rate = z.number().min(0).max(1);

/**
 * The runtime settings, set with `PUT /api/cache-monitor/settings`, relayed to apps by the
 * agent, applied by the SDK within 5 s. Ops/s thresholds pick the mode: below
 * `detailed_below` every op is logged; up to each `sampled[i].below` the op is logged with
 * probability `sampled[i].rate`; at or above `aggregated_at` only counters are kept.
 */
export const settingsSchema = z
  .object({
    enabled: z.boolean().default(true).describe("false: every SDK call returns at its first line; nothing is recorded or sent."),
    detailed_below: z.number().int().min(1).default(100).describe("Ops/s under which every operation is logged."),
    sampled: z
      .array(z.object({ below: z.number().int().min(1), rate: rate.describe("Probability an op is logged, 0–1.") }).strict())
      .max(10)
      .default([
        { below: 200, rate: 0.1 },
        { below: 500, rate: 0.05 },
        { below: 1000, rate: 0.01 },
      ])
      .describe("Sampling tiers, ascending by `below`."),
    aggregated_at: z.number().int().min(1).default(1000).describe("Ops/s from which only counters are kept."),
    buffer_size: z.number().int().min(10).max(100_000).default(1000).describe("Events kept in the in-process ring buffer."),
  })
  .strict()
  .superRefine((value, ctx) => {
    let previous = value.detailed_below;
    value.sampled.forEach((tier, i) => {
      if (tier.below <= previous) ctx.addIssue({ code: "custom", path: ["sampled", i, "below"], message: `tiers must ascend: ${tier.below} is not above ${previous}` });
      previous = tier.below;
    });
    if (value.aggregated_at < previous) ctx.addIssue({ code: "custom", path: ["aggregated_at"], message: `aggregated_at must be at least the last tier's bound (${previous})` });
  });

export type Settings = z.output<typeof settingsSchema>;
export const DEFAULT_SETTINGS: Settings = settingsSchema.parse({});

/**
 * What the agent part serves to apps at `GET <intake>/v1/plugins/<plugin id>/settings`
 * (published with `ctx.publish("settings", …)`): the settings for each app, with `"*"`
 * for apps without their own, and a version that changes whenever they do.
 */
export const publishedSettingsSchema = z.object({
  version: z.string(),
  apps: z.record(z.string(), settingsSchema),
});
export type PublishedSettings = z.output<typeof publishedSettingsSchema>;
/** The name the agent part publishes the settings under (`ctx.publish`), which apps poll. */
export const PUBLISHED_SETTINGS_NAME = "settings";

/** The collector's answer to the agent part's `GET /api/cache-monitor/sync` (scope ingest). */
export const SYNC_PATH = "/api/cache-monitor/sync";
/** Pushed to the tenant's agents when settings change; the agent part re-reads at once. */
export const SETTINGS_CHANGED = "cache-monitor-settings-changed";

/** App names: what the SDK's `app` option and the API's `app` parameter take. */
export const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
