import { MAX_ATTR_VALUE_LENGTH, uuidv7, type EventInput } from "@vigil/plugin-sdk";
import { FINAL_STATUSES, MESSAGE_EVENT, SOURCE, type MessageAttrs, type MessageStatus } from "../contract.js";
import { diagnose } from "../errors.js";
import { hashPhoneNumber } from "../phone.js";

export type Provider = "twilio" | "vonage";

/** What became of one request to a provider's route; the `outcome` label of the receipts metric. */
export const OUTCOMES = ["accepted", "rejected_signature", "ignored", "invalid", "queue_error"] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** A provider's delivery receipt, read and checked, in the plugin's terms. */
export interface Receipt {
  reporter: Provider;
  messageId: string;
  /** The app's campaign id (query `campaign_id=` or Vonage's client-ref), "" when none. */
  campaignId: string;
  /** The recipient's number as the provider wrote it; only its hash leaves the agent. */
  to: string;
  status: MessageStatus;
  /** The provider's own word for the status ("read", "buffered", …). */
  providerStatus: string;
  errorCode: string;
  errorText: string;
  /** 0 when the callback URL did not say (the app's `attempt=`). */
  attempt: number;
  /** When the status happened, epoch ms: the provider's time when it gives one, else the arrival. */
  ts: number;
  /** More attrs a provider knows (Vonage's network_code). */
  extra: Record<string, string>;
}

export type Interpretation = { kind: "receipt"; receipt: Receipt } | { kind: "ignored"; reason: string } | { kind: "invalid"; reason: string };

/** Longest message or campaign id accepted: ids, not documents. */
export const MAX_ID_LENGTH = 256;
const MAX_ERROR_TEXT_LENGTH = 1024;
const MAX_ATTEMPT = 1000;

/** The app's `attempt=` (1 for the first try); anything else is "not known" (0), never a reason to lose a receipt. */
export function parseAttempt(value: string | undefined): number {
  if (value === undefined || !/^\d{1,4}$/.test(value)) return 0;
  const attempt = Number(value);
  return attempt >= 1 && attempt <= MAX_ATTEMPT ? attempt : 0;
}

/** Checks the ids every receipt needs; a reason when they are unusable. */
export function idProblem(messageId: string, campaignId: string): string | undefined {
  if (messageId === "") return "the message id is missing";
  if (messageId.length > MAX_ID_LENGTH) return `the message id is longer than ${MAX_ID_LENGTH} characters`;
  if (campaignId.length > MAX_ID_LENGTH) return `the campaign id is longer than ${MAX_ID_LENGTH} characters`;
  return undefined;
}

/**
 * The `sms.message` event of a receipt, with every attr of `MessageAttrs`: what the
 * collector needs to file a status update of a message it may or may not have heard of
 * from the app. The server, carrier, queue and send times are the app's to report ("" / 0).
 */
export function receiptEvent(receipt: Receipt, hashSalt: string | undefined): EventInput {
  const failed = FINAL_STATUSES.includes(receipt.status) && receipt.status !== "delivered";
  const errorText = receipt.errorText || (receipt.errorCode ? knownTitle(receipt) : "");
  const attrs: MessageAttrs & Record<string, string | number> = {
    campaign_id: receipt.campaignId,
    message_id: receipt.messageId,
    to_hash: hashPhoneNumber(receipt.to, hashSalt),
    carrier: "",
    server_kind: "",
    server_id: "",
    status: receipt.status,
    error_code: receipt.errorCode,
    error_text: errorText.slice(0, Math.min(MAX_ERROR_TEXT_LENGTH, MAX_ATTR_VALUE_LENGTH)),
    error_category: failed ? diagnose({ reporter: receipt.reporter, serverKind: "api", code: receipt.errorCode, text: errorText }).category : "",
    attempt: receipt.attempt,
    queued_ms: 0,
    send_ms: 0,
    reporter: receipt.reporter,
    provider_status: receipt.providerStatus,
    ...receipt.extra,
  };
  return { id: uuidv7(receipt.ts), ts: receipt.ts, source: SOURCE, type: MESSAGE_EVENT, severity: failed ? "warning" : "info", attrs };
}

/** The error table's title for a code the provider sent without a text (Vonage never sends one). */
function knownTitle(receipt: Receipt): string {
  const diagnosis = diagnose({ reporter: receipt.reporter, serverKind: "api", code: receipt.errorCode, text: "" });
  return diagnosis.known ? diagnosis.title : "";
}
