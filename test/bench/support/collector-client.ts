/** A benchmark's side of the collector's wire protocol: posting pre-built batches and counting what is stored. */
import { setTimeout as sleep } from "node:timers/promises";
import { NDJSON_CONTENT_TYPE, uuidv7 } from "@vigil/plugin-sdk";
import type { CollectorProcess } from "../../support/collector-process.js";
import { gzipNdjson, postBatch, realisticEvent } from "../../support/events.js";
import type { PreparedBatch } from "./batch-file.js";
import { beforeDeadline, checkDeadline } from "./run-guard.js";

/**
 * `events` realistic events as gzip NDJSON request bodies of `batchSize`, built before any
 * clock starts. Each run gets a fresh collector, so the same batch ids can be sent every
 * run without being answered as duplicates.
 */
export function prepareBatches(events: number, batchSize: number): PreparedBatch[] {
  const now = Date.now();
  const batches: PreparedBatch[] = [];
  for (let first = 0; first < events; first += batchSize) {
    const items = [];
    for (let i = first; i < Math.min(first + batchSize, events); i++) items.push(realisticEvent(i, now));
    batches.push({ id: uuidv7(), body: gzipNdjson(items) });
  }
  return batches;
}

/** How long a Retry-After header (seconds or an HTTP date) asks to wait, in ms; 1 s when absent. */
export function retryAfterMs(header: string | null): number {
  if (header === null) return 1_000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 1_000;
}

/**
 * Posts one batch until the collector stores it. 429 and 503 are the collector asking
 * for patience: wait as Retry-After says and resend the same batch id, as an agent does.
 * Returns how many times it was told to wait.
 */
export async function postUntilStored(collector: CollectorProcess, batch: PreparedBatch, deadline: number): Promise<number> {
  for (let sheds = 0; ; sheds++) {
    checkDeadline(deadline, `batch ${batch.id}`);
    const response = await beforeDeadline(
      postBatch(collector.url, collector.token, batch.body, { batchId: batch.id, gzip: true, contentType: NDJSON_CONTENT_TYPE }),
      deadline,
      `batch ${batch.id}`,
    );
    const text = await response.text();
    if (response.status === 202) return sheds;
    if (response.status !== 429 && response.status !== 503) throw new Error(`batch ${batch.id} answered ${response.status}: ${text}`);
    await sleep(Math.min(retryAfterMs(response.headers.get("retry-after")), Math.max(0, deadline - Date.now())));
  }
}

/** The tenant's stored events as `/api/stats` counts them. */
export async function storedEvents(collector: CollectorProcess): Promise<number> {
  const response = await fetch(`${collector.url}/api/stats`, { headers: { authorization: `Bearer ${collector.token}` } });
  if (!response.ok) throw new Error(`GET /api/stats answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { total_events: number }).total_events;
}

/**
 * Polls `/api/stats` until it counts exactly `expected` events; more is an error (a
 * duplicate got through). `check` runs before each poll and throws to give up early
 * (e.g. the process that sends them died).
 */
export async function waitForStored(
  collector: CollectorProcess,
  expected: number,
  deadline: number,
  options: { pollMs?: number; check?: () => void } = {},
): Promise<void> {
  for (;;) {
    options.check?.();
    const stored = await beforeDeadline(storedEvents(collector), deadline, "GET /api/stats");
    if (stored === expected) return;
    if (stored > expected) throw new Error(`the collector counts ${stored} events, ${stored - expected} more than were sent`);
    checkDeadline(deadline, `waiting for ${expected} events (${stored} queryable)`);
    await sleep(options.pollMs ?? 100);
  }
}
