import { z } from "zod";

/**
 * What an agent reads from `GET /api/reddit/sync` (with its ingest key): whether the
 * tenant wants monitoring on, and every active keyword. One definition for both sides.
 */
export const SYNC_PATH = "/api/reddit/sync";

export const syncResponseSchema = z.object({
  running: z.boolean(),
  keywords: z.array(
    z.object({
      id: z.string(),
      keyword: z.string(),
      mode: z.enum(["phrase", "word", "regex"]),
      /** Empty: every monitored subreddit. */
      subreddits: z.array(z.string()),
      exclude: z.array(z.string()),
    }),
  ),
});

export type SyncResponse = z.output<typeof syncResponseSchema>;
