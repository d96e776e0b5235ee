import { formatDuration } from "@vigil/plugin-sdk";
import type { Schedule } from "./jobs-protocol.js";

/** "every 5m", or "cron 0 9 * * 1-5 (Europe/Paris)". */
export function formatSchedule(schedule: Schedule): string {
  return schedule.kind === "interval" ? `every ${formatDuration(schedule.every_ms)}` : `cron ${schedule.cron}${schedule.timezone === "UTC" ? "" : ` (${schedule.timezone})`}`;
}
