import type { PluginMetric } from "@vigil/plugin-sdk";

/**
 * The SMS plugin's series on the collector's /metrics, per tenant. Labels are bounded by
 * construction: statuses and failure categories are fixed lists (the report counts table
 * only holds those), server statuses are three; never a campaign, server or phone number.
 * Counters come from `report_counts`, which has no TTL, so they never go down.
 */
export const prometheusMetrics: PluginMetric[] = [
  {
    name: "vigil_sms_message_reports_total",
    help: "SMS message status reports received (from the apps' SDK and the providers' receipts), by status.",
    type: "counter",
    labelNames: ["status"],
    query: ({ table }) => `SELECT tenant, status, sum(reports) AS value FROM ${table("report_counts")} GROUP BY tenant, status`,
  },
  {
    name: "vigil_sms_failure_reports_total",
    help: "SMS failed and undelivered reports, by failure category of the error table.",
    type: "counter",
    labelNames: ["category"],
    query: ({ table }) => `SELECT tenant, error_category AS category, sum(reports) AS value FROM ${table("report_counts")} WHERE error_category != '' GROUP BY tenant, category`,
  },
  {
    name: "vigil_sms_campaigns_running",
    help: "SMS campaigns whose latest lifecycle status is started.",
    type: "gauge",
    labelNames: [],
    query: ({ table }) => `SELECT tenant, countIf(tupleElement(status, 3) = 'started') AS value FROM ${table("campaigns")} FINAL GROUP BY tenant`,
  },
  {
    name: "vigil_sms_servers",
    help: "SMS sending servers by their latest reported status change (up, degraded, down).",
    type: "gauge",
    labelNames: ["status"],
    query: ({ table }) => `
      SELECT tenant, current AS status, count() AS value
      FROM (SELECT tenant, server_kind, server_id, argMax(status, ts) AS current FROM ${table("server_changes")} GROUP BY tenant, server_kind, server_id)
      GROUP BY tenant, status`,
  },
];
