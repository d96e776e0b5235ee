import type { AlertTemplate } from "@vigil/plugin-sdk";
import { SOURCE, STATS_EVENT } from "../contract.js";

/** The cache monitor's alert (installed with POST /api/alerts/templates/:id/install; set threshold to your level). */
export const alertTemplates: AlertTemplate[] = [
  {
    id: "cache-hit-rate-low",
    title: "Cache hit rate below a level",
    description: "Per app, cache hits over cache reads in the last 15 minutes (exact counts from cache.stats) falls below 80 %; override threshold with your level.",
    rule: {
      kind: "threshold",
      name: "Cache hit rate low",
      source: SOURCE,
      type: STATS_EVENT,
      where: [{ attr: "op", value: "cache_read" }],
      aggregation: "ratio",
      numerator: { field: "hits" },
      denominator: { field: "ops" },
      window: "15m",
      interval: "1m",
      group_by: ["app"],
      condition: "<",
      threshold: 0.8,
      no_data: "ok",
      labels: { severity: "warning" },
      annotations: { summary: "Cache hit rate of {{labels.app}} is {{value}} (under {{threshold}}) over 15 min" },
    },
  },
];
