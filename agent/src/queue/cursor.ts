import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileDurably } from "@vigil/plugin-sdk";

export const CURSOR_FILE = "cursor.json";

/** A place in the queue: a segment and a byte offset in it (always a record boundary). */
export interface Position {
  segment: number;
  offset: number;
}

/**
 * Everything the queue must remember across a crash besides the segments themselves: who
 * it is (ids stay unique across restarts), where the first unacknowledged record is, and
 * where the batch in flight ends — so the same batch, with the same id, is sent again.
 */
export interface CursorState {
  queueId: string;
  read: Position;
  inFlight?: { end: Position; records: number };
}

export type CursorRead = { kind: "ok"; state: CursorState } | { kind: "missing" } | { kind: "corrupt"; reason: string };

export async function readCursor(dir: string): Promise<CursorRead> {
  let text: string;
  try {
    text = await readFile(join(dir, CURSOR_FILE), "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { kind: "missing" };
    return { kind: "corrupt", reason: (error as Error).message };
  }
  try {
    const state = parseCursor(JSON.parse(text));
    return state ? { kind: "ok", state } : { kind: "corrupt", reason: "unexpected content" };
  } catch (error) {
    return { kind: "corrupt", reason: (error as Error).message };
  }
}

export function writeCursor(dir: string, state: CursorState): Promise<void> {
  return writeFileDurably(join(dir, CURSOR_FILE), JSON.stringify({ version: 1, ...state }));
}

function parseCursor(value: unknown): CursorState | undefined {
  if (!isObject(value) || value.version !== 1 || typeof value.queueId !== "string" || !/^[0-9a-f]{16}$/.test(value.queueId)) return undefined;
  const read = parsePosition(value.read);
  if (!read) return undefined;
  if (value.inFlight === undefined) return { queueId: value.queueId, read };
  if (!isObject(value.inFlight) || !isCount(value.inFlight.records)) return undefined;
  const end = parsePosition(value.inFlight.end);
  if (!end || value.inFlight.records === 0 || !isAfter(end, read)) return undefined;
  return { queueId: value.queueId, read, inFlight: { end, records: value.inFlight.records } };
}

function parsePosition(value: unknown): Position | undefined {
  if (!isObject(value) || !isCount(value.segment) || !isCount(value.offset)) return undefined;
  return { segment: value.segment, offset: value.offset };
}

function isAfter(a: Position, b: Position): boolean {
  return a.segment > b.segment || (a.segment === b.segment && a.offset > b.offset);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}
