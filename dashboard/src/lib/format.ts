/**
 * How numbers, sizes, durations and times read in the dashboard. Pure functions: every
 * page formats the same way, and the tests pin the output. `now` parameters exist so
 * relative times can be tested; callers normally leave them out.
 */

const EMPTY = "—";

const integer = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const compact = new Intl.NumberFormat("en", { notation: "compact", maximumFractionDigits: 1 });

function isNumber(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

/** 1234567 → "1,234,567"; with `compact` → "1.2M". Fractions keep up to `digits` places. */
export function formatNumber(value: number | null | undefined, options: { compact?: boolean; digits?: number } = {}): string {
  if (!isNumber(value)) return EMPTY;
  if (options.compact && Math.abs(value) >= 10_000) return compact.format(value);
  if (options.digits !== undefined || !Number.isInteger(value)) {
    return new Intl.NumberFormat("en", { maximumFractionDigits: options.digits ?? 2 }).format(value);
  }
  return integer.format(value);
}

/** A ratio 0…1 → "12.5%". Pass `{ ratio: false }` when the value is already a percentage. */
export function formatPercent(value: number | null | undefined, options: { digits?: number; ratio?: boolean } = {}): string {
  if (!isNumber(value)) return EMPTY;
  const percent = options.ratio === false ? value : value * 100;
  const digits = options.digits ?? (Math.abs(percent) < 10 && percent !== 0 && !Number.isInteger(percent) ? 1 : 0);
  return `${percent.toFixed(digits)}%`;
}

/** "12.3/s" (rates of events, requests…). */
export function formatRate(perSecond: number | null | undefined): string {
  if (!isNumber(perSecond)) return EMPTY;
  if (perSecond === 0) return "0/s";
  if (perSecond < 1) return `${Number(perSecond.toPrecision(2))}/s`;
  return `${formatNumber(perSecond, { compact: true, digits: 1 })}/s`;
}

const UNITS: [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
];

/**
 * Milliseconds → the two largest units: 850 → "850ms", 1500 → "1.5s", 90_000 → "1m 30s",
 * 93_784_000 → "1d 2h". Two units are enough to read at a glance.
 */
export function formatDuration(ms: number | null | undefined): string {
  if (!isNumber(ms)) return EMPTY;
  const sign = ms < 0 ? "-" : "";
  let rest = Math.abs(ms);
  if (rest < 1000) return `${sign}${Math.round(rest)}ms`;
  if (rest < 60_000) return `${sign}${Number((rest / 1000).toFixed(1))}s`;
  rest = Math.round(rest / 1000) * 1000;
  const parts: string[] = [];
  for (const [unit, size] of UNITS) {
    if (parts.length === 2) break;
    const count = Math.floor(rest / size);
    // Once the first unit is written, the next one is shown even when 0 ("2h 0m"), never a later one.
    if (count > 0 || parts.length === 1) parts.push(`${count}${unit}`);
    rest -= count * size;
  }
  if (parts.length === 2 && parts[1]!.startsWith("0")) parts.pop();
  return sign + parts.join(" ");
}

/** Seconds → as formatDuration. */
export function formatSeconds(seconds: number | null | undefined): string {
  return isNumber(seconds) ? formatDuration(seconds * 1000) : EMPTY;
}

const BYTE_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];

/** 1536 → "1.5 KB" (binary multiples, 1 KB = 1024 B, as queue limits are set). */
export function formatBytes(bytes: number | null | undefined): string {
  if (!isNumber(bytes)) return EMPTY;
  let value = Math.abs(bytes);
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${bytes < 0 ? "-" : ""}${Number(value.toFixed(digits))} ${BYTE_UNITS[unit]}`;
}

function toMs(time: string | number | Date): number {
  return time instanceof Date ? time.getTime() : typeof time === "number" ? time : Date.parse(time);
}

/** "just now", "5s ago", "3m ago", "2h ago", "4d ago", "in 5m"; the date itself past 30 days. */
export function formatRelative(time: string | number | Date | null | undefined, now: number = Date.now()): string {
  if (time === null || time === undefined) return EMPTY;
  const at = toMs(time);
  if (!Number.isFinite(at)) return EMPTY;
  const diff = now - at;
  const abs = Math.abs(diff);
  if (abs < 5000) return "just now";
  if (abs > 30 * 86_400_000) return formatDate(at);
  const [unit, size] = UNITS.find(([, size]) => abs >= size) ?? UNITS[UNITS.length - 1]!;
  const text = `${Math.floor(abs / size)}${unit}`;
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/** Local date and time, to the second: "2026-11-27 10:00:05". Sortable and unambiguous. */
export function formatDateTime(time: string | number | Date | null | undefined): string {
  if (time === null || time === undefined) return EMPTY;
  const at = toMs(time);
  if (!Number.isFinite(at)) return EMPTY;
  const d = new Date(at);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${formatDate(at)} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Local date: "2026-11-27". */
export function formatDate(time: string | number | Date): string {
  const d = new Date(toMs(time));
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
