import type { ChannelKind, ChannelType } from "./channel-type.js";
import { alertmanagerChannel } from "./alertmanager.js";
import { discordChannel } from "./discord.js";
import { emailChannel } from "./email.js";
import { slackChannel } from "./slack.js";
import { webhookChannel } from "./webhook.js";

export type { ChannelKind, ChannelSender, ChannelType, SendRequest, SendResult } from "./channel-type.js";
export { verifyWebhookSignature, signWebhookBody, NOTIFICATION_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./webhook.js";

/** Every kind of destination, by the `kind` a channel's config names. */
export const channelTypes: Record<ChannelKind, ChannelType> = {
  discord: discordChannel,
  slack: slackChannel,
  email: emailChannel,
  webhook: webhookChannel,
  alertmanager: alertmanagerChannel,
};

export const channelKinds = Object.keys(channelTypes) as ChannelKind[];

export function channelType(kind: ChannelKind): ChannelType {
  return channelTypes[kind];
}
