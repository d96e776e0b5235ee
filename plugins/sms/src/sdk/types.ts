import type { Severity } from "@vigil/plugin-sdk";
import type { CampaignStatus, MessageStatus, ServerKind, ServerStatus } from "../contract.js";

export interface SmsTrackerOptions {
  /** The local agent's intake. Default `process.env.VIGIL_AGENT_URL ?? "http://127.0.0.1:4601"`. */
  agentUrl?: string;
  /** How often queued events are posted to the agent. Default 1000 ms; 1000 waiting events are posted at once. */
  flushIntervalMs?: number;
  /** Events kept while the agent is unreachable; the oldest are dropped (and counted) beyond it. Default 100,000. */
  maxBacklog?: number;
  /** Key of the HMAC that turns phone numbers into `to_hash`. Default none: plain SHA-256. */
  hashSalt?: string;
  /** Names this app in the ids of its batches (1–64 letters, digits, '.', '_' or '-'). Default "app". */
  app?: string;
}

export interface CampaignReport {
  id: string;
  name: string;
  /** Messages the campaign will send in all. */
  total: number;
  /** Who runs it: the app's user id or name. Reports are per user. */
  user: string;
  status: CampaignStatus;
}

export interface MessageReport {
  campaignId: string;
  /** The app's or the provider's id of the message (a Twilio SID): receipts for it update the same message. */
  messageId: string;
  /** The recipient. Hashed in the app; never sent. */
  to: string;
  /** The recipient's carrier, "" when unknown. */
  carrier: string;
  /** The server that sent it: an SMTP gateway, a proxy or an API provider, by the app's id for it. */
  server: { kind: ServerKind; id: string };
  status: MessageStatus;
  /** The provider's error code: Twilio 30003, SMTP 550, a proxy's ECONNRESET… */
  errorCode?: string | number | null;
  errorText?: string | null;
  /** 1 for the first try. Default 1. */
  attempt?: number | null;
  /** Time in the app's queue before sending, ms. */
  queuedMs?: number | null;
  /** Time the sending server took to accept it, ms. */
  sendMs?: number | null;
}

export interface ServerReport {
  kind: ServerKind;
  id: string;
  status: ServerStatus;
  latencyMs?: number | null;
  /** What went wrong, when it is degraded or down. */
  error?: string | null;
}

/** An event as the tracker posts it. */
export interface SmsEvent<Attrs> {
  id: string;
  ts: number;
  source: "sms";
  type: string;
  severity: Severity;
  attrs: Attrs;
}

export interface SmsTracker {
  /** Reports a campaign's status: an `sms.campaign` event. */
  trackCampaign(campaign: CampaignReport): void;
  /** Reports a message's status: an `sms.message` event, with the number hashed. */
  trackMessage(message: MessageReport): void;
  /** Reports a server's health: an `sms.server` sample, and an `sms.server_status` event when its status changed. */
  trackServer(server: ServerReport): void;
  /** Posts what is queued now; resolves when it was handed over or the post failed (never rejects). */
  flush(): Promise<void>;
  /** Last flush, then stops the timer; later calls are dropped and counted. Safe to call twice. */
  close(): Promise<void>;
  /** Events lost since start: backlog full while the agent was unreachable, refused by the agent, or reported after close(). */
  dropped(): number;
  /** Events waiting to be posted. */
  pending(): number;
  /** Calls ignored because their input was invalid. */
  invalid(): number;
}
