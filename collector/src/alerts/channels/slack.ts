import { z } from "zod";
import type { Notification } from "../model.js";
import type { ChannelType, SendResult } from "./channel-type.js";
import { alertSection, notificationTitle, truncate, type AlertSection } from "./format.js";
import { postJson } from "./http-send.js";

// Slack's documented Block Kit limits (reference: "Blocks" and "Header block").
export const SLACK_LIMITS = {
  blocksPerMessage: 50,
  headerText: 150,
  sectionText: 3000,
  /** Slack truncates a message's `text` past this many characters. */
  text: 40_000,
} as const;

export const slackConfigSchema = z
  .object({
    webhook_url: z
      .url({ protocol: /^https?$/, error: "webhook_url must be a Slack incoming-webhook URL like https://hooks.slack.com/services/T…/B…/…" })
      // Any host is accepted (not only hooks.slack.com) so a proxy or a test server can stand in.
      .describe("The incoming webhook's URL (secret: it embeds the webhook's token)."),
    channel: z
      .string()
      .trim()
      .regex(/^[#@]?[\w.-]{1,80}$/, 'channel must be a channel name like "#alerts" or a channel id like "C0123456789"')
      .optional()
      .describe("Channel to post to instead of the webhook's own (honoured by legacy webhooks only)."),
    username: z.string().trim().min(1).max(80, "username must be at most 80 characters").optional().describe("Name to post as (legacy webhooks only)."),
    icon_emoji: z
      .string()
      .regex(/^:[\w+-]+:$/, 'icon_emoji must be an emoji code like ":rotating_light:"')
      .optional()
      .describe("Emoji to post with (legacy webhooks only)."),
  })
  .strict();

export type SlackConfig = z.output<typeof slackConfigSchema>;

type Block =
  | { type: "header"; text: { type: "plain_text"; text: string; emoji: true } }
  | { type: "section"; text: { type: "mrkdwn"; text: string } }
  | { type: "context"; elements: { type: "mrkdwn"; text: string }[] };

export interface SlackMessage {
  /** What notifications and clients without Block Kit show. */
  text: string;
  blocks: Block[];
  channel?: string;
  username?: string;
  icon_emoji?: string;
}

export const slackChannel: ChannelType<SlackConfig> = {
  kind: "slack",
  configSchema: slackConfigSchema,
  secretFields: ["webhook_url"],
  open(config) {
    return {
      async send({ notification, fromPart, signal }): Promise<SendResult> {
        const messages = slackMessages(notification, config);
        for (let part = fromPart; part < messages.length; part++) {
          const outcome = await postJson({ url: config.webhook_url, body: JSON.stringify(messages[part]), signal });
          if (!outcome.ok) return { ...outcome, partsSent: part };
        }
        return { ok: true, partsSent: Math.max(fromPart, messages.length) };
      },
      async close() {},
    };
  },
};

/**
 * A header, one section per alert and a context line with where to look, split so no
 * message has more than 50 blocks. The split depends only on the notification, so a
 * retry that skips the parts already accepted sends exactly the rest.
 */
export function slackMessages(notification: Notification, config: SlackConfig): SlackMessage[] {
  const footer = notification.external_url ? 1 : 0;
  const perMessage = SLACK_LIMITS.blocksPerMessage - 1 - footer;
  const sections = notification.alerts.map((alert) => sectionBlock(alertSection(alert, notification)));
  const groups: Block[][] = [];
  for (let i = 0; i < sections.length; i += perMessage) groups.push(sections.slice(i, i + perMessage));
  if (groups.length === 0) groups.push([]);
  const title = notificationTitle(notification);
  return groups.map((group, i) => {
    const part = groups.length > 1 ? ` (part ${i + 1}/${groups.length})` : "";
    const header = truncate(title, SLACK_LIMITS.headerText - part.length) + part;
    const blocks: Block[] = [{ type: "header", text: { type: "plain_text", text: header, emoji: true } }, ...group];
    if (notification.external_url) blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: truncate(`<${notification.external_url}|Open Vigil>`, SLACK_LIMITS.sectionText) }] });
    return {
      text: truncate(`${title}${part}`, SLACK_LIMITS.text),
      blocks,
      ...(config.channel ? { channel: config.channel } : {}),
      ...(config.username ? { username: config.username } : {}),
      ...(config.icon_emoji ? { icon_emoji: config.icon_emoji } : {}),
    };
  });
}

function sectionBlock(section: AlertSection): Block {
  const icon = section.status === "firing" ? ":red_circle:" : ":large_green_circle:";
  const lines = [`${icon} *${escapeMrkdwn(section.title)}*`];
  if (section.summary) lines.push(escapeMrkdwn(section.summary));
  if (section.description) lines.push(escapeMrkdwn(section.description));
  lines.push(section.fields.map((field) => `*${field.name}:* ${escapeMrkdwn(field.value)}`).join("\n"));
  return { type: "section", text: { type: "mrkdwn", text: truncate(lines.join("\n"), SLACK_LIMITS.sectionText) } };
}

/** Slack reads &, < and > as markup (links, mentions); these three must be escaped, nothing else. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
