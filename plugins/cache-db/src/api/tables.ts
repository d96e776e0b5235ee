import { viewTargetDedupMigration, type PluginMigration } from "@vigil/plugin-sdk";
import { LATENCY_BUCKETS_MS, MODE_EVENT, OPS, SOURCE, STATS_EVENT, bucketKey } from "../contract.js";

/**
 * The latency buckets the rollup's columns were made for. Migrations are never edited, so
 * the columns cannot follow a change of LATENCY_BUCKETS_MS by themselves: a change needs a
 * new migration (and a new list here), and this check stops the collector until it has one.
 */
const ROLLUP_BUCKETS_MS = [0.5, 1, 2, 5, 10, 25, 50, 100, 250, 1000] as const;
if (ROLLUP_BUCKETS_MS.join() !== LATENCY_BUCKETS_MS.join()) {
  throw new Error("LATENCY_BUCKETS_MS changed: the cache rollup's bucket columns need a new migration (plugins/cache-db/src/api/tables.ts)");
}

/** The rollup's histogram columns, per bucket (not cumulative), `le_inf` last. */
export const BUCKET_COLUMNS: readonly string[] = [...ROLLUP_BUCKETS_MS.map((bound) => bucketKey(bound)), "le_inf"];

const OP_LIST = OPS.map((op) => `'${op}'`).join(", ");
const STATS_ROWS = `source = '${SOURCE}' AND type = '${STATS_EVENT}' AND attrs['app'] != '' AND attrs['op'] IN (${OP_LIST})`;
const count = (attr: string) => `toUInt64OrZero(attrs['${attr}'])`;

/**
 * The cache monitor's tables. The SDK's events arrive as ordinary events (through the
 * agent's intake, durable queue and ingest); materialized views over the events table
 * file them for the API and `/metrics`:
 * - `minutes`: per (app, key label, op, minute) the exact counters of `cache.stats` and the
 *   latency histogram (SummingMergeTree), for the summary, the charts and the hit ratio;
 * - `apps`: per app the newest mode (of `cache.stats` or `cache.mode`), last report and
 *   dropped-events count (AggregatingMergeTree);
 * - `windows`: per app and SDK flush window the ops of all its key labels, for the current
 *   ops/s (kept one day);
 * - `totals`: per (app, key label, op) all-time counters without TTL, so the Prometheus
 *   counters never go down when old minutes expire;
 * - `settings`: the runtime settings per app ("*" = the default), ReplacingMergeTree.
 *
 * Repeats: ingest stores a retried batch once (batch-id ledger and insert de-duplication
 * token). The token is not enough for these views by itself: their tables drop a retried
 * insert's rows only with a de-duplication window of their own (migration 3) and with
 * `deduplicate_blocks_in_dependent_materialized_views`, which the writer sets; without them
 * an insert retried after its answer was lost was counted twice here while `events` kept
 * one copy. Only a collector crash between storing a batch and recording its id can still
 * store it twice (its retry then shares an insert with other batches, under another
 * token); then these counters count that batch twice. That is accepted: the window is one
 * insert long, and exact de-duplication would need one row per stats event read with
 * FINAL, which the rollups exist to avoid.
 */
