import { z } from "zod";
import type { LiveEvent, LiveTopic } from "@vigil/plugin-sdk";
import type { AlertEngine } from "../alerts/engine.js";

/**
 * The collector's own live topics: the event tail (the events explorer's live view) and
 * what fires now (the alerts page). Plugins add theirs with their collector part.
 */

const MAX_TAIL_EVENTS = 200;

/** The `events` topic's data: the events stored that match, newest last, and how many matched beyond those sent. */
export interface LiveEventsData {
  events: { ts: string; source: string; type: string; agent: string; attrs: Record<string, string>; body: string }[];
  skipped: number;
}

const tailParams = z
  .object({
    source: z.string().min(1).max(100).optional(),
    type: z.string().min(1).max(100).optional(),
    /** Case-insensitive text in the body. */
    q: z.string().min(1).max(200).optional(),
  })
  .strict();

export const eventsTopic: LiveTopic<z.output<typeof tailParams>> = {
  name: "events",
  description: "Events as they are stored (params: source, type, q); at most 200 per message, newest last.",
  params: tailParams,
  onEvents(events: readonly LiveEvent[], params): LiveEventsData | undefined {
    const q = params.q?.toLowerCase();
    const matching: LiveEvent[] = [];
    for (const e of events) {
      if (params.source && e.source !== params.source) continue;
      if (params.type && e.type !== params.type) continue;
      if (q && !e.body.toLowerCase().includes(q)) continue;
      matching.push(e);
    }
    if (matching.length === 0) return undefined;
    const shown = matching.slice(-MAX_TAIL_EVENTS);
    return {
      events: shown.map((e) => ({ ts: new Date(e.ts).toISOString(), source: e.source, type: e.type, agent: e.agent, attrs: e.attrs, body: e.body })),
      skipped: matching.length - shown.length,
    };
  },
};

export function alertsTopic(engine: AlertEngine): LiveTopic<Record<string, never>> {
  return {
    name: "alerts",
    description: "What is not ok now (as GET /api/alerts), sent when it changes.",
    params: z.object({}).strict(),
    poll: {
      every: 1000,
      async read(storage) {
        return engine.active(storage.tenant).map(({ rule, state, view }) => ({
          fingerprint: state.fingerprint,
          rule_id: rule.id,
          rule_name: rule.name,
          state: state.state,
          labels: view.labels,
          summary: view.annotations.summary ?? "",
          value: state.value,
          firing_since: state.fired_at ? new Date(state.fired_at).toISOString() : null,
        }));
      },
    },
  };
}
