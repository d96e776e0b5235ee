import { z } from "zod";
import { durationSchema, parseRequest, type PluginRequest, type PluginRoute } from "@vigil/plugin-sdk";
import { OP_EVENT, SOURCE, type Mode, type Op, type Settings } from "../contract.js";
import { hitRate, percentilesMs, round } from "./latency.js";
import { DEFAULT_APP, publishedForm, readSettings } from "./settings.js";
import { SUM_COLUMNS, appParam, bucketsOf, keyLabelParam, opParam, rollupFilters, type RollupSums } from "./rollup.js";

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Key labels listed per app, the busiest first. */
const KEY_LABELS_SHOWN = 100;
/** A flush window that ended longer ago than this many window lengths (plus slack) means the app is idle. */
const IDLE_AFTER_WINDOWS = 2;
const IDLE_SLACK_MS = 5_000;

const monitorQuery = z
  .object({
    app: appParam.optional(),
    key_label: keyLabelParam.optional(),
    type: opParam.optional().describe("The op kind: cache_read, cache_write, db_read, db_write or hybrid."),
    window: durationSchema()
      .prefault("1m")
      .refine((ms) => ms >= 1000 && ms <= DAY_MS, 'window is between "1s" and "24h"')
      .describe("How far back the summary, key labels and recent events reach (whole minutes of the rollup)."),
    limit: z.coerce.number({ error: "limit must be a number" }).int().min(0, "limit must be at least 0").max(1000, "limit must be at most 1000").default(100),
  })
  .strict();

type MonitorQuery = z.output<typeof monitorQuery>;

interface AppState {
  app: string;
  last_seen_ms: number;
  current_mode: string;
  dropped: number;
}

interface RecentRow {
  app: string;
  ts_ms: number;
  op: string;
  key_label: string;
  result: string;
  count: string;
  duration_ms: string;
  sample_rate: string;
  mode: string;
  origin: string;
}

/** Latency percentiles and mean of one op kind, ms (null without operations). */
export interface Latency {
  p50: number | null;
  p95: number | null;
  p99: number | null;
  avg: number | null;
}

/** Exact counts of an app over the window, from the rollup. */
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

/** One app of the tenant: its mode, switch and rate, summary, busiest key labels and newest logged ops. */
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
  settings: Record<string, Settings>;
  settings_version: string;
}

function summarize(rows: (RollupSums & { op: Op })[], windowMs: number): Summary {
  const byOp = new Map(rows.map((row) => [row.op, row]));
  const opsOf = (op: Op) => Number(byOp.get(op)?.ops ?? 0);
  const reads = byOp.get("cache_read");
  const hits = Number(reads?.hits ?? 0);
  const misses = Number(reads?.misses ?? 0);
  const partial = Number(reads?.partial_hits ?? 0);
  const latency: Partial<Record<Op, Latency>> = {};
  for (const row of rows) {
    const ops = Number(row.ops);
    if (ops > 0) latency[row.op] = { ...percentilesMs(bucketsOf(row)), avg: round(Number(row.sum_ms) / ops) };
  }
  return {
    window_s: windowMs / 1000,
    ops: rows.reduce((sum, row) => sum + Number(row.ops), 0),
    items: rows.reduce((sum, row) => sum + Number(row.items), 0),
    cache_reads: opsOf("cache_read"),
    hits,
    misses,
    partial_hits: partial,
    hit_rate: hitRate(hits, misses, partial),
    cache_writes: opsOf("cache_write"),
    db_reads: opsOf("db_read"),
    db_writes: opsOf("db_write"),
    hybrid_queries: opsOf("hybrid"),
    latency_ms: latency,
  };
}

const optionalNumber = (text: string): number | null => (text === "" || !Number.isFinite(Number(text)) ? null : Number(text));

