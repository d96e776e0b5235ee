import { mkdir, open, unlink, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { writeCursor, type CursorState, type Position } from "./cursor.js";
import { encodeRecords, framedSize, invalidRecordReason, RECORD_HEADER_BYTES } from "./record.js";
import { recoverQueue } from "./recover.js";
import { syncDir } from "@vigil/plugin-sdk";
import { segmentFileName, truncateDurably, walkFileRange, writeAll, type RangeEnd, type Segment, type SegmentScan } from "./segment.js";

export interface DiskQueueOptions {
  /** created if missing */
  dir: string;
  /** bound on the queue's unacknowledged bytes on disk (records plus their 8-byte headers) */
  maxBytes: number;
  /** default min(8 MiB, maxBytes/8), at least 64 KiB */
  segmentBytes?: number;
  policy: "block" | "drop_oldest";
  log?: QueueLog;
  /** for metrics */
  onDrop?: (records: number, reason: "queue_full" | "corrupt") => void;
}

export interface QueueLog {
  info(o: object, m?: string): void;
  warn(o: object, m?: string): void;
  error(o: object, m?: string): void;
}

export interface QueueBatch {
  id: string;
  records: Buffer[];
  /** payload bytes of `records` */
  bytes: number;
}

export interface DiskQueue {
  /**
   * Appends records; resolves only once they are fsync'ed (group commit: appends that arrive
   * while an fsync runs share the next one). The buffers must not change until it resolves.
   * With policy "block" and a full queue it waits until acks free space (or close() rejects
   * it); with "drop_oldest" it drops the oldest whole unacked segments that are not part of
   * the batch in flight, counting every dropped record via onDrop(n, "queue_full") and a warn
   * log — and waits for an ack only if the batch in flight alone leaves no room. An append
   * larger than maxBytes, an empty record or a non-Buffer rejects at once.
   */
  append(records: Buffer[]): Promise<void>;
  /**
   * The next batch to ship, or undefined if empty: at most maxRecords records and maxBytes
   * payload bytes (but always at least one record). It stays in flight until ack(); next()
   * returns the same batch until then, also after a crash and reopen (its boundaries are
   * fsync'ed before next() returns), so the collector can de-duplicate by its id.
   */
  next(limits: { maxRecords: number; maxBytes: number }): Promise<QueueBatch | undefined>;
  /** Waits until there is at least one record, the timeout elapses, or close(). */
  waitForData(timeoutMs: number): Promise<void>;
  /** Acknowledges the batch in flight: advances the durable read cursor, deletes consumed segments. Acking the last acked id again is a no-op. */
  ack(batchId: string): Promise<void>;
  stats(): { bytes: number; records: number; segments: number; droppedRecords: number; corruptRecords: number };
  /** Safe to call twice: blocked appends reject, accepted ones are written, a next()/ack() in progress finishes. */
  close(): Promise<void>;
}

const MIN_DEFAULT_SEGMENT_BYTES = 64 * 1024;
const MAX_DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
/** Extra bytes next() reads beyond its estimate, so an uneven record size rarely costs a second read. */
const READ_SLACK_BYTES = 16 * 1024;

interface InFlight {
  batch: QueueBatch;
  start: Position;
  end: Position;
  parts: { segment: Segment; records: number; bytes: number }[];
}

interface PendingAppend {
  records: Buffer[];
  bytes: number;
  resolve(): void;
  reject(error: Error): void;
}

type Formed = { kind: "empty" } | { kind: "retry" } | ({ kind: "batch" } & Omit<InFlight, "batch"> & { records: Buffer[]; bytes: number });

const silentLog = { info() {}, warn() {}, error() {} };

/**
 * Opens (or creates) the agent's durable queue in `options.dir`: segment files of framed,
 * checksummed records plus a small cursor file. Opening verifies every unacknowledged record,
 * cuts off torn or corrupt data (reporting what was lost) and never throws because of what
 * it finds on disk. Appends after an open always go to a new segment, so bytes at a given
 * (segment, offset) never change once written — which is what lets a batch id name its
 * content: `<queue id>:<start segment>.<offset>-<end segment>.<offset>`.
 */
export async function openDiskQueue(options: DiskQueueOptions): Promise<DiskQueue> {
  const { dir, maxBytes, policy } = options;
  const segmentBytes = options.segmentBytes ?? Math.max(MIN_DEFAULT_SEGMENT_BYTES, Math.min(MAX_DEFAULT_SEGMENT_BYTES, Math.floor(maxBytes / 8)));
  checkOptions(options, segmentBytes);
  const log = options.log ?? silentLog;

  await mkdir(dir, { recursive: true });
  const loaded = await recoverQueue(dir, log);
  const { queueId } = loaded.state;
  /** the first unacknowledged record; when its segment is gone, the next segment's start */
  let cursor = loaded.state.read;
  const segments = loaded.segments;
  let nextSeq = loaded.nextSeq;
  let inFlight: InFlight | undefined;
  let lastAckedId: string | undefined;
  let active: { segment: Segment; handle: FileHandle } | undefined;
  let unackedBytes = 0;
  let unackedRecords = 0;
  let droppedRecords = 0;
  let corruptRecords = 0;

  const blocked: PendingAppend[] = [];
  const pending: PendingAppend[] = [];
  /** bytes of appends accepted but not yet written, reserved against maxBytes */
  let admittedBytes = 0;
  let flushing: Promise<void> | undefined;
  const dataWaiters = new Set<() => void>();
  const roomWaiters = new Set<() => void>();
  /** bumped whenever acks, cuts or close free room, so a writer never sleeps through one */
  let roomVersion = 0;
  // The writer and the reader (next/ack) run independently; each is serial on its own.
  const writeLock = createSerial();
  const readLock = createSerial();
  let closed = false;
  let closing: Promise<void> | undefined;

  for (const segment of segments) {
    unackedBytes += segment.bytes;
    unackedRecords += segment.records;
  }
  // Damage in the newest segment is what an unclean stop leaves behind (a write it never finished), not lost acknowledged data.
  const newestSeq = segments.at(-1)?.seq;
  for (const found of loaded.corruption) reportCorruption(found.segment, found.corrupt, found.segment === newestSeq ? "warn" : "error");
  await restoreInFlight(loaded.state);
  await removeConsumedSegments();
  log.info({ dir, records: unackedRecords, bytes: unackedBytes, segments: segments.length, in_flight: inFlight?.batch.id ?? null }, "disk queue opened");

  /** Rebuilds the batch that was in flight at the last stop, byte for byte, so it keeps its id. */
  async function restoreInFlight(state: CursorState): Promise<void> {
    if (!state.inFlight) return;
    let formed: Formed;
    do formed = await formBatch({ maxRecords: Infinity, maxBytes: Infinity }, state.inFlight.end);
    while (formed.kind === "retry");
    const same =
      formed.kind === "batch" &&
      formed.records.length === state.inFlight.records &&
      samePosition(formed.start, state.read) &&
      samePosition(formed.end, state.inFlight.end);
    if (formed.kind === "batch" && same) {
      inFlight = { batch: { id: batchId(formed.start, formed.end), records: formed.records, bytes: formed.bytes }, start: formed.start, end: formed.end, parts: formed.parts };
      return;
    }
    // Its id names its byte range; a batch formed anew over what is left of that range holds a
    // subset of the old one, so the collector's de-duplication still loses nothing.
    log.warn({ dir, batch_id: batchId(state.read, state.inFlight.end) }, "disk queue: the batch in flight could not be rebuilt (its records were damaged); forming a new one");
    await writeCursor(dir, { queueId, read: cursor });
  }

  function batchId(start: Position, end: Position): string {
    return `${queueId}:${start.segment}.${start.offset}-${end.segment}.${end.offset}`;
  }

  function readStart(segment: Segment): number {
    return segment.seq === cursor.segment ? cursor.offset : 0;
  }

  /**
   * Reads the next records from the read cursor, one read per segment (more only when the
   * estimate falls short), verifying each checksum. Stops at `limits` or at `stopAt`.
   * Answers "retry" when the queue changed under it (a segment dropped, corruption cut off).
   */
  async function formBatch(limits: { maxRecords: number; maxBytes: number }, stopAt?: Position): Promise<Formed> {
    const records: Buffer[] = [];
    let bytes = 0;
    const parts: InFlight["parts"] = [];
    let start: Position | undefined;
    let end: Position | undefined;
    for (const segment of segments.slice()) {
      if (stopAt && segment.seq > stopAt.segment) break;
      const from = readStart(segment);
      const to = stopAt?.segment === segment.seq ? Math.min(stopAt.offset, segment.size) : segment.size;
      if (segment.records === 0 || from >= to) continue;
      let taken = 0;
      let takenEnd = from;
      let handle: FileHandle;
      try {
        handle = await open(segment.path, "r");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
        // Gone because drop_oldest took it meanwhile (then retry), or removed from disk by
        // someone else: then its records are lost, and forgetting it stops a retry loop.
        if (segments.includes(segment)) await segmentVanished(segment);
        return { kind: "retry" };
      }
      let walked: RangeEnd;
      try {
        // Read what the limits will likely take, judging by this segment's average record size.
        const framedAverage = segment.bytes / segment.records;
        const expected = Math.min(limits.maxRecords - records.length, (limits.maxBytes - bytes) / Math.max(1, framedAverage - RECORD_HEADER_BYTES));
        walked = await walkFileRange(handle, from, to, Math.ceil(Math.max(0, expected) * framedAverage) + READ_SLACK_BYTES, (chunk, payloadStart, recordEnd, chunkAt) => {
          const length = recordEnd - payloadStart;
          if (records.length > 0 && (records.length >= limits.maxRecords || bytes + length > limits.maxBytes)) return false;
          records.push(chunk.subarray(payloadStart, recordEnd));
          bytes += length;
          taken++;
          takenEnd = chunkAt + recordEnd;
          return true;
        });
      } finally {
        await handle.close();
      }
      if (!segments.includes(segment)) return { kind: "retry" };
      if (walked.kind === "corrupt") {
        // Cut short by stopAt, a record running past it only means stopAt is not where a record ends.
        if (to < segment.size) return { kind: "empty" };
        await cutCorruptTail(segment, walked, taken);
        return { kind: "retry" };
      }
      if (taken > 0) {
        parts.push({ segment, records: taken, bytes: takenEnd - from });
        start ??= { segment: segment.seq, offset: from };
        end = { segment: segment.seq, offset: takenEnd };
      }
      if (walked.kind === "declined" || records.length >= limits.maxRecords || bytes >= limits.maxBytes) break;
    }
    if (!start || !end) return { kind: "empty" };
    return { kind: "batch", records, bytes, start, end, parts };
  }

  /** Corruption found while reading (the disk changed under a running queue): cut the segment there and seal it. */
  async function cutCorruptTail(segment: Segment, walked: Extract<RangeEnd, { kind: "corrupt" }>, validBefore: number): Promise<void> {
    await writeLock.run(async () => {
      if (!segments.includes(segment)) return;
      if (active?.segment === segment) {
        await active.handle.close();
        active = undefined;
      }
      const lostRecords = segment.records - validBefore;
      const lostBytes = segment.size - walked.at;
      await truncateDurably(segment.path, walked.at);
      segment.size = walked.at;
      segment.records -= lostRecords;
      segment.bytes -= lostBytes;
      unackedRecords -= lostRecords;
      unackedBytes -= lostBytes;
      reportCorruption(segment.seq, { offset: walked.at, reason: walked.reason, bytesSkipped: lostBytes, recordsLost: Math.max(1, lostRecords) }, "error");
    });
    await removeConsumedSegments();
    roomFreed();
  }

  /** A segment file removed from disk under the running queue: count its records as lost and forget it. */
  async function segmentVanished(segment: Segment): Promise<void> {
    await writeLock.run(async () => {
      if (!segments.includes(segment)) return;
      if (active?.segment === segment) {
        await active.handle.close().catch(() => undefined);
        active = undefined;
      }
      segments.splice(segments.indexOf(segment), 1);
      unackedRecords -= segment.records;
      unackedBytes -= segment.bytes;
      corruptRecords += segment.records;
      log.error(
        { dir, segment: segmentFileName(segment.seq), records_lost: segment.records },
        "disk queue: a segment file disappeared from disk (deleted outside the agent?); its records are lost",
      );
      reportDrop(segment.records, "corrupt");
    });
    roomFreed();
  }

  function reportCorruption(seq: number, corrupt: NonNullable<SegmentScan["corrupt"]>, level: "warn" | "error"): void {
    corruptRecords += corrupt.recordsLost;
    log[level](
      { dir, segment: segmentFileName(seq), offset: corrupt.offset, reason: corrupt.reason, bytes_skipped: corrupt.bytesSkipped, records_lost: corrupt.recordsLost },
      "disk queue: corrupt or torn data cut off; the records in it and after it in its segment are lost",
    );
    reportDrop(corrupt.recordsLost, "corrupt");
  }

  function reportDrop(records: number, reason: "queue_full" | "corrupt"): void {
    try {
      options.onDrop?.(records, reason);
    } catch (error) {
      log.error({ err: (error as Error).message }, "disk queue: onDrop callback threw");
    }
  }

  /** Deletes segments with nothing left to read (the one being appended to stays). */
  async function removeConsumedSegments(): Promise<void> {
    const consumed = segments.filter((segment) => segment.records === 0 && segment !== active?.segment);
    for (const segment of consumed) segments.splice(segments.indexOf(segment), 1);
    for (const segment of consumed) await removeSegmentFile(segment);
  }

  /** A file that cannot be deleted is logged, not thrown: the ack or drop it belongs to has already happened. */
  async function removeSegmentFile(segment: Segment): Promise<void> {
    try {
      await unlink(segment.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") log.warn({ dir, segment: segmentFileName(segment.seq), err: (error as Error).message }, "disk queue: cannot delete a segment file");
    }
  }

  // ---- writing ----

  function fits(bytes: number): boolean {
    return unackedBytes + admittedBytes + bytes <= maxBytes;
  }

  function admit(entry: PendingAppend): void {
    admittedBytes += entry.bytes;
    pending.push(entry);
    startWriter();
  }

  function startWriter(): void {
    if (flushing) return;
    flushing = flushPending().finally(() => {
      flushing = undefined;
      if (pending.length > 0) startWriter(); // admitted after the loop's last look
    });
  }

  /** Appends that wait for room are let in, in order, as acks free it. */
  function admitBlocked(): void {
    while (blocked.length > 0 && fits(blocked[0]!.bytes)) admit(blocked.shift()!);
  }

  function roomFreed(): void {
    roomVersion++;
    for (const wake of [...roomWaiters]) wake();
    admitBlocked();
  }

  /** The group commit loop: whatever was appended while the last write+fsync ran goes out in the next one. */
  async function flushPending(): Promise<void> {
    while (pending.length > 0) {
      // drop_oldest makes room for a whole group at once, so a group never exceeds maxBytes.
      let taken = 0;
      let groupBytes = 0;
      while (taken < pending.length && (taken === 0 || groupBytes + pending[taken]!.bytes <= maxBytes)) groupBytes += pending[taken++]!.bytes;
      const group = pending.splice(0, taken);
      try {
        if (policy === "drop_oldest") await waitForRoom(groupBytes);
        const records = group.length === 1 ? group[0]!.records : group.flatMap((entry) => entry.records);
        await writeLock.run(() => writeRecords(records));
        for (const entry of group) entry.resolve();
      } catch (error) {
        for (const entry of group) entry.reject(error as Error);
      } finally {
        admittedBytes -= groupBytes;
      }
      for (const wake of [...dataWaiters]) wake();
      if (policy === "block") admitBlocked(); // a failed write gives back what it reserved
    }
  }

  async function waitForRoom(bytes: number): Promise<void> {
    let warned = false;
    for (;;) {
      const seen = roomVersion;
      if (await writeLock.run(() => dropOldestFor(bytes))) return;
      if (closed) throw closedError();
      if (!warned) log.warn({ dir, in_flight_records: inFlight?.batch.records.length ?? 0 }, "disk queue full and only the batch in flight is left to drop: appends wait for its ack");
      warned = true;
      if (roomVersion !== seen) continue;
      await new Promise<void>((resolve) => {
        const wake = () => {
          roomWaiters.delete(wake);
          resolve();
        };
        roomWaiters.add(wake);
      });
    }
  }

  /** Drops whole segments, oldest first, never one the batch in flight reads from; true when `bytes` now fit. */
  async function dropOldestFor(bytes: number): Promise<boolean> {
    const room = () => unackedBytes + bytes <= maxBytes;
    if (room()) return true;
    const protectedUpTo = inFlight ? inFlight.end.segment : -1;
    let records = 0;
    let freed = 0;
    const victims: Segment[] = [];
    for (const segment of segments) {
      if (room()) break;
      if (segment.seq <= protectedUpTo || segment.records === 0) continue;
      victims.push(segment);
      records += segment.records;
      freed += segment.bytes;
      unackedRecords -= segment.records;
      unackedBytes -= segment.bytes;
    }
    for (const segment of victims) segments.splice(segments.indexOf(segment), 1);
    if (active && victims.includes(active.segment)) {
      await active.handle.close();
      active = undefined;
    }
    for (const segment of victims) await removeSegmentFile(segment);
    if (records > 0) {
      droppedRecords += records;
      log.warn({ dir, records, bytes: freed, segments: victims.length, max_bytes: maxBytes }, "disk queue full: dropped the oldest events");
      reportDrop(records, "queue_full");
    }
    return room();
  }

  /** Writes records into the active segment, starting a new one when it would exceed segmentBytes; one write + one fsync per segment touched. */
  async function writeRecords(records: Buffer[]): Promise<void> {
    let from = 0;
    while (from < records.length) {
      const target = active ?? (await startSegment());
      const segment = target.segment;
      let to = from;
      let bytes = 0;
      while (to < records.length) {
        const size = framedSize(records[to]!);
        if (segment.size + bytes + size > segmentBytes && (to > from || segment.size > 0)) break;
        bytes += size;
        to++;
      }
      if (to === from) {
        await sealActive();
        continue;
      }
      try {
        await writeAll(target.handle, encodeRecords(records, from, to, bytes));
        await target.handle.datasync();
      } catch (error) {
        await abandonActive(error as Error);
        throw error;
      }
      segment.size += bytes;
      segment.records += to - from;
      segment.bytes += bytes;
      unackedRecords += to - from;
      unackedBytes += bytes;
      from = to;
    }
  }

  async function startSegment(): Promise<{ segment: Segment; handle: FileHandle }> {
    const seq = nextSeq++;
    const path = join(dir, segmentFileName(seq));
    const handle = await open(path, "ax");
    await syncDir(dir); // the new file's name must survive a crash as surely as its records
    const segment: Segment = { seq, path, size: 0, records: 0, bytes: 0 };
    segments.push(segment);
    active = { segment, handle };
    return active;
  }

  async function sealActive(): Promise<void> {
    if (!active) return;
    const { handle } = active;
    active = undefined;
    await handle.close();
    await removeConsumedSegments();
  }

  /**
   * A failed write or fsync leaves the segment's tail unknown (after a failed fsync Linux may
   * even have dropped the dirty pages): cut it back to what was durable and never append to
   * it again. The appends of the group are rejected; nothing is reported as stored.
   */
  async function abandonActive(error: Error): Promise<void> {
    if (!active) return;
    const { segment, handle } = active;
    active = undefined;
    log.error({ dir, segment: segmentFileName(segment.seq), err: error.message }, "disk queue: write failed; the appends are rejected and a new segment will be started");
    await handle.truncate(segment.size).catch(() => undefined);
    await handle.close().catch(() => undefined);
  }

  // ---- the interface ----

  function append(records: Buffer[]): Promise<void> {
    if (closed) return Promise.reject(closedError());
    if (!Array.isArray(records)) return Promise.reject(new TypeError("append() takes an array of Buffers"));
    let bytes = 0;
    for (const record of records) {
      const invalid = invalidRecordReason(record);
      if (invalid) return Promise.reject(new TypeError(`cannot append: ${invalid}`));
      bytes += framedSize(record);
    }
    if (records.length === 0) return Promise.resolve();
    if (bytes > maxBytes) {
      return Promise.reject(new Error(`cannot append ${records.length} record(s) of ${bytes} bytes on disk: larger than the queue's maxBytes (${maxBytes}); split the append or raise maxBytes`));
    }
    return new Promise<void>((resolve, reject) => {
      const entry: PendingAppend = { records: records.slice(), bytes, resolve, reject };
      if (policy === "drop_oldest" || (blocked.length === 0 && fits(bytes))) admit(entry);
      else blocked.push(entry);
    });
  }

  function next(limits: { maxRecords: number; maxBytes: number }): Promise<QueueBatch | undefined> {
    if (!(limits.maxRecords >= 1) || !(limits.maxBytes >= 1)) return Promise.reject(new RangeError("next() needs maxRecords >= 1 and maxBytes >= 1"));
    return readLock.run(async () => {
      if (closed) throw closedError();
      if (inFlight) return inFlight.batch;
      let formed: Formed;
      do formed = await formBatch(limits);
      while (formed.kind === "retry");
      if (formed.kind === "empty") return undefined;
      const batch: QueueBatch = { id: batchId(formed.start, formed.end), records: formed.records, bytes: formed.bytes };
      // In flight from here on, before the write: drop_oldest must not take its segments meanwhile.
      inFlight = { batch, start: formed.start, end: formed.end, parts: formed.parts };
      try {
        await writeCursor(dir, { queueId, read: formed.start, inFlight: { end: formed.end, records: formed.records.length } });
      } catch (error) {
        inFlight = undefined;
        throw error;
      }
      cursor = formed.start;
      return batch;
    });
  }

  function ack(id: string): Promise<void> {
    return readLock.run(async () => {
      if (closed) throw closedError();
      if (!inFlight || inFlight.batch.id !== id) {
        if (id === lastAckedId) return;
        throw new Error(`cannot ack batch ${id}: the batch in flight is ${inFlight?.batch.id ?? "none"}`);
      }
      const done = inFlight;
      await writeCursor(dir, { queueId, read: done.end });
      inFlight = undefined;
      lastAckedId = id;
      cursor = done.end;
      for (const part of done.parts) {
        part.segment.records -= part.records;
        part.segment.bytes -= part.bytes;
        unackedRecords -= part.records;
        unackedBytes -= part.bytes;
      }
      await removeConsumedSegments();
      roomFreed();
    });
  }

  function waitForData(timeoutMs: number): Promise<void> {
    if (closed || unackedRecords > 0) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        dataWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      dataWaiters.add(wake);
    });
  }

  async function shutdown(): Promise<void> {
    closed = true;
    for (const entry of blocked.splice(0)) entry.reject(closedError());
    roomFreed();
    for (const wake of [...dataWaiters]) wake();
    while (flushing) await flushing;
    await readLock.run(async () => {});
    await writeLock.run(async () => {
      const handle = active?.handle;
      active = undefined;
      await handle?.close();
    });
  }

  return {
    append,
    next,
    waitForData,
    ack,
    stats: () => ({ bytes: unackedBytes, records: unackedRecords, segments: segments.length, droppedRecords, corruptRecords }),
    close: () => (closing ??= shutdown()),
  };
}

