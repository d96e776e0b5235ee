import type { HttpClient, Logger } from "@vigil/plugin-sdk";

/**
 * The one definition of what the social plugin's parts share: platforms and their target
 * types, the item an adapter returns, the adapter interface and its errors, and the event
 * types the agent part emits. The collector part validates `target_url` with the same
 * `parseTarget` the agent's adapters use (targets.ts).
 */

export const PLATFORMS = ["youtube", "mastodon", "bluesky", "hackernews", "rss", "reddit", "x"] as const;
export type Platform = (typeof PLATFORMS)[number];

/** What each platform can watch (`target_type`). */
export const TARGET_TYPES = {
  youtube: ["channel", "playlist"],
  mastodon: ["account", "hashtag"],
  bluesky: ["author", "search"],
  hackernews: ["search"],
  rss: ["feed"],
  reddit: ["user", "subreddit"],
  x: ["search"],
} as const satisfies Record<Platform, readonly string[]>;
export type TargetType = (typeof TARGET_TYPES)[Platform][number];

/** One thing found on a platform, as `social.item` carries it. */
export interface SocialItem {
  /** Stable id on the platform (video id, status id, post URI, story id, GUID, fullname, tweet id). */
  id: string;
  url: string;
  author: string;
  title?: string;
  text?: string;
  /** Epoch ms. */
  publishedAt: number;
}

/** A target as `parseTarget` understood it: what the adapter needs, taken from `target_url`. */
export interface Target {
  platform: Platform;
  type: TargetType;
  /** The URL as the user gave it. */
  url: string;
  /**
   * The parts that matter, per platform and type, e.g. `{ channel_id }`, `{ playlist_id }`,
   * `{ instance, account }` / `{ instance, tag }`, `{ actor }` / `{ query }`, `{ query }`,
   * `{ feed_url }`, `{ user }` / `{ subreddit }`, `{ query }`.
   */
  params: Record<string, string>;
}

export interface AdapterContext {
  http: HttpClient;
  log: Logger;
  /** Aborted at the run's deadline or when the agent stops. */
  signal: AbortSignal;
  /** Epoch ms by which the run must end; a 429's wait that would pass it fails the run instead. */
  deadline: number;
  /** Most items to return (the job's max_items_per_run). */
  maxItems: number;
  /** The platform's API origin when configured (tests point it at a fake); the adapter's default otherwise. */
  baseUrl?: string;
  /** Platform credentials from the agent's config (X bearer token, Bluesky handle + app password, Reddit app). */
  credentials?: Record<string, string>;
}

/** An adapter: fetches the newest items of a target, newest first, at most `maxItems`. */
export interface Adapter {
  platform: Platform;
  /** Default API origin, e.g. "https://www.youtube.com". */
  defaultBaseUrl: string;
  fetch(target: Target, ctx: AdapterContext): Promise<SocialItem[]>;
}

export type PlatformErrorKind = "not_found" | "unauthorized" | "rate_limited" | "timeout" | "malformed" | "unavailable" | "invalid_target";

/**
 * A platform fault, worded for the user: the run fails with `message` as its
 * error_message, e.g. "YouTube answered 404 for channel UC…: check that the channel id
 * exists and is public".
 */
export class PlatformError extends Error {
  constructor(
    readonly kind: PlatformErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "PlatformError";
  }
}

/** Event source and types the agent part emits. */
export const SOURCE = "social";
/** A new item of a job: attrs platform, job_id, job_name, run_id, item_id, author, url, title, published_at; body: the text. */
export const ITEM_EVENT = "social.item";
/** A run's start and its end (same run_id; the later status wins): attrs as `RunAttrs`. */
export const RUN_EVENT = "social.run";
/** notify_on_new_content: a run found new items (attrs job_id, job_name, platform, run_id, new_items, notification_email). */
export const NEW_CONTENT_EVENT = "social.new_content";
/** notify_on_failure: a run failed (attrs job_id, job_name, platform, run_id, error_message, notification_email). */
export const RUN_FAILED_EVENT = "social.run_failed";
/** The collector marked a run failed because it stayed in progress too long (attrs job_id, job_name, platform, run_id, in_progress_ms, agent). */
export const RUN_STUCK_EVENT = "social.run_stuck";

export interface RunAttrs {
  job_id: string;
  job_name: string;
  platform: string;
  run_id: string;
  status: "in_progress" | "completed" | "failed";
  /** Epoch ms. */
  start_time: number;
  /** Epoch ms; 0 while in progress. */
  end_time: number;
  items_found: number;
  items_processed: number;
  new_items_downloaded: number;
  error_message: string;
  /** What started it: "schedule", "catch_up" (missed while down), "execute" (POST …/execute), "cli". */
  trigger: string;
  /** Epoch ms of the slot a scheduled run was due at (for execute and cli runs, when asked): lateness = start_time − scheduled_at. */
  scheduled_at: number;
}