async function monitor(request: PluginRequest, query: MonitorQuery): Promise<MonitorAnswer> {
  const now = Date.now();
  // Whole minutes of the rollup: from the start of the minute the window begins in.
  const sinceMs = Math.floor((now - query.window) / MINUTE_MS) * MINUTE_MS;
  const params: Record<string, unknown> = { since: Math.floor(sinceMs / 1000) };
  const filters = rollupFilters({ ...query, op: query.type }, params);
  const appOnly = query.app !== undefined ? " AND app = {app:String}" : "";
  const { storage } = request;
  const [settings, states, windows, sums, labels, recent] = await Promise.all([
    readSettings(request),
    storage.query<AppState>(
      `SELECT app, toUnixTimestamp64Milli(max(last_seen)) AS last_seen_ms, argMaxMerge(mode) AS current_mode, argMaxMerge(dropped_events) AS dropped
       FROM ${storage.table("apps")} WHERE tenant = {tenant:String}${appOnly} GROUP BY app`,
      params,
    ),
    // The newest flush window of each app (all its key labels together): the current rate.
    storage.query<{ app: string; start_ms: number; end_ms: number; ops: number }>(
      `SELECT app, toUnixTimestamp64Milli(window_end) AS end_ms, toUnixTimestamp64Milli(min(window_start)) AS start_ms, sum(ops) AS ops
       FROM ${storage.table("windows")}
       WHERE tenant = {tenant:String} AND window_end >= now64(3) - INTERVAL 1 HOUR${appOnly}
       GROUP BY app, window_end ORDER BY window_end DESC LIMIT 1 BY app`,
      params,
    ),
    storage.query<RollupSums & { app: string; op: Op }>(
      `SELECT app, op, ${SUM_COLUMNS} FROM ${storage.table("minutes")}
       WHERE tenant = {tenant:String} AND minute >= toDateTime({since:UInt32})${filters}
       GROUP BY app, op`,
      params,
    ),
    storage.query<{ app: string; key_label: string; ops: number; hits: number; misses: number; partial_hits: number }>(
      `SELECT app, key_label, sum(ops) AS ops, sum(hits) AS hits, sum(misses) AS misses, sum(partial_hits) AS partial_hits
       FROM ${storage.table("minutes")}
       WHERE tenant = {tenant:String} AND minute >= toDateTime({since:UInt32})${filters}
       GROUP BY app, key_label ORDER BY ops DESC, key_label LIMIT ${KEY_LABELS_SHOWN} BY app`,
      params,
    ),
    query.limit === 0
      ? Promise.resolve([] as RecentRow[])
      : storage.query<RecentRow>(
          `SELECT attrs['app'] AS app, toUnixTimestamp64Milli(ts) AS ts_ms, attrs['op'] AS op, attrs['key_label'] AS key_label,
                  attrs['result'] AS result, attrs['count'] AS count, attrs['duration_ms'] AS duration_ms,
                  attrs['sample_rate'] AS sample_rate, attrs['mode'] AS mode, attrs['origin'] AS origin
           FROM ${storage.table("events")}
           WHERE tenant = {tenant:String} AND source = '${SOURCE}' AND type = '${OP_EVENT}' AND ts >= fromUnixTimestamp64Milli({since_ms:Int64})
             ${query.app !== undefined ? "AND attrs['app'] = {app:String}" : "AND attrs['app'] != ''"}
             ${query.key_label !== undefined ? "AND attrs['key_label'] = {key_label:String}" : ""}
             ${query.type !== undefined ? "AND attrs['op'] = {op:String}" : ""}
           ORDER BY ts DESC, id DESC
           LIMIT {limit:UInt32} BY app`,
          { ...params, since_ms: sinceMs, limit: query.limit },
        ),
  ]);

  const names = new Set<string>([...states.map((s) => s.app), ...sums.map((s) => s.app), ...Object.keys(settings).filter((app) => app !== DEFAULT_APP)]);
  if (query.app !== undefined) for (const name of names) if (name !== query.app) names.delete(name);
  const stateOf = new Map(states.map((s) => [s.app, s]));
  const windowOf = new Map(windows.map((w) => [w.app, w]));
  const effective = (app: string): Settings => settings[app] ?? settings[DEFAULT_APP]!;

  const apps = [...names].sort().map((app): AppMonitor => {
    const state = stateOf.get(app);
    const window = windowOf.get(app);
    let opsPerS = 0;
    if (window) {
      const length = Number(window.end_ms) - Number(window.start_ms);
      if (length > 0 && now - Number(window.end_ms) <= IDLE_AFTER_WINDOWS * length + IDLE_SLACK_MS) opsPerS = round((Number(window.ops) * 1000) / length, 2);
    }
    return {
      app,
      mode: (state?.current_mode || null) as Mode | null,
      enabled: effective(app).enabled,
      ops_per_s: opsPerS,
      last_seen: state ? new Date(Number(state.last_seen_ms)).toISOString() : null,
      dropped_events: state ? Number(state.dropped) : 0,
      summary: summarize(sums.filter((s) => s.app === app), now - sinceMs),
      key_labels: labels
        .filter((l) => l.app === app)
        .map((l) => ({ key_label: l.key_label, ops: Number(l.ops), hit_rate: hitRate(Number(l.hits), Number(l.misses), Number(l.partial_hits)) })),
      recent: recent
        .filter((r) => r.app === app)
        .map((r) => ({
          ts: new Date(Number(r.ts_ms)).toISOString(),
          op: r.op,
          key_label: r.key_label,
          result: r.result || null,
          count: optionalNumber(r.count),
          duration_ms: optionalNumber(r.duration_ms),
          sample_rate: optionalNumber(r.sample_rate),
          mode: r.mode || null,
          origin: r.origin || null,
        })),
    };
  });
  const published = publishedForm(settings);
  return { since: new Date(sinceMs).toISOString(), until: new Date(now).toISOString(), apps, settings: published.apps, settings_version: published.version };
}

export const monitorRoute: PluginRoute = {
  method: "GET",
  path: "/api/cache-monitor",
  scope: "read",
  // Per app of the tenant (seen, or with settings of its own): its current mode, switch and
  // rate (app-wide: the ops of its newest SDK flush window, 0 once that window is stale),
  // the summary, busiest key labels and newest sampled ops since the start of the minute
  // the window begins in (`since`; `summary.window_s` is that span), filtered by key
  // label and op kind; then the settings in force and their version.
  handler: async (request) => ({ body: await monitor(request, parseRequest(monitorQuery, request.query)) }),
};
