// A fake Bluesky: the AppView's getAuthorFeed and searchPosts and the PDS's createSession
// and refreshSession, in XRPC's wire format (TID record keys, at:// URIs, cursors, XRPC
// error bodies, ratelimit-* headers with the reset in epoch seconds). Like the public
// AppView since 2025, it refuses searchPosts (403, an HTML page) to clients that are not
// signed in, unless `searchRequiresAuth: false`.
import { randomBytes } from "node:crypto";
import { intParam, json, startFakeServer, type Answer, type FakeRequest, type FakeServer } from "./server.js";

export const DEFAULT_BLUESKY_ACCOUNT = { identifier: "vigil-tests.bsky.social", password: "abcd-efgh-ijkl-mnop" } as const;

export interface Profile {
  did: string;
  handle: string;
  displayName: string;
  createdAt: string;
}

export interface PostView {
  uri: string;
  cid: string;
  author: Profile;
  record: { $type: "app.bsky.feed.post"; text: string; createdAt: string; langs: string[]; reply?: { root: { uri: string; cid: string }; parent: { uri: string; cid: string } } };
  indexedAt: string;
  replyCount: number;
  repostCount: number;
  likeCount: number;
  quoteCount: number;
  labels: never[];
}

export interface NewPost {
  text: string;
  /** Epoch ms; defaults to the fake's clock. */
  createdAt?: number;
  /** The at:// URI of the post this one replies to. */
  replyTo?: string;
}

export interface FakeBlueskyOptions {
  port?: number;
  now?: () => number;
  /** identifier (handle) → app password accepted by createSession. */
  accounts?: Record<string, string>;
  searchRequiresAuth?: boolean;
  /** Lifetime of access tokens. */
  accessTokenSeconds?: number;
}

export interface FakeBluesky extends FakeServer {
  addProfile(handle: string, options?: { displayName?: string }): Profile;
  /** Adds a post by `handle` (the profile is created on first use). */
  addPost(handle: string, post: NewPost): PostView;
  /** `handle` reposts the post with this URI. */
  addRepost(handle: string, uri: string, options?: { createdAt?: number }): void;
  /** Every access token issued so far expires (answers 400 ExpiredToken); refresh tokens stay valid. */
  expireAccessTokens(): void;
}

const TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz";
const REPOST = "app.bsky.feed.defs#reasonRepost";

interface FeedEntry {
  /** TID of the post or repost record: sorts like its time. */
  sortKey: string;
  by: Profile;
  post: PostView;
  repostedAt?: string;
}

