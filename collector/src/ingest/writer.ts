import { createHash, randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { trace, SpanStatusCode } from "@opentelemetry/api";
import { ApiError } from "../errors.js";
import type { Metrics } from "../metrics.js";
import type { Database } from "../storage/database.js";
import { estimateRowBytes, type EventRow } from "./event-row.js";

export interface WriterOptions {
  /** Flush when this many rows wait. */
  maxRows: number;
  /** Flush when this many (estimated) bytes wait. */
  maxBytes: number;
  /**
   * How long an idle writer lingers for more rows before flushing (ms). 0 flushes at
   * once; under load the rows that arrive while one insert runs form the next insert.
   */
  maxDelayMs: number;
  /** Rows that may wait for ClickHouse before new batches are shed with 429. */
  queueRows: number;
}

export interface SubmitResult {
  stored: number;
  /** True when this batch id had already been stored; nothing was stored again. */
  duplicate: boolean;
}

interface PendingBatch {
  key: string;
  tenant: string;
  batchId: string;
  rows: EventRow[];
  bytes: number;
  settled?: boolean;
  settle: { resolve(result: SubmitResult): void; reject(error: unknown): void };
}

const RECENT_BATCH_IDS = 50_000;
const MAX_EVENT_LABEL_PAIRS = 500;
const STORAGE_RETRY_AFTER_S = 5;
const SHED_RETRY_AFTER_S = 1;

const tracer = trace.getTracer("vigil-collector");

/**
 * Merges ingest requests into large inserts (ClickHouse wants few big inserts, agents
 * send many small batches) and answers each request only once its rows are in
 * ClickHouse. Flushes are sequential: while one runs, the next one grows.
 *
 * Idempotency: a batch id seen before is answered as a duplicate without storing it
 * again. Three layers make that hold: batches in flight (a retry joins the original),
 * batch ids committed recently by this process, and the `ingest_batches` ledger that
 * the events insert itself fills (survives restarts and other replicas). A flush that
 * is retried after a timeout carries the same `insert_deduplication_token`, and the
 * plugins' materialized views drop their rows of it too (see `insertWithRetry`).
 */
export function createEventWriter(db: Database, options: WriterOptions, metrics: Metrics, log: Logger) {
  let pending: PendingBatch[] = [];
  let pendingRows = 0;
  let pendingBytes = 0;
  let flushingRows = 0;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> | undefined;
  let closed = false;
  const inFlight = new Map<string, Promise<SubmitResult>>();
  const recent = new Set<string>();
  const labelPairs = new Set<string>();
  let storageProblem: string | undefined;
  /** Told of every batch's rows once they are stored (event alert rules). */
  const storedListeners: ((rows: readonly EventRow[]) => void)[] = [];

  function queuedRows(): number {
    return pendingRows + flushingRows;
  }

  function rememberCommitted(key: string): void {
    recent.add(key);
    if (recent.size > RECENT_BATCH_IDS) recent.delete(recent.values().next().value as string);
  }

  /**
   * Queues a batch's rows; resolves once they are stored, or at once for a duplicate.
   * Rejects with an ApiError (429/503) when the collector cannot take the batch now.
   */
  function submit(tenant: string, batchId: string, rows: EventRow[]): Promise<SubmitResult> {
    if (closed) return Promise.reject(new ApiError("unavailable", "the collector is shutting down: retry on another replica or in a moment", [], STORAGE_RETRY_AFTER_S));
    const key = batchId ? `${tenant}\u0000${batchId}` : "";
    if (key) {
      const joined = inFlight.get(key);
      if (joined) {
        metrics.ingestBatches.inc({ outcome: "duplicate" });
        return joined.then(() => ({ stored: 0, duplicate: true }));
      }
      if (recent.has(key)) {
        metrics.ingestBatches.inc({ outcome: "duplicate" });
        return Promise.resolve({ stored: 0, duplicate: true });
      }
    }
    if (storageProblem !== undefined) {
      metrics.ingestBatches.inc({ outcome: "shed" });
      return Promise.reject(new ApiError("unavailable", `storage is unavailable (${storageProblem}); the batch was not stored, retry later`, [], STORAGE_RETRY_AFTER_S));
    }
    // An empty queue takes any batch, so a batch larger than the queue is not refused forever.
    if (queuedRows() > 0 && queuedRows() + rows.length > options.queueRows) {
      metrics.ingestBatches.inc({ outcome: "shed" });
      return Promise.reject(new ApiError("resource_exhausted", `the ingest queue is full (${queuedRows()} rows waiting for storage): retry after the delay in Retry-After`, [], SHED_RETRY_AFTER_S));
    }
    let bytes = 0;
    for (const row of rows) bytes += estimateRowBytes(row);
    const promise = new Promise<SubmitResult>((resolve, reject) => {
      pending.push({ key, tenant, batchId, rows, bytes, settle: { resolve, reject } });
    });
    pendingRows += rows.length;
    pendingBytes += bytes;
    metrics.ingestQueueRows.set(queuedRows());
    if (key) {
      inFlight.set(key, promise);
      const forget = () => inFlight.delete(key);
      promise.then(forget, forget);
    }
    scheduleFlush();
    return promise;
  }

  function startFlush(): Promise<void> {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (flushing) return flushing;
    if (pending.length === 0) return Promise.resolve();
    flushing = flushOnce().finally(() => {
      flushing = undefined;
      // What arrived during that insert goes next, without waiting: its senders have
      // already waited one insert long.
      if (pending.length > 0) void startFlush();
    });
    return flushing;
  }

  /** Full enough, closing, or no linger: flush now (or right after the running insert); else linger. */
  function scheduleFlush(): void {
    if (flushing) return;
    if (pendingRows >= options.maxRows || pendingBytes >= options.maxBytes || closed || options.maxDelayMs === 0) {
      if (timer) return;
      // A zero timeout lets requests parsed in the same turn share the insert.
      timer = setTimeout(() => void startFlush(), 0);
      return;
    }
    timer ??= setTimeout(() => void startFlush(), options.maxDelayMs);
  }

  async function flushOnce(): Promise<void> {
    // Take whole batches up to maxRows (at least one), so one insert stays bounded.
    let take = 0;
    let takenRows = 0;
    let takenBytes = 0;
    while (take < pending.length && (take === 0 || takenRows + pending[take]!.rows.length <= options.maxRows)) {
      takenRows += pending[take]!.rows.length;
      takenBytes += pending[take]!.bytes;
      take++;
    }
    const batches = pending.slice(0, take);
    pending = pending.slice(take);
    flushingRows = takenRows;
    pendingRows -= takenRows;
    pendingBytes -= takenBytes;
    await tracer.startActiveSpan("storage.insert_events", async (span) => {
      const started = performance.now();
      try {
        const duplicates = await findStoredBatches(batches);
        const fresh = batches.filter((b) => !duplicates.has(b.key));
        span.setAttribute("vigil.batches", batches.length);
        span.setAttribute("vigil.rows", fresh.reduce((n, b) => n + b.rows.length, 0));
        for (const batch of batches.filter((b) => duplicates.has(b.key))) settleStored(batch, true);
        try {
          await storeBatches(fresh);
          for (const batch of fresh) settleStored(batch, false);
        } catch (error) {
          // ClickHouse refused the data itself (not the connection): find the batch
          // responsible by storing each alone, so one bad batch cannot fail the others.
          if (!isDataError(error) || fresh.length === 1) throw error;
          log.warn({ err: describeStorageError(error), batches: fresh.length }, "merged insert refused; storing its batches one by one");
          for (const batch of fresh) {
            try {
              await storeBatches([batch]);
              settleStored(batch, false);
            } catch (single) {
              if (!isDataError(single)) throw single;
              refuseBatch(batch, single);
            }
          }
        }
        metrics.storageInsertSeconds.observe({ outcome: "ok" }, (performance.now() - started) / 1000);
        storageProblem = undefined;
      } catch (error) {
        metrics.storageInsertSeconds.observe({ outcome: "error" }, (performance.now() - started) / 1000);
        storageProblem = describeStorageError(error);
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: storageProblem });
        log.error({ err: storageProblem, batches: batches.length }, "insert into ClickHouse failed; batches answered 503");
        const answer = new ApiError("unavailable", `storage is unavailable (${storageProblem}); the batch was not stored, retry later`, [], STORAGE_RETRY_AFTER_S);
        for (const batch of batches) {
          if (batch.settled) continue;
          metrics.ingestBatches.inc({ outcome: "failed" });
          batch.settled = true;
          batch.settle.reject(answer);
        }
      } finally {
        flushingRows = 0;
        metrics.ingestQueueRows.set(queuedRows());
        span.end();
      }
    });
  }

  function settleStored(batch: PendingBatch, duplicate: boolean): void {
    if (batch.key) rememberCommitted(batch.key);
    if (!duplicate) {
      countStored(batch.rows);
      for (const listener of storedListeners) {
        try {
          listener(batch.rows);
        } catch (error) {
          log.error({ err: (error as Error).message }, "a listener of stored events failed");
        }
      }
    }
    metrics.ingestBatches.inc({ outcome: duplicate ? "duplicate" : "stored" });
    batch.settled = true;
    batch.settle.resolve({ stored: duplicate ? 0 : batch.rows.length, duplicate });
  }

  function refuseBatch(batch: PendingBatch, error: unknown): void {
    const reason = describeStorageError(error);
    log.warn({ tenant: batch.tenant, batch_id: batch.batchId, err: reason }, "ClickHouse refused a batch's rows");
    metrics.ingestBatches.inc({ outcome: "rejected" });
    batch.settled = true;
    batch.settle.reject(new ApiError("invalid_argument", `ClickHouse refused this batch's rows (${reason}); the batch was not stored. Check its timestamps and sizes, then send it again`));
  }

  /**
   * Inserts the batches' events, then records their ids in the ledger. The ledger row is
   * written only after the whole events insert returned: an insert that fails half-way
   * (ClickHouse writes one part per day) must not leave the batch marked as stored. A
   * crash between the two writes can at worst store a retried batch twice, never lose it.
   */
  async function storeBatches(batches: PendingBatch[]): Promise<void> {
    if (batches.length === 0) return;
    const token = dedupToken(batches);
    await insertWithRetry("events", batches.flatMap((b) => b.rows), token);
    const receivedAt = Math.floor(Date.now() / 1000);
    const ledger = batches
      .filter((b) => b.key)
      .map((b) => ({ tenant: b.tenant, batch_id: b.batchId, events: b.rows.length, received_at: receivedAt }));
    try {
      if (ledger.length > 0) await insertWithRetry("ingest_batches", ledger, `${token}:ledger`);
    } catch (error) {
      log.error({ err: describeStorageError(error), batches: ledger.length }, "events stored but their batch ids were not recorded; a retry of these batches after a restart may store them twice");
    }
  }

  /** Batch keys of this flush that the ledger says are already stored. */
  async function findStoredBatches(batches: PendingBatch[]): Promise<Set<string>> {
    const idsByTenant = new Map<string, string[]>();
    for (const batch of batches) {
      if (!batch.key) continue;
      const ids = idsByTenant.get(batch.tenant) ?? [];
      ids.push(batch.batchId);
      idsByTenant.set(batch.tenant, ids);
    }
    const stored = new Set<string>();
    for (const [tenant, ids] of idsByTenant) {
      const rows = await db.query<{ batch_id: string }>(
        `SELECT DISTINCT batch_id FROM ${db.table("ingest_batches")} WHERE tenant = {tenant:String} AND batch_id IN {ids:Array(String)}`,
        { tenant, ids },
      );
      for (const row of rows) stored.add(`${tenant}\u0000${row.batch_id}`);
    }
    // Two requests of one flush may carry the same batch id only if one joined the
    // other, which `submit` prevents; nothing more to de-duplicate here.
    return stored;
  }

  async function insertWithRetry(table: string, rows: object[], token: string): Promise<void> {
    // A batch may span many days (a backfill); one part per day is fine for us. The plugins'
    // materialized views over `events` drop a retried insert's rows only when asked to
    // (deduplicate_blocks_in_dependent_materialized_views: on by default in 26.7, not in every
    // server version or profile) and when their target tables keep a de-duplication window (the
    // plugins' migrations give every view target the events table's).
    const settings = { insert_deduplication_token: token, deduplicate_blocks_in_dependent_materialized_views: 1 as const, max_partitions_per_insert_block: "0" };
    try {
      await db.insert(table, rows, settings);
    } catch (error) {
      if (isDataError(error)) throw error;
      // One immediate retry covers a dropped connection; the token makes it safe when
      // the first attempt was in fact stored.
      log.warn({ err: describeStorageError(error) }, "insert failed, retrying once with the same deduplication token");
      await db.insert(table, rows, settings);
    }
  }

  /**
   * source and type come from senders, so the label pairs are capped: past
   * MAX_EVENT_LABEL_PAIRS distinct pairs, new ones are counted under "other".
   */
  function countStored(rows: EventRow[]): void {
    const counts = new Map<string, { source: string; type: string; n: number }>();
    for (const row of rows) {
      const k = `${row.source}\u0000${row.type}`;
      const entry = counts.get(k);
      if (entry) entry.n++;
      else counts.set(k, { source: row.source, type: row.type, n: 1 });
    }
    for (const { source, type, n } of counts.values()) {
      const pair = `${source}\u0000${type}`;
      if (!labelPairs.has(pair) && labelPairs.size < MAX_EVENT_LABEL_PAIRS) labelPairs.add(pair);
      const known = labelPairs.has(pair);
      metrics.ingestEvents.inc(known ? { source, type } : { source: "other", type: "other" }, n);
    }
  }

  /** Stops taking batches and waits until every queued batch is answered. */
  async function close(): Promise<void> {
    closed = true;
    while (pending.length > 0 || flushing) await startFlush();
  }

  return {
    submit,
    /** Calls `listener` with each batch's rows once they are in ClickHouse (not for duplicates). */
    onStored(listener: (rows: readonly EventRow[]) => void): void {
      storedListeners.push(listener);
    },
    flush: startFlush,
    close,
    queuedRows,
    /** Why the last insert failed, until one succeeds again. */
    storageProblem: () => storageProblem,
    /** Called by the health probe when storage answers again, so ingest resumes. */
    storageRecovered: () => {
      storageProblem = undefined;
    },
  };
}

