// The Reddit source. Landed so far: credentials, the OAuth client with its shared request
// budget, listing streams and the keyword matcher; the plugin entry (agent.ts) and the
// collector part come next.
export { budgetFor, createBudget, type RequestBudget } from "./budget.js";
export { createRedditClient, RedditApiError, REDDIT_API_BASE, REDDIT_AUTH_BASE, type RedditClient } from "./client.js";
export { credentialsSchema, USER_AGENT_PATTERN, type Credentials } from "./credentials.js";
export { idValue, SUBREDDIT_PATTERN, type Listing, type RedditThing } from "./listing.js";
export { createListingStream, type StreamKind } from "./stream.js";
export {
  compileMatcher,
  validateKeyword,
  snippetAround,
  normalizePattern,
  MAX_KEYWORD_LENGTH,
  SNIPPET_RADIUS,
  type KeywordSpec,
  type KeywordMode,
  type Matcher,
  type MatchItem,
  type MatchResult,
  type MatcherStats,
  type RejectedKeyword,
  type CompileOptions,
} from "./matcher.js";
