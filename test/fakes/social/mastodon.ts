// A fake Mastodon instance: account lookup, an account's statuses and a hashtag's timeline
// of the REST API, with Mastodon's snowflake ids, max_id/since_id/min_id paging and Link
// headers, its X-RateLimit-* headers (the reset as an ISO time) and its JSON errors.
import { escapeHtml, intParam, json, startFakeServer, type Answer, type FakeRequest, type FakeServer } from "./server.js";

export interface NewStatus {
  /** Plain text, rendered to HTML as Mastodon does: paragraphs, <br />, linked #tags, @mentions and URLs. */
  text?: string;
  /** The HTML content as is, instead of `text`. */
  html?: string;
  /** A content warning. */
  spoilerText?: string;
  /** Epoch ms; defaults to the fake's clock. */
  createdAt?: number;
  visibility?: "public" | "unlisted" | "private" | "direct";
  /** Makes this status a boost of that status id. */
  reblogOf?: string;
  inReplyToId?: string;
}

export interface Account {
  id: string;
  username: string;
  /** "user" for local accounts, "user@domain" for remote ones. */
  acct: string;
  display_name: string;
  url: string;
  created_at: string;
}

export interface Status {
  id: string;
  created_at: string;
  uri: string;
  url: string;
  content: string;
  spoiler_text: string;
  visibility: "public" | "unlisted" | "private" | "direct";
  account: Account;
  reblog: Status | null;
  in_reply_to_id: string | null;
  tags: { name: string; url: string }[];
}

export interface FakeMastodonOptions {
  port?: number;
  now?: () => number;
  /** The instance's domain as its URLs and accts show it. */
  domain?: string;
  /** Requests per window before 429 (Mastodon: 300 per 5 minutes for unauthenticated API calls per IP). */
  rateLimit?: { limit: number; windowSeconds: number };
  /** Hashtag timelines answer 401 to visitors, as on instances that turned off timeline previews. */
  timelinesRequireAuth?: boolean;
}

export interface FakeMastodon extends FakeServer {
  domain: string;
  addAccount(acct: string, options?: { displayName?: string }): Account;
  /** Adds a status of `acct` (the account is created on first use). */
  addStatus(acct: string, status: NewStatus): Status;
}

const DEFAULT_LIMIT = 20;
const MAX_LIMIT = 40;

