/**
 * The one definition the SMS plugin's three parts share: the in-app SDK (`./sdk`) emits
 * these events, the agent part (delivery-receipt webhooks) emits `sms.message` updates,
 * the collector part files them into its tables and answers the `/api/sms/…` API.
 */

export const SOURCE = "sms";

/** A campaign's lifecycle: attrs `CampaignAttrs`. */
export const CAMPAIGN_EVENT = "sms.campaign";
/** A message's status, from the sending app or a provider's delivery receipt: attrs `MessageAttrs`. */
export const MESSAGE_EVENT = "sms.message";
/** A health sample of a sending server: attrs `ServerAttrs`. */
export const SERVER_EVENT = "sms.server";
/** A sending server changed status (up ⇄ degraded ⇄ down): attrs `ServerStatusAttrs`. For the alert engine. */
export const SERVER_STATUS_EVENT = "sms.server_status";

export const CAMPAIGN_STATUSES = ["created", "started", "paused", "completed"] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

export const MESSAGE_STATUSES = ["queued", "sent", "delivered", "undelivered", "failed"] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** Final statuses: a message never moves back from one of these, whatever order receipts arrive in. */
export const FINAL_STATUSES: readonly MessageStatus[] = ["delivered", "undelivered", "failed"];

/**
 * The order statuses can only move forward in: a later update of lower rank (a "sent"
 * receipt arriving after "delivered") is ignored. Finals share the top rank; between two
 * finals the later report wins.
 */
export const STATUS_RANK: Record<MessageStatus, number> = { queued: 1, sent: 2, delivered: 3, undelivered: 3, failed: 3 };

export const SERVER_KINDS = ["smtp", "proxy", "api"] as const;
export type ServerKind = (typeof SERVER_KINDS)[number];

export const SERVER_STATUSES = ["up", "degraded", "down"] as const;
export type ServerStatus = (typeof SERVER_STATUSES)[number];

export interface CampaignAttrs {
  campaign_id: string;
  name: string;
  /** Messages the campaign will send in all. */
  total: number;
  /** Who runs it (the app's user id or name); reports are per user. */
  user: string;
  status: CampaignStatus;
}

export interface MessageAttrs {
  campaign_id: string;
  message_id: string;
  /** SHA-256 of the normalised number (hex, first 32 characters): never the number itself. */
  to_hash: string;
  /** Empty in a provider's receipt (the app's report carries it). */
  carrier: string;
  server_kind: ServerKind | "";
  server_id: string;
  status: MessageStatus;
  /** The provider's error code (Twilio 30003, SMTP 550, …) or empty. */
  error_code: string;
  error_text: string;
  /** The error's category from the error table (`errors.ts`), or empty when it did not fail. */
  error_category: string;
  /** 1 for the first try. */
  attempt: number;
  /** Time in the app's queue before sending, ms (0 when unknown). */
  queued_ms: number;
  /** Time the sending server took to accept it, ms (0 when unknown). */
  send_ms: number;
  /** Who reported: "app" (SDK), "twilio", "vonage". */
  reporter: string;
}

export interface ServerAttrs {
  server_kind: ServerKind;
  server_id: string;
  status: ServerStatus;
  latency_ms: number;
  error: string;
}

export interface ServerStatusAttrs {
  server_kind: ServerKind;
  server_id: string;
  status: ServerStatus;
  previous_status: ServerStatus | "unknown";
  error: string;
}
