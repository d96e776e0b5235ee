// A fake Discord: the Execute Webhook endpoint (POST /api/webhooks/<id>/<token>), checking
// each message against Discord's documented limits and answering as Discord does: 400
// "Invalid Form Body" (code 50035) with its nested `errors`, 404 Unknown Webhook, 401
// Invalid Webhook Token, and 429 with `retry_after` in the body plus Retry-After and
// X-RateLimit-* headers. With `?wait=true` it answers 200 with the message, else 204.
import { randomBytes } from "node:crypto";
import { json, startFakeServer, type Answer, type FakeRequest, type FakeServer } from "./social/server.js";

export const DISCORD_LIMITS = {
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  author: 256,
  embedTotal: 6000,
  username: 80,
} as const;

export interface FakeDiscordOptions {
  port?: number;
  now?: () => number;
}

export interface DiscordWebhook {
  id: string;
  token: string;
  /** The webhook's URL on the fake, shaped like https://discord.com/api/webhooks/<id>/<token>. */
  url: string;
}

/** A message Discord accepted, as it was posted. */
export interface DiscordMessage {
  id: string;
  webhookId: string;
  content: string;
  embeds: DiscordEmbed[];
  username?: string;
  avatar_url?: string;
  allowed_mentions?: unknown;
}

export interface DiscordEmbed {
  title?: string;
  description?: string;
  color?: number;
  fields?: { name: string; value: string; inline?: boolean }[];
  footer?: { text: string };
  author?: { name: string };
  timestamp?: string;
}

export interface FakeDiscord extends FakeServer {
  createWebhook(): DiscordWebhook;
  /** Accepts `accepted` more messages, then answers the next request 429 with `retry_after: retryAfterSeconds`, as a drained bucket does. */
  rateLimitAfter(accepted: number, retryAfterSeconds: number): void;
  /** Every message accepted, oldest first. */
  readonly messages: readonly DiscordMessage[];
  /** The messages Discord refused with 400, with the error body it answered. */
  readonly refused: readonly { webhookId: string; body: string; answer: unknown }[];
}

type Problems = Record<string, unknown>;

export async function startFakeDiscord(options: FakeDiscordOptions = {}): Promise<FakeDiscord> {
  const now = options.now ?? Date.now;
  const webhooks = new Map<string, string>();
  const messages: DiscordMessage[] = [];
  const refused: { webhookId: string; body: string; answer: unknown }[] = [];
  let nextId = 1_200_000_000_000_000_000n;
  let origin = "";
  let bucket: { accepted: number; seconds: number } | undefined;

  function tooManyRequests(seconds: number, at: number): Answer {
    const body = { message: "You are being rate limited.", retry_after: seconds, global: false };
    return json(429, body, {
      "retry-after": String(Math.ceil(seconds)),
      "x-ratelimit-limit": "5",
      "x-ratelimit-remaining": "0",
      "x-ratelimit-reset": ((at + seconds * 1000) / 1000).toFixed(3),
      "x-ratelimit-reset-after": seconds.toFixed(3),
      "x-ratelimit-bucket": "0f3a7c2d9e1b4a68",
      "x-ratelimit-scope": "shared",
    });
  }

  function handle(request: FakeRequest): Answer {
    const match = /^\/api(?:\/v\d+)?\/webhooks\/(\d+)\/([\w-]+)\/?$/.exec(request.url.pathname);
    if (!match) return json(404, { message: "404: Not Found", code: 0 });
    const [, id, token] = match as unknown as [string, string, string];
    if (!webhooks.has(id)) return json(404, { message: "Unknown Webhook", code: 10015 });
    if (webhooks.get(id) !== token) return json(401, { message: "Invalid Webhook Token", code: 50027 });
    if (request.method !== "POST") return json(405, { message: "405: Method Not Allowed", code: 0 });
    if (bucket && bucket.accepted <= 0) {
      const { seconds } = bucket;
      bucket = undefined;
      return tooManyRequests(seconds, now());
    }
    let payload: unknown;
    try {
      payload = JSON.parse(request.body);
    } catch {
      return json(400, { message: "The request body contains invalid JSON.", code: 50109 });
    }
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return json(400, { message: "Invalid Form Body", code: 50035, errors: {} });
    const message = payload as Record<string, unknown>;
    const problems = validate(message);
    if (Object.keys(problems).length > 0) {
      const answer = { code: 50035, message: "Invalid Form Body", errors: problems };
      refused.push({ webhookId: id, body: request.body, answer });
      return json(400, answer);
    }
    const content = typeof message.content === "string" ? message.content : "";
    const embeds = Array.isArray(message.embeds) ? (message.embeds as DiscordEmbed[]) : [];
    if (content.trim() === "" && embeds.length === 0) return json(400, { message: "Cannot send an empty message", code: 50006 });
    const stored: DiscordMessage = {
      id: (nextId++).toString(),
      webhookId: id,
      content,
      embeds,
      ...(typeof message.username === "string" ? { username: message.username } : {}),
      ...(typeof message.avatar_url === "string" ? { avatar_url: message.avatar_url } : {}),
      ...(message.allowed_mentions !== undefined ? { allowed_mentions: message.allowed_mentions } : {}),
    };
    messages.push(stored);
    if (bucket) bucket.accepted -= 1;
    if (request.url.searchParams.get("wait") !== "true") return { status: 204, body: "" };
    return json(200, {
      id: stored.id,
      type: 0,
      content,
      embeds,
      channel_id: "1100000000000000001",
      webhook_id: id,
      author: { id, username: stored.username ?? "Vigil alerts", bot: true },
      timestamp: new Date(now()).toISOString(),
      attachments: [],
      mentions: [],
      pinned: false,
      tts: false,
    });
  }

  const server = await startFakeServer({
    port: options.port,
    now,
    handle,
    wire: {
      tooManyRequests,
      error: (status) => json(status, { message: `${status}: ${status >= 500 ? "Internal Server Error" : "Error"}`, code: 0 }),
    },
  });
  origin = server.url;

  return {
    ...server,
    messages,
    refused,
    rateLimitAfter: (accepted, seconds) => void (bucket = { accepted, seconds }),
    createWebhook() {
      const id = (nextId++).toString();
      const token = randomBytes(34).toString("base64url");
      webhooks.set(id, token);
      return { id, token, url: `${origin}/api/webhooks/${id}/${token}` };
    },
  };
}

