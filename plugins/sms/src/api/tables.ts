import { viewTargetDedupMigration, type PluginMigration } from "@vigil/plugin-sdk";
import { CAMPAIGN_EVENT, CAMPAIGN_STATUSES, MESSAGE_EVENT, MESSAGE_STATUSES, SERVER_EVENT, SERVER_STATUSES, SERVER_STATUS_EVENT, SOURCE, STATUS_RANK } from "../contract.js";
import { ERROR_CATEGORIES } from "../errors.js";

/**
 * The codes the `messages` table packs statuses into (a status's index here). Released
 * migrations are never edited, so the stored codes cannot follow a change of the contract's
 * lists by themselves: a change needs a new migration, and this check stops the collector
 * until it has one.
 */
const STATUS_CODES = ["queued", "sent", "delivered", "undelivered", "failed"] as const;
const STORED_RANKS = [1, 2, 3, 3, 3];
const CAMPAIGN_ORDER = ["created", "started", "paused", "completed"] as const;
const STORED_CATEGORIES = ["authentication", "network", "rate_limiting", "invalid_number", "opted_out", "carrier_filtering", "content", "provider", "unknown"] as const;
if (
  STATUS_CODES.join() !== MESSAGE_STATUSES.join() ||
  STATUS_CODES.some((status, i) => STATUS_RANK[status] !== STORED_RANKS[i]) ||
  CAMPAIGN_ORDER.join() !== CAMPAIGN_STATUSES.join() ||
  STORED_CATEGORIES.join() !== ERROR_CATEGORIES.join()
) {
  throw new Error("the SMS contract's statuses or error categories changed: the sms_* tables need a new migration (plugins/sms/src/api/tables.ts)");
}

/** The status codes, by status. */
export const CODE = { queued: 0, sent: 1, delivered: 2, undelivered: 3, failed: 4 } as const;

/** `first_failure` of a message that never failed (the largest UInt64: `min` keeps any failure). */
const NO_FAILURE = "18446744073709551615";
/** Attempts above this count as this (the packed columns have room for it). */
const MAX_ATTEMPT = 1000;
/** ms since the epoch stay below this until the year 2286, so rank * RANK_SCALE + ms orders by rank first. */
const RANK_SCALE = "10000000000000";
/** A message's current status code, in a query over the `messages` table (after FINAL). */
export const STATUS_SQL = "(state % 8)";
/** When the report that set the current status happened, epoch ms. */
export const REPORT_MS_SQL = `(intDiv(state, 8) % ${RANK_SCALE})`;
/** The message's last attempt number. */
export const LAST_ATTEMPT_SQL = `intDiv(attempt_start, ${RANK_SCALE})`;
/**
 * The status of the message's last attempt: its current status, unless that was reported
 * before a later attempt began (a failure that was retried, the retry still in flight:
 * then "sent").
 */
export const LAST_ATTEMPT_STATUS_SQL = `if(${LAST_ATTEMPT_SQL} > 1 AND (state % 8) >= 2 AND ${REPORT_MS_SQL} < ${RANK_SCALE} - attempt_start % ${RANK_SCALE}, 1, state % 8)`;
/** The attempt of the message's first failure, 0 when it never failed. */
export const FIRST_FAILURE_ATTEMPT_SQL = `if(first_failure = ${NO_FAILURE}, 0, intDiv(first_failure, 16 * ${RANK_SCALE}))`;
/** The category of the message's first failure, as an index into STORED_CATEGORIES + 1 (0: none, or not stamped). */
export const FIRST_FAILURE_CATEGORY_SQL = "(first_failure % 16)";
/** The category of the message's latest failure, the same way: its failure's while its status is one. */
export const FAILURE_CATEGORY_SQL = "(failure % 16)";

const list = (values: readonly (string | number)[]) => `[${values.map((v) => (typeof v === "number" ? String(v) : `'${v}'`)).join(", ")}]`;
const NO_TIME = "toDateTime64(0, 3, 'UTC')";

