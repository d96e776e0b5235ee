import type { Rule } from "./rule.js";
import type { GroupState } from "./state.js";

/**
 * Fills a rule's annotation templates: `{{value}}`, `{{threshold}}`, `{{rule}}`,
 * `{{state}}`, `{{message}}` and `{{labels.NAME}}`. Unknown placeholders are left as
 * they are, so a typo shows in the message instead of vanishing.
 */
export function renderAnnotations(rule: Rule, labels: Record<string, string>, state: GroupState): Record<string, string> {
  const templates: Record<string, string> = { summary: defaultSummary(rule), ...rule.annotations };
  if (!templates.description && rule.description) templates.description = rule.description;
  const out: Record<string, string> = {};
  for (const [name, template] of Object.entries(templates)) out[name] = fill(template, rule, labels, state);
  if (state.message && !out.message) out.message = state.message;
  return out;
}

function formatValue(value: number | null): string {
  if (value === null) return "none";
  return Number.isInteger(value) ? String(value) : String(Math.round(value * 1000) / 1000);
}

function fill(template: string, rule: Rule, labels: Record<string, string>, state: GroupState): string {
  return template.replace(/\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}/g, (whole, name: string) => {
    if (name === "value") return formatValue(state.value);
    if (name === "threshold") return "threshold" in rule ? String(rule.threshold) : whole;
    if (name === "rule") return rule.name;
    if (name === "state") return state.state;
    if (name === "message") return state.message;
    if (name.startsWith("labels.")) return labels[name.slice(7)] ?? "";
    return whole;
  });
}

function defaultSummary(rule: Rule): string {
  switch (rule.kind) {
    case "threshold": {
      const what = rule.aggregation === "ratio" ? "ratio" : rule.field ? `${rule.aggregation}(${rule.field})` : rule.aggregation;
      return `${rule.name}: ${what} is {{value}} (${rule.condition} ${rule.threshold})`;
    }
    case "absence":
      return rule.of === "agent_heartbeats" ? `${rule.name}: agent {{labels.agent_name}} silent for {{value}} s` : `${rule.name}: no matching event for {{value}} s`;
    case "anomaly":
      return `${rule.name}: ${rule.aggregation} is {{value}}, outside its usual band`;
    default:
      return `${rule.name}: {{message}}`;
  }
}
