import { definePlugin } from "@vigil/plugin-sdk";
import { redditConfigSchema } from "./config.js";
import { createRedditMonitor } from "./monitor.js";

export { redditConfigSchema, type RedditConfig } from "./config.js";
export { budgetFor, createBudget, type RequestBudget } from "./budget.js";
export { createRedditClient, RedditApiError, REDDIT_API_BASE, REDDIT_AUTH_BASE, type RedditClient } from "./client.js";
export { credentialsSchema, USER_AGENT_PATTERN, type Credentials } from "./credentials.js";
export { idValue, SUBREDDIT_PATTERN, type Listing, type RedditThing } from "./listing.js";
export { createListingStream, type StreamKind } from "./stream.js";
export { compileMatcher, validateKeyword, type KeywordSpec, type KeywordMode, type Matcher, type MatchItem, type MatchResult } from "./matcher.js";
export { mentionEvent } from "./monitor.js";

export default definePlugin({
  name: "reddit",
  metadata: {
    stability: "beta",
    delivery: "at_least_once",
    description:
      "Streams new Reddit posts and comments of the subreddits the tenant's keywords need and emits a reddit.mention per keyword found; the collector shows each (keyword, item) once.",
  },
  configSchema: redditConfigSchema,
  create: createRedditMonitor,
});
