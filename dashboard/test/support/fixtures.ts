import type { CacheSettings, Summary } from "../../src/pages/cache/types.js";
import type { CampaignStats } from "../../src/pages/sms/types.js";

// Answers of the plugins' APIs the page tests and the view tests both read.

/** The cache/DB monitor's default settings (plugins/cache-db/src/contract.ts), as GET /api/cache-monitor lists them. */
export const cacheDefaults: CacheSettings = { enabled: true, detailed_below: 100, sampled: [{ below: 200, rate: 0.1 }], aggregated_at: 1000, buffer_size: 1000 };

/** One app's counts over a window (the `summary` of GET /api/cache-monitor). */
export const cacheSummary: Summary = {
  window_s: 311,
  ops: 282,
  items: 315,
  cache_reads: 225,
  hits: 197,
  misses: 27,
  partial_hits: 1,
  hit_rate: 0.8756,
  cache_writes: 24,
  db_reads: 9,
  db_writes: 24,
  hybrid_queries: 0,
  latency_ms: {},
};

/** The example of plugins/sms/docs/collector.md: a campaign 82% done. */
export const springSale: CampaignStats = {
  campaign_id: "spring-sale",
  name: "Spring sale",
  user: "ann",
  status: "started",
  total: 50000,
  messages: 41230,
  not_reported: 8770,
  queued: 0,
  sent: 133,
  delivered: 39025,
  undelivered: 928,
  failed: 1144,
  failed_total: 2072,
  final: 41097,
  pending: 8903,
  dispatched: 41230,
  progress_pct: 82.19,
  delivery_rate: 0.9496,
  failure_rate: 0.0504,
  throughput: { last_minute: 347, avg_per_minute: 403.85 },
  created_at: "2026-11-27T12:27:20.393Z",
  started_at: "2026-11-27T12:29:20.393Z",
  completed_at: null,
  last_activity_at: "2026-11-27T14:11:20.245Z",
  duration_s: 6125.513,
  eta: "2026-11-27T14:36:41.906Z",
  eta_s: 1516,
  as_of: "2026-11-27T14:11:25.906Z",
};
