import { previewSchedule } from "./schedule.js";
import { TARGET_TYPES, type Frequency, type Job, type Platform } from "./types.js";

/**
 * The create/edit job form: its fields as the inputs hold them (text), the checks the
 * browser can make before sending (the collector checks everything again, and its
 * target-URL rules are only on the server: their messages come back per field), and the
 * request body in the API's field names (plugins/social/README.md, "Job fields").
 */

/** The schedule choices of the form: the API's frequencies, plus a cron expression (which wins over frequency). */
export type ScheduleChoice = Frequency | "cron";

export interface JobForm {
  name: string;
  platform: Platform;
  target_type: string;
  target_url: string;
  schedule: ScheduleChoice;
  interval_minutes: string;
  cron: string;
  timezone: string;
  max_items_per_run: string;
  notify_on_new_content: boolean;
  notify_on_failure: boolean;
  notification_email: string;
  /** Only on create; pause and resume are their own buttons afterwards. */
  start_paused: boolean;
}

export function emptyJobForm(): JobForm {
  return {
    name: "",
    platform: "youtube",
    target_type: "channel",
    target_url: "",
    schedule: "daily",
    interval_minutes: "",
    cron: "",
    timezone: "UTC",
    max_items_per_run: "50",
    notify_on_new_content: false,
    notify_on_failure: false,
    notification_email: "",
    start_paused: false,
  };
}

export function formFromJob(job: Job): JobForm {
  return {
    name: job.name,
    platform: job.platform,
    target_type: job.target_type,
    target_url: job.target_url,
    schedule: job.cron ? "cron" : job.frequency,
    interval_minutes: job.interval_minutes === null ? "" : String(job.interval_minutes),
    cron: job.cron ?? "",
    timezone: job.timezone,
    max_items_per_run: String(job.max_items_per_run),
    notify_on_new_content: job.notify_on_new_content,
    notify_on_failure: job.notify_on_failure,
    notification_email: job.notification_email ?? "",
    start_paused: job.status === "paused",
  };
}

/** What a target URL looks like for each platform and type (the README's accepted forms). */
export const TARGET_EXAMPLES: Record<string, string> = {
  "youtube/channel": "https://www.youtube.com/channel/UCxxxxxxxxxxxxxxxxxxxxxx",
  "youtube/playlist": "https://www.youtube.com/playlist?list=PLxxxxxxxxxxxx",
  "mastodon/account": "https://mastodon.social/@user",
  "mastodon/hashtag": "https://mastodon.social/tags/observability",
  "bluesky/author": "https://bsky.app/profile/name.bsky.social",
  "bluesky/search": "https://bsky.app/search?q=vigil",
  "hackernews/search": "https://hn.algolia.com/?q=vigil",
  "rss/feed": "https://example.com/feed.xml",
  "reddit/user": "https://www.reddit.com/user/name",
  "reddit/subreddit": "https://www.reddit.com/r/selfhosted",
  "x/search": "https://x.com/search?q=vigil",
};

export function targetExample(platform: Platform, type: string): string {
  return TARGET_EXAMPLES[`${platform}/${type}`] ?? "https://…";
}

/** The schedule fields the preview and the API read, from the form's choice. */
export function scheduleFields(form: JobForm, existing?: Job) {
  const cron = form.schedule === "cron" ? form.cron.trim() : "";
  const interval = form.interval_minutes.trim();
  return {
    // With a cron expression the frequency is ignored by the API, but must still be one of
    // its values: keep the job's own (edit) or the default.
    frequency: form.schedule === "cron" ? (existing?.frequency ?? "daily") : form.schedule,
    interval_minutes: form.schedule === "custom" ? (interval === "" ? null : Number(interval)) : (existing?.interval_minutes ?? null),
    cron: form.schedule === "cron" ? cron : null,
    timezone: form.timezone.trim() || "UTC",
  } as const;
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export type JobFormErrors = Partial<Record<"name" | "target_type" | "target_url" | "interval_minutes" | "cron" | "timezone" | "max_items_per_run" | "notification_email", string>>;

/**
 * The form checked, and the body to send when it passes. `existing` is the job being
 * edited (a PUT sends the same fields, without the status).
 */
export function validateJobForm(form: JobForm, existing?: Job): { errors: JobFormErrors; body: Record<string, unknown> | null } {
  const errors: JobFormErrors = {};
  const name = form.name.trim();
  if (!name) errors.name = "Give the job a name.";
  else if (name.length > 200) errors.name = "name is at most 200 characters";

  const types = TARGET_TYPES[form.platform] as readonly string[];
  if (!types.includes(form.target_type)) errors.target_type = `target_type "${form.target_type}" does not suit platform ${form.platform}: use ${types.join(" or ")}`;

  const url = form.target_url.trim();
  if (!url) errors.target_url = `The address to watch, e.g. ${targetExample(form.platform, form.target_type)}`;
  else if (url.length > 2048) errors.target_url = "target_url is at most 2048 characters";
  else if (!/^https?:\/\/[^\s]+$/i.test(url)) errors.target_url = `target_url is not an http(s) URL; it looks like ${targetExample(form.platform, form.target_type)}`;

  const schedule = scheduleFields(form, existing);
  if (form.schedule === "cron" && !schedule.cron) errors.cron = 'Write a cron expression, e.g. "0 9 * * 1-5" (weekdays at 9).';
  else {
    const preview = previewSchedule(schedule);
    if (!preview.ok) errors[preview.field] = preview.error;
  }

  const max = Number(form.max_items_per_run.trim());
  if (!form.max_items_per_run.trim() || !Number.isInteger(max) || max < 1 || max > 1000) errors.max_items_per_run = "max_items_per_run is a whole number between 1 and 1000";

  const email = form.notification_email.trim();
  if (email && (!EMAIL.test(email) || email.length > 254)) errors.notification_email = "notification_email is not a valid email address";

  if (Object.keys(errors).length > 0) return { errors, body: null };
  const body: Record<string, unknown> = {
    name,
    platform: form.platform,
    target_type: form.target_type,
    target_url: url,
    ...schedule,
    max_items_per_run: max,
    notify_on_new_content: form.notify_on_new_content,
    notify_on_failure: form.notify_on_failure,
    notification_email: email || null,
  };
  if (!existing) body.status = form.start_paused ? "paused" : "active";
  return { errors, body };
}
