import { uuidv7, type EventInput, type PluginRequest } from "@vigil/plugin-sdk";
import { RUN_FAILED_EVENT, RUN_STUCK_EVENT, SOURCE } from "../contract.js";
import type { RunStatus } from "../jobs-protocol.js";
import type { Cursor } from "./cursor.js";
import { RANK_STEP, RUN_RANK } from "./tables.js";

/**
 * Runs as the API reads them (`runs` FINAL: each run once, its latest state), and the
 * collector's stuck-run check: a run still in progress longer than STUCK_AFTER_MS never
 * reported its end (the agent died or lost it), so it is marked failed with a reason.
 * The check runs every 30 s (the part's `stuck-runs` task) and on each read of jobs and
 * runs; a real end reported later still replaces the mark (RUN_RANK). Each run it marks
 * is announced as a `social.run_stuck` event (and `social.run_failed` when its job asks
 * to be told of failures), for the alert engine.
 */
export const STUCK_AFTER_MS = 10 * 60_000;
export const STUCK_REASON = `marked failed: in progress longer than ${STUCK_AFTER_MS / 60_000} min (stuck)`;

export interface RunRow {
  job_id: string;
  run_id: string;
  status: RunStatus;
  start_ms: number;
  end_ms: number;
  items_found: number;
  items_processed: number;
  new_items_downloaded: number;
  error_message: string;
  trigger: string;
  agent: string;
}

const RUN_COLUMNS = `job_id, run_id, status, toUnixTimestamp64Milli(start_time) AS start_ms, toUnixTimestamp64Milli(end_time) AS end_ms,
  items_found, items_processed, new_items_downloaded, error_message, trigger, agent`;

const iso = (ms: number | string): string => new Date(Number(ms)).toISOString();

/** A run as the API answers it. */
export type RunView = ReturnType<typeof presentRun>;

/** A run in the seed's field names (MonitoringRun), plus what started it and which agent ran it. */
export function presentRun(row: RunRow) {
  return {
    id: row.run_id,
    job_id: row.job_id,
    status: row.status,
    start_time: iso(row.start_ms),
    end_time: Number(row.end_ms) > 0 ? iso(row.end_ms) : null,
    items_found: Number(row.items_found),
    items_processed: Number(row.items_processed),
    new_items_downloaded: Number(row.new_items_downloaded),
    error_message: row.error_message || null,
    trigger: row.trigger || null,
    agent: row.agent || null,
  };
}

export interface RunFilter {
  job_id?: string;
  status?: RunStatus;
  /** Only runs started before this (epoch ms). */
  started_before?: number;
  cursor?: Cursor;
  limit: number;
}

