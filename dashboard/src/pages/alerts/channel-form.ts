import { ApiFailure } from "../../lib/api.js";
import { session } from "../../lib/session.svelte.js";
import type { PairDraft } from "./rule-form.js";
import type { Channel, ChannelKind, TestResult } from "./types.js";

/**
 * Channel forms: the settings of each kind (collector/src/alerts/channels/*.ts) and the
 * mapping between the form and `POST/PUT /api/alerts/channels`.
 *
 * Secrets are write-only. The API never returns them (only `secrets_set` names those
 * stored), the form never fills a secret input from anything it was given, and an empty
 * secret input is left out of the body, which keeps the stored value on a replace.
 */

export type FieldType = "text" | "number" | "boolean" | "list" | "secret" | "secret-headers";

export interface ChannelField {
  name: string;
  label: string;
  type: FieldType;
  hint?: string;
  placeholder?: string;
  required?: boolean;
}

export const CHANNEL_KINDS: { value: ChannelKind; label: string }[] = [
  { value: "discord", label: "Discord" },
  { value: "slack", label: "Slack" },
  { value: "email", label: "Email" },
  { value: "webhook", label: "Webhook" },
  { value: "alertmanager", label: "Alertmanager" },
];

export const CHANNEL_FIELDS: Record<ChannelKind, ChannelField[]> = {
  discord: [
    { name: "webhook_url", label: "Webhook URL", type: "secret", required: true, placeholder: "https://discord.com/api/webhooks/…", hint: "Channel settings → Integrations → Webhooks → Copy Webhook URL." },
    { name: "username", label: "Post as", type: "text", placeholder: "the webhook's name" },
    { name: "avatar_url", label: "Avatar URL", type: "text", placeholder: "https://…/avatar.png" },
    { name: "mention", label: "Mention", type: "text", placeholder: "<@&role-id> or @here", hint: "Put before each message; only what is named here can ping." },
  ],
  slack: [
    { name: "webhook_url", label: "Webhook URL", type: "secret", required: true, placeholder: "https://hooks.slack.com/services/…", hint: "An incoming webhook of your Slack app." },
    { name: "channel", label: "Channel", type: "text", placeholder: "#alerts", hint: "Legacy webhooks only." },
    { name: "username", label: "Post as", type: "text", hint: "Legacy webhooks only." },
    { name: "icon_emoji", label: "Icon emoji", type: "text", placeholder: ":rotating_light:" },
  ],
  email: [
    { name: "host", label: "SMTP host", type: "text", required: true, placeholder: "smtp.example.com" },
    { name: "port", label: "Port", type: "number", placeholder: "587", hint: "587 (STARTTLS), 465 (TLS: tick “TLS from the start”) or 25." },
    { name: "secure", label: "TLS from the start (port 465)", type: "boolean" },
    { name: "require_tls", label: "Refuse to send without TLS", type: "boolean" },
    { name: "user", label: "SMTP user", type: "text", hint: "Leave empty when the server needs no login." },
    { name: "password", label: "SMTP password", type: "secret" },
    { name: "from", label: "From", type: "text", required: true, placeholder: "Vigil <alerts@example.com>" },
    { name: "to", label: "To", type: "list", placeholder: "ops@example.com, oncall@example.com", hint: "Addresses separated by commas." },
    { name: "to_label", label: "Also to the address in label", type: "text", placeholder: "notification_email" },
    { name: "subject_prefix", label: "Subject prefix", type: "text", placeholder: "[vigil]" },
  ],
  webhook: [
    { name: "url", label: "URL", type: "secret", required: true, placeholder: "https://example.com/hooks/vigil", hint: "Receives the Alertmanager webhook JSON. Kept secret: such URLs often hold a token." },
    { name: "hmac_secret", label: "Signing secret", type: "secret", placeholder: "at least 16 characters", hint: "Optional: signs each request (Vigil-Signature). Generate one with openssl rand -hex 32." },
    { name: "headers", label: "Extra headers", type: "secret-headers", hint: "Optional, e.g. Authorization. Kept secret." },
  ],
  alertmanager: [
    { name: "url", label: "Alertmanager URL", type: "text", required: true, placeholder: "http://alertmanager:9093", hint: "Its base URL; /api/v2/alerts is added." },
    { name: "user", label: "Basic auth user", type: "text" },
    { name: "password", label: "Basic auth password", type: "secret" },
    { name: "bearer_token", label: "Bearer token", type: "secret", hint: "Instead of user and password." },
  ],
};

