/**
 * The social plugin's API as the Social jobs page reads it. Each shape names the plugin
 * file that defines it (plugins/social/src/…): keep them in step when the API changes.
 */

/** contract.ts PLATFORMS and TARGET_TYPES: what each platform can watch. */
export const TARGET_TYPES = {
  youtube: ["channel", "playlist"],
  mastodon: ["account", "hashtag"],
  bluesky: ["author", "search"],
  hackernews: ["search"],
  rss: ["feed"],
  reddit: ["user", "subreddit"],
  x: ["search"],
} as const;
export type Platform = keyof typeof TARGET_TYPES;
export const PLATFORMS = Object.keys(TARGET_TYPES) as Platform[];

export const PLATFORM_LABELS: Record<Platform, string> = {
  youtube: "YouTube",
  mastodon: "Mastodon",
  bluesky: "Bluesky",
  hackernews: "Hacker News",
  rss: "RSS / Atom",
  reddit: "Reddit",
  x: "X",
};

/** jobs-protocol.ts FREQUENCIES. */
export const FREQUENCIES = ["hourly", "daily", "weekly", "monthly", "custom"] as const;
export type Frequency = (typeof FREQUENCIES)[number];

export type JobStatus = "active" | "paused" | "completed" | "failed" | "deleted";
export type RunStatus = "in_progress" | "completed" | "failed";

/** api/jobs.ts presentJob. */
export interface Job {
  id: string;
  user: string;
  name: string;
  platform: Platform;
  target_url: string;
  target_type: string;
  frequency: Frequency;
  interval_minutes: number | null;
  cron: string | null;
  timezone: string;
  max_items_per_run: number;
  status: JobStatus;
  last_run_at: string | null;
  next_run_at: string | null;
  total_runs: number;
  successful_runs: number;
  failed_runs: number;
  notify_on_new_content: boolean;
  notify_on_failure: boolean;
  notification_email: string | null;
  created_at: string;
  updated_at: string;
}

export interface JobsPage {
  jobs: Job[];
  next_cursor: string | null;
}

/** api/runs.ts presentRun. */
export interface Run {
  id: string;
  job_id: string;
  status: RunStatus;
  start_time: string;
  end_time: string | null;
  items_found: number;
  items_processed: number;
  new_items_downloaded: number;
  error_message: string | null;
  trigger: string | null;
  agent: string | null;
}

export interface RunsPage {
  runs: Run[];
  next_cursor: string | null;
}

/** api/jobs.ts, POST …/execute (202). */
export interface ExecuteAnswer {
  job_id: string;
  run_id: string;
  delivered: number;
  message: string;
}
