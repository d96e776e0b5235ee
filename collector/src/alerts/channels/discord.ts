import { z } from "zod";
import type { AlertView, Notification } from "../model.js";
import type { ChannelType, SendResult } from "./channel-type.js";
import { alertSection, notificationTitle, truncate } from "./format.js";
import { postJson } from "./http-send.js";

// Discord's documented message limits (developer docs, "Embed Limits" and "Execute Webhook").
export const DISCORD_LIMITS = {
  content: 2000,
  embedsPerMessage: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  /** Title, description, field names and values and footer of all embeds of one message together. */
  embedTotal: 6000,
} as const;

const RED = 0xd93f3f;
const GREEN = 0x2f9e44;
const WEBHOOK_PATH = /^\/api(?:\/v\d+)?\/webhooks\/\d+\/[\w-]+\/?$/;

export const discordConfigSchema = z
  .object({
    webhook_url: z
      .url({ protocol: /^https?$/, error: "webhook_url must be a Discord webhook URL like https://discord.com/api/webhooks/<id>/<token>" })
      // An unparsable URL is already reported by the check above.
      .refine((url) => !URL.canParse(url) || WEBHOOK_PATH.test(new URL(url).pathname), {
        error: "webhook_url must end in /api/webhooks/<id>/<token>: copy it from the channel's Integrations → Webhooks → Copy Webhook URL",
      })
      // Any host is accepted (not only discord.com / discordapp.com) so a proxy or a test server can stand in.
      .describe("The channel webhook's URL (secret: it embeds the webhook's token)."),
    username: z
      .string()
      .trim()
      .min(1, "username must not be empty; leave it out to use the webhook's own name")
      .max(80, "username must be at most 80 characters (Discord's limit)")
      .refine((name) => !/discord|clyde/i.test(name), { error: 'username must not contain "discord" or "clyde": Discord refuses such names' })
      .optional()
      .describe("Name the messages are posted under, instead of the webhook's name."),
    avatar_url: z.url({ protocol: /^https?$/, error: "avatar_url must be an http(s) URL of an image" }).optional().describe("Avatar image of the messages."),
    mention: z
      .string()
      .trim()
      .max(200, "mention must be at most 200 characters")
      .optional()
      .describe('Put before each message, e.g. "<@&role-id>", "<@user-id>" or "@here"; only what is named here can ping.'),
  })
  .strict();

export type DiscordConfig = z.output<typeof discordConfigSchema>;

interface Embed {
  title: string;
  description?: string;
  color: number;
  fields: { name: string; value: string; inline: boolean }[];
  footer: { text: string };
  timestamp: string;
}

export interface DiscordMessage {
  content: string;
  embeds: Embed[];
  username?: string;
  avatar_url?: string;
  allowed_mentions: { parse: "everyone"[]; users: string[]; roles: string[] };
}

export const discordChannel: ChannelType<DiscordConfig> = {
  kind: "discord",
  configSchema: discordConfigSchema,
  secretFields: ["webhook_url"],
  open(config) {
    // wait=true makes Discord answer 200 once the message exists, instead of 204 before it is posted.
    const url = new URL(config.webhook_url);
    url.searchParams.set("wait", "true");
    return {
      async send({ notification, fromPart, signal }): Promise<SendResult> {
        const messages = discordMessages(notification, config);
        for (let part = fromPart; part < messages.length; part++) {
          const outcome = await postJson({ url: url.toString(), body: JSON.stringify(messages[part]), signal });
          if (!outcome.ok) return { ...outcome, partsSent: part };
        }
        return { ok: true, partsSent: Math.max(fromPart, messages.length) };
      },
      async close() {},
    };
  },
};

/**
 * The messages one notification becomes: one embed per alert, as many per message as
 * Discord's limits allow. The split depends only on the notification, so a retry that
 * skips the parts already accepted sends exactly the rest.
 */
