import type { LabelEntry } from "./labels.js";

/**
 * The last `capacity` logged ops, stored column-wise in typed arrays allocated once
 * (and again only when buffer_size changes): pushing an op writes numbers and two
 * references and allocates nothing, and 1000 ops take about 70 KB where 1000 event
 * objects would take several times that. Events are built from a slot only when read
 * (`recent()`) or shipped.
 *
 * Every op gets a sequence number, `written` before it; op `seq` lives in slot
 * `seq % capacity` while `seq >= oldestSeq(ring)`.
 */
export interface OpRing {
  capacity: number;
  /** Ops ever pushed: the next op's sequence number. */
  written: number;
  /** No op before this one is held: what a resize kept (a larger ring is not full at once). */
  start: number;
  /** Monotonic ms (the monitor's clock). */
  time: Float64Array;
  op: Uint8Array;
  /** RESULT_* code, RESULT_ERROR or-ed in. */
  result: Uint8Array;
  mode: Uint8Array;
  /** Items; for a hybrid query, the cache's part. */
  count: Float64Array;
  /** ms; for a hybrid query, the cache's part. */
  durationMs: Float64Array;
  /** Hybrid queries only: the database's items and ms. */
  dbCount: Float64Array;
  dbMs: Float64Array;
  sampleRate: Float64Array;
  label: (LabelEntry | undefined)[];
  origin: (string | undefined)[];
}

export function createOpRing(capacity: number): OpRing {
  return {
    capacity,
    written: 0,
    start: 0,
    time: new Float64Array(capacity),
    op: new Uint8Array(capacity),
    result: new Uint8Array(capacity),
    mode: new Uint8Array(capacity),
    count: new Float64Array(capacity),
    durationMs: new Float64Array(capacity),
    dbCount: new Float64Array(capacity),
    dbMs: new Float64Array(capacity),
    sampleRate: new Float64Array(capacity),
    label: new Array<LabelEntry | undefined>(capacity).fill(undefined),
    origin: new Array<string | undefined>(capacity).fill(undefined),
  };
}

export function pushOp(
  ring: OpRing,
  time: number,
  op: number,
  result: number,
  mode: number,
  count: number,
  durationMs: number,
  dbCount: number,
  dbMs: number,
  sampleRate: number,
  label: LabelEntry,
  origin: string | undefined,
): void {
  const slot = ring.written % ring.capacity;
  ring.time[slot] = time;
  ring.op[slot] = op;
  ring.result[slot] = result;
  ring.mode[slot] = mode;
  ring.count[slot] = count;
  ring.durationMs[slot] = durationMs;
  ring.dbCount[slot] = dbCount;
  ring.dbMs[slot] = dbMs;
  ring.sampleRate[slot] = sampleRate;
  ring.label[slot] = label;
  ring.origin[slot] = origin;
  ring.written++;
}

/** The oldest sequence number still held. */
export function oldestSeq(ring: OpRing): number {
  return Math.max(ring.start, ring.written - ring.capacity);
}

/** A ring of another capacity holding the newest ops of `ring`, sequence numbers kept. */
export function resizeOpRing(ring: OpRing, capacity: number): OpRing {
  if (capacity === ring.capacity) return ring;
  const next = createOpRing(capacity);
  next.written = ring.written;
  next.start = Math.max(oldestSeq(ring), ring.written - capacity);
  for (let seq = next.start; seq < ring.written; seq++) {
    const from = seq % ring.capacity;
    const to = seq % capacity;
    next.time[to] = ring.time[from]!;
    next.op[to] = ring.op[from]!;
    next.result[to] = ring.result[from]!;
    next.mode[to] = ring.mode[from]!;
    next.count[to] = ring.count[from]!;
    next.durationMs[to] = ring.durationMs[from]!;
    next.dbCount[to] = ring.dbCount[from]!;
    next.dbMs[to] = ring.dbMs[from]!;
    next.sampleRate[to] = ring.sampleRate[from]!;
    next.label[to] = ring.label[from];
    next.origin[to] = ring.origin[from];
  }
  return next;
}