/**
 * The SMS plugin's tables, filled by materialized views over the shared events table (the
 * events arrive through the agent's durable queue and ingest like any other):
 *
 * - `messages`: one row per (campaign, message) once merged — an AggregatingMergeTree whose
 *   columns are all SimpleAggregateFunctions, read with FINAL on the (tenant, campaign_id)
 *   key prefix. `state` packs the current status so that `max` is the rule of the
 *   contract: ((rank × 10^13 + report ms) × 8 + status code). A final status (rank 3)
 *   beats queued/sent whatever order the reports arrive in; between finals the later
 *   report wins; a repeated report changes nothing. `error` is the (state, code, category,
 *   reporter, text) of the latest failure report (empty for other reports): for a message
 *   whose status is a failure, the report that set it; `failure` is that report's state
 *   × 16 + its category's index, a number the summaries group by without reading the
 *   tuple. Carrier and server are `max`: receipts carry them empty, the app's report
 *   carries them. For the retry analysis,
 *   `first_failure` packs the earliest failure as ((attempt × 10^13 + ms) × 16 + category
 *   index) and `attempt_start` the last attempt and when it began as (attempt × 10^13 +
 *   10^13 − its first report's ms, so `max` keeps the earliest); a report without an
 *   attempt counts as the first. Numbers rather than tuples: FINAL merges them several
 *   times faster. `dispatched_ts` is when the message first left the queue (its first
 *   sent or final report), for throughput. Messages are keyed by sipHash64 of their id
 *   within a campaign (a collision needs ~4·10^9 messages in one campaign to be likely).
 *   Receipts that named no campaign are filed under campaign "".
 * - `campaigns`: per campaign the latest status (by time, then lifecycle order), name,
 *   total and user, the created/started/completed times, the span of its messages and its
 *   last activity (`updated_at`: any event of it).
 * - `server_samples`, `server_changes`: the sending servers' health samples and status
 *   changes, as plain rows ordered per server and time.
 * - `report_counts`: status reports per (status, failure category), without TTL, for the
 *   Prometheus counters (which must never go down).
 */