export function discordMessages(notification: Notification, config: DiscordConfig): DiscordMessage[] {
  const embeds = notification.alerts.map((alert) => fitEmbed(embedFor(alert, notification)));
  const groups: Embed[][] = [];
  let current: Embed[] = [];
  let chars = 0;
  for (const embed of embeds) {
    const size = embedChars(embed);
    if (current.length > 0 && (current.length >= DISCORD_LIMITS.embedsPerMessage || chars + size > DISCORD_LIMITS.embedTotal)) {
      groups.push(current);
      current = [];
      chars = 0;
    }
    current.push(embed);
    chars += size;
  }
  groups.push(current);
  const title = notificationTitle(notification);
  return groups.map((group, i) => {
    const part = groups.length > 1 ? ` (part ${i + 1}/${groups.length})` : "";
    const lead = config.mention ? `${config.mention} ` : "";
    return {
      content: truncate(`${lead}${truncate(title, DISCORD_LIMITS.content - lead.length - part.length)}${part}`, DISCORD_LIMITS.content),
      embeds: group,
      ...(config.username ? { username: config.username } : {}),
      ...(config.avatar_url ? { avatar_url: config.avatar_url } : {}),
      allowed_mentions: allowedMentions(config.mention),
    };
  });
}

function embedFor(alert: AlertView, notification: Notification): Embed {
  const section = alertSection(alert, notification);
  const description = [section.summary, section.description].filter(Boolean).join("\n\n");
  return {
    title: truncate(`${section.status === "firing" ? "Firing" : "Resolved"}: ${section.title}`, DISCORD_LIMITS.title),
    ...(description ? { description: truncate(description, DISCORD_LIMITS.description) } : {}),
    color: section.status === "firing" ? RED : GREEN,
    fields: section.fields.slice(0, DISCORD_LIMITS.fields).map((field) => ({
      name: truncate(field.name, DISCORD_LIMITS.fieldName),
      // Discord refuses empty field values.
      value: truncate(field.value || "-", DISCORD_LIMITS.fieldValue),
      inline: field.name !== "Labels",
    })),
    footer: { text: truncate(`Vigil · ${alert.rule_name}`, DISCORD_LIMITS.footer) },
    timestamp: alert.ends_at ?? alert.starts_at,
  };
}

/** Shrinks an embed whose texts fit one by one but not together: the description gives way first, then the last fields. */
function fitEmbed(embed: Embed): Embed {
  let over = embedChars(embed) - DISCORD_LIMITS.embedTotal;
  if (over <= 0) return embed;
  const fitted = { ...embed, fields: [...embed.fields] };
  if (fitted.description) {
    const kept = fitted.description.length - over;
    if (kept > 1) fitted.description = truncate(fitted.description, kept);
    else delete fitted.description;
  }
  over = embedChars(fitted) - DISCORD_LIMITS.embedTotal;
  while (over > 0 && fitted.fields.length > 0) {
    fitted.fields.pop();
    over = embedChars(fitted) - DISCORD_LIMITS.embedTotal;
  }
  return fitted;
}

/** The characters Discord counts towards the 6000 of a message. */
export function embedChars(embed: { title: string; description?: string; fields: { name: string; value: string }[]; footer: { text: string } }): number {
  const fields = embed.fields.reduce((sum, field) => sum + field.name.length + field.value.length, 0);
  return embed.title.length + (embed.description?.length ?? 0) + fields + embed.footer.text.length;
}

/** Only the mentions the channel's config names may ping: label values in the title never do. */
function allowedMentions(mention: string | undefined): DiscordMessage["allowed_mentions"] {
  const text = mention ?? "";
  return {
    parse: /@(everyone|here)\b/.test(text) ? ["everyone"] : [],
    users: [...new Set([...text.matchAll(/<@!?(\d+)>/g)].map((m) => m[1]!))].slice(0, 100),
    roles: [...new Set([...text.matchAll(/<@&(\d+)>/g)].map((m) => m[1]!))].slice(0, 100),
  };
}
