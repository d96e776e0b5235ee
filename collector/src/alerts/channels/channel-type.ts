import type { Logger } from "pino";
import type { z } from "zod";
import type { Notification, SendOutcome } from "../model.js";

export type ChannelKind = "discord" | "slack" | "email" | "webhook" | "alertmanager";

/** A send attempt; `fromPart` skips the parts of a split notification already accepted. */
export interface SendRequest {
  notification: Notification;
  /** Parts (messages) of this notification the destination already accepted on earlier attempts. */
  fromPart: number;
  signal: AbortSignal;
}

/** A send attempt's outcome plus how many parts are accepted in all (so a retry resumes there). */
export type SendResult = SendOutcome & { partsSent: number };

/** An opened destination: one per channel, reused for every send (email pools its SMTP connections). */
export interface ChannelSender {
  send(request: SendRequest): Promise<SendResult>;
  close(): Promise<void>;
}

/**
 * One kind of destination. Its config is validated by `configSchema`; the fields named
 * in `secretFields` (webhook URLs that embed a token, passwords, signing secrets) are
 * stored encrypted and never returned by the API.
 */
export interface ChannelType<Config extends Record<string, unknown> = Record<string, unknown>> {
  kind: ChannelKind;
  configSchema: z.ZodType<Config>;
  secretFields: readonly string[];
  open(config: Config, ctx: { log: Logger }): ChannelSender;
}
