import type { AlertTemplate, CollectorTask } from "@vigil/plugin-sdk";
import { RUN_EVENT, RUN_STUCK_EVENT, SOURCE } from "../contract.js";
import { failStuckRuns } from "./runs.js";

/** The stuck-run check on its own clock, so a stuck run is failed and announced even when nobody reads jobs. */
export const stuckRunTask: CollectorTask = {
  name: "stuck-runs",
  every: 30_000,
  async run(ctx) {
    for (const tenant of await ctx.tenants()) {
      const failed = await failStuckRuns({ storage: ctx.storage(tenant), emit: (events) => ctx.emit(tenant, events) });
      if (failed > 0) ctx.log.info({ tenant, runs: failed }, "stuck runs marked failed");
    }
  },
};

const finished = { attr: "status", op: "in", value: ["completed", "failed"] } as const;

/** The seed's alerts for monitoring jobs (installed with POST /api/alerts/templates/:id/install). */
export const alertTemplates: AlertTemplate[] = [
  {
    id: "social-scrape-coverage",
    title: "Scrape coverage below 95 %",
    description: "Per job, items processed over items found by its finished runs in the last 24 h falls below 95 %.",
    rule: {
      kind: "threshold",
      name: "Scrape coverage below 95 %",
      source: SOURCE,
      type: RUN_EVENT,
      where: [finished],
      aggregation: "ratio",
      numerator: { field: "items_processed" },
      denominator: { field: "items_found" },
      window: "24h",
      interval: "5m",
      group_by: ["job_name"],
      condition: "<",
      threshold: 0.95,
      no_data: "ok",
      labels: { severity: "warning" },
      annotations: { summary: "Job {{labels.job_name}} processed only {{value}} of the items it found in 24 h (under 95 %)" },
    },
  },
  {
    id: "social-job-failure-rate",
    title: "Job failure rate above 5 % in 24 h",
    description: "Per job, failed runs over finished runs in the last 24 h exceeds 5 %.",
    rule: {
      kind: "threshold",
      name: "Job failure rate above 5 %",
      source: SOURCE,
      type: RUN_EVENT,
      where: [finished],
      aggregation: "ratio",
      numerator: { where: [{ attr: "status", value: "failed" }] },
      denominator: {},
      window: "24h",
      interval: "5m",
      group_by: ["job_name"],
      condition: ">",
      threshold: 0.05,
      no_data: "ok",
      labels: { severity: "warning" },
      annotations: { summary: "Job {{labels.job_name}}: {{value}} of its runs failed in 24 h (over 5 %)" },
    },
  },
  {
    id: "social-run-stuck",
    title: "A run stuck over 10 min",
    description: "Fires when the collector marks a run failed because it stayed in progress for more than 10 minutes.",
    rule: {
      kind: "event",
      name: "Monitoring run stuck",
      source: SOURCE,
      type: RUN_STUCK_EVENT,
      group_by: ["job_name"],
      keep_firing_for: "1h",
      labels: { severity: "warning" },
      annotations: { summary: "A run of job {{labels.job_name}} was stuck over 10 min and was marked failed" },
    },
  },
];
