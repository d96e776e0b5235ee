// A fake X API v2: recent search (/2/tweets/search/recent) with an app's bearer token,
// snowflake ids, the last 7 days only, max_results 10–100, next_token paging, the
// `author_id` expansion, x-rate-limit-* headers (reset in epoch seconds) and X's problem
// JSON for 400, 401 and 429.
import { randomBytes } from "node:crypto";
import { json, startFakeServer, type Answer, type FakeRequest, type FakeServer } from "./server.js";

export const DEFAULT_X_TOKEN = "AAAAAAAAAAAAAAAAAAAAAFakeVigilBearerToken0000000000000000000000";

export interface XUser {
  id: string;
  name: string;
  username: string;
}

export interface Tweet {
  id: string;
  text: string;
  author_id: string;
  created_at: string;
  edit_history_tweet_ids: string[];
}

export interface NewTweet {
  text: string;
  /** Epoch ms; defaults to the fake's clock. */
  createdAt?: number;
}

export interface FakeXOptions {
  port?: number;
  now?: () => number;
  /** Bearer tokens accepted. */
  bearerTokens?: string[];
  /** Requests per window (recent search with an app token: 450 per 15 minutes). */
  rateLimit?: { limit: number; windowSeconds: number };
}

export interface FakeX extends FakeServer {
  addUser(username: string, options?: { name?: string }): XUser;
  /** Adds a tweet by `username` (the user is created on first use). */
  addTweet(username: string, tweet: NewTweet): Tweet;
}

// X's epoch (2010-11-04), from which snowflake ids count milliseconds.
const TWITTER_EPOCH = 1_288_834_974_657n;
const RECENT_MS = 7 * 86_400_000;

export async function startFakeX(options: FakeXOptions = {}): Promise<FakeX> {
  const { now = Date.now, bearerTokens = [DEFAULT_X_TOKEN], rateLimit = { limit: 450, windowSeconds: 900 } } = options;
  const users = new Map<string, XUser>();
  const tweets: Tweet[] = [];
  const nextTokens = new Map<string, string>();
  const window = { start: now(), used: 0 };
  let sequence = 0;
  let nextUserId = 1_500_000_000_000_000_000n;

  function addUser(username: string, { name }: { name?: string } = {}): XUser {
    const key = username.toLowerCase();
    let user = users.get(key);
    if (!user) users.set(key, (user = { id: (nextUserId++).toString(), name: name ?? username, username }));
    return user;
  }

  function addTweet(username: string, tweet: NewTweet): Tweet {
    const author = addUser(username);
    const createdAt = tweet.createdAt ?? now();
    sequence = (sequence + 1) & 0xfff;
    const id = (((BigInt(Math.floor(createdAt)) - TWITTER_EPOCH) << 22n) | (1n << 12n) | BigInt(sequence)).toString();
    const made: Tweet = { id, text: tweet.text, author_id: author.id, created_at: new Date(createdAt).toISOString(), edit_history_tweet_ids: [id] };
    tweets.push(made);
    return made;
  }

  function rateLimitHeaders(): Record<string, string> {
    return {
      "x-rate-limit-limit": String(rateLimit.limit),
      "x-rate-limit-remaining": String(Math.max(0, rateLimit.limit - window.used)),
      "x-rate-limit-reset": String(Math.ceil((window.start + rateLimit.windowSeconds * 1000) / 1000)),
    };
  }

  function handle(request: FakeRequest): Answer {
    const token = /^bearer\s+(\S+)$/i.exec(request.headers.authorization ?? "")?.[1];
    if (token === undefined || !bearerTokens.includes(token)) return unauthorized();
    if (now() >= window.start + rateLimit.windowSeconds * 1000) Object.assign(window, { start: now(), used: 0 });
    if (window.used >= rateLimit.limit) return tooManyRequests((window.start + rateLimit.windowSeconds * 1000 - now()) / 1000, now());
    window.used += 1;
    const answer = route(request);
    return { ...answer, headers: { ...rateLimitHeaders(), ...answer.headers } };
  }

  function route({ method, url }: FakeRequest): Answer {
    if (method !== "GET" || url.pathname !== "/2/tweets/search/recent") {
      return json(404, { errors: [{ message: "Sorry, that page does not exist", code: 34 }] });
    }
    const query = url.searchParams.get("query");
    if (!query) return invalidRequest("query", "", "The `query` query parameter can not be empty");
    if (query.length > 512) return invalidRequest("query", query, `There were errors processing your request: Query length ${query.length} exceeds the maximum of 512`);
    const rawMax = url.searchParams.get("max_results") ?? "10";
    const maxResults = /^\d+$/.test(rawMax) ? Number(rawMax) : NaN;
    if (!(maxResults >= 10 && maxResults <= 100)) return invalidRequest("max_results", rawMax, `The \`max_results\` query parameter value [${rawMax}] is not between 10 and 100`);
    const token = url.searchParams.get("next_token");
    const beforeId = token === null ? undefined : nextTokens.get(token);
    if (token !== null && beforeId === undefined) return invalidRequest("next_token", token, `The \`next_token\` query parameter value [${token}] is not valid`);
    const since = now() - RECENT_MS;
    const matched = tweets
      .filter((t) => Date.parse(t.created_at) >= since && matchesQuery(t, query, users) && (beforeId === undefined || BigInt(t.id) < BigInt(beforeId)))
      .sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
    const pageOf = matched.slice(0, maxResults);
    if (pageOf.length === 0) return json(200, { meta: { result_count: 0 } });
    const fields = new Set((url.searchParams.get("tweet.fields") ?? "").split(",").filter(Boolean));
    const data = pageOf.map((t) => ({
      id: t.id,
      text: t.text,
      edit_history_tweet_ids: t.edit_history_tweet_ids,
      ...(fields.has("created_at") ? { created_at: t.created_at } : {}),
      ...(fields.has("author_id") ? { author_id: t.author_id } : {}),
    }));
    const meta: Record<string, unknown> = { newest_id: pageOf[0]!.id, oldest_id: pageOf.at(-1)!.id, result_count: pageOf.length };
    if (matched.length > pageOf.length) {
      const next = randomBytes(24).toString("hex").slice(0, 45);
      nextTokens.set(next, pageOf.at(-1)!.id);
      meta.next_token = next;
    }
    const expandAuthors = (url.searchParams.get("expansions") ?? "").split(",").includes("author_id");
    const authors = [...new Set(pageOf.map((t) => t.author_id))].map((id) => [...users.values()].find((u) => u.id === id)!);
    return json(200, { data, ...(expandAuthors ? { includes: { users: authors } } : {}), meta });
  }

  const server = await startFakeServer({ port: options.port, now, wire: { tooManyRequests, error: problem }, handle });
  return { ...server, addUser, addTweet };
}

