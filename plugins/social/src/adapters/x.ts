// X API v2 recent search (the last 7 days), with an app's bearer token, newest first,
// paged with `next_token`.
import { z } from "zod";
import { PlatformError, type Adapter, type SocialItem } from "../contract.js";
import { apiBase, param } from "./base.js";
import { requestPlatform, type Subject } from "./http.js";
import { newestFirst } from "./items.js";
import { readJson, timeString } from "./payload.js";

const DEFAULT_BASE_URL = "https://api.x.com";
/** X takes max_results from 10 to 100; anything else is a 400. */
const MIN_RESULTS = 10;
const MAX_RESULTS = 100;

const tweetSchema = z.object({ id: z.string(), text: z.string(), created_at: timeString, author_id: z.string().optional() });
type Tweet = z.output<typeof tweetSchema>;

const answerSchema = z.object({
  // No `data` at all when nothing matched.
  data: z.array(tweetSchema).optional(),
  includes: z.object({ users: z.array(z.object({ id: z.string(), username: z.string() })).optional() }).optional(),
  meta: z.object({ result_count: z.number().optional(), next_token: z.string().optional() }),
});

export const xAdapter: Adapter = {
  platform: "x",
  defaultBaseUrl: DEFAULT_BASE_URL,
  async fetch(target, ctx) {
    const query = param(target, "query");
    const token = ctx.credentials?.bearer_token;
    if (!token) {
      throw new PlatformError("unauthorized", "X's recent search needs an app's bearer token: set credentials.bearer_token for the x platform (developer.x.com → your app → Keys and tokens)");
    }
    const subject: Subject = {
      platform: "X",
      what: `the recent search "${query}"`,
      ifNotFound: `check the platform's configured base URL: the API lives at ${DEFAULT_BASE_URL}/2`,
      ifUnauthorized: "check credentials.bearer_token, and that the app's access level includes recent search",
    };
    if (ctx.maxItems <= 0) return [];
    const usernames = new Map<string, string>();
    const tweets: Tweet[] = [];
    let nextToken: string | undefined;
    do {
      const search = new URLSearchParams({
        query,
        max_results: String(Math.max(MIN_RESULTS, Math.min(MAX_RESULTS, ctx.maxItems - tweets.length))),
        "tweet.fields": "created_at,author_id",
        expansions: "author_id",
        "user.fields": "username",
      });
      if (nextToken !== undefined) search.set("next_token", nextToken);
      const response = await requestPlatform(ctx, `${apiBase(ctx, DEFAULT_BASE_URL)}/2/tweets/search/recent?${search}`, subject, {
        headers: { authorization: `Bearer ${token}` },
      });
      const answer = readJson(response, answerSchema, subject);
      for (const user of answer.includes?.users ?? []) usernames.set(user.id, user.username);
      tweets.push(...(answer.data ?? []));
      nextToken = answer.data?.length ? answer.meta.next_token : undefined;
    } while (nextToken !== undefined && tweets.length < ctx.maxItems);
    return newestFirst(
      tweets.map((tweet) => tweetItem(tweet, usernames)),
      ctx.maxItems,
    );
  },
};

function tweetItem(tweet: Tweet, usernames: ReadonlyMap<string, string>): SocialItem {
  const username = tweet.author_id === undefined ? undefined : usernames.get(tweet.author_id);
  return {
    id: tweet.id,
    url: username ? `https://x.com/${username}/status/${tweet.id}` : `https://x.com/i/web/status/${tweet.id}`,
    author: username ?? tweet.author_id ?? "",
    text: tweet.text,
    publishedAt: Date.parse(tweet.created_at),
  };
}
