import type { JobView, RunView } from "@vigil/plugin-social/api-types";
import type { Platform } from "@vigil/plugin-social/contract";

/**
 * The social plugin's API as the Social jobs page reads it: the plugin's own definitions
 * (platforms and what each can watch, the job and run shapes its API answers with).
 */

export { PLATFORMS, TARGET_TYPES, type Platform } from "@vigil/plugin-social/contract";
export type { Frequency } from "@vigil/plugin-social/schedule";
export type { ExecuteAnswer } from "@vigil/plugin-social/api-types";

export const PLATFORM_LABELS: Record<Platform, string> = {
  youtube: "YouTube",
  mastodon: "Mastodon",
  bluesky: "Bluesky",
  hackernews: "Hacker News",
  rss: "RSS / Atom",
  reddit: "Reddit",
  x: "X",
};

export type Job = JobView;
export interface JobsPage {
  jobs: Job[];
  next_cursor: string | null;
}

export type Run = RunView;
export interface RunsPage {
  runs: Run[];
  next_cursor: string | null;
}
