import { z } from "zod";
import { PluginApiError, nextRowVersion, parseRequest, uuidv7, type PluginRequest, type PluginRoute } from "@vigil/plugin-sdk";
import { PLATFORMS } from "../contract.js";
import { JOBS_CHANGED, JOB_STATUSES, RUN_JOB, RUN_STATUSES, nextRunAt, scheduleOf, type JobStatus } from "../jobs-protocol.js";
import { pageFields, pageOf, readCursor } from "./cursor.js";
import { createJobSchema, mergedJobSchema, updateJobSchema, type JobInput } from "./job-input.js";
import { failStuckRuns, presentRun, queryRuns, runCursor, runStats, type RunStats } from "./runs.js";

/**
 * The monitoring-job API, as the seed had it (`/api/monitoring/jobs…`). Jobs live in
 * ClickHouse (ReplacingMergeTree, read with FINAL), one row per version; every change is
 * pushed at once to the tenant's connected agents (JOBS_CHANGED), which re-read their
 * jobs (SYNC_PATH), and their backup sync heals a missed push. What a job's runs say
 * (last_run_at, the counters) is read from `runs` each time, and next_run_at is computed
 * from the schedule as of now with the same function the agent uses, so both stay current
 * without being stored.
 */

export interface JobRow extends Omit<JobInput, "status"> {
  id: string;
  user: string;
  status: JobStatus;
  notify_on_new_content: boolean;
  notify_on_failure: boolean;
  created_ms: number;
  updated_ms: number;
}

const COLUMNS = `id, user, name, platform, target_url, target_type, frequency, interval_minutes, cron, timezone, max_items_per_run, status,
  notify_on_new_content, notify_on_failure, notification_email,
  toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms`;

const iso = (ms: number): string => new Date(ms).toISOString();

/** Rows as read back: ClickHouse's JSON gives Bool as true/false but 64-bit numbers as text. */
function normalize(row: JobRow): JobRow {
  return {
    ...row,
    interval_minutes: row.interval_minutes === null ? null : Number(row.interval_minutes),
    max_items_per_run: Number(row.max_items_per_run),
    notify_on_new_content: Boolean(row.notify_on_new_content),
    notify_on_failure: Boolean(row.notify_on_failure),
    created_ms: Number(row.created_ms),
    updated_ms: Number(row.updated_ms),
  };
}

/** A job as the API answers it. */
export type JobView = ReturnType<typeof presentJob>;

/** `POST …/execute` (202): which run the agents were asked for, and how many got the command. */
export interface ExecuteAnswer {
  job_id: string;
  run_id: string;
  delivered: number;
  message: string;
}

/** A job in the seed's field names (MonitoringJob), plus its cron and time zone. */
function presentJob(row: JobRow, stats: RunStats | undefined, now: Date) {
  const lastRun = stats && stats.total_runs > 0 ? new Date(stats.last_run_ms) : null;
  return {
    id: row.id,
    user: row.user,
    name: row.name,
    platform: row.platform,
    target_url: row.target_url,
    target_type: row.target_type,
    frequency: row.frequency,
    interval_minutes: row.interval_minutes,
    cron: row.cron,
    timezone: row.timezone,
    max_items_per_run: row.max_items_per_run,
    status: row.status,
    last_run_at: lastRun?.toISOString() ?? null,
    // Only an active job is scheduled.
    next_run_at: row.status === "active" ? (nextRunAt(scheduleOf(row), now, lastRun)?.toISOString() ?? null) : null,
    total_runs: stats?.total_runs ?? 0,
    successful_runs: stats?.successful_runs ?? 0,
    failed_runs: stats?.failed_runs ?? 0,
    notify_on_new_content: row.notify_on_new_content,
    notify_on_failure: row.notify_on_failure,
    notification_email: row.notification_email,
    created_at: iso(row.created_ms),
    updated_at: iso(row.updated_ms),
  };
}

