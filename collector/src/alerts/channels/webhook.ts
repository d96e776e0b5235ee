import { createHmac, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import type { Notification } from "../model.js";
import type { ChannelType, SendResult } from "./channel-type.js";
import { postJson } from "./http-send.js";

export const NOTIFICATION_ID_HEADER = "Vigil-Notification-Id";
export const TIMESTAMP_HEADER = "Vigil-Timestamp";
export const SIGNATURE_HEADER = "Vigil-Signature";
/** What Alertmanager puts in `endsAt` while an alert fires: Go's zero time. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";
/** How old a signature `verifyWebhookSignature` accepts by default, against replays. */
export const DEFAULT_SIGNATURE_MAX_AGE_SECONDS = 300;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Headers the channel itself sets, or that only the HTTP layer may set.
const RESERVED_HEADERS = new Set(["host", "content-type", "content-length", "transfer-encoding", "connection"]);

export const webhookConfigSchema = z
  .object({
    url: z.url({ protocol: /^https?$/, error: "url must be an http(s) URL like https://example.com/hooks/vigil" }).describe("Where to POST (secret: such URLs often embed a token)."),
    hmac_secret: z
      .string()
      .min(16, "hmac_secret must be at least 16 characters; generate one with `openssl rand -hex 32`")
      .max(1024)
      .optional()
      .describe("Signs each request: Vigil-Signature: sha256=<hex HMAC-SHA256 of \"<Vigil-Timestamp>.<body>\"> (secret)."),
    headers: z
      .record(
        z.string().regex(HEADER_NAME, "headers: a header name may hold only letters, digits and !#$%&'*+.^_`|~-"),
        z.string().max(8192).regex(/^[^\r\n\0]*$/, "headers: a header value must be one line"),
      )
      .refine((headers) => Object.keys(headers).every((name) => !RESERVED_HEADERS.has(name.toLowerCase()) && !name.toLowerCase().startsWith("vigil-")), {
        error: "headers must not set Host, Content-Type, Content-Length, Transfer-Encoding, Connection or Vigil-*: the channel sets those itself",
      })
      .optional()
      .describe('Extra headers for every request, e.g. {"Authorization": "Bearer …"} (secret).'),
  })
  .strict();

export type WebhookConfig = z.output<typeof webhookConfigSchema>;

/** The JSON Alertmanager's webhook receiver posts (version 4), so its existing consumers read ours. */
export interface AlertmanagerWebhookBody {
  version: "4";
  groupKey: string;
  truncatedAlerts: number;
  status: "firing" | "resolved";
  receiver: string;
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  externalURL: string;
  alerts: {
    status: "firing" | "resolved";
    labels: Record<string, string>;
    annotations: Record<string, string>;
    startsAt: string;
    endsAt: string;
    generatorURL: string;
    fingerprint: string;
  }[];
  /** Ours: the same on every retry, so a receiver can drop repeats. */
  notificationId: string;
}

export const webhookChannel: ChannelType<WebhookConfig> = {
  kind: "webhook",
  configSchema: webhookConfigSchema,
  secretFields: ["url", "hmac_secret", "headers"],
  open(config) {
    return {
      async send({ notification, fromPart, signal }): Promise<SendResult> {
        if (fromPart >= 1) return { ok: true, partsSent: 1 };
        const body = JSON.stringify(webhookBody(notification));
        const headers: Record<string, string> = { ...config.headers, [NOTIFICATION_ID_HEADER]: notification.id };
        if (config.hmac_secret !== undefined) {
          // Signed at each attempt, so the timestamp says when this delivery left.
          const timestamp = String(Math.floor(Date.now() / 1000));
          headers[TIMESTAMP_HEADER] = timestamp;
          headers[SIGNATURE_HEADER] = signWebhookBody(config.hmac_secret, timestamp, body);
        }
        const outcome = await postJson({ url: config.url, body, headers, signal });
        return { ...outcome, partsSent: outcome.ok ? 1 : 0 };
      },
      async close() {},
    };
  },
};

export function webhookBody(notification: Notification): AlertmanagerWebhookBody {
  return {
    version: "4",
    groupKey: notification.group_key,
    truncatedAlerts: 0,
    status: notification.status,
    receiver: notification.channel_name,
    groupLabels: notification.group_labels,
    commonLabels: common(notification.alerts.map((alert) => alert.labels)),
    commonAnnotations: common(notification.alerts.map((alert) => alert.annotations)),
    externalURL: notification.external_url ?? "",
    alerts: notification.alerts.map((alert) => ({
      status: alert.status,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.starts_at,
      endsAt: alert.ends_at ?? ZERO_TIME,
      generatorURL: generatorUrl(notification),
      fingerprint: alert.fingerprint,
    })),
    notificationId: notification.id,
  };
}

/** Where the alert came from, for a human: the collector's public URL when one is configured. */
export function generatorUrl(notification: Notification): string {
  return notification.external_url ?? "";
}

/** `sha256=<hex>` of HMAC-SHA256 over "<timestamp>.<raw body>": the Vigil-Signature header. */
export function signWebhookBody(secret: string, timestamp: string, rawBody: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(`${timestamp}.`).update(rawBody).digest("hex")}`;
}

/**
 * Checks a request's Vigil-Signature against the raw body (the bytes received, before
 * any JSON parsing) in constant time, and refuses timestamps older than `maxAgeSeconds`
 * (300 by default; Infinity turns the check off) so a captured request cannot be replayed later.
 */
export function verifyWebhookSignature(
  secret: string,
  timestamp: string | undefined,
  rawBody: string | Buffer,
  signatureHeader: string | undefined,
  { maxAgeSeconds = DEFAULT_SIGNATURE_MAX_AGE_SECONDS, now = Date.now() }: { maxAgeSeconds?: number; now?: number } = {},
): boolean {
  if (timestamp === undefined || signatureHeader === undefined || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(now / 1000 - Number(timestamp)) > maxAgeSeconds) return false;
  const expected = Buffer.from(signWebhookBody(secret, timestamp, rawBody));
  const given = Buffer.from(signatureHeader.trim());
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The entries every record has with the same value, as Alertmanager's commonLabels/commonAnnotations. */
function common(records: Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = records;
  if (!first) return {};
  return Object.fromEntries(Object.entries(first).filter(([key, value]) => rest.every((record) => record[key] === value)));
}
