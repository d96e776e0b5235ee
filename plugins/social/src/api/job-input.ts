import { z } from "zod";
import { PLATFORMS, TARGET_TYPES } from "../contract.js";
import { FREQUENCIES, MAX_CRON_LENGTH, MAX_INTERVAL_MINUTES, cronProblem, isTimeZone } from "../schedule.js";
import { isTargetType, validateTarget } from "../targets.js";

/**
 * What a user may set on a monitoring job, in the seed's field names, and the checks of a
 * whole job (each problem is a 400 naming its field). POST takes a job with defaults;
 * PUT takes the fields to change, and the merged job is checked again as a whole.
 */

/** "" from a form means "none". */
const emptyToNull = (value: unknown) => (value === "" ? null : value);

const field = {
  name: z.string({ error: "name is required: a text" }).trim().min(1, "name is empty").max(200, "name is at most 200 characters"),
  platform: z.enum(PLATFORMS, { error: `platform is one of ${PLATFORMS.join(", ")}` }),
  target_url: z.string({ error: "target_url is required: the URL to watch" }).trim().min(1, "target_url is empty").max(2048, "target_url is at most 2048 characters"),
  target_type: z.string({ error: "target_type is required: what the URL is (e.g. channel, hashtag, feed)" }).trim(),
  frequency: z.enum(FREQUENCIES, { error: `frequency is one of ${FREQUENCIES.join(", ")}` }),
  interval_minutes: z.preprocess(
    emptyToNull,
    z
      .number({ error: "interval_minutes is a whole number of minutes" })
      .int("interval_minutes is a whole number of minutes")
      .min(1, "interval_minutes is at least 1")
      .max(MAX_INTERVAL_MINUTES, `interval_minutes is at most ${MAX_INTERVAL_MINUTES} (a year)`)
      .nullable(),
  ),
  cron: z.preprocess(emptyToNull, z.string({ error: 'cron is a cron expression like "0 9 * * 1-5"' }).trim().max(MAX_CRON_LENGTH, `cron is at most ${MAX_CRON_LENGTH} characters`).nullable()),
  timezone: z.string({ error: 'timezone is an IANA time zone like "Europe/Paris"' }).trim(),
  max_items_per_run: z
    .number({ error: "max_items_per_run is a whole number between 1 and 1000" })
    .int("max_items_per_run is a whole number between 1 and 1000")
    .min(1, "max_items_per_run is between 1 and 1000")
    .max(1000, "max_items_per_run is between 1 and 1000"),
  notify_on_new_content: z.boolean({ error: "notify_on_new_content is true or false" }),
  notify_on_failure: z.boolean({ error: "notify_on_failure is true or false" }),
  notification_email: z.preprocess(emptyToNull, z.email({ error: "notification_email is not a valid email address" }).max(254, "notification_email is at most 254 characters").nullable()),
};

/** The statuses POST and PUT may set; "deleted" is DELETE's. */
const settableStatus = z.enum(["active", "paused", "completed", "failed"], {
  error: 'status is "active" or "paused" ("completed" and "failed" also stop scheduling; DELETE deletes)',
});

/** A job's user-set fields, complete; what `checkJob` checks. */
export interface JobInput {
  name: string;
  platform: (typeof PLATFORMS)[number];
  target_url: string;
  target_type: string;
  frequency: (typeof FREQUENCIES)[number];
  interval_minutes: number | null;
  cron: string | null;
  timezone: string;
  max_items_per_run: number;
  notify_on_new_content: boolean;
  notify_on_failure: boolean;
  notification_email: string | null;
  status: z.output<typeof settableStatus>;
}

