import { gzip } from "node:zlib";
import { promisify } from "node:util";
import { Agent, request } from "undici";
import type { Logger } from "pino";
import { BATCH_ID_HEADER, NDJSON_CONTENT_TYPE } from "@vigil/plugin-sdk";
import type { DiskQueue, QueueBatch } from "../queue/index.js";
import { retryDelay } from "../runtime/http-client.js";
import type { AgentMetrics } from "../runtime/metrics.js";

const gzipAsync = promisify(gzip);
const NEWLINE = Buffer.from("\n");

export interface ShipperOptions {
  collectorUrl: string;
  apiKey: string;
  agentId: string;
  timeoutMs: number;
  batchMaxEvents: number;
  batchMaxBytes: number;
  /** Requests in flight at once, each up to batchMaxEvents / batchMaxBytes. */
  concurrency: number;
  flushIntervalMs: number;
  maxBackoffMs: number;
  queue: DiskQueue;
  metrics: AgentMetrics;
  log: Logger;
  userAgent: string;
}

type Outcome = { kind: "acked"; events: number } | { kind: "retry"; reason: string; retryAfter?: string } | { kind: "poison"; reason: string };

/**
 * Moves batches from the disk queue to the collector, one at a time, oldest first. A
 * batch leaves the queue only after a 2xx; its id comes from the queue, so every retry
 * (even after a restart) carries the same `Vigil-Batch-Id` and the collector stores it
 * once. Failures back off exponentially with jitter, and a `Retry-After` is honoured.
 * A batch the collector refuses as invalid (400/413) can never succeed: it is dropped,
 * counted and logged instead of blocking everything behind it.
 */
