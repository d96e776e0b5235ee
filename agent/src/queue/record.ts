import { crc32 } from "node:zlib";

/**
 * On-disk framing of one record: payload length (u32 BE), CRC32 of the payload (u32 BE),
 * payload. Empty payloads are refused at append, so a zero length on disk always means
 * corruption — this is what makes zero-filled tails (a crash after the file grew but
 * before its data landed) detectable, since the CRC32 of nothing is 0.
 */
export const RECORD_HEADER_BYTES = 8;
const MAX_PAYLOAD_BYTES = 0xffff_ffff;

export function framedSize(payload: Buffer): number {
  return RECORD_HEADER_BYTES + payload.length;
}

/** Why an invalid record was not accepted; also the words the logs use. */
export type CorruptReason = "zero_length" | "crc_mismatch" | "torn_record";

/** Frames records[from, to) into one buffer of `bytes` bytes, ready for a single write. */
export function encodeRecords(records: readonly Buffer[], from: number, to: number, bytes: number): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (let i = from; i < to; i++) {
    const payload = records[i]!;
    out.writeUInt32BE(payload.length, at);
    out.writeUInt32BE(crc32(payload), at + 4);
    payload.copy(out, at + RECORD_HEADER_BYTES);
    at += RECORD_HEADER_BYTES + payload.length;
  }
  return out;
}

/** Returns the reason a record cannot be appended, or undefined when it can. */
export function invalidRecordReason(record: unknown): string | undefined {
  if (!Buffer.isBuffer(record)) return "records must be Buffers";
  if (record.length === 0) return "records must not be empty";
  if (record.length > MAX_PAYLOAD_BYTES) return "a record must be smaller than 4 GiB";
  return undefined;
}

export type WalkEnd =
  /** every byte of the buffer was a whole, valid record */
  | { kind: "end"; at: number }
  /** `accept` declined the record starting at `at` */
  | { kind: "declined"; at: number }
  /** the record at `at` runs past the end of the buffer; `needs` is its framed size when the header is complete */
  | { kind: "partial"; at: number; needs?: number }
  | { kind: "corrupt"; at: number; reason: Exclude<CorruptReason, "torn_record">; /** end of the bad record when its length looked plausible */ end?: number };

/**
 * Walks the records framed in `buf` from `from`, verifying each CRC, and hands each valid
 * one to `accept(payloadStart, end)`, which returns false to stop before it. Synchronous and
 * allocation-free per record, because next() and the open-time scan run it over every byte.
 */
export function walkRecords(buf: Buffer, from: number, accept: (payloadStart: number, end: number) => boolean): WalkEnd {
  let at = from;
  while (at < buf.length) {
    if (buf.length - at < RECORD_HEADER_BYTES) return { kind: "partial", at };
    const length = buf.readUInt32BE(at);
    if (length === 0) return { kind: "corrupt", at, reason: "zero_length" };
    const payloadStart = at + RECORD_HEADER_BYTES;
    const end = payloadStart + length;
    if (end > buf.length) return { kind: "partial", at, needs: RECORD_HEADER_BYTES + length };
    if (crc32(buf.subarray(payloadStart, end)) !== buf.readUInt32BE(at + 4)) return { kind: "corrupt", at, reason: "crc_mismatch", end };
    if (!accept(payloadStart, end)) return { kind: "declined", at };
    at = end;
  }
  return { kind: "end", at };
}
