import { randomBytes } from "node:crypto";
import { MODES, OPS, OP_EVENT, SOURCE } from "../contract.js";
import { OP_CACHE_READ, OP_HYBRID, RESULT_ERROR, RESULT_NAMES } from "./codes.js";
import { roundMs } from "./op-stats.js";
import type { OpRing } from "./op-ring.js";
import type { CacheOpEvent, CacheOpEventAttrs } from "./types.js";

const MAX_ORIGIN_LENGTH = 64;

/**
 * The random part of this monitor's event ids, drawn once: 42 bits, split around the
 * UUID's version and variant fields.
 */
export interface IdSession {
  randA: string;
  randB: string;
}

export function createIdSession(): IdSession {
  const bytes = randomBytes(6);
  return {
    randA: (bytes.readUInt16BE(0) & 0x0fff).toString(16).padStart(3, "0"),
    randB: (((bytes.readUInt16BE(2) & 0x3fff) | 0x8000).toString(16) + bytes.readUInt16BE(4).toString(16).padStart(4, "0")),
  };
}

/**
 * A UUIDv7 (RFC 9562) made from what the ring holds: the op's ms timestamp, the session's
 * random bits and the op's sequence number (a counter in rand_b, as RFC 9562 §6.2
 * allows). The same op therefore has the same id whenever it is read or shipped, and the
 * ring stores no strings.
 */
export function opEventId(epochMs: number, session: IdSession, seq: number): string {
  const time = epochMs.toString(16).padStart(12, "0");
  const counter = (seq % 0x100000000).toString(16).padStart(8, "0");
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${session.randA}-${session.randB.slice(0, 4)}-${session.randB.slice(4)}${counter}`;
}

/** The cache.op event of the op with sequence number `seq` (which must still be in the ring). */
export function opEvent(ring: OpRing, seq: number, app: string, epochOffsetMs: number, session: IdSession): CacheOpEvent {
  const slot = seq % ring.capacity;
  const ts = Math.round(epochOffsetMs + ring.time[slot]!);
  const op = ring.op[slot]!;
  const result = ring.result[slot]!;
  const failed = (result & RESULT_ERROR) !== 0;
  const count = ring.count[slot]!;
  const durationMs = ring.durationMs[slot]!;
  const attrs: CacheOpEventAttrs = {
    app,
    op: OPS[op]!,
    key_label: ring.label[slot]!.name,
    count,
    duration_ms: roundMs(durationMs),
    sample_rate: ring.sampleRate[slot]!,
    mode: MODES[ring.mode[slot]!]!,
  };
  if (op === OP_CACHE_READ) attrs.result = RESULT_NAMES[result & 3]!;
  if (op === OP_HYBRID) {
    const dbCount = ring.dbCount[slot]!;
    const dbMs = ring.dbMs[slot]!;
    attrs.count = count + dbCount;
    attrs.duration_ms = roundMs(durationMs + dbMs);
    attrs.cache_count = count;
    attrs.db_count = dbCount;
    attrs.cache_ms = roundMs(durationMs);
    attrs.db_ms = roundMs(dbMs);
  }
  const origin = ring.origin[slot];
  if (origin !== undefined) attrs.origin = origin.length > MAX_ORIGIN_LENGTH ? origin.slice(0, MAX_ORIGIN_LENGTH) : origin;
  if (failed) attrs.error = true;
  return { id: opEventId(ts, session, seq), ts, source: SOURCE, type: OP_EVENT, severity: failed ? "warning" : "info", attrs };
}
