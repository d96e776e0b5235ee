import { Cron } from "croner";
import { z } from "zod";
import { PLATFORMS } from "./contract.js";

/**
 * What the social plugin's collector part and agent part share about monitoring jobs:
 * the agents' sync read (`GET /api/monitoring/sync`, with an ingest key), the commands the
 * collector pushes, and the one schedule arithmetic both sides use, so the `next_run_at`
 * the API shows is the time the agent runs the job.
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

export const FREQUENCIES = ["hourly", "daily", "weekly", "monthly", "custom"] as const;
export type Frequency = (typeof FREQUENCIES)[number];

export const JOB_STATUSES = ["active", "paused", "completed", "failed", "deleted"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const RUN_STATUSES = ["in_progress", "completed", "failed"] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** When a job runs: every `every_ms` after its last run, or at each time of a cron expression in a time zone. */
export const scheduleSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("interval"), every_ms: z.number().int().positive() }),
  z.object({ kind: z.literal("cron"), cron: z.string(), timezone: z.string() }),
]);
export type Schedule = z.output<typeof scheduleSchema>;

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

const MINUTE_MS = 60_000;
const EVERY_MINUTES: Record<Exclude<Frequency, "monthly" | "custom">, number> = { hourly: 60, daily: 1_440, weekly: 10_080 };
/** Midnight on the 1st of each month, in the job's time zone. */
export const MONTHLY_CRON = "0 0 1 * *";

export interface ScheduleFields {
  frequency: Frequency;
  /** Minutes between runs of a "custom" job. */
  interval_minutes?: number | null;
  /** A 5-field cron expression; when given it wins over `frequency`, whatever that says. */
  cron?: string | null;
  /** IANA zone for `cron` and for "monthly"; default UTC. */
  timezone?: string | null;
}

/**
 * A job's schedule. `cron` wins over `frequency`; otherwise hourly, daily and weekly run
 * every 60, 1440 and 10080 minutes, monthly at midnight on the 1st in the job's time zone,
 * and custom every `interval_minutes`. Throws when a custom job has neither (the API refuses
 * such a job).
 */
export function scheduleOf(job: ScheduleFields): Schedule {
  const timezone = job.timezone || "UTC";
  if (job.cron) return { kind: "cron", cron: job.cron, timezone };
  if (job.frequency === "monthly") return { kind: "cron", cron: MONTHLY_CRON, timezone };
  if (job.frequency === "custom") {
    if (!job.interval_minutes || job.interval_minutes < 1) throw new Error("a custom job needs interval_minutes ≥ 1 or a cron expression");
    return { kind: "interval", every_ms: job.interval_minutes * MINUTE_MS };
  }
  return { kind: "interval", every_ms: EVERY_MINUTES[job.frequency] * MINUTE_MS };
}

/**
 * Jobs' cron expressions: five fields (minute precision), or six with seconds first for
 * jobs that must run more often than once a minute; nicknames like "@daily" too;
 * day-of-month OR day-of-week as in Vixie cron.
 */
function cronOf(cron: string, timezone: string): Cron {
  return new Cron(cron, { timezone, paused: true, mode: "5-or-6-parts" });
}

/** Why `cron` cannot be a job's schedule in `timezone`, or null when it can. */
export function cronProblem(cron: string, timezone = "UTC"): string | null {
  try {
    if (cronOf(cron, timezone).nextRun(new Date()) === null) return "it never runs again";
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

/** Whether `zone` is an IANA time zone this runtime knows ("Europe/Paris", "UTC"). */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

/**
 * When a job runs next, as of `from`: the first scheduled time after its last run
 * (`lastRunAt`: the `start_time` of its latest run, whatever its trigger or status); when that time has already passed (the
 * agent was down, or the job is new), `from` itself, i.e. due now (a catch-up). A job that
 * never ran: an interval job is due at once, a cron job waits for its next time after
 * `from`. Null when a cron expression has no further time.
 */
export function nextRunAt(schedule: Schedule, from: Date, lastRunAt?: Date | null): Date | null {
  if (schedule.kind === "interval") {
    if (!lastRunAt) return from;
    const next = lastRunAt.getTime() + schedule.every_ms;
    return new Date(Math.max(next, from.getTime()));
  }
  const cron = cronOf(schedule.cron, schedule.timezone);
  const next = cron.nextRun(lastRunAt ?? from);
  if (next === null) return null;
  return next.getTime() < from.getTime() ? from : next;
}