function checkOptions(options: DiskQueueOptions, segmentBytes: number): void {
  const problems: string[] = [];
  if (typeof options.dir !== "string" || options.dir === "") problems.push("dir must be a non-empty path");
  if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= RECORD_HEADER_BYTES) problems.push(`maxBytes must be an integer above ${RECORD_HEADER_BYTES}, got ${options.maxBytes}`);
  if (!Number.isSafeInteger(segmentBytes) || segmentBytes <= RECORD_HEADER_BYTES) problems.push(`segmentBytes must be an integer above ${RECORD_HEADER_BYTES}, got ${segmentBytes}`);
  if (options.policy !== "block" && options.policy !== "drop_oldest") problems.push(`policy must be "block" or "drop_oldest", got ${JSON.stringify(options.policy)}`);
  if (problems.length > 0) throw new Error(`invalid disk queue options: ${problems.join("; ")}`);
}

function samePosition(a: Position, b: Position): boolean {
  return a.segment === b.segment && a.offset === b.offset;
}

function closedError(): Error {
  return new Error("disk queue is closed");
}

/** Runs async functions one after another, in call order. */
function createSerial() {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    run<T>(fn: () => Promise<T> | T): Promise<T> {
      const result = tail.then(fn);
      tail = result.catch(() => undefined);
      return result;
    },
  };
}
