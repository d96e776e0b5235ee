/**
 * The plain data the alert engine passes between its parts: rule evaluation produces
 * alert instances, routing groups them into notifications, the outbox hands each
 * notification to its channel type to format and send.
 */

/** Where one (rule, group) stands. `nodata`, `error` and `flapping` are states of their own. */
export type AlertState = "ok" | "pending" | "firing" | "nodata" | "error" | "flapping";

/** One alert as notifications and `GET /api/alerts` show it. */
export interface AlertView {
  /** Stable id of (rule, group labels): receivers can key on it. */
  fingerprint: string;
  rule_id: string;
  rule_name: string;
  /** "firing" while active; "resolved" in a resolved notification. */
  status: "firing" | "resolved";
  /** The engine state that made it active: firing, nodata or error. */
  state: AlertState;
  /** The rule's labels, the group's labels and `alertname` (the rule name). */
  labels: Record<string, string>;
  /** Rendered templates: at least `summary`; often `description`. */
  annotations: Record<string, string>;
  /** The value that crossed the condition (null for absence, nodata, error). */
  value: number | null;
  /** ISO time the condition became true. */
  starts_at: string;
  /** ISO time it resolved; null while firing. */
  ends_at: string | null;
}

/** One message for one channel: a group of alerts of one route, firing or resolved. */
export interface Notification {
  /** uuid; the same on every retry and after a restart, so receivers can de-duplicate. */
  id: string;
  tenant: string;
  channel_id: string;
  /** The channel's name, for messages. */
  channel_name: string;
  route_id: string;
  /** Route id plus the group's label values: one group of alerts. */
  group_key: string;
  group_labels: Record<string, string>;
  /** "firing" when any alert fires, else "resolved". */
  status: "firing" | "resolved";
  alerts: AlertView[];
  /** ISO time the notification was written to the outbox. */
  created_at: string;
  /** Set for `POST /api/alerts/channels/:id/test`. */
  test?: boolean;
  /** Where a human can look (the collector's public URL), when configured. */
  external_url?: string;
}

/** What a send attempt came to. */
export type SendOutcome =
  | { ok: true }
  | {
      ok: false;
      /** A message for the history: what the destination said, never a secret. */
      error: string;
      /** True when retrying cannot help (4xx other than 408/429, a malformed config). */
      permanent: boolean;
      /** The destination asked to wait this long (429 Retry-After, rate-limit headers). */
      retryAfterMs?: number;
    };