export type EventWriter = ReturnType<typeof createEventWriter>;

/**
 * The flush's `insert_deduplication_token`: a digest of its batch keys, so the same
 * flush retried is stored once. Anonymous batches (no batch id) add a random nonce.
 * Every insert carries a token: the embedded engine keeps settings on its session, so
 * an insert without one would inherit the previous insert's token and be dropped.
 */
function dedupToken(batches: PendingBatch[]): string {
  const hash = createHash("sha256");
  for (const key of batches.map((b) => b.key || randomUUID()).sort()) hash.update(key).update("\n");
  return hash.digest("hex");
}

/** ClickHouse answered and refused the statement (vs. a network failure or timeout). */
function isDataError(error: unknown): boolean {
  const type = (error as { type?: string })?.type;
  if (!type) return false;
  // Errors that say the server is overloaded or out of space are storage problems, not data problems.
  return !/MEMORY_LIMIT|NOT_ENOUGH_SPACE|TOO_MANY_SIMULTANEOUS|TIMEOUT|NETWORK|SOCKET|READONLY|TABLE_IS_READ_ONLY|TOO_MANY_PARTS/.test(type);
}

const CREDENTIAL_ERRORS = new Set(["AUTHENTICATION_FAILED", "REQUIRED_PASSWORD", "WRONG_PASSWORD", "UNKNOWN_USER"]);
const TLS_TRUST_ERRORS = new Set(["SELF_SIGNED_CERT_IN_CHAIN", "DEPTH_ZERO_SELF_SIGNED_CERT", "UNABLE_TO_VERIFY_LEAF_SIGNATURE", "UNABLE_TO_GET_ISSUER_CERT_LOCALLY", "CERT_UNTRUSTED"]);

