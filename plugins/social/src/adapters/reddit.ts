// Reddit user or subreddit listings through the Reddit plugin's client: the same OAuth
// app credentials (snoowrap's field names) and the same per-client-id request budget,
// shared with the Reddit plugin's streams in this agent. A user's `overview` lists their
// posts and comments; a subreddit's `new` lists its posts.
import type { HttpClient, HttpRequest } from "@vigil/plugin-sdk";
import { budgetFor, createRedditClient, credentialsSchema, RedditApiError, REDDIT_API_BASE, REDDIT_AUTH_BASE, type Credentials, type RequestBudget } from "@vigil/plugin-reddit";
import { z } from "zod";
import { PlatformError, type Adapter, type AdapterContext, type SocialItem, type Target } from "../contract.js";
import { param } from "./base.js";
import { deadlinePassed, firstBytes, rateLimitPastDeadline, sendWithinDeadline, statusError, type Subject } from "./http.js";
import { nextAllowedAt } from "./rate-limit.js";
import { newestFirst, nonEmpty } from "./items.js";

/** Reddit's most things per listing page. */
const PAGE_LIMIT = 100;
const CREDENTIAL_FIELDS = "userAgent, clientId, clientSecret, and refreshToken or username and password";

const thingSchema = z.object({
  kind: z.string(),
  data: z.object({
    name: z.string(),
    author: z.string().optional(),
    permalink: z.string(),
    created_utc: z.number(),
    title: z.string().optional(),
    selftext: z.string().optional(),
    body: z.string().optional(),
    link_title: z.string().optional(),
  }),
});
type Thing = z.output<typeof thingSchema>;

const listingSchema = z.object({ kind: z.literal("Listing"), data: z.object({ after: z.string().nullable(), children: z.array(thingSchema) }) });

export const redditAdapter: Adapter = {
  platform: "reddit",
  defaultBaseUrl: REDDIT_API_BASE,
  async fetch(target, ctx) {
    const credentials = redditCredentials(ctx);
    const subject = subjectOf(target);
    const budget = budgetFor(credentials.clientId);
    const lastAnswer = { text: "" };
    // One client per run: the access token costs one request per run, which keeps runs
    // independent of each other's deadlines and signals.
    const client = createRedditClient({
      credentials,
      http: withinRun(ctx, subject, budget, lastAnswer),
      budget,
      log: ctx.log,
      authBase: ctx.baseUrl ?? REDDIT_AUTH_BASE,
      apiBase: ctx.baseUrl ?? REDDIT_API_BASE,
    });
    const path = target.type === "user" ? `/user/${encodeURIComponent(param(target, "user"))}/overview` : `/r/${encodeURIComponent(param(target, "subreddit"))}/new`;
    const things: Thing[] = [];
    let after: string | null = null;
    try {
      do {
        const query = new URLSearchParams({ limit: String(Math.min(PAGE_LIMIT, ctx.maxItems - things.length)), raw_json: "1" });
        if (after) query.set("after", after);
        const listing = listingSchema.safeParse(await client.get<unknown>(`${path}?${query}`, ctx.signal));
        if (!listing.success) throw new PlatformError("malformed", `Reddit sent a listing for ${subject.what} that Vigil cannot read (${listing.error.issues[0]?.message ?? "unexpected shape"})`);
        things.push(...listing.data.data.children);
        after = listing.data.data.children.length > 0 ? listing.data.data.after : null;
      } while (after && things.length < ctx.maxItems);
    } catch (error) {
      throw redditError(error, ctx, subject, lastAnswer.text);
    }
    return newestFirst(things.map(thingItem), ctx.maxItems);
  },
};

