/** Counting what a collector stored from its own `/metrics`: cheap to poll, unlike a count query over the events. */
import type { CollectorProcess } from "../../support/collector-process.js";

const LINE = /^vigil_ingest_events_total\{([^}]*)\}\s+(\S+)$/;

/** `vigil_ingest_events_total` summed over the series whose labels include every one of `labels`. */
export async function ingestedEvents(collector: CollectorProcess, labels: Record<string, string>): Promise<number> {
  const response = await fetch(`${collector.url}/metrics`);
  const text = await response.text();
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}: ${text.slice(0, 300)}`);
  const wanted = Object.entries(labels).map(([name, value]) => `${name}="${value}"`);
  let total = 0;
  for (const line of text.split("\n")) {
    const match = LINE.exec(line);
    if (!match) continue;
    const series = match[1]!.split(",");
    if (wanted.every((pair) => series.includes(pair))) total += Number(match[2]);
  }
  return total;
}
