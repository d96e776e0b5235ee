// A fake Reddit: a real HTTP server speaking Reddit's OAuth2 token endpoint, the
// `new`/`comments` listings of oauth.reddit.com and a user's overview/submitted/comments,
// with its rate-limit headers and errors, plus switches for the faults a client must survive.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createStore, SUBREDDIT_NAME, type CommentData, type NewComment, type NewPost, type PostData, type UserListing } from "./listing.js";
import { readBody } from "../read-body.js";

export type { CommentData, NewComment, NewPost, PostData } from "./listing.js";

export const DEFAULT_CLIENT = { id: "fake-client-id", secret: "fake-client-secret" } as const;
export const DEFAULT_USER = { username: "fake-user", password: "fake-password" } as const;
export const DEFAULT_REFRESH_TOKEN = "fake-refresh-token";

/** Credentials (snoowrap's field names) the fake accepts with its defaults: a script app's password grant. */
export function fakeCredentials(userAgent = "linux:vigil-tests:1.0.0 (by /u/vigil_tests)") {
  return { userAgent, clientId: DEFAULT_CLIENT.id, clientSecret: DEFAULT_CLIENT.secret, username: DEFAULT_USER.username, password: DEFAULT_USER.password };
}

export interface FakeRedditOptions {
  /** client id → secret accepted in the token request's Basic auth (an installed app has secret ""). */
  clients?: Record<string, string>;
  /** username → password accepted by the password grant. */
  users?: Record<string, string>;
  /** Refresh tokens accepted by the refresh_token grant. */
  refreshTokens?: string[];
  /** `expires_in` of issued access tokens, in seconds. */
  tokenLifetimeSeconds?: number;
  /** Status of `{"error":"invalid_grant"}` answers; real Reddit has been seen answering them with 200. */
  grantErrorStatus?: number;
  /** Requests allowed per window before 429, counted over all authenticated API requests. */
  rateLimitRequests?: number;
  rateLimitWindowSeconds?: number;
  /** The fake's clock (ms since the epoch): token expiry, rate-limit window, created_utc, stats timestamps. */
  now?: () => number;
  port?: number;
}

export type RequestKind = "token" | "new" | "comments" | "user" | "other";

export interface ReceivedRequest {
  /** ms since the epoch, on the fake's clock. */
  at: number;
  method: string;
  path: string;
  query: string;
  kind: RequestKind;
  userAgent: string | undefined;
  /** Set once answered. */
  status?: number;
}

type FaultTarget = "api" | "token";

export interface FakeReddit {
  /** Origin serving both hosts: use it for https://www.reddit.com and https://oauth.reddit.com. */
  url: string;
  /** Stands for https://www.reddit.com (the token endpoint); equals `url`. */
  oauthUrl: string;
  /** Stands for https://oauth.reddit.com (the API); equals `url`. */
  apiUrl: string;
  close(): Promise<void>;
  addPost(subreddit: string, post: NewPost): PostData;
  addComment(subreddit: string, comment: NewComment): CommentData;
  /** Adds `count` comments at once; `make(i)` gives the i-th. */
  addComments(subreddit: string, count: number, make: (i: number) => NewComment): CommentData[];
  faults: {
    /** The next API (or token) request is answered 429 with `Retry-After: retryAfterSeconds`. */
    next429(retryAfterSeconds: number, on?: FaultTarget): void;
    /** The next `count` API (or token) requests are answered 500. */
    next500(count: number, on?: FaultTarget): void;
    /** The next `count` listings are cut off halfway (200, not JSON), as a dropped connection leaves them. */
    nextTruncated(count: number): void;
    /** Every answer waits `ms` first; 0 switches it off. */
    slow(ms: number): void;
    /** Every access token issued so far stops working (401 with `www-authenticate`). */
    expireTokens(): void;
    /** Listings of this subreddit answer 403 `{"reason":"private"}`; `false` opens it again. */
    privateSubreddit(name: string, isPrivate?: boolean): void;
    /** Uses up the current rate-limit window, so the next API request gets 429. */
    exhaustRateLimit(): void;
    /** Switches every fault off. */
    clear(): void;
  };
  stats: {
    /** Requests received per kind of path. */
    readonly counts: Readonly<Record<RequestKind, number>>;
    /** Every request received, oldest first. */
    readonly requests: readonly ReceivedRequest[];
    /** Most API requests (all but `token`) received in any sliding window of `windowMs`. */
    requestsPerMinute(windowMs?: number): number;
    /** Tokens issued per grant type. */
    readonly grants: Readonly<Record<string, number>>;
    reset(): void;
  };
}

const UNAUTHORIZED = { message: "Unauthorized", error: 401 };

