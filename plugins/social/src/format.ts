import type { Schedule } from "./jobs-protocol.js";

const UNITS: [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/** 300000 → "5m", 5400000 → "1h30m", 1500 → "1.5s", 250 → "250ms": how durations are written in configs. */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(3))}s`;
  let rest = Math.round(ms / 1_000) * 1_000;
  let text = "";
  for (const [unit, size] of UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}

/** "every 5m", or "cron 0 9 * * 1-5 (Europe/Paris)". */
export function formatSchedule(schedule: Schedule): string {
  return schedule.kind === "interval" ? `every ${formatDuration(schedule.every_ms)}` : `cron ${schedule.cron}${schedule.timezone === "UTC" ? "" : ` (${schedule.timezone})`}`;
}
