import { open, readdir, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { RECORD_HEADER_BYTES, walkRecords, type CorruptReason } from "./record.js";

/** A segment file as the queue tracks it. */
export interface Segment {
  seq: number;
  path: string;
  /** bytes known to be durable; nothing reads past it */
  size: number;
  /** unacknowledged records in this segment and their framed bytes */
  records: number;
  bytes: number;
}

const SEGMENT_NAME = /^(\d{12})\.seg$/;
/** How much the open-time scan reads at once: large enough for few syscalls, small enough to stay cheap in memory. */
const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

export function segmentFileName(seq: number): string {
  return `${String(seq).padStart(12, "0")}.seg`;
}

/** Segment numbers found in `dir`, oldest first; other files are left alone. */
export async function listSegments(dir: string): Promise<number[]> {
  const seqs: number[] = [];
  for (const name of await readdir(dir)) {
    const match = SEGMENT_NAME.exec(name);
    if (match) seqs.push(Number(match[1]));
  }
  return seqs.sort((a, b) => a - b);
}

/** Reads up to `length` bytes at `position`; shorter only if the file ends first. */
async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buf, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buf : buf.subarray(0, filled);
}

export async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written);
    written += bytesWritten;
  }
}

export type RangeEnd =
  | { kind: "end"; at: number }
  | { kind: "declined"; at: number }
  | { kind: "corrupt"; at: number; reason: CorruptReason; /** end of the bad record when its length looked plausible */ end?: number };

/**
 * Walks the records of a file between `from` and `to`, reading `chunkBytes` at a time (a
 * record larger than a chunk is read whole), and calls `accept(chunk, payloadStart, end, chunkPosition)`
 * for each valid one. A record running past `to` is reported as torn.
 */
export async function walkFileRange(
  handle: FileHandle,
  from: number,
  to: number,
  chunkBytes: number,
  accept: (chunk: Buffer, payloadStart: number, end: number, chunkPosition: number) => boolean,
): Promise<RangeEnd> {
  let position = from;
  let want = chunkBytes;
  while (position < to) {
    const requested = Math.min(to - position, want);
    const chunk = await readAt(handle, position, requested);
    // A short read means the file ends before `to` (cut behind our back): what is missing is torn.
    const fileEnd = chunk.length < requested ? position + chunk.length : to;
    want = chunkBytes;
    const walked = walkRecords(chunk, 0, (payloadStart, end) => accept(chunk, payloadStart, end, position));
    switch (walked.kind) {
      case "declined":
        return { kind: "declined", at: position + walked.at };
      case "corrupt":
        return { kind: "corrupt", at: position + walked.at, reason: walked.reason, ...(walked.end !== undefined ? { end: position + walked.end } : {}) };
      case "end":
        position += walked.at;
        if (position === fileEnd && fileEnd < to) return { kind: "corrupt", at: position, reason: "torn_record" };
        break;
      case "partial": {
        const recordAt = position + walked.at;
        const recordEnd = recordAt + (walked.needs ?? RECORD_HEADER_BYTES);
        if (recordEnd > fileEnd) return { kind: "corrupt", at: recordAt, reason: "torn_record" };
        if (walked.at === 0) want = recordEnd - recordAt; // one record larger than a chunk: read it whole
        position = recordAt;
      }
    }
  }
  return { kind: "end", at: position };
}

export interface SegmentScan {
  /** where the valid records end: the file is cut here when `corrupt` is set */
  goodEnd: number;
  records: number;
  corrupt?: { offset: number; reason: CorruptReason; bytesSkipped: number; recordsLost: number };
}

/**
 * Verifies every record of a segment from `from` on, as done at open. When it meets a bad
 * record it still walks on past it (when its length is believable) to count the valid-looking
 * records behind it, which are lost with it, so the report can say how many.
 */
export async function scanSegment(handle: FileHandle, from: number, size: number): Promise<SegmentScan> {
  let records = 0;
  const walked = await walkFileRange(handle, from, size, SCAN_CHUNK_BYTES, () => {
    records++;
    return true;
  });
  if (walked.kind !== "corrupt") return { goodEnd: walked.at, records };
  let recordsLost = 1;
  if (walked.end !== undefined) {
    // Whatever ends this run of valid records behind the bad one is lost as well; it adds no count.
    await walkFileRange(handle, walked.end, size, SCAN_CHUNK_BYTES, () => {
      recordsLost++;
      return true;
    });
  }
  return { goodEnd: walked.at, records, corrupt: { offset: walked.at, reason: walked.reason, bytesSkipped: size - walked.at, recordsLost } };
}

/** Cuts a file at `length` and makes the cut durable. */
export async function truncateDurably(path: string, length: number): Promise<void> {
  const handle = await open(path, "r+");
  try {
    await handle.truncate(length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}
