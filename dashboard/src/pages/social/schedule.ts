import { Cron } from "croner";
import type { Frequency } from "./types.js";

/**
 * A job's schedule as the social plugin reads it, for the schedule preview. The API has no
 * preview endpoint (`next_run_at` is computed only for stored jobs), so the browser works
 * out the next runs itself with the same rules and the same parser (croner, same options)
 * as the plugin's `scheduleOf` / `nextRunAt` / `cronProblem` in
 * plugins/social/src/jobs-protocol.ts. dashboard/test/social-schedule.test.ts compares the
 * two, so a change there that is not made here fails a test.
 */

export interface ScheduleFields {
  frequency: Frequency;
  interval_minutes: number | null;
  cron: string | null;
  timezone: string;
}

export type Schedule = { kind: "interval"; every_ms: number } | { kind: "cron"; cron: string; timezone: string };

const MINUTE_MS = 60_000;
const EVERY_MINUTES = { hourly: 60, daily: 1_440, weekly: 10_080 } as const;
/** Midnight on the 1st of each month, in the job's time zone. */
export const MONTHLY_CRON = "0 0 1 * *";
/** The API's bounds (api/job-input.ts). */
export const MAX_INTERVAL_MINUTES = 366 * 1_440;
export const MAX_CRON_LENGTH = 200;

/** Five fields, or six with seconds first; nicknames ("@daily"); day-of-month OR day-of-week (Vixie cron). */
function cronOf(cron: string, timezone: string): Cron {
  return new Cron(cron, { timezone, paused: true, mode: "5-or-6-parts" });
}

/** Whether `zone` is an IANA time zone this browser knows, as the collector checks it. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    return zone.length > 0;
  } catch {
    return false;
  }
}

/** `cron` wins over `frequency`; monthly is a cron in the job's zone; the rest are intervals. */
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
 * When a job runs next as of `from`: the first time of its schedule after its last run's
 * start, or `from` itself when that time has passed (due now). Never run: an interval job
 * is due at once, a cron job waits for its next time. Null when a cron has no further time.
 */
export function nextRunAt(schedule: Schedule, from: Date, lastRunAt?: Date | null): Date | null {
  if (schedule.kind === "interval") {
    if (!lastRunAt) return from;
    return new Date(Math.max(lastRunAt.getTime() + schedule.every_ms, from.getTime()));
  }
  const next = cronOf(schedule.cron, schedule.timezone).nextRun(lastRunAt ?? from);
  if (next === null) return null;
  return next.getTime() < from.getTime() ? from : next;
}

export type ScheduleField = "cron" | "timezone" | "interval_minutes";

export type Preview =
  | { ok: true; runs: Date[]; schedule: Schedule }
  /** `field`: which input the problem is about, to show it there. */
  | { ok: false; field: ScheduleField; error: string };

/**
 * The next `count` runs of a schedule, or why the collector would refuse it (with the
 * collector's wording). Each run starts from the one before, as the agent's scheduler
 * does: the run at a time is the job's "last run" for the next one. `lastRunAt` is the
 * stored job's last run, for an edit; a new job has none.
 */
export function previewSchedule(fields: ScheduleFields, options: { now?: Date; lastRunAt?: Date | null; count?: number } = {}): Preview {
  const cron = fields.cron?.trim() || null;
  const timezone = fields.timezone.trim();
  if (!isTimeZone(timezone)) return { ok: false, field: "timezone", error: `timezone "${timezone}" is not an IANA time zone like "Europe/Paris" or "UTC"` };
  if (cron !== null) {
    if (cron.length > MAX_CRON_LENGTH) return { ok: false, field: "cron", error: `cron is at most ${MAX_CRON_LENGTH} characters` };
    try {
      cronOf(cron, timezone);
    } catch (error) {
      return { ok: false, field: "cron", error: `cannot parse: ${(error as Error).message}` };
    }
  } else if (fields.frequency === "custom") {
    const minutes = fields.interval_minutes;
    if (minutes === null || Number.isNaN(minutes)) return { ok: false, field: "interval_minutes", error: "a custom job needs interval_minutes ≥ 1 (or a cron expression)" };
    if (!Number.isInteger(minutes)) return { ok: false, field: "interval_minutes", error: "interval_minutes is a whole number of minutes" };
    if (minutes < 1) return { ok: false, field: "interval_minutes", error: "interval_minutes is at least 1" };
    if (minutes > MAX_INTERVAL_MINUTES) return { ok: false, field: "interval_minutes", error: `interval_minutes is at most ${MAX_INTERVAL_MINUTES} (a year)` };
  }
  const schedule = scheduleOf({ ...fields, cron, timezone });
  const count = options.count ?? 5;
  const runs: Date[] = [];
  let from = options.now ?? new Date();
  let last = options.lastRunAt ?? null;
  while (runs.length < count) {
    const next = nextRunAt(schedule, from, last);
    if (next === null) break;
    runs.push(next);
    last = next;
    from = next;
  }
  if (runs.length === 0) return { ok: false, field: "cron", error: "cannot parse: it never runs again" };
  return { ok: true, runs, schedule };
}

/** "2026-11-27 09:00:00" as the clock reads in `timeZone` (the job's zone), for the preview. */
export function formatInZone(time: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hourCycle: "h23",
  }).formatToParts(time);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
}