/** Jobs as the API shows them: the stuck-run check first, so the counters include its verdicts. */
async function presentJobs(request: PluginRequest, rows: JobRow[]) {
  await failStuckRuns(request);
  const stats = await runStats(request, rows.map((row) => row.id));
  const now = new Date();
  return rows.map((row) => presentJob(row, stats.get(row.id), now));
}

/** A job of the tenant by id, deleted ones included (they stay readable). */
async function findJob(request: PluginRequest, id: string): Promise<JobRow> {
  const [row] = await request.storage.query<JobRow>(
    `SELECT ${COLUMNS} FROM ${request.storage.table("jobs")} FINAL WHERE tenant = {tenant:String} AND id = {id:String} AND is_deleted = 0`,
    { id },
  );
  if (!row) throw new PluginApiError("not_found", `no monitoring job "${id}" in this tenant`);
  return normalize(row);
}

export interface JobFilter {
  /** Default: every status but "deleted". */
  statuses?: readonly JobStatus[];
  platform?: string;
  cursor?: { t: number; id: string };
  limit?: number;
}

/** The tenant's jobs, newest first. */
export async function listJobs(request: PluginRequest, filter: JobFilter = {}): Promise<JobRow[]> {
  const where = ["tenant = {tenant:String}", "is_deleted = 0"];
  const params: Record<string, unknown> = {};
  if (filter.statuses) (where.push("status IN {statuses:Array(String)}"), (params.statuses = filter.statuses));
  else where.push("status != 'deleted'");
  if (filter.platform) (where.push("platform = {platform:String}"), (params.platform = filter.platform));
  if (filter.cursor) {
    where.push("(created_at, id) < (fromUnixTimestamp64Milli({c_t:Int64}), {c_id:String})");
    Object.assign(params, { c_t: filter.cursor.t, c_id: filter.cursor.id });
  }
  if (filter.limit !== undefined) params.limit = filter.limit;
  const rows = await request.storage.query<JobRow>(
    `SELECT ${COLUMNS} FROM ${request.storage.table("jobs")} FINAL
     WHERE ${where.join(" AND ")}
     ORDER BY created_at DESC, id DESC
     ${filter.limit !== undefined ? "LIMIT {limit:UInt32}" : ""}`,
    params,
  );
  return rows.map(normalize);
}

async function writeJob(request: PluginRequest, row: JobRow): Promise<void> {
  const { created_ms, updated_ms, ...rest } = row;
  await request.storage.insert("jobs", [{ ...rest, created_at: created_ms, updated_at: updated_ms, version: nextRowVersion(), is_deleted: 0 }]);
  request.agents.broadcast({ name: JOBS_CHANGED, args: { id: row.id } });
}

/** The user-set fields of a stored job, as PUT merges changes into them. */
function inputOf(row: JobRow): Record<string, unknown> {
  const { id: _id, user: _user, created_ms: _c, updated_ms: _u, ...input } = row;
  return input;
}

function refuseDeleted(row: JobRow, what: string): void {
  if (row.status === "deleted") throw new PluginApiError("failed_precondition", `monitoring job "${row.id}" is deleted: it cannot be ${what}`);
}

const listQuery = z
  .object({
    status: z.enum(JOB_STATUSES, { error: `status is one of ${JOB_STATUSES.join(", ")}` }).optional().describe('Default: every status but "deleted".'),
    platform: z.enum(PLATFORMS, { error: `platform is one of ${PLATFORMS.join(", ")}` }).optional(),
    ...pageFields,
  })
  .strict();

const runsQuery = z
  .object({
    status: z.enum(RUN_STATUSES, { error: `status is one of ${RUN_STATUSES.join(", ")}` }).optional(),
    ...pageFields,
  })
  .strict();

