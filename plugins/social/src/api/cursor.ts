import { z } from "zod";
import { PluginApiError } from "@vigil/plugin-sdk";

/**
 * The lists' `limit` + opaque `cursor` (newest first): a cursor is the (time, id) of the
 * last row of the previous page, and the next page continues strictly below it.
 */
export interface Cursor {
  /** Epoch ms. */
  t: number;
  id: string;
}

export const pageFields = {
  limit: z.coerce.number({ error: "limit must be a number" }).int().min(1, "limit must be at least 1").max(1000, "limit must be at most 1000").default(50),
  cursor: z.string().optional(),
};

export function readCursor(text: string): Cursor {
  try {
    const cursor = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as Cursor;
    if (typeof cursor.t === "number" && typeof cursor.id === "string") return cursor;
  } catch {
    // reported below
  }
  throw new PluginApiError("invalid_argument", "cursor is not valid: pass the next_cursor of the previous page unchanged", [{ path: "cursor", message: "not a cursor of this list" }]);
}

export const writeCursor = (cursor: Cursor): string => Buffer.from(JSON.stringify(cursor)).toString("base64url");

/** One page of `rows` fetched with LIMIT limit + 1, and the cursor of the next page, if any. */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (row: T) => Cursor): { page: T[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  return { page, next_cursor: rows.length > limit ? writeCursor(cursorOf(page[page.length - 1]!)) : null };
}