export async function startFakeBluesky(options: FakeBlueskyOptions = {}): Promise<FakeBluesky> {
  const { now = Date.now, accounts = { [DEFAULT_BLUESKY_ACCOUNT.identifier]: DEFAULT_BLUESKY_ACCOUNT.password }, searchRequiresAuth = true, accessTokenSeconds = 7200 } = options;
  const profiles = new Map<string, Profile>();
  const entries: FeedEntry[] = [];
  const accessTokens = new Map<string, { did: string; expiresAt: number }>();
  const refreshTokens = new Map<string, { did: string; handle: string }>();
  let lastMicros = 0;

  function tid(ms: number): string {
    lastMicros = Math.max(Math.floor(ms) * 1000, lastMicros + 1);
    let value = (BigInt(lastMicros) << 10n) | 7n;
    let text = "";
    for (let i = 0; i < 13; i++) {
      text = TID_ALPHABET[Number(value & 31n)] + text;
      value >>= 5n;
    }
    return text;
  }

  function addProfile(handle: string, { displayName }: { displayName?: string } = {}): Profile {
    const key = handle.toLowerCase();
    let profile = profiles.get(key);
    if (!profile) profiles.set(key, (profile = { did: `did:plc:${base32(24)}`, handle: key, displayName: displayName ?? key.split(".")[0]!, createdAt: new Date(now()).toISOString() }));
    return profile;
  }

  function addPost(handle: string, post: NewPost): PostView {
    const author = addProfile(handle);
    const createdAt = post.createdAt ?? now();
    const rkey = tid(createdAt);
    const parent = post.replyTo === undefined ? undefined : entries.find((e) => e.post.uri === post.replyTo && !e.repostedAt)?.post;
    if (post.replyTo !== undefined && !parent) throw new Error(`fake bluesky: no post ${post.replyTo} to reply to`);
    const view: PostView = {
      uri: `at://${author.did}/app.bsky.feed.post/${rkey}`,
      cid: `bafyrei${base32(52)}`,
      author,
      record: {
        $type: "app.bsky.feed.post",
        text: post.text,
        createdAt: new Date(createdAt).toISOString(),
        langs: ["en"],
        ...(parent ? { reply: { root: { uri: parent.uri, cid: parent.cid }, parent: { uri: parent.uri, cid: parent.cid } } } : {}),
      },
      indexedAt: new Date(createdAt + 150).toISOString(),
      replyCount: 0,
      repostCount: 0,
      likeCount: 0,
      quoteCount: 0,
      labels: [],
    };
    if (parent) parent.replyCount += 1;
    entries.push({ sortKey: rkey, by: author, post: view });
    return view;
  }

  function addRepost(handle: string, uri: string, { createdAt = now() }: { createdAt?: number } = {}): void {
    const post = entries.find((e) => e.post.uri === uri && !e.repostedAt)?.post;
    if (!post) throw new Error(`fake bluesky: no post ${uri} to repost`);
    post.repostCount += 1;
    entries.push({ sortKey: tid(createdAt), by: addProfile(handle), post, repostedAt: new Date(createdAt).toISOString() });
  }

  function issueSession(profile: Profile): Record<string, unknown> {
    const accessJwt = jwt({ scope: "com.atproto.access", sub: profile.did, iat: Math.floor(now() / 1000), exp: Math.floor(now() / 1000) + accessTokenSeconds, aud: "did:web:fake.bsky.network" });
    const refreshJwt = jwt({ scope: "com.atproto.refresh", sub: profile.did, jti: base32(20), iat: Math.floor(now() / 1000), exp: Math.floor(now() / 1000) + 90 * 86_400 });
    accessTokens.set(accessJwt, { did: profile.did, expiresAt: now() + accessTokenSeconds * 1000 });
    refreshTokens.set(refreshJwt, { did: profile.did, handle: profile.handle });
    return { did: profile.did, handle: profile.handle, email: `${profile.handle.split(".")[0]}@example.com`, emailConfirmed: true, accessJwt, refreshJwt, active: true };
  }

  /** undefined when the request may go on; the error answer otherwise. */
  function checkBearer(headers: FakeRequest["headers"]): Answer | undefined {
    const token = /^bearer\s+(\S+)$/i.exec(headers.authorization ?? "")?.[1];
    if (token === undefined) return undefined;
    const session = accessTokens.get(token);
    if (!session) return json(401, { error: "InvalidToken", message: "Token could not be verified" });
    if (session.expiresAt <= now()) return json(400, { error: "ExpiredToken", message: "Token has expired" });
    return undefined;
  }

  function handle({ method, url, headers, body }: FakeRequest): Answer {
    const answer = route(method, url, headers, body);
    return { ...answer, headers: { ...rateLimitHeaders(now()), ...answer.headers } };
  }

  function route(method: string, url: URL, headers: FakeRequest["headers"], body: string): Answer {
    switch (url.pathname) {
      case "/xrpc/com.atproto.server.createSession": {
        if (method !== "POST") return methodNotAllowed();
        let input: { identifier?: unknown; password?: unknown };
        try {
          input = JSON.parse(body) as typeof input;
        } catch {
          return json(400, { error: "InvalidRequest", message: "Request body is not valid JSON" });
        }
        if (typeof input.identifier !== "string" || typeof input.password !== "string") return json(400, { error: "InvalidRequest", message: 'Input must have the property "identifier"' });
        const identifier = input.identifier.toLowerCase();
        if (accounts[identifier] === undefined || accounts[identifier] !== input.password) return json(401, { error: "AuthenticationRequired", message: "Invalid identifier or password" });
        return json(200, issueSession(addProfile(identifier)));
      }
      case "/xrpc/com.atproto.server.refreshSession": {
        if (method !== "POST") return methodNotAllowed();
        const token = /^bearer\s+(\S+)$/i.exec(headers.authorization ?? "")?.[1] ?? "";
        const session = refreshTokens.get(token);
        if (!session) return json(400, { error: "ExpiredToken", message: "Token has been revoked" });
        refreshTokens.delete(token);
        return json(200, issueSession(addProfile(session.handle)));
      }
      case "/xrpc/app.bsky.feed.getAuthorFeed": {
        if (method !== "GET") return methodNotAllowed();
        const refused = checkBearer(headers);
        if (refused) return refused;
        const actor = url.searchParams.get("actor");
        if (!actor) return json(400, { error: "InvalidRequest", message: 'Params must have the property "actor"' });
        const limit = intParam(url, "limit", 50);
        if (limit === undefined || limit < 1 || limit > 100) return json(400, { error: "InvalidRequest", message: "limit can not be greater than 100" });
        const profile = actor.startsWith("did:") ? [...profiles.values()].find((p) => p.did === actor) : profiles.get(actor.toLowerCase());
        if (!profile) return json(400, { error: "InvalidRequest", message: "Profile not found" });
        const cursor = url.searchParams.get("cursor");
        const noReplies = url.searchParams.get("filter") === "posts_no_replies";
        const feed = entries
          .filter((e) => e.by === profile && !(noReplies && !e.repostedAt && e.post.record.reply))
          .sort((a, b) => (a.sortKey < b.sortKey ? 1 : -1))
          .filter((e) => cursor === null || e.sortKey < cursor)
          .slice(0, limit);
        const more = feed.length === limit;
        return json(200, {
          feed: feed.map((e) => (e.repostedAt ? { post: e.post, reason: { $type: REPOST, by: e.by, indexedAt: e.repostedAt } } : { post: e.post })),
          ...(more ? { cursor: feed.at(-1)!.sortKey } : {}),
        });
      }
      case "/xrpc/app.bsky.feed.searchPosts": {
        if (method !== "GET") return methodNotAllowed();
        if (searchRequiresAuth && !headers.authorization) return forbiddenPage();
        const refused = checkBearer(headers);
        if (refused) return refused;
        const q = url.searchParams.get("q")?.trim();
        if (!q) return json(400, { error: "InvalidRequest", message: 'Params must have the property "q"' });
        const limit = intParam(url, "limit", 25);
        if (limit === undefined || limit < 1 || limit > 100) return json(400, { error: "InvalidRequest", message: "limit can not be greater than 100" });
        const offset = Number.parseInt(url.searchParams.get("cursor") ?? "0", 10) || 0;
        const hits = entries
          .filter((e) => !e.repostedAt && matchesSearch(e.post, q))
          .map((e) => e.post)
          .sort((a, b) => Date.parse(b.record.createdAt) - Date.parse(a.record.createdAt));
        const pageOf = hits.slice(offset, offset + limit);
        return json(200, { posts: pageOf, hitsTotal: hits.length, ...(offset + limit < hits.length ? { cursor: String(offset + limit) } : {}) });
      }
      default:
        return json(501, { error: "MethodNotImplemented", message: "Method Not Implemented" });
    }
  }

  const server = await startFakeServer({
    port: options.port,
    now,
    wire: {
      tooManyRequests: (seconds, at) => json(429, { error: "RateLimitExceeded", message: "Rate Limit Exceeded" }, { ...rateLimitHeaders(at), "ratelimit-remaining": "0", "ratelimit-reset": String(Math.ceil(at / 1000 + seconds)) }),
      error: (status) => json(status, { error: status >= 500 ? "InternalServerError" : status === 401 ? "AuthenticationRequired" : "InvalidRequest", message: status >= 500 ? "Internal Server Error" : "Request failed" }),
    },
    handle,
  });

  return {
    ...server,
    addProfile,
    addPost,
    addRepost,
    expireAccessTokens: () => {
      for (const session of accessTokens.values()) session.expiresAt = 0;
    },
  };
}