export async function startFakeMastodon(options: FakeMastodonOptions = {}): Promise<FakeMastodon> {
  const { now = Date.now, domain = "mastodon.example", rateLimit = { limit: 300, windowSeconds: 300 }, timelinesRequireAuth = false } = options;
  const accounts = new Map<string, Account>();
  const statuses: Status[] = [];
  const window = { start: now(), used: 0 };
  let nextAccountId = 109_000_000_000_000_000n;
  let sequence = 0;
  let origin = "";

  function snowflake(ms: number): string {
    sequence = (sequence + 1) & 0xffff;
    return ((BigInt(Math.floor(ms)) << 16n) | BigInt(sequence)).toString();
  }

  function addAccount(acct: string, { displayName }: { displayName?: string } = {}): Account {
    const key = localAcct(acct).toLowerCase();
    const existing = accounts.get(key);
    if (existing) return existing;
    const [username, host = domain] = localAcct(acct).split("@") as [string, string?];
    const account: Account = {
      id: (nextAccountId++).toString(),
      username,
      acct: host === domain ? username : `${username}@${host}`,
      display_name: displayName ?? username,
      url: `https://${host}/@${username}`,
      created_at: midnight(now()),
    };
    accounts.set(key, account);
    return account;
  }

  function localAcct(acct: string): string {
    const trimmed = acct.replace(/^@/, "");
    return trimmed.toLowerCase().endsWith(`@${domain}`) ? trimmed.slice(0, -domain.length - 1) : trimmed;
  }

  function addStatus(acct: string, status: NewStatus): Status {
    const account = addAccount(acct);
    const host = new URL(account.url).host;
    const createdAt = status.createdAt ?? now();
    const id = snowflake(createdAt);
    const reblog = status.reblogOf === undefined ? null : (statuses.find((s) => s.id === status.reblogOf) ?? null);
    if (status.reblogOf !== undefined && !reblog) throw new Error(`fake mastodon: no status ${status.reblogOf} to boost`);
    const text = status.text ?? "";
    const made: Status = {
      id,
      created_at: new Date(createdAt).toISOString(),
      uri: `https://${host}/users/${account.username}/statuses/${id}${reblog ? "/activity" : ""}`,
      url: reblog ? reblog.url : `https://${host}/@${account.username}/${id}`,
      content: reblog ? "" : (status.html ?? renderHtml(text, domain)),
      spoiler_text: status.spoilerText ?? "",
      visibility: status.visibility ?? "public",
      account,
      reblog,
      in_reply_to_id: status.inReplyToId ?? null,
      tags: reblog ? [] : hashtags(status.html?.replace(/<[^>]*>/g, "") ?? text).map((name) => ({ name, url: `https://${domain}/tags/${name}` })),
    };
    statuses.push(made);
    return made;
  }

  function rateLimitHeaders(): Record<string, string> {
    return {
      "x-ratelimit-limit": String(rateLimit.limit),
      "x-ratelimit-remaining": String(Math.max(0, rateLimit.limit - window.used)),
      "x-ratelimit-reset": microsecondIso(window.start + rateLimit.windowSeconds * 1000),
    };
  }

  function handle(request: FakeRequest): Answer {
    if (now() >= window.start + rateLimit.windowSeconds * 1000) Object.assign(window, { start: now(), used: 0 });
    if (window.used >= rateLimit.limit) return tooManyRequests((window.start + rateLimit.windowSeconds * 1000 - now()) / 1000, now());
    window.used += 1;
    const answer = route(request);
    return { ...answer, headers: { ...rateLimitHeaders(), ...answer.headers } };
  }

  function route({ method, url, headers }: FakeRequest): Answer {
    if (method !== "GET") return json(404, { error: "Not Found" });
    if (url.pathname === "/api/v1/accounts/lookup") {
      const account = accounts.get(localAcct(url.searchParams.get("acct") ?? "").toLowerCase());
      return account ? json(200, account) : json(404, { error: "Record not found" });
    }
    const accountPath = /^\/api\/v1\/accounts\/(\d+)(\/statuses)?$/.exec(url.pathname);
    if (accountPath) {
      const account = [...accounts.values()].find((a) => a.id === accountPath[1]);
      if (!account) return json(404, { error: "Record not found" });
      if (!accountPath[2]) return json(200, account);
      const flag = (name: string) => url.searchParams.get(name) === "true";
      const listed = statuses.filter(
        (s) => s.account === account && (s.visibility === "public" || s.visibility === "unlisted") && !(flag("exclude_reblogs") && s.reblog) && !(flag("exclude_replies") && s.in_reply_to_id),
      );
      return page(url, listed);
    }
    const tagPath = /^\/api\/v1\/timelines\/tag\/([^/]+)$/.exec(url.pathname);
    if (tagPath) {
      if (timelinesRequireAuth && !headers.authorization) return json(401, { error: "This method requires an authenticated user" });
      const tag = decodeURIComponent(tagPath[1]!).toLowerCase();
      return page(
        url,
        statuses.filter((s) => s.visibility === "public" && !s.reblog && s.tags.some((t) => t.name === tag)),
      );
    }
    return json(404, { error: "Not Found" });
  }

  /** One page, newest first, with Mastodon's Link header. */
  function page(url: URL, all: Status[]): Answer {
    const limit = Math.min(MAX_LIMIT, Math.max(1, intParam(url, "limit", DEFAULT_LIMIT) ?? DEFAULT_LIMIT));
    const id = (name: string) => (url.searchParams.has(name) ? BigInt(url.searchParams.get(name)!.replace(/\D/g, "") || "0") : undefined);
    const [maxId, sinceId, minId] = [id("max_id"), id("since_id"), id("min_id")];
    let list = [...all].sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
    if (maxId !== undefined) list = list.filter((s) => BigInt(s.id) < maxId);
    if (sinceId !== undefined) list = list.filter((s) => BigInt(s.id) > sinceId);
    if (minId !== undefined) list = list.filter((s) => BigInt(s.id) > minId);
    // min_id asks for the statuses just after it; max_id and since_id for the newest ones.
    const items = minId !== undefined ? list.slice(-limit) : list.slice(0, limit);
    const links: string[] = [];
    const linkTo = (name: string, value: string) => {
      const next = new URL(url.pathname, origin);
      for (const [key, param] of url.searchParams) if (!["max_id", "min_id", "since_id"].includes(key)) next.searchParams.set(key, param);
      next.searchParams.set("limit", String(limit));
      next.searchParams.set(name, value);
      return next.toString();
    };
    // Mastodon offers a next page only after a full one.
    if (items.length === limit) links.push(`<${linkTo("max_id", items.at(-1)!.id)}>; rel="next"`);
    if (items.length > 0) links.push(`<${linkTo("min_id", items[0]!.id)}>; rel="prev"`);
    return json(200, items.map(render), links.length > 0 ? { link: links.join(", ") } : {});
  }

  const server = await startFakeServer({ port: options.port, now, wire: { tooManyRequests, error: errorAnswer }, handle });
  origin = server.url;
  return { ...server, domain, addAccount, addStatus };
}