/** Discord's form-body checks for a webhook message; the answer's `errors` by path. */
function validate(message: Record<string, unknown>): Problems {
  const problems: Problems = {};
  const add = (path: (string | number)[], code: string, text: string) => {
    let node = problems as Record<string, unknown>;
    for (const key of path) node = (node[String(key)] ??= {}) as Record<string, unknown>;
    ((node._errors ??= []) as unknown[]).push({ code, message: text });
  };
  const maxLength = (path: (string | number)[], value: unknown, max: number, required = false) => {
    if (value === undefined || value === null) {
      if (required) add(path, "BASE_TYPE_REQUIRED", "This field is required");
      return;
    }
    if (typeof value !== "string") return add(path, "STRING_TYPE_CONVERT", "Could not interpret value as string.");
    if (required && value.length === 0) return add(path, "BASE_TYPE_REQUIRED", "This field is required");
    if (chars(value) > max) add(path, "BASE_TYPE_MAX_LENGTH", `Must be ${max} or fewer in length.`);
  };

  maxLength(["content"], message.content, DISCORD_LIMITS.content);
  maxLength(["username"], message.username, DISCORD_LIMITS.username);
  if (typeof message.username === "string" && /discord|clyde/i.test(message.username)) add(["username"], "USERNAME_INVALID_CONTAINS", "Username cannot contain \"discord\" or \"clyde\"");
  if (message.embeds === undefined || message.embeds === null) return problems;
  if (!Array.isArray(message.embeds)) {
    add(["embeds"], "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType.");
    return problems;
  }
  if (message.embeds.length > DISCORD_LIMITS.embeds) add(["embeds"], "BASE_TYPE_MAX_LENGTH", `Must be ${DISCORD_LIMITS.embeds} or fewer in length.`);
  let total = 0;
  message.embeds.forEach((raw: unknown, i) => {
    const embed = (typeof raw === "object" && raw !== null ? raw : {}) as DiscordEmbed;
    maxLength(["embeds", i, "title"], embed.title, DISCORD_LIMITS.title);
    maxLength(["embeds", i, "description"], embed.description, DISCORD_LIMITS.description);
    maxLength(["embeds", i, "footer", "text"], embed.footer?.text, DISCORD_LIMITS.footer);
    maxLength(["embeds", i, "author", "name"], embed.author?.name, DISCORD_LIMITS.author);
    if (embed.color !== undefined && (!Number.isInteger(embed.color) || embed.color < 0 || embed.color > 0xffffff)) add(["embeds", i, "color"], "NUMBER_TYPE_MAX", "int value should be less than or equal to 16777215.");
    if (embed.timestamp !== undefined && Number.isNaN(Date.parse(embed.timestamp))) add(["embeds", i, "timestamp"], "DATE_TYPE_PARSE", "Could not parse timestamp. Should be ISO8601.");
    const fields = embed.fields ?? [];
    if (fields.length > DISCORD_LIMITS.fields) add(["embeds", i, "fields"], "BASE_TYPE_MAX_LENGTH", `Must be ${DISCORD_LIMITS.fields} or fewer in length.`);
    fields.forEach((field, j) => {
      maxLength(["embeds", i, "fields", j, "name"], field.name, DISCORD_LIMITS.fieldName, true);
      maxLength(["embeds", i, "fields", j, "value"], field.value, DISCORD_LIMITS.fieldValue, true);
    });
    total += [embed.title, embed.description, embed.footer?.text, embed.author?.name, ...fields.flatMap((f) => [f.name, f.value])].reduce((sum, text) => sum + (typeof text === "string" ? chars(text) : 0), 0);
  });
  if (total > DISCORD_LIMITS.embedTotal) add(["embeds"], "MAX_EMBED_SIZE_EXCEEDED", `Embed size exceeds maximum size of ${DISCORD_LIMITS.embedTotal}`);
  return problems;
}

/** Discord counts characters (code points), not UTF-16 units. */
function chars(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}