/**
 * A short reason for storage trouble that is safe to show a caller: a network error
 * code or ClickHouse's error name, never the message (it can quote SQL or data).
 */
export function describeStorageError(error: unknown): string {
  const err = error as { code?: string; type?: string; cause?: { code?: string } };
  const code = err?.code ?? err?.cause?.code;
  if (code === "ECONNREFUSED") return "ClickHouse refused the connection";
  if (code === "ECONNRESET") return "ClickHouse closed the connection";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "ClickHouse host name does not resolve";
  if (code === "ETIMEDOUT" || code === "UND_ERR_CONNECT_TIMEOUT") return "connection to ClickHouse timed out";
  if (code && TLS_TRUST_ERRORS.has(code)) return `ClickHouse's TLS certificate is not trusted (${code}): set CLICKHOUSE_CA_CERT to the CA that signed it`;
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") return "ClickHouse's TLS certificate does not name the host in CLICKHOUSE_URL";
  if (err?.type && CREDENTIAL_ERRORS.has(err.type)) return `ClickHouse refused the credentials (${err.type}): check CLICKHOUSE_USER and CLICKHOUSE_PASSWORD`;
  if (err?.type) return `ClickHouse error ${err.type}`;
  if (error instanceof Error && /timeout/i.test(error.message)) return "ClickHouse did not answer in time";
  if (code) return `storage error ${code}`;
  return "storage error";
}
