/**
 * Shapes of the collector's API answers, as the dashboard reads them. Each names the
 * collector file that defines it: keep them in step when the API changes.
 */

export type Role = "viewer" | "editor" | "admin";

/** collector/src/routes/session.ts */
export interface SessionUser {
  id: string;
  email: string;
  name: string;
  role: Role;
  tenant: string;
}
export interface SessionAnswer {
  user: SessionUser;
  csrf_token: string;
}

/** collector/src/routes/users.ts */
export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
  created_at: string;
}

/** collector/src/auth/tokens.ts (SCOPES) and routes/keys.ts */
export type Scope = "ingest" | "read" | "write" | "admin";
export interface ApiKey {
  id: string;
  tenant: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_at: string;
}

/** collector/src/routes/health.ts */
export interface Health {
  status: string;
  storage: string;
  version: string;
  uptime_s: number;
  alerting: "off" | "paused" | "running";
}

/** collector/src/agents/store.ts (AgentSummary) */
export interface PluginStatus {
  id: string;
  use: string;
  state: "starting" | "ok" | "degraded" | "failing" | "stopped";
  message?: string;
  restarts: number;
  details?: Record<string, string | number | boolean>;
}
export interface Agent {
  id: string;
  name: string | null;
  version: string | null;
  key_id: string | null;
  online: boolean;
  last_heartbeat: string | null;
  uptime_s: number | null;
  config_version: number | null;
  desired_config_version: number;
  config_error: string | null;
  rejected_config_version: number | null;
  queue: { bytes: number; records: number } | null;
  plugins: PluginStatus[];
}

/** collector/src/storage/event-queries.ts (StoredEvent, Stats) */
export interface StoredEvent {
  id: string;
  ts: string;
  received_at: string;
  source: string;
  type: string;
  severity: string;
  agent: string;
  attrs: Record<string, string>;
  body: string;
}
export interface Stats {
  window_hours: number;
  total_events: number;
  by_source: { source: string; events: number }[];
  by_type: { source: string; type: string; events: number }[];
  ingest_rate_per_s: number;
  rate_per_minute: { minute: string; events_per_s: number }[];
  generated_at: string;
}

/** collector/src/live/core-topics.ts (the `events` topic's data) */
export interface LiveEventsData {
  events: { ts: string; source: string; type: string; agent: string; attrs: Record<string, string>; body: string }[];
  skipped: number;
}

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
