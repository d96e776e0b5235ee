import { createHash, createHmac } from "node:crypto";
import type { MessageStatus } from "../contract.js";
import type { VonageSignatureMethod } from "./config.js";
import { idProblem, parseAttempt, type Interpretation } from "./receipt.js";
import { byCodeUnits, param, sameSignature, type Params } from "./signature.js";

/** Vonage's delivery-receipt statuses; `unknown` says nothing and is ignored. */
const STATUS_MAP: Record<string, MessageStatus> = {
  delivered: "delivered",
  accepted: "sent",
  buffered: "sent",
  expired: "undelivered",
  failed: "failed",
  rejected: "failed",
};

/** Oldest and newest `message-timestamp` taken as the status's time; outside, the arrival time is used. */
const PROVIDER_TIME_PAST_MS = 7 * 86_400_000;
const PROVIDER_TIME_FUTURE_MS = 5 * 60_000;

/**
 * Vonage's signed-webhook `sig` (developer.vonage.com, "Signing messages"): every
 * parameter but `sig`, sorted by name, written `&name=value` with "&" and "=" inside
 * values replaced by "_"; then MD5 of that string followed by the secret ("md5hash"),
 * or an HMAC of it keyed by the secret. Lower-case hex.
 */
export function vonageSignature(secret: string, method: VonageSignatureMethod, params: Params): string {
  const latest = new Map<string, string>();
  for (const [name, value] of params) if (name !== "sig") latest.set(name, value);
  const signed = [...latest.keys()]
    .sort(byCodeUnits)
    .map((name) => `&${name}=${latest.get(name)!.replace(/[&=]/g, "_")}`)
    .join("");
  if (method === "md5hash") return createHash("md5").update(signed + secret, "utf8").digest("hex");
  return createHmac(method, secret).update(signed, "utf8").digest("hex");
}

/** Whether the parameters carry Vonage's valid `sig`; hex is compared without regard to case, as Vonage's libraries do. */
export function verifyVonageSignature(secret: string, method: VonageSignatureMethod, params: Params): boolean {
  const sig = param(params, "sig");
  if (!sig) return false;
  return sameSignature(sig.toLowerCase(), vonageSignature(secret, method, params));
}

/** "2026-11-27 10:00:00" (UTC, Vonage's format) → epoch ms, or undefined. */
function parseVonageTimestamp(value: string | undefined): number | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})$/.exec(value?.trim() ?? "");
  if (!match) return undefined;
  const ms = Date.parse(`${match[1]}T${match[2]}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A delivery receipt's parameters (JSON, form or query) read as a receipt; `query` may hold `campaign_id`/`attempt`. */
export function interpretVonage(params: Params, query: URLSearchParams, receivedAt: number): Interpretation {
  const providerStatus = (param(params, "status") ?? "").trim().toLowerCase();
  if (providerStatus === "") return { kind: "invalid", reason: "status is missing" };
  if (providerStatus === "unknown") return { kind: "ignored", reason: 'status "unknown" says nothing about the message' };
  const status = STATUS_MAP[providerStatus];
  if (status === undefined) return { kind: "ignored", reason: `status "${providerStatus}" is not a status this plugin maps` };
  const messageId = (param(params, "messageId") ?? "").trim();
  const campaignId = (param(params, "client-ref") ?? "").trim() || (query.get("campaign_id") ?? "");
  const problem = idProblem(messageId, campaignId);
  if (problem) return { kind: "invalid", reason: problem };
  const errorCode = (param(params, "err-code") ?? "").trim();
  const providerTime = parseVonageTimestamp(param(params, "message-timestamp"));
  const networkCode = (param(params, "network-code") ?? "").trim();
  return {
    kind: "receipt",
    receipt: {
      reporter: "vonage",
      messageId,
      campaignId,
      to: param(params, "msisdn") ?? "",
      status,
      providerStatus,
      // "0" is Vonage's "no error".
      errorCode: errorCode === "0" ? "" : errorCode,
      errorText: "",
      attempt: parseAttempt(query.get("attempt") ?? undefined),
      ts:
        providerTime !== undefined && providerTime >= receivedAt - PROVIDER_TIME_PAST_MS && providerTime <= receivedAt + PROVIDER_TIME_FUTURE_MS
          ? providerTime
          : receivedAt,
      extra: networkCode ? { network_code: networkCode } : {},
    },
  };
}
