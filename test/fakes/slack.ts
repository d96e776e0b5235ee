// A fake Slack: incoming webhooks (POST /services/T…/B…/<secret>), checking each message's
// Block Kit against Slack's documented limits and answering as Slack does: 200 "ok", and
// plain-text errors (400 invalid_payload / no_text / invalid_blocks, 403 invalid_token,
// 404 no_service / channel_not_found, 410 channel_is_archived), 429 with Retry-After.
import { randomBytes } from "node:crypto";
import { startFakeServer, type Answer, type FakeRequest, type FakeServer } from "./social/server.js";

export const SLACK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  sectionFieldText: 2000,
  contextElements: 10,
  blockId: 255,
} as const;

export interface FakeSlackOptions {
  port?: number;
  now?: () => number;
  /** Channels a `channel` override may name (with or without "#"); any when absent. */
  channels?: string[];
  /** Channels that exist but are archived. */
  archivedChannels?: string[];
}

export interface SlackWebhook {
  /** The webhook's URL on the fake, shaped like https://hooks.slack.com/services/T…/B…/<secret>. */
  url: string;
}

export interface SlackBlock {
  type: string;
  text?: { type: string; text: string; emoji?: boolean };
  fields?: { type: string; text: string }[];
  elements?: { type: string; text?: string }[];
  block_id?: string;
}

/** A message Slack accepted, as it was posted. */
export interface SlackMessage {
  webhook: string;
  text?: string;
  blocks: SlackBlock[];
  channel?: string;
  username?: string;
  icon_emoji?: string;
}

export interface FakeSlack extends FakeServer {
  createWebhook(): SlackWebhook;
  /** Accepts `accepted` more messages, then answers the next request 429 with `Retry-After: retryAfterSeconds`. */
  rateLimitAfter(accepted: number, retryAfterSeconds: number): void;
  /** Every message accepted, oldest first. */
  readonly messages: readonly SlackMessage[];
  /** Messages refused with 4xx, with Slack's error text. */
  readonly refused: readonly { webhook: string; body: string; error: string }[];
}

const ERROR_TEXT: Record<number, string> = {
  400: "invalid_payload",
  403: "invalid_token",
  404: "no_service",
  410: "channel_is_archived",
  500: "internal_error",
  503: "service_unavailable",
};

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const webhooks = new Map<string, string>();
  const messages: SlackMessage[] = [];
  const refused: { webhook: string; body: string; error: string }[] = [];
  const known = options.channels?.map(channelName);
  const archived = new Set((options.archivedChannels ?? []).map(channelName));
  let origin = "";
  let bucket: { accepted: number; seconds: number } | undefined;

  function handle(request: FakeRequest): Answer {
    const match = /^\/services\/(T[A-Z0-9]+)\/(B[A-Z0-9]+)\/([A-Za-z0-9]+)$/.exec(request.url.pathname);
    if (!match || !webhooks.has(`${match[1]}/${match[2]}`)) return text(404, "no_service");
    if (webhooks.get(`${match[1]}/${match[2]}`) !== match[3]) return text(403, "invalid_token");
    if (request.method !== "POST") return text(405, "invalid_method");
    if (bucket && bucket.accepted <= 0) {
      const { seconds } = bucket;
      bucket = undefined;
      return tooManyRequests(seconds);
    }
    const refuse = (status: number, error: string): Answer => {
      refused.push({ webhook: `${match[1]}/${match[2]}`, body: request.body, error });
      return text(status, error);
    };
    let payload: unknown;
    try {
      payload = JSON.parse(request.body);
    } catch {
      return refuse(400, "invalid_payload");
    }
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) return refuse(400, "invalid_payload");
    const message = payload as Record<string, unknown>;
    const hasText = typeof message.text === "string" && message.text.trim() !== "";
    if (message.blocks !== undefined && !Array.isArray(message.blocks)) return refuse(400, "invalid_blocks_format");
    const blocks = (message.blocks ?? []) as unknown[];
    if (!hasText && blocks.length === 0) return refuse(400, "no_text");
    if (!validBlocks(blocks)) return refuse(400, "invalid_blocks");
    if (typeof message.channel === "string") {
      const name = channelName(message.channel);
      if (archived.has(name)) return refuse(410, "channel_is_archived");
      if (known && !known.includes(name)) return refuse(404, "channel_not_found");
    }
    messages.push({
      webhook: `${match[1]}/${match[2]}`,
      blocks: blocks as SlackBlock[],
      ...(typeof message.text === "string" ? { text: message.text } : {}),
      ...(typeof message.channel === "string" ? { channel: message.channel } : {}),
      ...(typeof message.username === "string" ? { username: message.username } : {}),
      ...(typeof message.icon_emoji === "string" ? { icon_emoji: message.icon_emoji } : {}),
    });
    if (bucket) bucket.accepted -= 1;
    return text(200, "ok");
  }

  const server = await startFakeServer({
    port: options.port,
    now: options.now ?? Date.now,
    handle,
    wire: {
      tooManyRequests,
      error: (status) => text(status, ERROR_TEXT[status] ?? "internal_error"),
    },
  });
  origin = server.url;

  return {
    ...server,
    messages,
    refused,
    rateLimitAfter: (accepted, seconds) => void (bucket = { accepted, seconds }),
    createWebhook() {
      const team = `T${randomBytes(5).toString("hex").toUpperCase()}`;
      const bot = `B${randomBytes(5).toString("hex").toUpperCase()}`;
      const secret = randomBytes(12).toString("hex");
      webhooks.set(`${team}/${bot}`, secret);
      return { url: `${origin}/services/${team}/${bot}/${secret}` };
    },
  };
}