export const migrations: PluginMigration[] = [
  {
    version: 1,
    name: "messages, campaigns, servers and report counts",
    statements: ({ table, events, retentionDays }) => [
      `CREATE TABLE IF NOT EXISTS ${table("messages")} (
        tenant LowCardinality(String),
        campaign_id String,
        message_key UInt64,
        state SimpleAggregateFunction(max, UInt64),
        error SimpleAggregateFunction(max, Tuple(UInt64, String, String, String, String)) CODEC(ZSTD(1)),
        failure SimpleAggregateFunction(max, UInt64),
        carrier SimpleAggregateFunction(max, LowCardinality(String)),
        server_kind SimpleAggregateFunction(max, LowCardinality(String)),
        server_id SimpleAggregateFunction(max, LowCardinality(String)),
        attempt_start SimpleAggregateFunction(max, UInt64),
        queued_ms SimpleAggregateFunction(max, Float64),
        send_ms SimpleAggregateFunction(max, Float64),
        first_failure SimpleAggregateFunction(min, UInt64),
        first_ts SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
        last_ts SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
        dispatched_ts SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC')))
      ) ENGINE = AggregatingMergeTree
      ORDER BY (tenant, campaign_id, message_key)
      TTL toDateTime(last_ts) + INTERVAL ${retentionDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("messages_mv")} TO ${table("messages")} AS
        SELECT tenant, campaign_id, message_key,
               max(state_) AS state,
               max(if(code_ >= ${CODE.undelivered}, (state_, error_code_, error_category_, reporter_, error_text_), (toUInt64(0), '', '', '', ''))) AS error,
               max(if(code_ >= ${CODE.undelivered}, state_ * 16 + category_, 0)) AS failure,
               max(carrier_) AS carrier, max(server_kind_) AS server_kind, max(server_id_) AS server_id,
               max(attempt_ * ${RANK_SCALE} + ${RANK_SCALE} - ts_ms_) AS attempt_start, max(queued_ms_) AS queued_ms, max(send_ms_) AS send_ms,
               min(if(code_ >= ${CODE.undelivered}, (attempt_ * ${RANK_SCALE} + ts_ms_) * 16 + category_, ${NO_FAILURE})) AS first_failure,
               min(ts) AS first_ts, max(ts) AS last_ts, min(if(rank_ >= 2, ts, NULL)) AS dispatched_ts
        FROM (
          SELECT tenant, ts, attrs['campaign_id'] AS campaign_id, sipHash64(attrs['message_id']) AS message_key,
                 transform(attrs['status'], ${list(STATUS_CODES)}, ${list(STORED_RANKS)}, 0) AS rank_,
                 toUInt8(indexOf(${list(STATUS_CODES)}, attrs['status']) - 1) AS code_,
                 toUInt64(toUnixTimestamp64Milli(ts)) AS ts_ms_,
                 (toUInt64(rank_) * ${RANK_SCALE} + ts_ms_) * 8 + code_ AS state_,
                 attrs['error_code'] AS error_code_, attrs['error_category'] AS error_category_,
                 indexOf(${list(STORED_CATEGORIES)}, error_category_) AS category_,
                 attrs['reporter'] AS reporter_, attrs['error_text'] AS error_text_,
                 attrs['carrier'] AS carrier_, attrs['server_kind'] AS server_kind_, attrs['server_id'] AS server_id_,
                 toUInt64(least(greatest(toUInt16OrZero(attrs['attempt']), 1), ${MAX_ATTEMPT})) AS attempt_,
                 toFloat64OrZero(attrs['queued_ms']) AS queued_ms_, toFloat64OrZero(attrs['send_ms']) AS send_ms_
          FROM ${events}
          WHERE source = '${SOURCE}' AND type = '${MESSAGE_EVENT}' AND attrs['message_id'] != '' AND rank_ > 0
        )
        GROUP BY tenant, campaign_id, message_key`,
      `CREATE TABLE IF NOT EXISTS ${table("campaigns")} (
        tenant LowCardinality(String),
        campaign_id String,
        status SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), UInt8, String)),
        name SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), String)),
        total SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), UInt64)),
        user SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), String)),
        created_at SimpleAggregateFunction(min, DateTime64(3, 'UTC')),
        started_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
        completed_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC'))),
        updated_at SimpleAggregateFunction(max, DateTime64(3, 'UTC')),
        first_message_at SimpleAggregateFunction(min, Nullable(DateTime64(3, 'UTC'))),
        last_message_at SimpleAggregateFunction(max, Nullable(DateTime64(3, 'UTC')))
      ) ENGINE = AggregatingMergeTree
      ORDER BY (tenant, campaign_id)
      TTL toDateTime(updated_at) + INTERVAL ${retentionDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("campaigns_mv")} TO ${table("campaigns")} AS
        SELECT tenant, attrs['campaign_id'] AS campaign_id,
               max((ts, toUInt8(indexOf(${list(CAMPAIGN_ORDER)}, attrs['status'])), attrs['status'])) AS status,
               max(if(attrs['name'] != '', (ts, attrs['name']), (${NO_TIME}, ''))) AS name,
               max(if(attrs['total'] != '', (ts, toUInt64OrZero(attrs['total'])), (${NO_TIME}, toUInt64(0)))) AS total,
               max(if(attrs['user'] != '', (ts, attrs['user']), (${NO_TIME}, ''))) AS user,
               min(ts) AS created_at,
               min(if(attrs['status'] = 'started', ts, NULL)) AS started_at,
               max(if(attrs['status'] = 'completed', ts, NULL)) AS completed_at,
               max(ts) AS updated_at
        FROM ${events}
        WHERE source = '${SOURCE}' AND type = '${CAMPAIGN_EVENT}' AND attrs['campaign_id'] != '' AND attrs['status'] IN ${list(CAMPAIGN_ORDER)}
        GROUP BY tenant, campaign_id`,
      // A campaign the app never announced still shows, from its messages; the columns left
      // out take their defaults, which lose every max/min against a real value.
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("campaigns_activity_mv")} TO ${table("campaigns")} AS
        SELECT tenant, attrs['campaign_id'] AS campaign_id, min(ts) AS created_at, max(ts) AS updated_at,
               min(ts) AS first_message_at, max(ts) AS last_message_at
        FROM ${events}
        WHERE source = '${SOURCE}' AND type = '${MESSAGE_EVENT}' AND attrs['campaign_id'] != '' AND attrs['message_id'] != ''
        GROUP BY tenant, campaign_id`,
      `CREATE TABLE IF NOT EXISTS ${table("server_samples")} (
        tenant LowCardinality(String), server_kind LowCardinality(String), server_id String,
        ts DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)), status LowCardinality(String), latency_ms Float64, error String CODEC(ZSTD(1))
      ) ENGINE = MergeTree
      ORDER BY (tenant, server_kind, server_id, ts)
      TTL toDateTime(ts) + INTERVAL ${retentionDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("server_samples_mv")} TO ${table("server_samples")} AS
        SELECT tenant, attrs['server_kind'] AS server_kind, attrs['server_id'] AS server_id, ts, attrs['status'] AS status,
               toFloat64OrZero(attrs['latency_ms']) AS latency_ms, attrs['error'] AS error
        FROM ${events}
        WHERE source = '${SOURCE}' AND type = '${SERVER_EVENT}' AND attrs['server_id'] != '' AND attrs['status'] IN ${list(SERVER_STATUSES)}`,
      `CREATE TABLE IF NOT EXISTS ${table("server_changes")} (
        tenant LowCardinality(String), server_kind LowCardinality(String), server_id String, ts DateTime64(3, 'UTC'), id UUID,
        status LowCardinality(String), previous_status LowCardinality(String), error String CODEC(ZSTD(1))
      ) ENGINE = MergeTree
      ORDER BY (tenant, server_kind, server_id, ts, id)
      TTL toDateTime(ts) + INTERVAL ${retentionDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("server_changes_mv")} TO ${table("server_changes")} AS
        SELECT tenant, attrs['server_kind'] AS server_kind, attrs['server_id'] AS server_id, ts, id, attrs['status'] AS status,
               attrs['previous_status'] AS previous_status, attrs['error'] AS error
        FROM ${events}
        WHERE source = '${SOURCE}' AND type = '${SERVER_STATUS_EVENT}' AND attrs['server_id'] != '' AND attrs['status'] IN ${list(SERVER_STATUSES)}`,
      `CREATE TABLE IF NOT EXISTS ${table("report_counts")} (
        tenant LowCardinality(String), status LowCardinality(String), error_category LowCardinality(String), reports UInt64
      ) ENGINE = SummingMergeTree
      ORDER BY (tenant, status, error_category)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("report_counts_mv")} TO ${table("report_counts")} AS
        SELECT tenant, attrs['status'] AS status,
               if(attrs['status'] IN ('undelivered', 'failed'), if(attrs['error_category'] IN ${list(STORED_CATEGORIES)}, attrs['error_category'], 'unknown'), '') AS error_category,
               count() AS reports
        FROM ${events}
        WHERE source = '${SOURCE}' AND type = '${MESSAGE_EVENT}' AND attrs['message_id'] != '' AND attrs['status'] IN ${list(STATUS_CODES)}
        GROUP BY tenant, status, error_category`,
    ],
  },
  viewTargetDedupMigration(2, ["messages", "campaigns", "server_samples", "server_changes", "report_counts"]),
];
