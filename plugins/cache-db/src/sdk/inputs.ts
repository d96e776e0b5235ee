import { settingsSchema, type Settings } from "../contract.js";

/** Checks of what the app passes in: options fail loudly at start, per-call numbers never throw. */

export function positive(name: string, value: number | undefined, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new Error(`createMonitor: ${name} must be a positive ${integer ? "integer" : "number"}, got ${value}`);
  }
  return value;
}

export function parseSettings(input: unknown, where: string): Settings {
  const parsed = settingsSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "settings"}: ${issue.message}`).join("; ");
  throw new Error(`${where}: invalid cache monitor settings: ${problems}`);
}

/** NaN, negative or infinite inputs would make invalid events: they count as the default. */
export function itemCount(value: number | undefined, fallback: number): number {
  return value !== undefined && value >= 0 && value < Number.POSITIVE_INFINITY ? value : fallback;
}
export function millis(value: number): number {
  return value >= 0 && value < Number.POSITIVE_INFINITY ? value : 0;
}
