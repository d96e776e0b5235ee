import { z } from "zod";
import { durationSchema, parseDuration } from "@vigil/plugin-sdk";
import { parseJsonPath } from "./json-path.js";

/**
 * `interval` has no `.default()` because `cron` may replace it, and a default would hide
 * a config that sets both. A check with neither runs this often.
 */
const DEFAULT_INTERVAL = "60s";
const DEFAULT_INTERVAL_MS = parseDuration(DEFAULT_INTERVAL);

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
const STATUS_MESSAGE = 'expect_status entries are status codes like 200 or classes like "2xx"';
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const CRON_NICKNAME = /^@(yearly|annually|monthly|weekly|daily|hourly)$/;
const CRON_FIELD = /^[0-9A-Za-z*?,/#-]+$/;

/** A syntax check only: the agent's scheduler has the last word on ranges when the check is scheduled. */
function looksLikeCron(pattern: string): boolean {
  const trimmed = pattern.trim();
  if (CRON_NICKNAME.test(trimmed)) return true;
  const fields = trimmed.split(/\s+/);
  return (fields.length === 5 || fields.length === 6) && fields.every((field) => CRON_FIELD.test(field));
}

const statusExpectation = z.union(
  [
    z.number().int(STATUS_MESSAGE).min(100, STATUS_MESSAGE).max(599, STATUS_MESSAGE),
    z.string().regex(/^[1-5]([0-9]{2}|xx)$/i, STATUS_MESSAGE),
  ],
  { error: STATUS_MESSAGE },
);

const jsonPathExpectation = z
  .object({
    path: z
      .string()
      .refine((path) => parseJsonPath(path) !== undefined, 'expected a path like "$.status" or "$.items[0].name"')
      .describe('Where to look in the JSON answer: "$", then ".key" and "[index]" steps, e.g. "$.checks[0].status".'),
    equals: z
      .union([z.string(), z.number(), z.boolean(), z.null()], { error: "equals must be a string, number, boolean or null" })
      .describe("The value expected there, compared by JSON type and value (200 does not equal \"200\")."),
  })
  .strict();

export const checkSchema = z
  .object({
    name: z
      .string({ error: "every check needs a name" })
      .min(1, "every check needs a name")
      .max(64, "name is limited to 64 characters")
      .regex(/^[a-z0-9_-]+$/, 'name may hold only a-z, 0-9, "_" and "-"')
      .describe("Unique name of the check; the `check_name` attribute and the `check` metric label."),
    url: z
      .url({ protocol: /^https?$/, error: "url must be an absolute http:// or https:// URL" })
      .describe("The URL to request. Only its host is reported in events; the full URL may carry secrets."),
    method: z
      .string()
      .toUpperCase()
      .pipe(z.enum(METHODS, { error: `method must be one of ${METHODS.join(", ")}` }))
      .default("GET")
      .describe("HTTP method."),
    headers: z
      .record(z.string().regex(HEADER_NAME, "header names are HTTP tokens like \"Authorization\""), z.string({ error: "header values are strings" }), {
        error: "headers must be a map of header name to value",
      })
      .default({})
      .describe("Request headers, e.g. {Authorization: \"Bearer …\"}. Never logged nor emitted."),
    body: z.string({ error: "body must be a string" }).optional().describe("Request body, sent as given."),
    interval: durationSchema()
      .refine((ms) => ms >= 1000, "interval must be at least 1s")
      .optional()
      .describe(`How often to run the check, e.g. "30s". Give either interval or cron; with neither, ${DEFAULT_INTERVAL}.`),
    cron: z
      .string({ error: "cron must be a string" })
      .refine(looksLikeCron, 'expected a cron pattern like "*/5 * * * *" (5 fields, or 6 with seconds first)')
      .optional()
      .describe('When to run the check, as a cron pattern (seconds optional), e.g. "*/5 * * * *". Replaces interval.'),
    timeout: durationSchema()
      .refine((ms) => ms > 0, "timeout must be more than 0")
      .default(10_000)
      .describe('Whole-request timeout, e.g. "10s" (default 10s); a check that takes longer fails with error_class "timeout".'),
    expect_status: z
      .array(statusExpectation, { error: 'expect_status must be a list like [200, "3xx"]' })
      .min(1, "expect_status needs at least one entry")
      .default(["2xx"])
      .describe('Status codes that pass: codes like 200 and/or classes like "2xx". Redirects are not followed.'),
    body_contains: z
      .string({ error: "body_contains must be a string" })
      .min(1, "body_contains must not be empty")
      .optional()
      .describe("Text the answer's body must contain (case-sensitive)."),
    json_path: jsonPathExpectation.optional().describe("A value the JSON answer must hold at a path."),
    failures_before_down: z
      .number({ error: "failures_before_down must be a whole number" })
      .int("failures_before_down must be a whole number")
      .min(1, "failures_before_down must be at least 1")
      .max(100, "failures_before_down is at most 100")
      .default(2)
      .describe("Consecutive failed runs before the check's state turns down; one pass turns it up again."),
    tls_days_warn: z
      .number({ error: "tls_days_warn must be a whole number of days" })
      .int("tls_days_warn must be a whole number of days")
      .min(0, "tls_days_warn must be 0 or more")
      .default(14)
      .describe("For https URLs: a certificate with fewer days left makes the run's event a warning."),
  })
  .strict()
  .superRefine((check, ctx) => {
    if (check.interval !== undefined && check.cron !== undefined) {
      ctx.addIssue({ code: "custom", path: ["cron"], message: "give either interval or cron, not both" });
    }
    if (check.method === "HEAD") {
      for (const key of ["body_contains", "json_path"] as const) {
        if (check[key] !== undefined) ctx.addIssue({ code: "custom", path: [key], message: `a HEAD answer has no body to check: use GET with ${key}` });
      }
    }
  });

export const httpCheckConfigSchema = z
  .object({
    checks: z
      .array(checkSchema, { error: (issue) => (issue.input === undefined ? "checks is required: a list of the URLs to check" : "checks must be a list of checks") })
      .min(1, "give at least one check")
      .superRefine((checks, ctx) => {
        const seen = new Set<string>();
        checks.forEach((check, index) => {
          if (seen.has(check.name)) ctx.addIssue({ code: "custom", path: [index, "name"], message: `duplicate check name "${check.name}": names must be unique` });
          seen.add(check.name);
        });
      })
      .describe("The URLs to check; at least one."),
  })
  .strict();

export type HttpCheckConfig = z.output<typeof httpCheckConfigSchema>;
export type CheckConfig = z.output<typeof checkSchema>;

/** The check's schedule in the scheduler's terms. */
export function scheduleOf(check: CheckConfig): { every: number } | { cron: string } {
  return check.cron !== undefined ? { cron: check.cron } : { every: check.interval ?? DEFAULT_INTERVAL_MS };
}