/** The status as the API shows it, with the fields clients expect. */
function render(status: Status): Record<string, unknown> {
  return {
    id: status.id,
    created_at: status.created_at,
    in_reply_to_id: status.in_reply_to_id,
    in_reply_to_account_id: null,
    sensitive: status.spoiler_text !== "",
    spoiler_text: status.spoiler_text,
    visibility: status.visibility,
    language: "en",
    uri: status.uri,
    url: status.reblog ? null : status.url,
    replies_count: 0,
    reblogs_count: 0,
    favourites_count: 0,
    edited_at: null,
    content: status.content,
    reblog: status.reblog ? render(status.reblog) : null,
    application: { name: "Web", website: null },
    account: { ...status.account, locked: false, bot: false, group: false, note: "", emojis: [], fields: [], followers_count: 0, following_count: 0, statuses_count: 0 },
    media_attachments: [],
    mentions: [],
    tags: status.tags,
    emojis: [],
    card: null,
    poll: null,
  };
}

// Mastodon's throttle answer names the window's end, to the microsecond, and no Retry-After.
function tooManyRequests(seconds: number, now: number): Answer {
  return json(429, { error: "Too many requests" }, { "x-ratelimit-limit": "300", "x-ratelimit-remaining": "0", "x-ratelimit-reset": microsecondIso(now + seconds * 1000) });
}

function errorAnswer(status: number): Answer {
  const messages: Record<number, string> = {
    401: "The access token is invalid",
    403: "This action is not allowed",
    404: "Record not found",
    410: "Gone",
    422: "Validation failed",
    500: "We're sorry, but something went wrong on our end.",
    503: "Service Unavailable",
  };
  return json(status, { error: messages[status] ?? "Error" });
}

function microsecondIso(ms: number): string {
  const whole = Math.ceil(ms);
  return new Date(whole).toISOString().replace(/Z$/, "000Z");
}

function midnight(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 10)}T00:00:00.000Z`;
}

function hashtags(text: string): string[] {
  return [...new Set([...text.matchAll(/(?:^|[^\p{L}\p{N}_&/])#([\p{L}\p{N}_]+)/gu)].map((m) => m[1]!.toLowerCase()))];
}

/** Text → status HTML the way Mastodon formats a local status. */
export function renderHtml(text: string, domain: string): string {
  const token = /(https?:\/\/[^\s<]+)|(^|[^\p{L}\p{N}_/])#([\p{L}\p{N}_]+)|(^|[^\p{L}\p{N}_/])@([A-Za-z0-9_]+)/gu;
  const line = (raw: string) => {
    let html = "";
    let at = 0;
    for (const match of raw.matchAll(token)) {
      html += escapeHtml(raw.slice(at, match.index));
      at = match.index + match[0].length;
      if (match[1]) html += link(match[1]);
      else if (match[3]) html += `${escapeHtml(match[2]!)}<a href="https://${domain}/tags/${encodeURIComponent(match[3].toLowerCase())}" class="mention hashtag" rel="tag">#<span>${escapeHtml(match[3])}</span></a>`;
      else html += `${escapeHtml(match[4]!)}<span class="h-card" translate="no"><a href="https://${domain}/@${match[5]}" class="u-url mention">@<span>${match[5]}</span></a></span>`;
    }
    return html + escapeHtml(raw.slice(at));
  };
  return text
    .split(/\n{2,}/)
    .map((paragraph) => `<p>${paragraph.split("\n").map(line).join("<br />")}</p>`)
    .join("");
}

// Mastodon hides a link's scheme and shortens what is past 30 characters, in spans the client hides.
function link(url: string): string {
  const scheme = /^https?:\/\//.exec(url)![0];
  const rest = url.slice(scheme.length);
  const shown = rest.length > 30 ? `<span class="ellipsis">${escapeHtml(rest.slice(0, 30))}</span><span class="invisible">${escapeHtml(rest.slice(30))}</span>` : `<span class="">${escapeHtml(rest)}</span><span class="invisible"></span>`;
  return `<a href="${escapeHtml(url)}" target="_blank" rel="nofollow noopener noreferrer" translate="no"><span class="invisible">${scheme}</span>${shown}</a>`;
}
