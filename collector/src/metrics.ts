import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/**
 * The collector's one metrics registry: Node's default metrics plus `vigil_*` metrics.
 * Labels stay bounded: source and type are plugin-defined names, never user text.
 */
export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  dropMisnamedDefaults(registry);
  return {
    registry,
    ingestEvents: new Counter({
      name: "vigil_ingest_events_total",
      help: "Events stored, by source and type.",
      labelNames: ["source", "type"] as const,
      registers: [registry],
    }),
    ingestBatches: new Counter({
      name: "vigil_ingest_batches_total",
      help: "Batches received, by outcome (stored, duplicate, rejected, shed, failed).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    ingestRejected: new Counter({
      name: "vigil_ingest_rejected_total",
      help: "Events or requests refused at ingest, by reason.",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    storageInsertSeconds: new Histogram({
      name: "vigil_storage_insert_seconds",
      help: "Time to insert one merged flush into ClickHouse.",
      labelNames: ["outcome"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    storageRetries: new Counter({
      name: "vigil_storage_retries_total",
      help: "Requests to a ClickHouse server retried after a transient failure, by operation (query, insert, command).",
      labelNames: ["operation"] as const,
      registers: [registry],
    }),
    ingestQueueRows: new Gauge({
      name: "vigil_ingest_queue_rows",
      help: "Rows accepted by the writer and not yet in ClickHouse.",
      registers: [registry],
    }),
    alertEvaluations: new Counter({
      name: "vigil_alert_evaluations_total",
      help: "Alert rule evaluations, by rule kind and outcome (ok, error, skipped while storage is down).",
      labelNames: ["kind", "outcome"] as const,
      registers: [registry],
    }),
    alertEvaluationSeconds: new Histogram({
      name: "vigil_alert_evaluation_seconds",
      help: "Time to evaluate one alert rule (its query and state update).",
      labelNames: ["kind"] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    alertNotifications: new Counter({
      name: "vigil_alert_notifications_total",
      help: "Notification send attempts, by channel type and outcome (sent, failed, retried, rate_limited).",
      labelNames: ["channel", "outcome"] as const,
      registers: [registry],
    }),
    alertDeliverySeconds: new Histogram({
      name: "vigil_alert_delivery_seconds",
      help: "From an alert's condition becoming true to its destination accepting the first notification of it (includes for and group_wait).",
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers: [registry],
    }),
    alertsActive: new Gauge({
      name: "vigil_alerts_active",
      help: "Alert groups of rules by engine state (pending, firing, nodata, error, flapping), over all tenants.",
      labelNames: ["state"] as const,
      registers: [registry],
    }),
    liveConnections: new Gauge({
      name: "vigil_live_connections",
      help: "Open connections to the live WebSocket (/api/live).",
      registers: [registry],
    }),
    liveMessages: new Counter({
      name: "vigil_live_messages_total",
      help: "Messages to live WebSocket clients, by outcome (sent, dropped for a slow client).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    logins: new Counter({
      name: "vigil_dashboard_logins_total",
      help: "Dashboard sign-ins, by outcome (ok, failed; refused by the rate limit are not checked and not counted here).",
      labelNames: ["outcome"] as const,
      registers: [registry],
    }),
    alertLeader: new Gauge({
      name: "vigil_alert_leader",
      help: "1 while this replica holds the alert lease (it evaluates rules and sends notifications), else 0.",
      registers: [registry],
    }),
    alertLeaseChanges: new Counter({
      name: "vigil_alert_lease_changes_total",
      help: "Times this replica gained or lost the alert lease, by change (gained, lost).",
      labelNames: ["change"] as const,
      registers: [registry],
    }),
    alertOutboxPending: new Gauge({
      name: "vigil_alert_outbox_pending",
      help: "Notifications written to the outbox and not yet accepted by their destination.",
      registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * prom-client names three gauges `*_total`, which Prometheus reserves for counters
 * (`promtool check metrics` flags them). Each repeats the sum of its by-type sibling
 * (`nodejs_active_handles`, `nodejs_active_requests`, `nodejs_active_resources`), so
 * dropping them loses nothing.
 */
function dropMisnamedDefaults(registry: Registry): void {
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) {
    registry.removeSingleMetric(name);
  }
}
