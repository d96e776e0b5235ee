import { z } from "zod";
import { durationSchema } from "@vigil/plugin-sdk";
import { REDDIT_API_BASE, REDDIT_AUTH_BASE } from "./client.js";
import { credentialsSchema } from "./credentials.js";
import { subredditNameSchema } from "./listing.js";
import { DEFAULT_SYNC_INTERVAL_S } from "./status.js";

const subreddit = subredditNameSchema();

/** The agent part's configuration. Keywords are not here: they come from the collector's keyword API. */
export const redditConfigSchema = z
  .object({
    credentials: credentialsSchema.describe("The Reddit app's credentials, under snoowrap's field names (see the README)."),
    subreddits: z
      .array(subreddit)
      .max(1000)
      .default([])
      .describe('Subreddits watched for keywords whose scope is "all"; keywords that name subreddits add those.'),
    listings: z
      .array(z.enum(["posts", "comments"], { error: 'listings are "posts" and/or "comments"' }))
      .min(1, "listings needs at least one of posts, comments")
      .default(["posts", "comments"])
      .describe("What is searched: new posts (/new), new comments (/comments), or both."),
    sync_interval: durationSchema({ min: 1000 })
      .prefault(`${DEFAULT_SYNC_INTERVAL_S}s`)
      .describe("Backup keyword sync with the collector; pushed changes apply at once, this heals a missed push."),
    subreddits_per_stream: z.number().int().min(1).max(100).default(25).describe("Subreddits polled together as one multireddit (a+b+c)."),
    max_pages: z.number().int().min(1).max(10).default(5).describe("Pages of 100 read back after a burst before the rest counts as a gap."),
    poll_min: durationSchema().prefault("1s").describe("Wait after a poll that found new items."),
    poll_max: durationSchema().prefault("16s").describe("Longest wait after empty polls (the wait doubles from poll_min)."),
    request_timeout: durationSchema().prefault("15s").describe("Timeout of one request to Reddit."),
    auth_base: z.url().default(REDDIT_AUTH_BASE).describe("Origin of Reddit's token endpoint."),
    api_base: z.url().default(REDDIT_API_BASE).describe("Origin of Reddit's OAuth API."),
  })
  .strict()
  .superRefine((value, ctx) => {
    if (value.poll_max < value.poll_min) ctx.addIssue({ code: "custom", path: ["poll_max"], message: "poll_max must be at least poll_min" });
  });

export type RedditConfig = z.output<typeof redditConfigSchema>;
