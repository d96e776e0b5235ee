import { checkEvent, type EventInput } from "@vigil/plugin-sdk";
import { toEventRow } from "../ingest/event-row.js";
import type { EventWriter } from "../ingest/writer.js";

/** The agent name on events a collector part emits itself (stuck runs and the like). */
export const COLLECTOR_AGENT = "collector";

/**
 * Stores events a collector part emits, through the ingest writer, so they are checked,
 * stored and seen by event alert rules exactly like an agent's. An invalid event is a
 * bug in the plugin: it throws with the event's index and problems.
 */
export async function emitFromPart(writer: EventWriter, partName: string, tenant: string, events: readonly EventInput[]): Promise<void> {
  const receivedAt = Date.now();
  const rows = events.map((input, i) => {
    const checked = checkEvent(input);
    if (!checked.ok) throw new Error(`plugin ${partName} emitted an invalid event [${i}]: ${checked.problems.map((p) => `${p.path}: ${p.message}`).join("; ")}`);
    return toEventRow(checked.event, { tenant, agent: COLLECTOR_AGENT, batchId: "", receivedAt });
  });
  if (rows.length) await writer.submit(tenant, "", rows);
}
