import type { PluginMetric } from "@vigil/plugin-sdk";

/** Key labels of an app shown by name on /metrics, the busiest (all-time ops) first; the rest are "other". */
export const TOP_KEY_LABELS = 20;
/** Apps and key labels not heard from for this long leave /metrics. */
const ACTIVE_DAYS = 7;

type Tables = Parameters<PluginMetric["query"]>[0];

/**
 * Each (tenant, app, key label) with its rank among the app's key labels by all-time ops.
 * One ranking for every metric, so a key label is named, or is "other", in all of them.
 */
const ranked = ({ table }: Tables) => `(
  SELECT tenant, app, key_label, dense_rank() OVER (PARTITION BY tenant, app ORDER BY sum(ops) DESC, key_label) AS label_rank
  FROM ${table("totals")}
  GROUP BY tenant, app, key_label
  HAVING max(last_seen) >= now() - INTERVAL ${ACTIVE_DAYS} DAY
)`;

const labelOrOther = (alias: string) => `if(r.label_rank <= ${TOP_KEY_LABELS}, ${alias}.key_label, 'other')`;
const joinRanked = (tables: Tables, alias: string) =>
  `INNER JOIN ${ranked(tables)} AS r ON ${alias}.tenant = r.tenant AND ${alias}.app = r.app AND ${alias}.key_label = r.key_label`;

/**
 * The cache monitor's series on the collector's /metrics, per tenant, app and key label
 * (bounded: TOP_KEY_LABELS per app, and the SDK caps the key labels an app reports).
 * Counters come from the `totals` table, which has no TTL, so they never go down.
 */
export const prometheusMetrics: PluginMetric[] = [
  {
    name: "vigil_cache_ops_total",
    help: "Cache and database operations the apps' SDKs counted, by app, key label and op kind.",
    type: "counter",
    labelNames: ["app", "key_label", "op"],
    overflowLabel: "key_label",
    query: (tables) => `
      SELECT tenant, app, label AS key_label, op, sum(ops) AS value FROM (
        SELECT t.tenant AS tenant, t.app AS app, ${labelOrOther("t")} AS label, t.op AS op, t.ops AS ops
        FROM (SELECT tenant, app, key_label, op, sum(ops) AS ops FROM ${tables.table("totals")} GROUP BY tenant, app, key_label, op) AS t
        ${joinRanked(tables, "t")}
      ) GROUP BY tenant, app, key_label, op`,
  },
  {
    name: "vigil_cache_read_results_total",
    help: "Cache reads by result (hit, miss, partial), by app and key label.",
    type: "counter",
    labelNames: ["app", "key_label", "result"],
    overflowLabel: "key_label",
    query: (tables) => `
      SELECT tenant, app, label AS key_label, result, sum(n) AS value FROM (
        SELECT t.tenant AS tenant, t.app AS app, ${labelOrOther("t")} AS label, t.result AS result, t.n AS n
        FROM (
          SELECT tenant, app, key_label, result, n
          FROM (SELECT tenant, app, key_label, sum(hits) AS h, sum(misses) AS m, sum(partial_hits) AS p
                FROM ${tables.table("totals")} WHERE op = 'cache_read' GROUP BY tenant, app, key_label)
          ARRAY JOIN ['hit', 'miss', 'partial'] AS result, [h, m, p] AS n
        ) AS t
        ${joinRanked(tables, "t")}
      ) GROUP BY tenant, app, key_label, result`,
  },
  {
    name: "vigil_cache_hit_ratio",
    help: "Share of cache reads that were whole hits over the last 5 minutes, by app and key label (no series without reads).",
    type: "gauge",
    labelNames: ["app", "key_label"],
    query: (tables) => `
      SELECT tenant, app, label AS key_label, sum(hits) / (sum(hits) + sum(misses) + sum(partial_hits)) AS value FROM (
        SELECT m.tenant AS tenant, m.app AS app, ${labelOrOther("m")} AS label, m.hits AS hits, m.misses AS misses, m.partial_hits AS partial_hits
        FROM (SELECT tenant, app, key_label, sum(hits) AS hits, sum(misses) AS misses, sum(partial_hits) AS partial_hits
              FROM ${tables.table("minutes")}
              WHERE op = 'cache_read' AND minute >= toStartOfMinute(now() - INTERVAL 5 MINUTE)
              GROUP BY tenant, app, key_label) AS m
        ${joinRanked(tables, "m")}
      ) GROUP BY tenant, app, key_label
      HAVING sum(hits) + sum(misses) + sum(partial_hits) > 0`,
  },
  {
    name: "vigil_cache_mode",
    help: "The SDK mode each app last reported (1 for the mode in force): detailed, sampled, aggregated or disabled.",
    type: "gauge",
    labelNames: ["app", "mode"],
    query: ({ table }) => `
      SELECT tenant, app, current_mode AS mode, 1 AS value
      FROM (SELECT tenant, app, argMaxMerge(mode) AS current_mode, max(last_seen) AS seen FROM ${table("apps")} GROUP BY tenant, app)
      WHERE seen >= now() - INTERVAL ${ACTIVE_DAYS} DAY AND current_mode != ''`,
  },
  {
    name: "vigil_cache_sdk_dropped_events",
    help: "Events an app's SDK could not hand to the agent since that app process started, as it last reported.",
    type: "gauge",
    labelNames: ["app"],
    query: ({ table }) => `
      SELECT tenant, app, dropped AS value
      FROM (SELECT tenant, app, argMaxMerge(dropped_events) AS dropped, max(last_seen) AS seen FROM ${table("apps")} GROUP BY tenant, app)
      WHERE seen >= now() - INTERVAL ${ACTIVE_DAYS} DAY`,
  },
];