/**
 * X's query language, the part the tests need: space-separated terms must all match,
 * OR between groups, "quoted phrases", -negation, from:user, #hashtags; case-insensitive.
 */
function matchesQuery(tweet: Tweet, query: string, users: ReadonlyMap<string, XUser>): boolean {
  const text = tweet.text.toLowerCase();
  const author = [...users.values()].find((u) => u.id === tweet.author_id)?.username.toLowerCase();
  return query
    .replace(/[()]/g, " ")
    .split(/\s+OR\s+/)
    .some((group) =>
      [...group.matchAll(/(-?)(?:"([^"]*)"|(\S+))/g)].every(([, negated, phrase, word]) => {
        const term = (phrase ?? word ?? "").toLowerCase();
        const hit = term.startsWith("from:") ? author === term.slice(5) : text.includes(term);
        return negated ? !hit : hit;
      }),
    );
}

function unauthorized(): Answer {
  return json(401, { title: "Unauthorized", type: "about:blank", status: 401, detail: "Unauthorized" });
}

function tooManyRequests(seconds: number, now: number): Answer {
  return json(429, { title: "Too Many Requests", detail: "Too Many Requests", type: "about:blank", status: 429 }, { "x-rate-limit-limit": "450", "x-rate-limit-remaining": "0", "x-rate-limit-reset": String(Math.ceil(now / 1000 + seconds)) });
}

function invalidRequest(parameter: string, value: string, message: string): Answer {
  return json(400, {
    errors: [{ parameters: { [parameter]: [value] }, message }],
    title: "Invalid Request",
    detail: "One or more parameters to your request was invalid.",
    type: "https://api.twitter.com/2/problems/invalid-request",
  });
}

function problem(status: number): Answer {
  if (status === 401) return unauthorized();
  if (status === 403) {
    return json(403, {
      title: "Forbidden",
      type: "https://api.twitter.com/2/problems/client-forbidden",
      status: 403,
      detail: "This request must be made using an approved developer account that is enrolled in the requested endpoint.",
      reason: "client-not-enrolled",
    });
  }
  return json(status, { title: status >= 500 ? "Service Unavailable" : "Error", detail: status >= 500 ? "Service Unavailable" : "Error", type: "about:blank", status });
}