/** The checks across fields: target_type suits the platform, target_url suits both, the schedule can run. */
function checkJob(job: JobInput, ctx: z.RefinementCtx): void {
  if (!isTargetType(job.platform, job.target_type)) {
    ctx.addIssue({ code: "custom", path: ["target_type"], message: `target_type "${job.target_type}" does not suit platform ${job.platform}: use ${TARGET_TYPES[job.platform].join(" or ")}` });
  } else {
    const problem = validateTarget(job.platform, job.target_type, job.target_url);
    if (problem) ctx.addIssue({ code: "custom", path: ["target_url"], message: problem });
  }
  if (job.frequency === "custom" && job.cron === null && job.interval_minutes === null) {
    ctx.addIssue({ code: "custom", path: ["interval_minutes"], message: "a custom job needs interval_minutes ≥ 1 (or a cron expression)" });
  }
  const zoneOk = isTimeZone(job.timezone);
  if (!zoneOk) ctx.addIssue({ code: "custom", path: ["timezone"], message: `timezone "${job.timezone}" is not an IANA time zone like "Europe/Paris" or "UTC"` });
  if (job.cron !== null) {
    const problem = cronProblem(job.cron, zoneOk ? job.timezone : "UTC");
    if (problem) ctx.addIssue({ code: "custom", path: ["cron"], message: `cannot parse: ${problem}` });
  }
}

export const createJobSchema = z
  .object({
    name: field.name,
    platform: field.platform,
    target_url: field.target_url,
    target_type: field.target_type,
    frequency: field.frequency.default("daily").describe("hourly, daily, weekly, monthly (midnight on the 1st in `timezone`) or custom (every interval_minutes)."),
    interval_minutes: field.interval_minutes.default(null).describe("Minutes between runs of a custom job."),
    cron: field.cron.default(null).describe("A cron expression of 5 fields (e.g. weekdays at 9: \"0 9 * * 1-5\"), or 6 with seconds first; when given it wins over frequency."),
    timezone: field.timezone.default("UTC").describe("The IANA time zone of cron and monthly."),
    max_items_per_run: field.max_items_per_run.default(50),
    notify_on_new_content: field.notify_on_new_content.default(false),
    notify_on_failure: field.notify_on_failure.default(false),
    notification_email: field.notification_email.default(null).describe("Where the alert engine sends this job's notifications by default."),
    status: z.enum(["active", "paused"], { error: 'a new job\'s status is "active" or "paused"' }).default("active"),
  })
  .strict()
  .superRefine(checkJob);

/** Computed or fixed fields a client may send back unchanged on PUT (GET, edit, PUT); they are ignored. */
const READ_ONLY = ["id", "user", "created_at", "updated_at", "last_run_at", "next_run_at", "total_runs", "successful_runs", "failed_runs"] as const;

export const updateJobSchema = z
  .object({
    name: field.name.optional(),
    platform: field.platform.optional(),
    target_url: field.target_url.optional(),
    target_type: field.target_type.optional(),
    frequency: field.frequency.optional(),
    interval_minutes: field.interval_minutes.optional(),
    cron: field.cron.optional(),
    timezone: field.timezone.optional(),
    max_items_per_run: field.max_items_per_run.optional(),
    notify_on_new_content: field.notify_on_new_content.optional(),
    notify_on_failure: field.notify_on_failure.optional(),
    notification_email: field.notification_email.optional(),
    status: settableStatus.optional(),
    ...Object.fromEntries(READ_ONLY.map((name) => [name, z.unknown().optional()])),
  })
  .strict()
  .transform((patch) => {
    const changes: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(patch)) if (value !== undefined && !(READ_ONLY as readonly string[]).includes(name)) changes[name] = value;
    return changes as Partial<JobInput>;
  });

/** A job after a PUT: the stored one with the changes, checked as a whole. */
export const mergedJobSchema = z
  .object({
    name: field.name,
    platform: field.platform,
    target_url: field.target_url,
    target_type: field.target_type,
    frequency: field.frequency,
    interval_minutes: field.interval_minutes,
    cron: field.cron,
    timezone: field.timezone,
    max_items_per_run: field.max_items_per_run,
    notify_on_new_content: field.notify_on_new_content,
    notify_on_failure: field.notify_on_failure,
    notification_email: field.notification_email,
    status: settableStatus,
  })
  .strict()
  .superRefine(checkJob);
