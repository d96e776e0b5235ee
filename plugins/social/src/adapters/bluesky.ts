// Bluesky through the AppView's XRPC API: an author's feed (getAuthorFeed) or a post search
// (searchPosts), newest first, paged with `cursor`.
//
// Without credentials requests go to the public AppView (public.api.bsky.app). It answers
// getAuthorFeed, but since January 2025 it refuses searchPosts (403) to clients that are not
// signed in. With credentials.identifier + credentials.password (an app password) Vigil signs
// in at the account's PDS (credentials.service, default https://bsky.social) and sends every
// request there with the access token; the PDS forwards app.bsky.* calls to the AppView.
import { z } from "zod";
import { PlatformError, type Adapter, type AdapterContext, type SocialItem, type Target } from "../contract.js";
import { apiBase, param } from "./base.js";
import type { HttpResponse } from "@vigil/plugin-sdk";
import { blueskyAccessToken, expireBlueskyAccess, isTokenRefusal, type BlueskyLogin } from "./bluesky-session.js";
import { requestPlatform, statusError, type Subject } from "./http.js";
import { newestFirst, parseTime } from "./items.js";
import { readJson, timeString } from "./payload.js";

const PUBLIC_APPVIEW = "https://public.api.bsky.app";
const DEFAULT_PDS = "https://bsky.social";
/** The most posts either endpoint gives per page. */
const PAGE_LIMIT = 100;
// An author who mostly reposts yields few items per page; this bounds the pages one run reads.
const MAX_PAGES = 25;
const REPOST = "app.bsky.feed.defs#reasonRepost";

const postSchema = z.object({
  uri: z.string().startsWith("at://"),
  author: z.object({ did: z.string(), handle: z.string() }),
  record: z.object({ text: z.string().optional(), createdAt: z.string().optional() }),
  indexedAt: timeString,
});
type Post = z.output<typeof postSchema>;

const authorFeedSchema = z.object({
  cursor: z.string().optional(),
  feed: z.array(z.object({ post: postSchema, reason: z.object({ $type: z.string() }).optional() })),
});
const searchSchema = z.object({ cursor: z.string().optional(), posts: z.array(postSchema) });

export const blueskyAdapter: Adapter = {
  platform: "bluesky",
  defaultBaseUrl: PUBLIC_APPVIEW,
  async fetch(target, ctx) {
    const login = loginOf(ctx);
    const base = login ? login.service : apiBase(ctx, PUBLIC_APPVIEW);
    const subject = subjectOf(target, login !== undefined);
    const posts: Post[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_PAGES && posts.length < ctx.maxItems; page++) {
      const query = new URLSearchParams(target.type === "search" ? { q: param(target, "query"), sort: "latest" } : { actor: param(target, "actor") });
      query.set("limit", String(Math.min(PAGE_LIMIT, ctx.maxItems - posts.length)));
      if (cursor !== undefined) query.set("cursor", cursor);
      const method = target.type === "search" ? "app.bsky.feed.searchPosts" : "app.bsky.feed.getAuthorFeed";
      const response = await xrpc(ctx, `${base}/xrpc/${method}?${query}`, subject, login);
      if (target.type === "search") {
        const answer = readJson(response, searchSchema, subject);
        posts.push(...answer.posts);
        cursor = answer.posts.length > 0 ? answer.cursor : undefined;
      } else {
        const answer = readJson(response, authorFeedSchema, subject);
        // Reposts are other people's posts; the target is what the author writes.
        posts.push(...answer.feed.filter((entry) => entry.reason?.$type !== REPOST).map((entry) => entry.post));
        cursor = answer.feed.length > 0 ? answer.cursor : undefined;
      }
      if (cursor === undefined) break;
    }
    return newestFirst(posts.map(postItem), ctx.maxItems);
  },
};

/** One XRPC GET, signed in when there is a login; a refused token is renewed once. */
async function xrpc(ctx: AdapterContext, url: string, subject: Subject, login: BlueskyLogin | undefined) {
  if (!login) return requestPlatform(ctx, url, subject, { explain: explainXrpc(subject) });
  for (let attempt = 0; ; attempt++) {
    const token = await blueskyAccessToken(ctx, login);
    try {
      return await requestPlatform(ctx, url, subject, { headers: { authorization: `Bearer ${token}` }, explain: explainXrpc(subject) });
    } catch (error) {
      if (attempt > 0 || !(error instanceof PlatformError) || error.kind !== "unauthorized") throw error;
      expireBlueskyAccess(login);
    }
  }
}

// XRPC answers an unknown actor with 400 {"error":"InvalidRequest","message":"Profile not found"},
// and an expired token with 400 {"error":"ExpiredToken"}.
function explainXrpc(subject: Subject) {
  return (response: HttpResponse, detail: string | undefined) => {
    if (response.status !== 400) return undefined;
    if (isTokenRefusal(response)) return statusError(400, subject, detail, 401);
    return detail !== undefined && /not found/i.test(detail) ? statusError(400, subject, detail, 404) : undefined;
  };
}

function loginOf(ctx: AdapterContext): BlueskyLogin | undefined {
  const { identifier, password, service } = ctx.credentials ?? {};
  if (!identifier && !password) return undefined;
  if (!identifier || !password) {
    throw new PlatformError("unauthorized", `Bluesky credentials need both identifier and password: set credentials.${identifier ? "password" : "identifier"} too, or neither`);
  }
  return { identifier, password, service: (service || ctx.baseUrl || DEFAULT_PDS).replace(/\/+$/, "") };
}

function subjectOf(target: Target, signedIn: boolean): Subject {
  if (target.type === "search") {
    return {
      platform: "Bluesky",
      what: `the search "${target.params.query}"`,
      ifNotFound: "check the platform's configured base URL",
      ifUnauthorized: signedIn
        ? "check credentials.identifier and credentials.password (an app password)"
        : "Bluesky's public API refuses post search to clients that are not signed in: set credentials.identifier and credentials.password (an app password) for the bluesky platform",
    };
  }
  return {
    platform: "Bluesky",
    what: `the posts of ${target.params.actor}`,
    ifNotFound: "check that the handle or DID is right and that the account still exists",
    ifUnauthorized: signedIn ? "check credentials.identifier and credentials.password (an app password)" : "the author's posts are shown to signed-in users only: set credentials.identifier and credentials.password",
  };
}

function postItem(post: Post): SocialItem {
  const rkey = post.uri.split("/").at(-1) ?? "";
  // A handle that no longer verifies reads "handle.invalid"; the DID still makes a working link.
  const profile = post.author.handle === "handle.invalid" ? post.author.did : post.author.handle;
  return {
    id: post.uri,
    url: `https://bsky.app/profile/${profile}/post/${rkey}`,
    author: post.author.handle,
    ...(post.record.text !== undefined ? { text: post.record.text } : {}),
    // createdAt is what the app shows; indexedAt stands in when a client wrote a broken one.
    publishedAt: parseTime(post.record.createdAt) ?? Date.parse(post.indexedAt),
  };
}
