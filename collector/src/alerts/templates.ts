import type { AlertTemplate, CollectorPart } from "@vigil/plugin-sdk";
import { ruleSchema } from "./rule.js";

/**
 * Rule templates for the seeds' alerts. The collector's own (agents) live here; each
 * plugin ships its own with its collector part (`alertTemplates`), so a source and its
 * alerts come together. `POST /api/alerts/templates/:id/install` makes a rule of one,
 * with the user's overrides (a threshold, labels, a name).
 */
export const coreTemplates: AlertTemplate[] = [
  {
    id: "agent-silent",
    title: "An agent is silent for two heartbeats",
    description: "Fires per agent that sent no heartbeat for 30 s (two of the default 15 s heartbeats). Raise absent_for if your agents use a longer heartbeat_interval.",
    rule: {
      kind: "absence",
      name: "Agent silent",
      of: "agent_heartbeats",
      absent_for: "30s",
      interval: "10s",
      lookback: "24h",
      labels: { severity: "critical" },
      annotations: { summary: "Agent {{labels.agent_name}} ({{labels.agent_id}}) sent no heartbeat for {{value}} s" },
    },
  },
  {
    // The HTTP check is an agent-only plugin (no collector part), so its template lives here.
    id: "http-check-down",
    title: "An HTTP check is down for two checks",
    description: "Per check, no passing http.check in the last 2 minutes while checks ran (two failed checks at the default 60 s interval). Set window to twice your checks' interval.",
    rule: {
      kind: "threshold",
      name: "HTTP check down",
      source: "http",
      type: "http.check",
      aggregation: "ratio",
      numerator: { where: [{ attr: "up", value: true }] },
      denominator: {},
      window: "2m",
      interval: "30s",
      group_by: ["check_name"],
      condition: "==",
      threshold: 0,
      no_data: "ok",
      labels: { severity: "critical" },
      annotations: { summary: "HTTP check {{labels.check_name}} failed every run in the last 2 minutes" },
    },
  },
];

/** Every template the running collector offers: its own, then each plugin's. Refuses a template that is not a valid rule. */
export function collectTemplates(parts: readonly CollectorPart[]): AlertTemplate[] {
  const all = [...coreTemplates, ...parts.flatMap((part) => part.alertTemplates ?? [])];
  const seen = new Set<string>();
  for (const template of all) {
    if (seen.has(template.id)) throw new Error(`two alert templates have the id "${template.id}"`);
    seen.add(template.id);
    const parsed = ruleSchema.safeParse(template.rule);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`alert template "${template.id}" is not a valid rule: ${issue.path.join(".")}: ${issue.message}`);
    }
  }
  return all;
}
