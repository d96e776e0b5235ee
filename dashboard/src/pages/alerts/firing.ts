import type { ActiveAlert } from "../../lib/types.js";
import type { LiveAlert } from "./types.js";

/**
 * "Firing now" from two sources: `GET /api/alerts` (everything, including whether a
 * silence covers the alert) and the `alerts` live topic (which alerts are active, their
 * state and value, within a second, but without silences, annotations or messages).
 *
 * The live list decides which alerts are shown, with their state and value; the REST
 * answer fills in the rest. `stale` says the REST answer lacks an alert the topic has or
 * disagrees on a state: the page then reloads it quietly, so `silenced` and the message
 * catch up.
 */
export function mergeLive(rest: readonly ActiveAlert[], live: readonly LiveAlert[]): { alerts: ActiveAlert[]; stale: boolean } {
  const known = new Map(rest.map((a) => [a.fingerprint, a]));
  let stale = false;
  const alerts = live.map((l): ActiveAlert => {
    const base = known.get(l.fingerprint);
    if (!base || base.state !== l.state) stale = true;
    return {
      fingerprint: l.fingerprint,
      rule_id: l.rule_id,
      rule_name: l.rule_name,
      kind: base?.kind ?? "",
      state: l.state,
      labels: l.labels,
      annotations: base?.annotations ?? (l.summary ? { summary: l.summary } : {}),
      value: l.value,
      active_since: base?.active_since ?? l.firing_since,
      firing_since: l.firing_since,
      silenced: base?.silenced ?? false,
      message: base?.message ?? null,
    };
  });
  return { alerts: sortAlerts(alerts), stale };
}

/** Newest first, as the server sorts them. */
export function sortAlerts(alerts: ActiveAlert[]): ActiveAlert[] {
  const since = (a: ActiveAlert) => a.firing_since ?? a.active_since ?? "";
  return [...alerts].sort((a, b) => since(b).localeCompare(since(a)));
}

/** Labels worth showing in the list: alertname is the rule's name, shown already. */
export function shownLabels(labels: Record<string, string>): [string, string][] {
  return Object.entries(labels).filter(([name]) => name !== "alertname");
}
