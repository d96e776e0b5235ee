import type { ChannelView, Matcher, RouteView, SilenceView } from "@vigil/collector/api-types";
import type { AlertTemplate } from "@vigil/plugin-sdk";
import type { Page } from "../../lib/types.js";

/**
 * Shapes of the alerting API as the Alerts page reads them (docs/alerting.md): the
 * collector's own types where it declares them (erased at build), else as the named
 * collector file answers them — keep those in step when the API changes. What fires now
 * (`ActiveAlert`, `AlertsAnswer`) is shared and lives in lib/types.ts.
 */

export type { ChannelKind, Matcher } from "@vigil/collector/api-types";

export type RuleKind = "threshold" | "absence" | "anomaly" | "event";

/** collector/src/alerts/rule.ts (filterSchema) */
export type FilterOp = "=" | "!=" | ">" | ">=" | "<" | "<=" | "in" | "not_in" | "contains" | "exists" | "not_exists";
export type Scalar = string | number | boolean;
export interface Filter {
  attr: string;
  op?: FilterOp;
  value?: Scalar | Scalar[];
}
export interface RatioSide {
  where?: Filter[];
  field?: string;
}

/**
 * A rule as the API answers it (collector/src/routes/alerts/rules.ts, presentRule): the
 * fields as they were given (durations as text, e.g. "5m"), plus where it came from and
 * how it stands. Fields a kind does not have are absent.
 */
export interface RuleView {
  id: string;
  kind: RuleKind;
  name: string;
  description?: string;
  enabled?: boolean;
  source?: string;
  type?: string | string[];
  where?: Filter[];
  group_by?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  interval?: string | number;
  for?: string | number;
  keep_firing_for?: string | number;
  flap?: { window?: string | number; max_changes?: number };
  on_error?: "error" | "firing";
  // threshold / anomaly
  aggregation?: string;
  field?: string;
  numerator?: RatioSide;
  denominator?: RatioSide;
  window?: string | number;
  condition?: string;
  threshold?: number;
  no_data?: "nodata" | "ok" | "firing";
  baseline?: string | number;
  seasonality?: "none" | "daily" | "weekly";
  z?: number;
  direction?: "both" | "up" | "down";
  // absence
  of?: "events" | "agent_heartbeats";
  absent_for?: string | number;
  lookback?: string | number;
  /** "api", "template:<id>" or "file:<path>" (file rules cannot be changed through the API). */
  origin: string;
  updated_at: string | null;
  status: RuleStatus;
}

export interface RuleStatus {
  /** How many groups are in each state right now (ok groups are not counted). */
  states: Partial<Record<string, number>>;
  last_eval_at: string | null;
  last_duration_ms: number | null;
  last_error: string | null;
  history?: HistoryNeed;
}

/** An anomaly rule's baseline: how much history it needs and has. */
export interface HistoryNeed {
  need_s: number;
  have_s: number;
  ready: boolean;
}

export type RulesPage = { rules: RuleView[] } & Page;

/** `POST /api/alerts/rules/preview` */
export interface PreviewAnswer {
  evaluated_at: string;
  samples: { labels: Record<string, string>; value: number | null; active: boolean }[];
  no_data: boolean;
  history?: HistoryNeed;
  /** Event rules: there is no current value. */
  note?: string;
}

/** `GET /api/alerts/templates`: the plugin SDK's AlertTemplate (each rule has a kind and a name). */
export type Template = AlertTemplate & { rule: { kind: RuleKind; name: string } };

export type Silence = SilenceView;
export type SilencesPage = { silences: Silence[] } & Page;

export type Channel = ChannelView;
export type ChannelsPage = { channels: Channel[] } & Page;

/** `POST /api/alerts/channels/:id/test`: 200 when the destination accepted it, 502 with its answer when not. */
export interface TestResult {
  ok: boolean;
  notification_id?: string;
  parts?: number;
  error?: string;
  retry_after_ms?: number;
}

export type Route = RouteView;
export type RoutesPage = { routes: Route[] } & Page;

/** collector/src/routes/alerts/notifications.ts */
export interface NotificationRow {
  id: string;
  channel_id: string;
  channel_name: string;
  route_id: string;
  group_key: string;
  status: "pending" | "sent" | "failed";
  alert_status: "firing" | "resolved";
  alerts: { fingerprint: string; rule_id: string; status: string; labels: Record<string, string>; summary: string }[];
  attempts: number;
  last_error: string | null;
  created_at: string | null;
  sent_at: string | null;
  next_attempt_at: string | null;
}
export type NotificationsPage = { notifications: NotificationRow[] } & Page;

/** collector/src/live/core-topics.ts: one item of the `alerts` topic's data (sent whole, when it changes). */
export interface LiveAlert {
  fingerprint: string;
  rule_id: string;
  rule_name: string;
  state: "pending" | "firing" | "nodata" | "error" | "flapping";
  labels: Record<string, string>;
  summary: string;
  value: number | null;
  firing_since: string | null;
}
