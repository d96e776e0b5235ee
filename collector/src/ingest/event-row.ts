import type { VigilEvent } from "@vigil/plugin-sdk";

/** One row of the `events` table, as the writer inserts it. */
export interface EventRow {
  tenant: string;
  id: string;
  /** epoch milliseconds */
  ts: number;
  received_at: number;
  source: string;
  type: string;
  severity: string;
  agent: string;
  batch_id: string;
  attrs: Record<string, string>;
  body: string;
}

/**
 * Maps a validated event onto a row. Attribute values are stored as text in
 * `Map(LowCardinality(String), String)`; numbers keep their JSON spelling, so
 * `toFloat64(attrs['latency_ms'])` reads them back exactly.
 */
export function toEventRow(
  event: VigilEvent,
  origin: { tenant: string; agent: string; batchId: string; receivedAt: number },
): EventRow {
  const attrs: Record<string, string> = {};
  for (const [key, value] of Object.entries(event.attrs)) attrs[key] = String(value);
  return {
    tenant: origin.tenant,
    id: event.id,
    ts: event.ts,
    received_at: origin.receivedAt,
    source: event.source,
    type: event.type,
    severity: event.severity,
    agent: origin.agent,
    batch_id: origin.batchId,
    attrs,
    body: event.body ?? "",
  };
}

/** Rough in-memory size of a row, for the writer's byte-based flush trigger. */
export function estimateRowBytes(row: EventRow): number {
  let bytes = 120 + row.body.length + row.batch_id.length;
  for (const key in row.attrs) bytes += key.length + row.attrs[key]!.length + 8;
  return bytes;
}
