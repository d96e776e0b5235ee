import { splitList } from "./rule-form.js";
import type { Matcher, Route } from "./types.js";

/**
 * The route editor's state and its mapping to `POST/PUT /api/alerts/routes`
 * (collector/src/alerts/routing.ts, routeSchema). Empty timing fields are left out so
 * the server's defaults apply (30s, 5m, 4h).
 */
export interface RouteDraft {
  name: string;
  matchers: Matcher[];
  channels: string[];
  group_by: string;
  group_wait: string;
  group_interval: string;
  repeat_interval: string;
  send_resolved: boolean;
  continue: boolean;
  position: string;
}

export function emptyRoute(): RouteDraft {
  return { name: "", matchers: [], channels: [], group_by: "", group_wait: "", group_interval: "", repeat_interval: "", send_resolved: true, continue: false, position: "" };
}

export function draftFromRoute(route: Route): RouteDraft {
  return {
    name: route.name,
    matchers: route.matchers.map((m) => ({ ...m })),
    channels: [...route.channels],
    group_by: route.group_by.join(", "),
    group_wait: route.group_wait,
    group_interval: route.group_interval,
    repeat_interval: route.repeat_interval,
    send_resolved: route.send_resolved,
    continue: route.continue,
    position: String(route.position),
  };
}

export function toRouteBody(draft: RouteDraft): Record<string, unknown> {
  const body: Record<string, unknown> = {
    name: draft.name.trim(),
    matchers: draft.matchers.filter((m) => m.label.trim() || m.value).map((m) => ({ label: m.label.trim(), op: m.op, value: m.value })),
    channels: draft.channels,
    send_resolved: draft.send_resolved,
    continue: draft.continue,
  };
  const groupBy = splitList(draft.group_by);
  if (groupBy.length) body.group_by = groupBy;
  for (const key of ["group_wait", "group_interval", "repeat_interval"] as const) if (draft[key].trim()) body[key] = draft[key].trim();
  const position = draft.position.trim();
  if (position) body.position = Number.isFinite(Number(position)) ? Number(position) : position;
  return body;
}