/** Runs newest first (by start), LIMIT `limit`. */
export function queryRuns(request: Pick<PluginRequest, "storage">, filter: RunFilter): Promise<RunRow[]> {
  const where = ["tenant = {tenant:String}"];
  const params: Record<string, unknown> = { limit: filter.limit };
  if (filter.job_id !== undefined) (where.push("job_id = {job_id:String}"), (params.job_id = filter.job_id));
  if (filter.status !== undefined) (where.push("status = {status:String}"), (params.status = filter.status));
  if (filter.started_before !== undefined) (where.push("start_time < fromUnixTimestamp64Milli({before:Int64})"), (params.before = filter.started_before));
  if (filter.cursor) {
    where.push("(start_time, run_id) < (fromUnixTimestamp64Milli({c_t:Int64}), {c_id:String})");
    Object.assign(params, { c_t: filter.cursor.t, c_id: filter.cursor.id });
  }
  return request.storage.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM ${request.storage.table("runs")} FINAL
     WHERE ${where.join(" AND ")}
     ORDER BY start_time DESC, run_id DESC
     LIMIT {limit:UInt32}`,
    params,
  );
}

export async function findRun(request: PluginRequest, runId: string): Promise<RunRow | undefined> {
  const [row] = await request.storage.query<RunRow>(
    `SELECT ${RUN_COLUMNS} FROM ${request.storage.table("runs")} FINAL WHERE tenant = {tenant:String} AND run_id = {run_id:String} LIMIT 1`,
    { run_id: runId },
  );
  return row;
}

export const runCursor = (row: RunRow): Cursor => ({ t: Number(row.start_ms), id: row.run_id });

export interface RunStats {
  last_run_ms: number;
  total_runs: number;
  successful_runs: number;
  failed_runs: number;
}

/** Per job: the start of its latest run and its run counts (one grouped query). */
export async function runStats(request: PluginRequest, jobIds: readonly string[]): Promise<Map<string, RunStats>> {
  if (jobIds.length === 0) return new Map();
  const rows = await request.storage.query<RunStats & { job_id: string }>(
    `SELECT job_id, toUnixTimestamp64Milli(max(start_time)) AS last_run_ms, count() AS total_runs,
            countIf(status = 'completed') AS successful_runs, countIf(status = 'failed') AS failed_runs
     FROM ${request.storage.table("runs")} FINAL
     WHERE tenant = {tenant:String} AND job_id IN {ids:Array(String)}
     GROUP BY job_id`,
    { ids: jobIds },
  );
  return new Map(
    rows.map((row) => [
      row.job_id,
      { last_run_ms: Number(row.last_run_ms), total_runs: Number(row.total_runs), successful_runs: Number(row.successful_runs), failed_runs: Number(row.failed_runs) },
    ]),
  );
}

/**
 * Marks runs failed with `reason`, ending them now. Written as the collector's rank, so a
 * run's own end, when it comes after all, wins.
 */
export async function markRunsFailed(request: Pick<PluginRequest, "storage">, runs: readonly RunRow[], reason: string, now = Date.now()): Promise<RunRow[]> {
  const failed = runs.map((run): RunRow => ({ ...run, status: "failed", end_ms: now, error_message: reason }));
  if (failed.length === 0) return failed;
  await request.storage.insert(
    "runs",
    failed.map(({ start_ms, end_ms, ...run }) => ({
      ...run,
      start_time: Number(start_ms),
      end_time: end_ms,
      received_at: now,
      version: RUN_RANK.marked_stuck * RANK_STEP + now,
    })),
  );
  return failed;
}

/** The stuck-run check: fails every run of the tenant in progress longer than STUCK_AFTER_MS, and announces each. Returns how many. */
export async function failStuckRuns(request: Pick<PluginRequest, "storage" | "emit">, now = Date.now()): Promise<number> {
  // Bounded per call; a tenant with more stuck runs has them failed over the next checks.
  const stuck = await queryRuns(request, { status: "in_progress", started_before: now - STUCK_AFTER_MS, limit: 1000 });
  if (stuck.length === 0) return 0;
  await markRunsFailed(request, stuck, STUCK_REASON, now);
  await request.emit(await stuckRunEvents(request, stuck, now));
  return stuck.length;
}

async function stuckRunEvents(request: Pick<PluginRequest, "storage">, runs: readonly RunRow[], now: number): Promise<EventInput[]> {
  const jobs = await request.storage.query<{ id: string; name: string; platform: string; notify_on_failure: boolean | number; notification_email: string | null }>(
    `SELECT id, name, platform, notify_on_failure, notification_email FROM ${request.storage.table("jobs")} FINAL
     WHERE tenant = {tenant:String} AND id IN {ids:Array(String)}`,
    { ids: [...new Set(runs.map((run) => run.job_id))] },
  );
  const byId = new Map(jobs.map((job) => [job.id, job]));
  const events: EventInput[] = [];
  for (const run of runs) {
    const job = byId.get(run.job_id);
    const common = { job_id: run.job_id, job_name: job?.name ?? "", platform: job?.platform ?? "", run_id: run.run_id };
    events.push({
      id: uuidv7(now),
      ts: now,
      source: SOURCE,
      type: RUN_STUCK_EVENT,
      severity: "error",
      attrs: { ...common, in_progress_ms: now - Number(run.start_ms), agent: run.agent },
      body: `run ${run.run_id} of job "${common.job_name}" was in progress for ${Math.round((now - Number(run.start_ms)) / 60_000)} min: ${STUCK_REASON}`,
    });
    if (job && Boolean(Number(job.notify_on_failure)) && job.notification_email) {
      events.push({ id: uuidv7(now), ts: now, source: SOURCE, type: RUN_FAILED_EVENT, severity: "error", attrs: { ...common, error_message: STUCK_REASON, notification_email: job.notification_email } });
    }
  }
  return events;
}
