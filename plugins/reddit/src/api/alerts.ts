import type { AlertTemplate } from "@vigil/plugin-sdk";
import { MENTION_SOURCE, MENTION_TYPE } from "./tables.js";

/** The Reddit source's alert (installed with POST /api/alerts/templates/:id/install). */
export const alertTemplates: AlertTemplate[] = [
  {
    id: "reddit-mention-spike",
    title: "Mention spike",
    description:
      "Per keyword, mentions in the last 15 minutes rise more than 3 standard deviations above the same keyword's 15-minute counts over the past 7 days. It needs 3 hours of history before it can fire (GET /api/alerts/rules/:id shows how much it has).",
    rule: {
      kind: "anomaly",
      name: "Mention spike",
      source: MENTION_SOURCE,
      type: MENTION_TYPE,
      aggregation: "count",
      window: "15m",
      baseline: "7d",
      z: 3,
      direction: "up",
      interval: "1m",
      group_by: ["keyword"],
      labels: { severity: "info" },
      annotations: { summary: "Mentions of \"{{labels.keyword}}\" spiked: {{value}} in 15 min" },
    },
  },
];
