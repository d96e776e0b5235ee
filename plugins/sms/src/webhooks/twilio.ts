import { createHmac } from "node:crypto";
import type { MessageStatus } from "../contract.js";
import { idProblem, parseAttempt, type Interpretation } from "./receipt.js";
import { byCodeUnits, param, sameSignature, type Params } from "./signature.js";

export const TWILIO_SIGNATURE_HEADER = "x-twilio-signature";
/** Present when a Webhook Rule signed the request with its own shared key instead of the Auth Token. */
export const TWILIO_SIGNATURE_SETTINGS_HEADER = "x-twilio-webhooks-signature-settings";

/**
 * Twilio's MessageStatus values and what each means here. `receiving`/`received` are
 * inbound messages, not receipts of ours; a status Twilio adds later is ignored until
 * it is mapped, never guessed.
 */
const STATUS_MAP: Record<string, MessageStatus | "inbound"> = {
  accepted: "queued",
  scheduled: "queued",
  queued: "queued",
  sending: "sent",
  sent: "sent",
  delivered: "delivered",
  read: "delivered",
  undelivered: "undelivered",
  failed: "failed",
  canceled: "failed",
  receiving: "inbound",
  received: "inbound",
};

/**
 * X-Twilio-Signature: base64 of HMAC-SHA1 keyed by the auth token, over the URL Twilio
 * called followed by every POST parameter's name and value, sorted by name, with no
 * separators. A repeated name contributes each distinct value once, values sorted (what
 * Twilio's own validators do).
 */
export function twilioSignature(authToken: string, url: string, params: Params): string {
  const valuesByName = new Map<string, Set<string>>();
  for (const [name, value] of params) (valuesByName.get(name) ?? valuesByName.set(name, new Set()).get(name)!).add(value);
  const hmac = createHmac("sha1", authToken).update(url, "utf8");
  for (const name of [...valuesByName.keys()].sort(byCodeUnits)) {
    for (const value of [...valuesByName.get(name)!].sort(byCodeUnits)) hmac.update(name + value, "utf8");
  }
  return hmac.digest("base64");
}

const DEFAULT_PORTS: Record<string, string> = { "http:": "80", "https:": "443" };

/**
 * The URL as written, and the same URL with its default port added or removed: Twilio
 * has signed both forms over time, and its own libraries accept either.
 */
export function signedUrlVariants(url: string): string[] {
  const match = /^(https?:)\/\/([^/?#]*)(.*)$/i.exec(url);
  if (!match) return [url];
  const [, scheme, authority, rest] = match as unknown as [string, string, string, string];
  const defaultPort = DEFAULT_PORTS[scheme.toLowerCase()]!;
  const port = /:(\d+)$/.exec(authority)?.[1];
  if (port === undefined) return [url, `${scheme}//${authority}:${defaultPort}${rest}`];
  if (port === defaultPort) return [url, `${scheme}//${authority.slice(0, -(port.length + 1))}${rest}`];
  return [url];
}

/** Whether `signature` is Twilio's for this URL and these parameters; every variant is computed, so timing says nothing. */
export function verifyTwilioSignature(authToken: string, signature: string | undefined, url: string, params: Params): boolean {
  if (!signature) return false;
  let valid = false;
  for (const variant of signedUrlVariants(url)) valid = sameSignature(signature, twilioSignature(authToken, variant, params)) || valid;
  return valid;
}

/** A signed status callback's parameters, read as a receipt; `query` is the callback URL's own (campaign_id, attempt). */
export function interpretTwilio(params: Params, query: URLSearchParams, receivedAt: number): Interpretation {
  const providerStatus = (param(params, "MessageStatus") ?? param(params, "SmsStatus") ?? "").trim().toLowerCase();
  if (providerStatus === "") return { kind: "invalid", reason: "MessageStatus is missing" };
  const status = STATUS_MAP[providerStatus];
  if (status === "inbound") return { kind: "ignored", reason: `MessageStatus "${providerStatus}" is an inbound message, not a delivery receipt` };
  if (status === undefined) return { kind: "ignored", reason: `MessageStatus "${providerStatus}" is not a status this plugin maps` };
  const messageId = (param(params, "MessageSid") ?? param(params, "SmsSid") ?? "").trim();
  const campaignId = query.get("campaign_id") ?? "";
  const problem = idProblem(messageId, campaignId);
  if (problem) return { kind: "invalid", reason: problem };
  return {
    kind: "receipt",
    receipt: {
      reporter: "twilio",
      messageId,
      campaignId,
      to: param(params, "To") ?? "",
      status,
      providerStatus,
      errorCode: (param(params, "ErrorCode") ?? "").trim(),
      errorText: (param(params, "ErrorMessage") ?? "").trim(),
      attempt: parseAttempt(query.get("attempt") ?? undefined),
      ts: receivedAt,
      extra: {},
    },
  };
}