export interface ChannelDraft {
  name: string;
  kind: ChannelKind;
  /** Text of every text, number, list and secret field, by name. */
  values: Record<string, string>;
  checks: Record<string, boolean>;
  /** The webhook's extra headers (secret: empty on edit). */
  headers: PairDraft[];
}

/** Every field of every kind starts empty (bound inputs need a value; switching kinds keeps what was typed). */
export function emptyChannel(kind: ChannelKind = "webhook"): ChannelDraft {
  const values: Record<string, string> = {};
  const checks: Record<string, boolean> = {};
  for (const fields of Object.values(CHANNEL_FIELDS)) {
    for (const field of fields) {
      if (field.type === "boolean") checks[field.name] = false;
      else values[field.name] = "";
    }
  }
  return { name: "", kind, values, checks, headers: [] };
}

/**
 * A channel from the API → the form. Only the kind's non-secret fields are read from its
 * config; secret inputs start empty whatever the config holds.
 */
export function draftFromChannel(channel: Channel): ChannelDraft {
  const draft = emptyChannel(channel.kind);
  draft.name = channel.name;
  for (const field of CHANNEL_FIELDS[channel.kind] ?? []) {
    const value = channel.config[field.name];
    if (field.type === "secret" || field.type === "secret-headers" || value === undefined || value === null) continue;
    if (field.type === "boolean") draft.checks[field.name] = value === true;
    else if (field.type === "list") draft.values[field.name] = Array.isArray(value) ? value.map(String).join(", ") : String(value);
    else draft.values[field.name] = String(value);
  }
  return draft;
}

/** Whether a secret of the channel being edited is stored (and so may be left empty). */
export function secretKept(channel: Channel | undefined, kind: ChannelKind, field: string): boolean {
  return channel !== undefined && channel.kind === kind && channel.secrets_set.includes(field);
}

/** The form → `{name, kind, config}`. Empty fields are left out: secrets keep their stored value, others their default. */
export function toChannelBody(draft: ChannelDraft): { name: string; kind: ChannelKind; config: Record<string, unknown> } {
  const config: Record<string, unknown> = {};
  for (const field of CHANNEL_FIELDS[draft.kind]) {
    const text = (draft.values[field.name] ?? "").trim();
    switch (field.type) {
      case "boolean":
        if (draft.checks[field.name]) config[field.name] = true;
        break;
      case "number": {
        const n = Number(text);
        if (text) config[field.name] = Number.isFinite(n) ? n : text;
        break;
      }
      case "list": {
        const items = text.split(",").map((s) => s.trim()).filter(Boolean);
        if (items.length) config[field.name] = items;
        break;
      }
      case "secret-headers": {
        const headers: Record<string, string> = {};
        for (const row of draft.headers) if (row.key.trim()) headers[row.key.trim()] = row.value;
        if (Object.keys(headers).length) config[field.name] = headers;
        break;
      }
      default:
        // Secrets are sent as typed (a password may end in a space); other text trimmed.
        if (field.type === "secret" ? draft.values[field.name] : text) config[field.name] = field.type === "secret" ? draft.values[field.name] : text;
    }
  }
  return { name: draft.name.trim(), kind: draft.kind, config };
}

/**
 * `POST /api/alerts/channels/:id/test`. Not through lib/api: a refusal by the destination
 * is a 502 whose body (`{ok: false, error}`) is the answer to show, and api.ts keeps only
 * the standard error envelope of failed answers.
 */
export async function sendTest(id: string): Promise<TestResult> {
  const headers: Record<string, string> = { Accept: "application/json", "Content-Type": "application/json" };
  if (session.csrf) headers["X-CSRF-Token"] = session.csrf;
  let response: Response;
  try {
    response = await fetch(`/api/alerts/channels/${encodeURIComponent(id)}/test`, { method: "POST", headers, credentials: "same-origin", body: "{}" });
  } catch {
    throw new ApiFailure(0, "network", "Cannot reach the collector: check that it is running and that this machine is online.");
  }
  const body = (await response.json().catch(() => undefined)) as (TestResult & { error?: unknown }) | undefined;
  if (response.ok || (response.status === 502 && body && body.ok === false)) return body as TestResult;
  const error = body?.error as { code?: string; message?: string } | undefined;
  if (response.status === 401) session.clear("unauthenticated");
  throw new ApiFailure(response.status, error?.code ?? "unknown", error?.message ?? `The collector answered ${response.status}`);
}
