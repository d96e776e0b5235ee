import { z } from "zod";
import { PLATFORMS } from "./contract.js";
import type { Schedule } from "./schedule.js";

/**
 * What the social plugin's collector part and agent part share about monitoring jobs:
 * the agents' sync read (`GET /api/monitoring/sync`, with an ingest key), the commands the
 * collector pushes, and the one schedule arithmetic both sides use (schedule.ts), so the
 * `next_run_at` the API shows is the time the agent runs the job.
 */
export const SYNC_PATH = "/api/monitoring/sync";

/** Pushed with args `{ id }` whenever a job is created, changed, paused, resumed or deleted: read SYNC_PATH again. */
export const JOBS_CHANGED = "social-jobs-changed";
/**
 * Pushed by `POST /api/monitoring/jobs/:id/execute`, args `{ job_id, run_id }`: run that job
 * now under that run id (trigger "execute"), paused or not. It reaches every connected agent
 * of the tenant; the runs table keeps one row per run id whichever agent reports it.
 */
export const RUN_JOB = "social-run-job";

export { FREQUENCIES, MONTHLY_CRON, cronProblem, isTimeZone, nextRunAt, scheduleOf, type Frequency, type Schedule, type ScheduleFields } from "./schedule.js";

export const JOB_STATUSES = ["active", "paused", "completed", "failed", "deleted"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const RUN_STATUSES = ["in_progress", "completed", "failed"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** A `Schedule` (schedule.ts) as the sync answer carries it. */
export const scheduleSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("interval"), every_ms: z.number().int().positive() }),
  z.object({ kind: z.literal("cron"), cron: z.string(), timezone: z.string() }),
]) satisfies z.ZodType<Schedule>;

export const agentJobSchema = z.object({
  id: z.string(),
  name: z.string(),
  platform: z.enum(PLATFORMS),
  target_url: z.string(),
  target_type: z.string(),
  schedule: scheduleSchema,
  max_items_per_run: z.number().int().min(1).max(1000),
  notify_on_new_content: z.boolean(),
  notify_on_failure: z.boolean(),
  /** Where the alert engine sends this job's notifications by default; null: the tenant's routing only. */
  notification_email: z.string().nullable(),
  /** A paused job is listed so the agent knows it exists, but it is not run on schedule. */
  status: z.enum(["active", "paused"]),
  /** RFC 3339; changes with every edit. */
  updated_at: z.string(),
});
export type AgentJob = z.output<typeof agentJobSchema>;

/**
 * `GET /api/monitoring/sync`: the tenant's active and paused jobs. A job that is absent
 * (deleted, completed, failed) must stop at once, including a run of it in progress.
 */
export const syncResponseSchema = z.object({ jobs: z.array(agentJobSchema) });
export type SyncResponse = z.output<typeof syncResponseSchema>;
