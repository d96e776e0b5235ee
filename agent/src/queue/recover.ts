import { randomBytes } from "node:crypto";
import { open, rm, unlink } from "node:fs/promises";
import { join } from "node:path";
import { CURSOR_FILE, readCursor, writeCursor, type CursorState, type Position } from "./cursor.js";
import type { QueueLog } from "./disk-queue.js";
import { listSegments, scanSegment, segmentFileName, truncateDurably, type Segment, type SegmentScan } from "./segment.js";

export type FoundCorruption = { segment: number; corrupt: NonNullable<SegmentScan["corrupt"]> };

export interface Recovered {
  state: CursorState;
  /** oldest first, each already cut back to its last valid record */
  segments: Segment[];
  /** the number for the next segment: above every number this queue id has used */
  nextSeq: number;
  /** what was cut off, for the caller to report */
  corruption: FoundCorruption[];
}

/**
 * Brings a queue directory back to a consistent state after any kind of stop: verifies every
 * unacknowledged record, cuts torn or corrupt data off, removes consumed segments left by a
 * crash, and falls back to replaying from the oldest segment (at least once, with a new queue
 * id so batch ids cannot repeat) when the cursor is missing, unreadable or inconsistent.
 * Nothing found on disk makes it throw.
 */
export async function recoverQueue(dir: string, log: QueueLog): Promise<Recovered> {
  await rm(join(dir, `${CURSOR_FILE}.tmp`), { force: true }); // a cursor write a crash interrupted
  const found = await readCursor(dir);
  const seqs = await listSegments(dir);
  const replayAll = (): CursorState => ({ queueId: newQueueId(), read: { segment: seqs[0] ?? 0, offset: 0 } });
  let state: CursorState;
  if (found.kind === "ok") state = found.state;
  else {
    if (found.kind === "corrupt" || seqs.length > 0) {
      log.warn({ dir, reason: found.kind === "corrupt" ? found.reason : "missing" }, "disk queue cursor unreadable: replaying from the oldest segment, so some events may be sent twice");
    }
    state = replayAll();
  }
  let scanned = await scanSegments(dir, seqs, state.read);
  while (scanned === "cursor_invalid") {
    // Ends after one more pass: a cursor at the start of a segment is always valid.
    log.warn({ dir, segment: state.read.segment, offset: state.read.offset }, "disk queue cursor does not point at a record: replaying from the oldest segment, so some events may be sent twice");
    state = replayAll();
    scanned = await scanSegments(dir, seqs, state.read);
  }
  if (found.kind !== "ok" || state !== found.state) await writeCursor(dir, state);
  // Consumed segments linger when a crash came between the cursor write and their removal.
  for (const seq of seqs) {
    if (seq < state.read.segment) {
      await unlink(join(dir, segmentFileName(seq))).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    }
  }
  for (const { segment, corrupt } of scanned.corruption) await truncateDurably(join(dir, segmentFileName(segment)), corrupt.offset);
  const nextSeq = Math.max(state.read.segment, state.inFlight?.end.segment ?? 0, ...seqs) + 1;
  return { state, segments: scanned.segments, nextSeq, corruption: scanned.corruption };
}

/** Verifies every unacknowledged record without changing anything on disk yet. */
async function scanSegments(dir: string, seqs: number[], read: Position): Promise<{ segments: Segment[]; corruption: FoundCorruption[] } | "cursor_invalid"> {
  const segments: Segment[] = [];
  const corruption: FoundCorruption[] = [];
  for (const seq of seqs) {
    if (seq < read.segment) continue;
    const path = join(dir, segmentFileName(seq));
    const from = seq === read.segment ? read.offset : 0;
    const handle = await open(path, "r");
    try {
      const size = (await handle.stat()).size;
      if (from > size) return "cursor_invalid";
      const scan = await scanSegment(handle, from, size);
      // Bad data right at a non-zero cursor is either a bad record or a cursor that is not on a
      // record boundary; only walking up to it from the segment's start tells which.
      if (scan.corrupt?.offset === from && from > 0) {
        const before = await scanSegment(handle, 0, from);
        if (before.corrupt || before.goodEnd !== from) return "cursor_invalid";
      }
      if (scan.corrupt) corruption.push({ segment: seq, corrupt: scan.corrupt });
      segments.push({ seq, path, size: scan.goodEnd, records: scan.records, bytes: scan.goodEnd - from });
    } finally {
      await handle.close();
    }
  }
  return { segments, corruption };
}

function newQueueId(): string {
  return randomBytes(8).toString("hex");
}
