import { formatDuration } from "../../lib/format.js";
import type { ScheduleFields } from "./schedule.js";

// Apart from schedule.ts so the jobs list does not load the cron parser (croner, ~10 KB
// gzipped): only the job dialog, loaded on first use, needs it.

/** A job's schedule in a few words: "every 2h", "daily", "cron 0 9 * * 1-5 (America/New_York)". */
export function describeSchedule(job: ScheduleFields): string {
  if (job.cron) return `cron ${job.cron} (${job.timezone || "UTC"})`;
  switch (job.frequency) {
    case "monthly":
      return `monthly, the 1st at 00:00 (${job.timezone || "UTC"})`;
    case "custom":
      return job.interval_minutes ? `every ${formatDuration(job.interval_minutes * 60_000)}` : "custom (no interval)";
    default:
      return job.frequency;
  }
}