export const migrations: PluginMigration[] = [
  {
    version: 1,
    name: "settings",
    statements: ({ table }) => [
      `CREATE TABLE IF NOT EXISTS ${table("settings")} (
        tenant LowCardinality(String), app String, settings String, updated_by String,
        updated_at DateTime64(3, 'UTC'), version UInt64, is_deleted UInt8
      ) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY (tenant, app)`,
    ],
  },
  {
    version: 2,
    name: "rollups of cache.stats and cache.mode",
    statements: ({ table, events, retentionDays }) => [
      `CREATE TABLE IF NOT EXISTS ${table("minutes")} (
        tenant LowCardinality(String), app LowCardinality(String), key_label LowCardinality(String), op LowCardinality(String),
        minute DateTime('UTC'),
        ops UInt64, items UInt64, hits UInt64, misses UInt64, partial_hits UInt64, sum_ms Float64,
        ${BUCKET_COLUMNS.map((column) => `${column} UInt64`).join(", ")}
      ) ENGINE = SummingMergeTree
      PARTITION BY toDate(minute)
      ORDER BY (tenant, app, minute, key_label, op)
      TTL minute + INTERVAL ${retentionDays} DAY
      SETTINGS ttl_only_drop_parts = 1`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("minutes_mv")} TO ${table("minutes")} AS
        SELECT tenant, attrs['app'] AS app, attrs['key_label'] AS key_label, attrs['op'] AS op, toStartOfMinute(ts) AS minute,
               sum(${count("ops")}) AS ops, sum(${count("items")}) AS items, sum(${count("hits")}) AS hits,
               sum(${count("misses")}) AS misses, sum(${count("partial_hits")}) AS partial_hits,
               sum(toFloat64OrZero(attrs['sum_ms'])) AS sum_ms,
               ${BUCKET_COLUMNS.map((column) => `sum(${count(column)}) AS ${column}`).join(", ")}
        FROM ${events}
        WHERE ${STATS_ROWS}
        GROUP BY tenant, app, key_label, op, minute`,
      `CREATE TABLE IF NOT EXISTS ${table("apps")} (
        tenant LowCardinality(String), app String,
        last_seen SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
        mode AggregateFunction(argMax, String, DateTime64(3, 'UTC')),
        dropped_events AggregateFunction(argMax, UInt64, DateTime64(3, 'UTC'))
      ) ENGINE = AggregatingMergeTree
      ORDER BY (tenant, app)
      TTL toDateTime(last_seen) + INTERVAL ${retentionDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("apps_stats_mv")} TO ${table("apps")} AS
        SELECT tenant, attrs['app'] AS app, max(ts) AS last_seen, argMaxState(attrs['mode'], ts) AS mode,
               argMaxState(${count("dropped_events")}, ts) AS dropped_events
        FROM ${events}
        WHERE ${STATS_ROWS}
        GROUP BY tenant, app`,
      // A mode switch (to "disabled" too) shows at once; it carries no dropped count.
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("apps_mode_mv")} TO ${table("apps")} AS
        SELECT tenant, attrs['app'] AS app, max(ts) AS last_seen, argMaxState(attrs['to'], ts) AS mode,
               argMaxStateIf(toUInt64(0), ts, false) AS dropped_events
        FROM ${events}
        WHERE source = '${SOURCE}' AND type = '${MODE_EVENT}' AND attrs['app'] != '' AND attrs['to'] != ''
        GROUP BY tenant, app`,
      `CREATE TABLE IF NOT EXISTS ${table("windows")} (
        tenant LowCardinality(String), app String, window_end DateTime64(3, 'UTC'), window_start DateTime64(3, 'UTC'), ops UInt64
      ) ENGINE = SummingMergeTree((ops))
      ORDER BY (tenant, app, window_end, window_start)
      TTL toDateTime(window_end) + INTERVAL 1 DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("windows_mv")} TO ${table("windows")} AS
        SELECT tenant, attrs['app'] AS app,
               fromUnixTimestamp64Milli(toInt64OrZero(attrs['window_end_ms']), 'UTC') AS window_end,
               fromUnixTimestamp64Milli(toInt64OrZero(attrs['window_start_ms']), 'UTC') AS window_start,
               sum(${count("ops")}) AS ops
        FROM ${events}
        WHERE ${STATS_ROWS} AND toInt64OrZero(attrs['window_end_ms']) > toInt64OrZero(attrs['window_start_ms'])
        GROUP BY tenant, app, window_end, window_start`,
      `CREATE TABLE IF NOT EXISTS ${table("totals")} (
        tenant LowCardinality(String), app LowCardinality(String), key_label LowCardinality(String), op LowCardinality(String),
        ops SimpleAggregateFunction(sum, UInt64), hits SimpleAggregateFunction(sum, UInt64),
        misses SimpleAggregateFunction(sum, UInt64), partial_hits SimpleAggregateFunction(sum, UInt64),
        last_seen SimpleAggregateFunction(max, DateTime('UTC'))
      ) ENGINE = AggregatingMergeTree
      ORDER BY (tenant, app, key_label, op)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("totals_mv")} TO ${table("totals")} AS
        SELECT tenant, attrs['app'] AS app, attrs['key_label'] AS key_label, attrs['op'] AS op,
               sum(${count("ops")}) AS ops, sum(${count("hits")}) AS hits, sum(${count("misses")}) AS misses,
               sum(${count("partial_hits")}) AS partial_hits, max(toDateTime(ts)) AS last_seen
        FROM ${events}
        WHERE ${STATS_ROWS}
        GROUP BY tenant, app, key_label, op`,
    ],
  },
  viewTargetDedupMigration(3, ["minutes", "apps", "windows", "totals"]),
];