export async function startFakeReddit(options: FakeRedditOptions = {}): Promise<FakeReddit> {
  const {
    clients = { [DEFAULT_CLIENT.id]: DEFAULT_CLIENT.secret },
    users = { [DEFAULT_USER.username]: DEFAULT_USER.password },
    refreshTokens = [DEFAULT_REFRESH_TOKEN],
    tokenLifetimeSeconds = 3600,
    grantErrorStatus = 400,
    rateLimitRequests = 600,
    rateLimitWindowSeconds = 600,
    now = Date.now,
  } = options;
  const store = createStore(now);
  const tokens = new Map<string, { expiresAt: number }>();
  const fault = { delayMs: 0, pending429: { api: [] as number[], token: [] as number[] }, pending500: { api: 0, token: 0 }, truncated: 0, privateSubs: new Set<string>() };
  const window = { start: now(), used: 0 };
  const counts: Record<RequestKind, number> = { token: 0, new: 0, comments: 0, user: 0, other: 0 };
  const grants: Record<string, number> = {};
  const requests: ReceivedRequest[] = [];

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { "content-type": "application/json; charset=UTF-8", ...headers });
    res.end(JSON.stringify(body));
  }

  function sendListing(res: ServerResponse, listing: unknown, headers: Record<string, string>): void {
    if (fault.truncated === 0) return send(res, 200, listing, headers);
    fault.truncated -= 1;
    const text = JSON.stringify(listing);
    res.writeHead(200, { "content-type": "application/json; charset=UTF-8", ...headers });
    res.end(text.slice(0, Math.floor(text.length / 2)));
  }

  /** Answers an injected fault if one is pending for `target`; true when it did. */
  function injectedFault(target: FaultTarget, res: ServerResponse, headers: Record<string, string>): boolean {
    const retryAfter = fault.pending429[target].shift();
    if (retryAfter !== undefined) {
      send(res, 429, { message: "Too Many Requests", error: 429 }, { ...headers, "retry-after": String(retryAfter) });
      return true;
    }
    if (fault.pending500[target] > 0) {
      fault.pending500[target] -= 1;
      send(res, 500, { message: "Internal Server Error", error: 500 }, headers);
      return true;
    }
    return false;
  }

  function rollWindow(): void {
    if (now() >= window.start + rateLimitWindowSeconds * 1000) Object.assign(window, { start: now(), used: 0 });
  }

  // Reddit sends `remaining` as a decimal ("599.0") and `reset` as whole seconds.
  function rateLimitHeaders(): Record<string, string> {
    const resetSeconds = Math.max(0, Math.ceil((window.start + rateLimitWindowSeconds * 1000 - now()) / 1000));
    return {
      "x-ratelimit-used": String(window.used),
      "x-ratelimit-remaining": (rateLimitRequests - window.used).toFixed(1),
      "x-ratelimit-reset": String(resetSeconds),
    };
  }

  async function handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = new URLSearchParams(await readBody(req));
    if (injectedFault("token", res, {})) return;
    if (req.method !== "POST") return send(res, 405, { message: "Method Not Allowed", error: 405 });
    const client = basicCredentials(req.headers.authorization);
    if (!client || clients[client.id] === undefined || clients[client.id] !== client.secret) return send(res, 401, UNAUTHORIZED);
    const grantType = body.get("grant_type");
    const answer: Record<string, unknown> = {};
    if (grantType === "password") {
      const username = body.get("username") ?? "";
      if (users[username] === undefined || users[username] !== body.get("password")) return send(res, grantErrorStatus, { error: "invalid_grant" });
    } else if (grantType === "refresh_token") {
      const refreshToken = body.get("refresh_token") ?? "";
      if (!refreshTokens.includes(refreshToken)) return send(res, grantErrorStatus, { error: "invalid_grant" });
      answer.refresh_token = refreshToken;
    } else if (grantType !== "client_credentials") {
      return send(res, grantErrorStatus, { error: "unsupported_grant_type" });
    }
    const accessToken = randomBytes(18).toString("base64url");
    tokens.set(accessToken, { expiresAt: now() + tokenLifetimeSeconds * 1000 });
    grants[grantType] = (grants[grantType] ?? 0) + 1;
    send(res, 200, { access_token: accessToken, token_type: "bearer", expires_in: tokenLifetimeSeconds, scope: "*", ...answer });
  }

  function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, kind: RequestKind): void {
    rollWindow();
    const token = /^bearer\s+(\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    const issued = token === undefined ? undefined : tokens.get(token);
    if (!issued || issued.expiresAt <= now()) {
      return send(res, 401, UNAUTHORIZED, { ...rateLimitHeaders(), "www-authenticate": 'Bearer realm="reddit", error="invalid_token"' });
    }
    if (window.used >= rateLimitRequests) {
      const headers = rateLimitHeaders();
      return send(res, 429, { message: "Too Many Requests", error: 429 }, { ...headers, "retry-after": headers["x-ratelimit-reset"]! });
    }
    window.used += 1;
    const headers = rateLimitHeaders();
    if (injectedFault("api", res, headers)) return;
    const query = {
      limit: listingLimit(url.searchParams.get("limit")),
      before: url.searchParams.get("before") ?? undefined,
      after: url.searchParams.get("after") ?? undefined,
      rawJson: url.searchParams.get("raw_json") === "1",
    };
    const user = /^\/(?:user|u)\/([^/]+)\/(overview|submitted|comments)(?:\.json)?\/?$/.exec(url.pathname);
    if (req.method === "GET" && user) {
      const name = decodeURIComponent(user[1]!);
      if (!store.knowsUser(name)) return send(res, 404, { message: "Not Found", error: 404 }, headers);
      return sendListing(res, store.listUser(name, user[2] as UserListing, query), headers);
    }
    const match = /^\/r\/([^/]+)\/(new|comments)(?:\.json)?\/?$/.exec(url.pathname);
    if (req.method !== "GET" || !match) return send(res, 404, { message: "Not Found", error: 404 }, headers);
    const subreddits = decodeURIComponent(match[1]!).split("+").filter(Boolean);
    if (subreddits.length === 0 || !subreddits.every((s) => SUBREDDIT_NAME.test(s))) return send(res, 404, { message: "Not Found", error: 404 }, headers);
    if (subreddits.some((s) => fault.privateSubs.has(s.toLowerCase()))) return send(res, 403, { reason: "private", message: "Forbidden", error: 403 }, headers);
    sendListing(res, match[2] === "new" ? store.listPosts(subreddits, query) : store.listComments(subreddits, query), headers);
  }

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://fake-reddit");
    const kind = requestKind(url.pathname);
    const received: ReceivedRequest = { at: now(), method: req.method ?? "GET", path: url.pathname, query: url.search, kind, userAgent: req.headers["user-agent"] };
    requests.push(received);
    counts[kind] += 1;
    res.on("finish", () => (received.status = res.statusCode));
    const answer = () => (kind === "token" ? handleToken(req, res) : handleApi(req, res, url, kind));
    const delayed = fault.delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, fault.delayMs)).then(answer) : Promise.resolve().then(answer);
    delayed.catch((error: unknown) => {
      if (!res.headersSent) send(res, 500, { message: "Internal Server Error", error: 500, detail: String(error) });
      else res.destroy();
    });
  });
  server.listen(options.port ?? 0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    oauthUrl: url,
    apiUrl: url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
    addPost: store.addPost,
    addComment: store.addComment,
    addComments: (subreddit, count, make) => Array.from({ length: count }, (_, i) => store.addComment(subreddit, make(i))),
    faults: {
      next429: (retryAfterSeconds, on = "api") => void fault.pending429[on].push(retryAfterSeconds),
      next500: (count, on = "api") => void (fault.pending500[on] += count),
      nextTruncated: (count) => void (fault.truncated += count),
      slow: (ms) => void (fault.delayMs = ms),
      expireTokens: () => tokens.clear(),
      privateSubreddit: (name, isPrivate = true) => void (isPrivate ? fault.privateSubs.add(name.toLowerCase()) : fault.privateSubs.delete(name.toLowerCase())),
      exhaustRateLimit: () => {
        rollWindow();
        window.used = rateLimitRequests;
      },
      clear: () => {
        Object.assign(fault, { delayMs: 0, pending429: { api: [], token: [] }, pending500: { api: 0, token: 0 }, truncated: 0 });
        fault.privateSubs.clear();
      },
    },
    stats: {
      counts,
      requests,
      grants,
      requestsPerMinute: (windowMs = 60_000) => maxInSlidingWindow(requests.filter((r) => r.kind !== "token").map((r) => r.at), windowMs),
      reset: () => {
        requests.length = 0;
        for (const key of Object.keys(counts) as RequestKind[]) counts[key] = 0;
        for (const key of Object.keys(grants)) delete grants[key];
      },
    },
  };
}

function requestKind(path: string): RequestKind {
  if (path === "/api/v1/access_token") return "token";
  if (/^\/r\/[^/]+\/new(\.json)?\/?$/.test(path)) return "new";
  if (/^\/r\/[^/]+\/comments(\.json)?\/?$/.test(path)) return "comments";
  if (/^\/(user|u)\/[^/]+\/(overview|submitted|comments)(\.json)?\/?$/.test(path)) return "user";
  return "other";
}

function listingLimit(raw: string | null): number {
  const limit = raw === null ? NaN : Number.parseInt(raw, 10);
  return Number.isFinite(limit) && limit > 0 ? Math.min(limit, 100) : 25;
}

function basicCredentials(header: string | undefined): { id: string; secret: string } | undefined {
  const encoded = /^basic\s+(\S+)$/i.exec(header ?? "")?.[1];
  if (!encoded) return undefined;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  return colon === -1 ? undefined : { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}


/** The most timestamps falling in any window [t, t + windowMs). */
function maxInSlidingWindow(timestamps: number[], windowMs: number): number {
  const sorted = [...timestamps].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end++) {
    while (sorted[end]! - sorted[start]! >= windowMs) start++;
    best = Math.max(best, end - start + 1);
  }
  return best;
}
