import { z } from "zod";
import { durationSchema } from "@vigil/plugin-sdk";

/**
 * Routes (which channels an alert goes to, and how alerts are grouped and repeated) and
 * silences (which alerts are not notified for a while), both matching alert labels the
 * way Alertmanager's matchers do.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const matcherSchema = z
  .object({
    label: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, "label is a label name: letters, digits and '_'"),
    op: z.enum(["=", "!=", "=~", "!~"], { error: 'op is one of "=", "!=", "=~" (regex), "!~"' }).default("="),
    value: z.string().max(1000),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.op === "=~" || m.op === "!~") {
      try {
        new RegExp(`^(?:${m.value})$`);
      } catch (error) {
        ctx.addIssue({ code: "custom", path: ["value"], message: `not a valid regular expression: ${(error as Error).message}` });
      }
    }
  });

export type Matcher = z.output<typeof matcherSchema>;

export const routeSchema = z
  .object({
    name: z.string().trim().min(1, "name is required").max(200),
    matchers: z.array(matcherSchema).max(20).default([]).describe("All must match; none matches every alert."),
    channels: z.array(z.string().min(1)).min(1, "channels needs at least one channel id").max(20),
    group_by: z
      .array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, "group_by holds label names"))
      .max(10)
      .default(["alertname"])
      .describe("Alerts with the same values of these labels share one notification."),
    group_wait: durationSchema({ min: 0, max: HOUR }).default(30_000).describe("Wait this long after a group's first alert, to send it with its siblings."),
    group_interval: durationSchema({ min: 1000, max: 24 * HOUR }).default(5 * MINUTE).describe("Wait this long before telling a group's changes."),
    repeat_interval: durationSchema({ min: 1000, max: 30 * 24 * HOUR }).default(4 * HOUR).describe("Remind of a group still firing this often."),
    send_resolved: z.boolean().default(true),
    continue: z.boolean().default(false).describe("Also try the routes after this one."),
    position: z.number().int().min(0).max(10_000).default(100).describe("Routes are tried in ascending position."),
  })
  .strict();

export type RouteSpec = z.output<typeof routeSchema>;

export const silenceSchema = z
  .object({
    matchers: z.array(matcherSchema).min(1, "a silence needs at least one matcher, or it would silence everything").max(20),
    starts_at: z.union([z.string(), z.number()]).optional(),
    ends_at: z.union([z.string(), z.number()], { error: 'ends_at is required: RFC 3339 text like "2026-11-27T18:00:00Z" or epoch ms' }),
    comment: z.string().trim().min(1, "comment is required: say why").max(2000),
    created_by: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

export interface SilenceSpec {
  matchers: Matcher[];
  starts_at: number;
  ends_at: number;
  comment: string;
  created_by: string;
}

export function toMillis(value: string | number, field: string): number {
  const ms = typeof value === "number" ? value : /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new Error(`${field} is RFC 3339 text like "2026-11-27T18:00:00Z" or epoch milliseconds`);
  return ms;
}

const regexCache = new Map<string, RegExp>();
function anchored(pattern: string): RegExp {
  let re = regexCache.get(pattern);
  if (!re) {
    re = new RegExp(`^(?:${pattern})$`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re;
}

export function matches(matchers: readonly Matcher[], labels: Record<string, string>): boolean {
  return matchers.every((m) => {
    const value = labels[m.label] ?? "";
    switch (m.op) {
      case "=":
        return value === m.value;
      case "!=":
        return value !== m.value;
      case "=~":
        return anchored(m.value).test(value);
      default:
        return !anchored(m.value).test(value);
    }
  });
}

/** The routes an alert takes, in order: the first match, plus those after it while `continue` says so. */
export function routesFor<R extends { id: string; spec: RouteSpec }>(routes: readonly R[], labels: Record<string, string>): R[] {
  const ordered = [...routes].sort((a, b) => a.spec.position - b.spec.position || a.id.localeCompare(b.id));
  const taken: R[] = [];
  for (const route of ordered) {
    if (!matches(route.spec.matchers, labels)) continue;
    taken.push(route);
    if (!route.spec.continue) break;
  }
  return taken;
}

export function silenceState(silence: SilenceSpec, now: number): "pending" | "active" | "expired" {
  return now < silence.starts_at ? "pending" : now < silence.ends_at ? "active" : "expired";
}

export function isSilenced(silences: readonly SilenceSpec[], labels: Record<string, string>, now: number): boolean {
  return silences.some((s) => silenceState(s, now) === "active" && matches(s.matchers, labels));
}