/** Block Kit's rules for the block types a webhook message may carry. */
function validBlocks(blocks: unknown[]): boolean {
  if (blocks.length > SLACK_LIMITS.blocks) return false;
  return blocks.every((raw) => {
    if (typeof raw !== "object" || raw === null) return false;
    const block = raw as SlackBlock;
    if (block.block_id !== undefined && (typeof block.block_id !== "string" || block.block_id.length > SLACK_LIMITS.blockId)) return false;
    switch (block.type) {
      case "header":
        return block.text?.type === "plain_text" && textWithin(block.text.text, SLACK_LIMITS.headerText);
      case "section": {
        if (block.text === undefined && block.fields === undefined) return false;
        if (block.text !== undefined && !(isTextObject(block.text) && textWithin(block.text.text, SLACK_LIMITS.sectionText))) return false;
        if (block.fields === undefined) return true;
        return Array.isArray(block.fields) && block.fields.length <= SLACK_LIMITS.sectionFields && block.fields.every((f) => isTextObject(f) && textWithin(f.text, SLACK_LIMITS.sectionFieldText));
      }
      case "context":
        return Array.isArray(block.elements) && block.elements.length >= 1 && block.elements.length <= SLACK_LIMITS.contextElements && block.elements.every((e) => e.type === "image" || (isTextObject(e) && textWithin(e.text, SLACK_LIMITS.sectionText)));
      case "divider":
        return true;
      default:
        return false;
    }
  });
}

function isTextObject(value: unknown): value is { type: string; text: string } {
  const object = value as { type?: unknown; text?: unknown } | null;
  return typeof object === "object" && object !== null && (object.type === "mrkdwn" || object.type === "plain_text") && typeof object.text === "string";
}

function textWithin(value: unknown, max: number): boolean {
  return typeof value === "string" && value.length >= 1 && value.length <= max;
}

function channelName(channel: string): string {
  return channel.replace(/^#/, "").toLowerCase();
}

function tooManyRequests(seconds: number): Answer {
  return text(429, "rate_limited", { "retry-after": String(Math.ceil(seconds)) });
}

function text(status: number, body: string, headers: Record<string, string> = {}): Answer {
  return { status, headers: { "content-type": "text/html", ...headers }, body };
}