function redditCredentials(ctx: AdapterContext): Credentials {
  if (!ctx.credentials || Object.keys(ctx.credentials).length === 0) {
    throw new PlatformError("unauthorized", `Reddit's API needs an app's credentials: set ${CREDENTIAL_FIELDS} under the reddit platform's credentials (create the app at https://www.reddit.com/prefs/apps)`);
  }
  const parsed = credentialsSchema.safeParse(ctx.credentials);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "credentials"}: ${issue.message}`).join("; ");
    throw new PlatformError("unauthorized", `The reddit platform's credentials are not usable (${problems}): Reddit takes ${CREDENTIAL_FIELDS}`);
  }
  return parsed.data;
}

function subjectOf(target: Target): Subject {
  if (target.type === "user") {
    const name = `u/${target.params.user}`;
    return {
      platform: "Reddit",
      what: name,
      ifNotFound: "check that the user exists and is not suspended or deleted",
      ifUnauthorized: `${name} is suspended or hides their profile from the app's account`,
    };
  }
  const name = `r/${target.params.subreddit}`;
  return {
    platform: "Reddit",
    what: name,
    ifNotFound: "check that the subreddit exists and is not banned",
    ifUnauthorized: `${name} is private or quarantined: the Reddit account of the credentials must be allowed to read it`,
  };
}

/**
 * The agent's HTTP client as the Reddit client uses it within a run: every request bounded
 * by the run's deadline and signal, transport failures worded for the user, the last
 * answer's body kept (to quote when it is not JSON), and a 429
 * whose wait would pass the deadline failing the run at once (after pausing the shared
 * budget, so the Reddit plugin's streams wait too) instead of sleeping until the abort.
 */
function withinRun(ctx: AdapterContext, subject: Subject, budget: RequestBudget, lastAnswer: { text: string }): HttpClient {
  return {
    async request(url: string, request: HttpRequest = {}) {
      const response = await sendWithinDeadline(ctx, url, subject, {
        ...(request.method !== undefined ? { method: request.method as "GET" | "POST" } : {}),
        ...(request.headers !== undefined ? { headers: request.headers } : {}),
        ...(typeof request.body === "string" ? { body: request.body } : {}),
      });
      lastAnswer.text = response.text;
      if (response.status === 429) {
        const tooLate = rateLimitPastDeadline(ctx, response, subject);
        if (tooLate) {
          budget.pauseUntil(nextAllowedAt(response.headers, Date.now()) ?? Date.now());
          throw tooLate;
        }
      }
      return response;
    },
  };
}

function redditError(error: unknown, ctx: AdapterContext, subject: Subject, lastText: string): unknown {
  if (error instanceof PlatformError) return error;
  if (error instanceof RedditApiError) {
    // The token endpoint's refusal already names the credential fields to check.
    if (error.message.startsWith("Reddit refused the credentials")) return new PlatformError("unauthorized", error.message);
    if (error.status === 429) return new PlatformError("rate_limited", `Reddit kept answering 429 (too many requests) for ${subject.what} after waiting as told: run the job less often; the Reddit plugin's streams share this app's budget`);
    if (error.status === 401) return new PlatformError("unauthorized", `Reddit answered 401 for ${subject.what} with a fresh token: check the reddit platform's credentials (${CREDENTIAL_FIELDS})`);
    return statusError(error.status, subject, undefined);
  }
  if (error instanceof SyntaxError) return new PlatformError("malformed", `Reddit sent an answer for ${subject.what} that is not JSON; it starts with ${firstBytes(lastText)}`);
  // The budget's wait was cut short by the run's signal.
  if (ctx.signal.aborted && Date.now() >= ctx.deadline) return deadlinePassed(subject);
  return error;
}

function thingItem(thing: Thing): SocialItem {
  const { data } = thing;
  const isComment = thing.kind === "t1";
  const title = isComment ? (data.link_title !== undefined ? `Re: ${data.link_title}` : undefined) : nonEmpty(data.title);
  const text = nonEmpty(isComment ? data.body : data.selftext);
  return {
    id: data.name,
    url: `https://www.reddit.com${data.permalink}`,
    author: data.author ?? "[deleted]",
    ...(title !== undefined ? { title } : {}),
    ...(text !== undefined ? { text } : {}),
    publishedAt: data.created_utc * 1000,
  };
}
