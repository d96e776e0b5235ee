import { cronProblem, isTimeZone, MAX_CRON_LENGTH, MAX_INTERVAL_MINUTES, nextRunAt, scheduleOf, type Frequency, type Schedule } from "@vigil/plugin-social/schedule";

/**
 * The schedule preview of the job form. The API has no preview endpoint (`next_run_at` is
 * computed only for stored jobs), so the browser works out the next runs itself with the
 * social plugin's own schedule arithmetic (`scheduleOf`, `nextRunAt`, `cronProblem`: the
 * functions the collector and the agent run jobs by).
 */

/** A job's schedule fields as the form holds them (all present). */
export interface ScheduleFields {
  frequency: Frequency;
  interval_minutes: number | null;
  cron: string | null;
  timezone: string;
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
    const problem = cronProblem(cron, timezone);
    if (problem !== null) return { ok: false, field: "cron", error: `cannot parse: ${problem}` };
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
