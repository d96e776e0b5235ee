import { viewTargetDedupMigration, type PluginMigration } from "@vigil/plugin-sdk";

/** The event the agent part emits for each keyword found in a post or comment. */
export const MENTION_SOURCE = "reddit";
export const MENTION_TYPE = "reddit.mention";

/**
 * The Reddit plugin's tables. Mentions arrive as ordinary events (`reddit.mention`, through
 * the agent's durable queue and ingest); two materialized views over the events table file
 * them for the API:
 * - `mentions`: one row per (keyword, Reddit fullname), a ReplacingMergeTree read with
 *   FINAL, so a mention emitted twice (a crash between the emit and the cursor save) is
 *   shown once;
 * - `mention_counts`: per keyword and hour, a uniqExact state over fullnames, so the counts
 *   over time are exact and also blind to repeats, whatever the merge timing.
 */
export const migrations: PluginMigration[] = [
  {
    version: 1,
    name: "keywords",
    statements: ({ table }) => [
      `CREATE TABLE IF NOT EXISTS ${table("keywords")} (
        tenant LowCardinality(String), id String, keyword String, mode LowCardinality(String),
        subreddits Array(String), exclude Array(String), is_active Bool, created_by String,
        created_at DateTime64(3, 'UTC'), updated_at DateTime64(3, 'UTC'), version UInt64, is_deleted UInt8
      ) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY (tenant, id)`,
    ],
  },
  {
    version: 2,
    name: "mentions, counts and monitor state",
    statements: ({ table, events, retentionDays }) => [
      `CREATE TABLE IF NOT EXISTS ${table("mentions")} (
        tenant LowCardinality(String), keyword_id String, fullname String, keyword String,
        subreddit LowCardinality(String), kind LowCardinality(String), permalink String, author String,
        created_at DateTime64(3, 'UTC'), snippet String CODEC(ZSTD(3)), agent LowCardinality(String),
        received_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree(received_at)
      ORDER BY (tenant, keyword_id, fullname)
      TTL toDateTime(created_at) + INTERVAL ${retentionDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("mentions_mv")} TO ${table("mentions")} AS
        SELECT tenant, attrs['keyword_id'] AS keyword_id, attrs['fullname'] AS fullname, attrs['keyword'] AS keyword,
               attrs['subreddit'] AS subreddit, attrs['kind'] AS kind, attrs['permalink'] AS permalink, attrs['author'] AS author,
               ts AS created_at, body AS snippet, agent, received_at
        FROM ${events}
        WHERE source = '${MENTION_SOURCE}' AND type = '${MENTION_TYPE}' AND attrs['keyword_id'] != '' AND attrs['fullname'] != ''`,
      `CREATE TABLE IF NOT EXISTS ${table("mention_counts")} (
        tenant LowCardinality(String), keyword_id String, hour DateTime('UTC'),
        items AggregateFunction(uniqExact, String)
      ) ENGINE = AggregatingMergeTree
      ORDER BY (tenant, keyword_id, hour)
      TTL hour + INTERVAL ${retentionDays} DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("mention_counts_mv")} TO ${table("mention_counts")} AS
        SELECT tenant, attrs['keyword_id'] AS keyword_id, toStartOfHour(ts) AS hour, uniqExactState(attrs['fullname']) AS items
        FROM ${events}
        WHERE source = '${MENTION_SOURCE}' AND type = '${MENTION_TYPE}' AND attrs['keyword_id'] != '' AND attrs['fullname'] != ''
        GROUP BY tenant, keyword_id, hour`,
      // Whether the tenant wants monitoring on (POST /api/auto-monitor/start|stop); no row: on.
      `CREATE TABLE IF NOT EXISTS ${table("monitor")} (
        tenant LowCardinality(String), running Bool, updated_by String, updated_at DateTime64(3, 'UTC'), version UInt64
      ) ENGINE = ReplacingMergeTree(version) ORDER BY tenant`,
    ],
  },
  viewTargetDedupMigration(3, ["mentions", "mention_counts"]),
];