function matchesSearch(post: PostView, q: string): boolean {
  const text = post.record.text.toLowerCase();
  return q
    .toLowerCase()
    .split(/\s+/)
    .every((word) => (word.startsWith("from:") ? post.author.handle === word.slice(5) || post.author.did === word.slice(5) : text.includes(word)));
}

function rateLimitHeaders(now: number): Record<string, string> {
  return { "ratelimit-limit": "3000", "ratelimit-remaining": "2999", "ratelimit-reset": String(Math.ceil(now / 1000) + 300), "ratelimit-policy": "3000;w=300" };
}

function methodNotAllowed(): Answer {
  return json(405, { error: "InvalidRequest", message: "Incorrect HTTP method" });
}

// What the public AppView's proxy sends to anonymous post searches.
function forbiddenPage(): Answer {
  return { status: 403, headers: { "content-type": "text/html" }, body: "<html><head><title>403 Forbidden</title></head><body><h1>403 Forbidden</h1><p>Request forbidden by administrative rules.</p></body></html>" };
}

function base32(length: number): string {
  const bytes = randomBytes(length);
  return Array.from(bytes, (byte) => "abcdefghijklmnopqrstuvwxyz234567"[byte & 31]).join("");
}

function jwt(payload: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ typ: "at+jwt", alg: "ES256K" })}.${part(payload)}.${randomBytes(48).toString("base64url")}`;
}
