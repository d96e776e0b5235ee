import { Cron } from "croner";

/**
 * A monitoring job's schedule: the one arithmetic the collector (`next_run_at`), the agent
 * (when to run a job) and the dashboard (the schedule preview while a job is edited) use.
 * It imports nothing but croner, so the browser loads it too ("@vigil/plugin-social/schedule").
 */

export const FREQUENCIES = ["hourly", "daily", "weekly", "monthly", "custom"] as const;
export type Frequency = (typeof FREQUENCIES)[number];

/** When a job runs: every `every_ms` after its last run, or at each time of a cron expression in a time zone. */
export type Schedule = { kind: "interval"; every_ms: number } | { kind: "cron"; cron: string; timezone: string };

const MINUTE_MS = 60_000;
const EVERY_MINUTES: Record<Exclude<Frequency, "monthly" | "custom">, number> = { hourly: 60, daily: 1_440, weekly: 10_080 };
/** Midnight on the 1st of each month, in the job's time zone. */
export const MONTHLY_CRON = "0 0 1 * *";
/** The largest `interval_minutes` the API takes: a year. */
export const MAX_INTERVAL_MINUTES = 366 * 1_440;
/** The longest `cron` the API takes, in characters. */
export const MAX_CRON_LENGTH = 200;

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