export function createShipper(options: ShipperOptions) {
  const dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: options.concurrency });
  const url = new URL("/v1/events", options.collectorUrl).toString();
  let stopping = false;
  let loop: Promise<void> | undefined;
  let wake: (() => void) | undefined;
  let lastError: string | undefined;
  let lastSuccessAt: number | undefined;

  async function send(batch: QueueBatch): Promise<Outcome> {
    const started = performance.now();
    const parts: Buffer[] = [];
    for (const record of batch.records) parts.push(record, NEWLINE);
    const body = await gzipAsync(Buffer.concat(parts));
    try {
      const response = await request(url, {
        method: "POST",
        dispatcher,
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          "content-type": NDJSON_CONTENT_TYPE,
          "content-encoding": "gzip",
          "user-agent": options.userAgent,
          [BATCH_ID_HEADER]: batch.id,
          "vigil-agent-id": options.agentId,
        },
        body,
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
      });
      const text = await response.body.text();
      const seconds = (performance.now() - started) / 1000;
      const status = response.statusCode;
      if (status >= 200 && status < 300) {
        options.metrics.shipSeconds.observe({ outcome: "ok" }, seconds);
        return { kind: "acked", events: batch.records.length };
      }
      options.metrics.shipSeconds.observe({ outcome: "error" }, seconds);
      const reason = `collector answered ${status}: ${errorMessage(text)}`;
      if (status === 400 || status === 413 || status === 415) return { kind: "poison", reason };
      const retryAfter = response.headers["retry-after"];
      return typeof retryAfter === "string" ? { kind: "retry", reason: `${reason} (Retry-After ${retryAfter}s)`, retryAfter } : { kind: "retry", reason };
    } catch (error) {
      options.metrics.shipSeconds.observe({ outcome: "error" }, (performance.now() - started) / 1000);
      const err = error as { code?: string; message?: string };
      return { kind: "retry", reason: `cannot reach the collector: ${err.code ?? err.message ?? String(error)}` };
    }
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopping) {
      try {
        await runUntilError();
      } catch (error) {
        // The queue or gzip failed (a full disk, an I/O error): report it, back off, go on.
        // The batch in flight stays in the queue, so nothing is lost by trying again.
        lastError = `shipper error: ${(error as Error).message}`;
        options.log.error({ err: (error as Error).message }, "shipping failed; retrying with backoff");
        await sleep(Math.min(options.maxBackoffMs, retryDelay(failures++, undefined, 500, options.maxBackoffMs)));
      }
    }
  }

  /**
   * One queue batch holds up to `concurrency` request-sized chunks, sent side by side
   * (the collector merges concurrent requests into one insert). Each chunk's id is the
   * queue batch id plus its position, so it is as stable across retries and restarts as
   * the queue batch itself; chunks already delivered are not sent again in this run, and
   * after a restart the collector answers them as duplicates. The queue batch is acked
   * once every chunk got a 2xx (or was refused as invalid, which is counted).
   */
  async function runUntilError(): Promise<void> {
    let attempt = 0;
    let waitedToFill = false;
    let delivered = new Set<string>();
    let deliveredFor: string | undefined;
    while (!stopping) {
      const waiting = options.queue.stats().records;
      if (waiting === 0) {
        await options.queue.waitForData(options.flushIntervalMs);
        continue;
      }
      // A batch is fixed once formed (its id must survive retries), so give a small one
      // one flush interval to fill up before forming it.
      if (waiting < options.batchMaxEvents && attempt === 0 && !waitedToFill) {
        waitedToFill = true;
        await sleep(options.flushIntervalMs);
        continue;
      }
      waitedToFill = false;
      const batch = await options.queue.next({
        maxRecords: options.batchMaxEvents * options.concurrency,
        maxBytes: options.batchMaxBytes * options.concurrency,
      });
      if (!batch) continue;
      if (deliveredFor !== batch.id) {
        delivered = new Set();
        deliveredFor = batch.id;
      }
      const chunks = splitBatch(batch, options.batchMaxEvents, options.batchMaxBytes).filter((chunk) => !delivered.has(chunk.id));
      const outcomes = await Promise.all(chunks.map(async (chunk) => ({ chunk, outcome: await send(chunk) })));
      let retry: Extract<Outcome, { kind: "retry" }> | undefined;
      for (const { chunk, outcome } of outcomes) {
        if (outcome.kind === "acked") {
          delivered.add(chunk.id);
          options.metrics.eventsShipped.inc(outcome.events);
        } else if (outcome.kind === "poison") {
          delivered.add(chunk.id);
          options.log.error({ batch_id: chunk.id, events: chunk.records.length, reason: outcome.reason }, "collector refused the batch as invalid; dropping it");
          options.metrics.eventsDropped.inc({ reason: "rejected" }, chunk.records.length);
        } else {
          retry ??= outcome;
        }
      }
      if (!retry) {
        await options.queue.ack(batch.id);
        options.metrics.queueBytes.set(options.queue.stats().bytes);
        lastError = undefined;
        lastSuccessAt = Date.now();
        attempt = 0;
      } else {
        const delay = Math.min(retryDelay(attempt, retry.retryAfter, 500, options.maxBackoffMs), options.maxBackoffMs);
        attempt++;
        lastError = retry.reason;
        options.metrics.retries.inc();
        options.log.warn({ batch_id: batch.id, attempt, retry_in_ms: Math.round(delay), reason: retry.reason }, "batch not delivered; will retry");
        await sleep(delay);
      }
    }
  }

  function sleep(ms: number): Promise<void> {
    if (stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  return {
    start() {
      loop ??= run();
    },
    /** Stops after the batch in flight; unsent batches stay in the queue for the next start. */
    async stop() {
      stopping = true;
      wake?.();
      await loop;
      await dispatcher.close();
    },
    status: () => ({ last_error: lastError ?? null, last_success_at: lastSuccessAt ? new Date(lastSuccessAt).toISOString() : null }),
    /** Why shipping is failing right now, if it is. */
    problem: () => lastError,
  };
}

/** Splits a queue batch into request-sized chunks with ids derived from the batch id and position. */
export function splitBatch(batch: QueueBatch, maxRecords: number, maxBytes: number): QueueBatch[] {
  const chunks: QueueBatch[] = [];
  let records: Buffer[] = [];
  let bytes = 0;
  const flush = () => {
    chunks.push({ id: `${batch.id}:${chunks.length}`, records, bytes });
    records = [];
    bytes = 0;
  };
  for (const record of batch.records) {
    if (records.length > 0 && (records.length >= maxRecords || bytes + record.length > maxBytes)) flush();
    records.push(record);
    bytes += record.length;
  }
  if (records.length > 0) flush();
  return chunks;
}

function errorMessage(text: string): string {
  try {
    return (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text.slice(0, 200);
  } catch {
    return text.slice(0, 200);
  }
}
