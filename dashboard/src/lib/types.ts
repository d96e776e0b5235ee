import type { AgentSummary, User } from "@vigil/collector/api-types";

/**
 * Shapes of the collector's API answers, as the dashboard reads them: the collector's own
 * types where it declares them (erased at build), else as the named collector file
 * answers them — keep those in step when the API changes.
 */

export type { ApiKey, LiveEventsData, PluginStatus, Role, Scope, Stats, StoredEvent, User } from "@vigil/collector/api-types";

/** collector/src/routes/session.ts: the signed-in user. */
export type SessionUser = Omit<User, "created_at">;
export interface SessionAnswer {
  user: SessionUser;
  csrf_token: string;
}

/** collector/src/routes/health.ts */
export interface Health {
  status: string;
  storage: string;
  version: string;
  uptime_s: number;
  alerting: "off" | "paused" | "running";
}

/** An agent as `GET /api/agents` lists it. */
export type Agent = AgentSummary;

/** collector/src/routes/alerts/firing.ts */
export interface ActiveAlert {
  fingerprint: string;
  rule_id: string;
  rule_name: string;
  kind: string;
  state: "pending" | "firing" | "nodata" | "error" | "flapping";
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  active_since: string | null;
  firing_since: string | null;
  silenced: boolean;
  message: string | null;
}
export interface AlertsAnswer {
  alerts: ActiveAlert[];
  evaluation_paused: string | null;
}

/** Every list endpoint: newest first, `next_cursor` null on the last page. */
export interface Page {
  next_cursor: string | null;
}
