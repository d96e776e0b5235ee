import { uuidv7, type Severity } from "@vigil/plugin-sdk";
import {
  CAMPAIGN_EVENT,
  MESSAGE_EVENT,
  SERVER_EVENT,
  SERVER_STATUS_EVENT,
  SOURCE,
  type CampaignAttrs,
  type MessageAttrs,
  type MessageStatus,
  type ServerAttrs,
  type ServerStatus,
  type ServerStatusAttrs,
} from "../contract.js";
import { diagnose } from "../errors.js";
import type { CampaignReport, MessageReport, ServerReport, SmsEvent } from "./types.js";

/**
 * The events the tracker posts, built from reports that passed `inputs.ts`. Free text
 * the app cannot bound (error codes and texts) is cut to a size the event schema
 * accepts, so one long provider message can never get a whole batch refused.
 */

const MAX_ERROR_CODE_LENGTH = 64;
const MAX_ERROR_TEXT_LENGTH = 1024;

const MESSAGE_SEVERITY: Record<MessageStatus, Severity> = { queued: "info", sent: "info", delivered: "info", undelivered: "warning", failed: "warning" };
const SAMPLE_SEVERITY: Record<ServerStatus, Severity> = { up: "info", degraded: "warning", down: "error" };
/** A change is worth more attention than a sample: coming back up is news too. */
const CHANGE_SEVERITY: Record<ServerStatus, Severity> = { up: "notice", degraded: "warning", down: "error" };

function cut(value: string | number | null | undefined, max: number): string {
  if (value === undefined || value === null) return "";
  const text = typeof value === "string" ? value.trim() : String(value);
  return text.length <= max ? text : text.slice(0, max);
}

function millis(value: number | null | undefined): number {
  return value ?? 0;
}

export function campaignEvent(c: CampaignReport, ts: number): SmsEvent<CampaignAttrs> {
  return {
    id: uuidv7(ts),
    ts,
    source: SOURCE,
    type: CAMPAIGN_EVENT,
    severity: "info",
    attrs: { campaign_id: c.id, name: c.name, total: c.total, user: c.user, status: c.status },
  };
}

export function messageEvent(m: MessageReport, toHash: string, ts: number): SmsEvent<MessageAttrs> {
  const kind = m.server.kind;
  const errorCode = cut(m.errorCode, MAX_ERROR_CODE_LENGTH);
  const errorText = cut(m.errorText, MAX_ERROR_TEXT_LENGTH);
  const failed = m.status === "failed" || m.status === "undelivered";
  return {
    id: uuidv7(ts),
    ts,
    source: SOURCE,
    type: MESSAGE_EVENT,
    severity: MESSAGE_SEVERITY[m.status],
    attrs: {
      campaign_id: m.campaignId,
      message_id: m.messageId,
      to_hash: toHash,
      carrier: m.carrier,
      server_kind: kind,
      server_id: m.server.id,
      status: m.status,
      error_code: errorCode,
      error_text: errorText,
      error_category: failed ? diagnose({ reporter: "app", serverKind: kind, code: errorCode, text: errorText }).category : "",
      attempt: m.attempt ?? 1,
      queued_ms: millis(m.queuedMs),
      send_ms: millis(m.sendMs),
      reporter: "app",
    },
  };
}

export function serverEvent(s: ServerReport, ts: number): SmsEvent<ServerAttrs> {
  return {
    id: uuidv7(ts),
    ts,
    source: SOURCE,
    type: SERVER_EVENT,
    severity: SAMPLE_SEVERITY[s.status],
    attrs: { server_kind: s.kind, server_id: s.id, status: s.status, latency_ms: millis(s.latencyMs), error: cut(s.error, MAX_ERROR_TEXT_LENGTH) },
  };
}

export function serverStatusEvent(s: ServerReport, previous: ServerStatus | "unknown", ts: number): SmsEvent<ServerStatusAttrs> {
  return {
    id: uuidv7(ts),
    ts,
    source: SOURCE,
    type: SERVER_STATUS_EVENT,
    severity: CHANGE_SEVERITY[s.status],
    attrs: { server_kind: s.kind, server_id: s.id, status: s.status, previous_status: previous, error: cut(s.error, MAX_ERROR_TEXT_LENGTH) },
  };
}
