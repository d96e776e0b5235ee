/**
 * The SMS plugin's API answers, as these pages read them. Defined by the plugin:
 * plugins/sms/src/api/campaigns.ts, carriers.ts, servers.ts, error-analysis.ts,
 * reports.ts and live.ts (docs/collector.md describes every field). Keep them in step.
 */

export type CampaignStatus = "created" | "started" | "paused" | "completed";
export type ServerStatus = "up" | "degraded" | "down";
export type Severity = "critical" | "high" | "medium" | "low";

/** campaigns.ts `CampaignStats`. */
export interface CampaignStats {
  campaign_id: string;
  name: string | null;
  user: string | null;
  status: CampaignStatus | null;
  total: number;
  messages: number;
  not_reported: number;
  queued: number;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  failed_total: number;
  final: number;
  pending: number;
  dispatched: number;
  progress_pct: number;
  delivery_rate: number | null;
  failure_rate: number | null;
  throughput: { last_minute: number; avg_per_minute: number | null };
  created_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  last_activity_at: string | null;
  duration_s: number | null;
  eta: string | null;
  eta_s: number | null;
  /** Absent from the live topic's data (it would make every read look like a change). */
  as_of?: string;
}

export interface CampaignsPage {
  campaigns: CampaignStats[];
  next_cursor: string | null;
}

/** The `sms.campaign` live topic's data: the statistics plus `found`, or only the id when unknown. */
export type LiveCampaign = ({ found: true } & CampaignStats) | { found: false; campaign_id: string };

/** carriers.ts `CarrierStats`. */
export interface CarrierStats {
  carrier: string | null;
  messages: number;
  share: number | null;
  queued: number;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  final: number;
  success_rate: number | null;
  failure_rate: number | null;
  send_ms: { p50: number | null; p95: number | null };
}

/** servers.ts `ServerStats`. */
export interface ServerStats {
  server_kind: string;
  server_id: string;
  status: ServerStatus | null;
  since: string | null;
  last_report_at: string | null;
  last_error: { error: string; at: string } | null;
  messages: number;
  delivered: number;
  undelivered: number;
  failed: number;
  final: number;
  success_rate: number | null;
  send_ms: { p50: number | null; p95: number | null };
  samples: number;
  latency_ms: { p50: number | null; p95: number | null };
  sample_statuses: Record<ServerStatus, number>;
}

export interface CodeStats {
  namespace: string | null;
  code: string | null;
  title: string;
  known: boolean;
  count: number;
  share: number | null;
  severity: Severity;
  retryable: boolean;
  recommendation: string;
}

export interface CategoryStats {
  category: string;
  count: number;
  share: number | null;
  severity: Severity;
  retryable: boolean;
  recommendation: string;
  top_codes: CodeStats[];
  other_codes: number;
}

export interface RetryByCategory {
  category: string;
  failed_first: number;
  retried: number;
  retried_delivered: number;
  retried_failed: number;
  retried_pending: number;
  retry_success_rate: number | null;
  retryable: boolean;
  worth_retrying: boolean;
  basis: "observed" | "error_table";
}

/** error-analysis.ts `ErrorAnalysis`. */
export interface ErrorAnalysis {
  campaign_id: string | null;
  messages: number;
  final: number;
  failed: number;
  failure_rate: number | null;
  categories: CategoryStats[];
  trends: { interval: "hour"; buckets: { start: string; total: number; categories: Record<string, number> }[] };
  retry: {
    by_attempt: { attempt: number; attempts: number; delivered: number; failed: number; pending: number; success_rate: number | null }[];
    by_category: RetryByCategory[];
  };
}

export interface HourBucket {
  start: string;
  dispatched: number;
  delivered: number;
  undelivered: number;
  failed: number;
  final: number;
  delivery_rate: number | null;
}

/** `GET /api/sms/campaigns/:id/report` (reports.ts `CampaignReport`). */
export interface CampaignReport {
  campaign: CampaignStats;
  carriers: CarrierStats[];
  servers: ServerStats[];
  errors: ErrorAnalysis;
  hourly: HourBucket[];
}

export interface ServerState {
  server_kind: string;
  server_id: string;
  status: ServerStatus | null;
  since: string | null;
  last_report_at: string | null;
  last_error: { error: string; at: string } | null;
}

/** `GET /api/sms/system` (reports.ts `systemView`). */
export interface SystemView {
  since: string;
  as_of: string;
  totals: {
    messages: number;
    delivered: number;
    failed_total: number;
    final: number;
    delivery_rate: number | null;
    failure_rate: number | null;
    throughput_last_minute: number;
  };
  campaigns: { seen: number; active: number; active_list: CampaignStats[] };
  servers: { total: number; up: number; degraded: number; down: number; not_up: ServerState[] };
  top_error_categories: { category: string; count: number; share: number | null; severity: Severity; recommendation: string }[];
  receipts_without_campaign: number;
}

/** The `sms.system` live topic: the view every 5 s, and server changes / error bursts as they are stored. */
export type LiveSystem =
  | { kind: "system"; view: SystemView }
  | {
      kind: "events";
      server_changes: Record<string, string>[];
      error_burst?: { failures: number; window_s: number; by_category: Record<string, number> };
    };
