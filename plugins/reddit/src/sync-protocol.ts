import { createHash } from "node:crypto";
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

/**
 * A stable fingerprint of a sync answer (keyword order does not matter): the agent reports
 * the one it runs as `keywords_version`, so a change can be told from a repeat and anyone
 * can check which set an agent applied.
 */
export function keywordSetFingerprint(sync: SyncResponse): string {
  const keywords = [...sync.keywords].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return createHash("sha256").update(JSON.stringify({ running: sync.running, keywords })).digest("hex").slice(0, 16);
}
