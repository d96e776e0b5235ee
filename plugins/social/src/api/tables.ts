import { viewTargetDedupMigration, type PluginMigration } from "@vigil/plugin-sdk";
import { RUN_EVENT, SOURCE } from "../contract.js";

/**
 * Which row of a run wins (the `runs` table's version): a run's own end beats its start,
 * and the collector's "stuck" mark sits between them, so it fails a run that never reported
 * its end, and a late real end from the agent still replaces it. Within a rank the later
 * time wins. Times are epoch ms (< 10^13).
 */
export const RUN_RANK = { started: 1, marked_stuck: 2, ended: 3 } as const;
export const RANK_STEP = 10_000_000_000_000;

/**
 * The social plugin's tables (`social_*`):
 * - `jobs`: the monitoring jobs, one row per version (ReplacingMergeTree(version,
 *   is_deleted), read with FINAL). A deleted job keeps its row with status "deleted": it
 *   stays readable by id and its runs keep their job.
 * - `runs`: one row per run, filed from the agents' `social.run` events by a materialized
 *   view over the events table (two events per run: its start and its end, same run_id;
 *   the version makes the end win, see RUN_RANK), and written directly by the collector
 *   when it marks a stuck run failed. No TTL: the job's run counters are all-time, as the
 *   seed's columns were, and a run is one small row.
 */
export const migrations: PluginMigration[] = [
  {
    version: 1,
    name: "jobs",
    statements: ({ table }) => [
      `CREATE TABLE IF NOT EXISTS ${table("jobs")} (
        tenant LowCardinality(String), id String, user String, name String,
        platform LowCardinality(String), target_url String, target_type LowCardinality(String),
        frequency LowCardinality(String), interval_minutes Nullable(UInt32), cron Nullable(String), timezone LowCardinality(String),
        max_items_per_run UInt16, status LowCardinality(String),
        notify_on_new_content Bool, notify_on_failure Bool, notification_email Nullable(String),
        created_at DateTime64(3, 'UTC'), updated_at DateTime64(3, 'UTC'), version UInt64, is_deleted UInt8
      ) ENGINE = ReplacingMergeTree(version, is_deleted) ORDER BY (tenant, id)`,
    ],
  },
  {
    version: 2,
    name: "runs from social.run events",
    statements: ({ table, events }) => [
      `CREATE TABLE IF NOT EXISTS ${table("runs")} (
        tenant LowCardinality(String), job_id String, run_id String, status LowCardinality(String),
        start_time DateTime64(3, 'UTC'),
        end_time DateTime64(3, 'UTC') COMMENT 'the epoch (0) while in progress',
        items_found UInt32, items_processed UInt32, new_items_downloaded UInt32,
        error_message String CODEC(ZSTD(1)), trigger LowCardinality(String), agent LowCardinality(String),
        received_at DateTime64(3, 'UTC'), version UInt64
      ) ENGINE = ReplacingMergeTree(version)
      ORDER BY (tenant, job_id, run_id)`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("runs_mv")} TO ${table("runs")} AS
        SELECT tenant, attrs['job_id'] AS job_id, attrs['run_id'] AS run_id, attrs['status'] AS status,
               if(toInt64OrZero(attrs['start_time']) > 0, fromUnixTimestamp64Milli(toInt64OrZero(attrs['start_time']), 'UTC'), ts) AS start_time,
               fromUnixTimestamp64Milli(greatest(toInt64OrZero(attrs['end_time']), 0), 'UTC') AS end_time,
               toUInt32OrZero(attrs['items_found']) AS items_found, toUInt32OrZero(attrs['items_processed']) AS items_processed,
               toUInt32OrZero(attrs['new_items_downloaded']) AS new_items_downloaded,
               attrs['error_message'] AS error_message, attrs['trigger'] AS trigger, agent, received_at,
               if(attrs['status'] = 'in_progress', ${RUN_RANK.started}, ${RUN_RANK.ended}) * ${RANK_STEP}
                 + toUInt64(greatest(toInt64OrZero(attrs['end_time']), 0)) AS version
        FROM ${events}
        WHERE source = '${SOURCE}' AND type = '${RUN_EVENT}' AND attrs['job_id'] != '' AND attrs['run_id'] != ''
          AND attrs['status'] IN ('in_progress', 'completed', 'failed')`,
    ],
  },
  viewTargetDedupMigration(3, ["runs"]),
];