export const jobRoutes: PluginRoute[] = [
  {
    method: "POST",
    path: "/api/monitoring/jobs",
    scope: "write",
    async handler(request) {
      const input = parseRequest(createJobSchema, request.body);
      const now = Date.now();
      const row: JobRow = { ...input, id: uuidv7(now), user: request.key.id, created_ms: now, updated_ms: now };
      await writeJob(request, row);
      return { status: 201, body: presentJob(row, undefined, new Date(now)) };
    },
  },
  {
    method: "GET",
    path: "/api/monitoring/jobs",
    scope: "read",
    async handler(request) {
      const query = parseRequest(listQuery, request.query);
      const rows = await listJobs(request, {
        ...(query.status ? { statuses: [query.status] } : {}),
        ...(query.platform ? { platform: query.platform } : {}),
        ...(query.cursor ? { cursor: readCursor(query.cursor) } : {}),
        limit: query.limit + 1,
      });
      const { page, next_cursor } = pageOf(rows, query.limit, (row) => ({ t: row.created_ms, id: row.id }));
      return { body: { jobs: await presentJobs(request, page), next_cursor } };
    },
  },
  {
    method: "GET",
    path: "/api/monitoring/jobs/:id",
    scope: "read",
    async handler(request) {
      const [job] = await presentJobs(request, [await findJob(request, request.params.id!)]);
      return { body: job };
    },
  },
  {
    method: "PUT",
    path: "/api/monitoring/jobs/:id",
    // The fields to change (the others keep their value); status "paused" pauses, "active" resumes.
    scope: "write",
    async handler(request) {
      const changes = parseRequest(updateJobSchema, request.body);
      const row = await findJob(request, request.params.id!);
      refuseDeleted(row, "changed");
      const merged = parseRequest(mergedJobSchema, { ...inputOf(row), ...changes });
      const next: JobRow = { ...row, ...merged, updated_ms: Date.now() };
      await writeJob(request, next);
      const [job] = await presentJobs(request, [next]);
      return { body: job };
    },
  },
  {
    method: "DELETE",
    path: "/api/monitoring/jobs/:id",
    // Soft: the job keeps its row and runs with status "deleted", and leaves the agents' jobs at once.
    scope: "write",
    async handler(request) {
      const row = await findJob(request, request.params.id!);
      if (row.status !== "deleted") await writeJob(request, { ...row, status: "deleted", updated_ms: Date.now() });
      return { status: 204 };
    },
  },
  {
    method: "GET",
    path: "/api/monitoring/jobs/:id/runs",
    scope: "read",
    async handler(request) {
      const query = parseRequest(runsQuery, request.query);
      const job = await findJob(request, request.params.id!);
      await failStuckRuns(request);
      const rows = await queryRuns(request, {
        job_id: job.id,
        ...(query.status ? { status: query.status } : {}),
        ...(query.cursor ? { cursor: readCursor(query.cursor) } : {}),
        limit: query.limit + 1,
      });
      const { page, next_cursor } = pageOf(rows, query.limit, runCursor);
      return { body: { runs: page.map(presentRun), next_cursor } };
    },
  },
  {
    method: "POST",
    path: "/api/monitoring/jobs/:id/execute",
    // Runs the job now on the tenant's connected agents; the run shows under …/runs with this run_id.
    scope: "write",
    async handler(request) {
      parseRequest(z.object({}, { error: "the body is empty or {}" }).strict(), request.body);
      const job = await findJob(request, request.params.id!);
      refuseDeleted(job, "executed");
      if (job.status !== "active" && job.status !== "paused") {
        throw new PluginApiError("failed_precondition", `monitoring job "${job.id}" is ${job.status}: set its status to "active" or "paused" (PUT) to run it`);
      }
      const run_id = uuidv7();
      const delivered = request.agents.broadcast({ name: RUN_JOB, args: { job_id: job.id, run_id } });
      return {
        status: 202,
        body: {
          job_id: job.id,
          run_id,
          delivered,
          message:
            delivered > 0
              ? `sent to ${delivered} connected agent stream(s); the run appears under /api/monitoring/jobs/${job.id}/runs`
              : "no agent of this tenant is connected to this collector, so nothing will run it now (commands are not queued); start an agent with the social plugin, or execute again once it is connected",
        } satisfies ExecuteAnswer,
      };
    },
  },
];
