import { z } from "zod";
import { decodeCursor, encodeCursor, limitParamSchema } from "@vigil/plugin-sdk";

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
  limit: limitParamSchema(50),
  cursor: z.string().optional(),
};

const isCursor = (value: unknown): value is Cursor => {
  const c = value as Cursor;
  return typeof c === "object" && c !== null && typeof c.t === "number" && typeof c.id === "string";
};

export const readCursor = (text: string): Cursor => decodeCursor(text, isCursor);

/** One page of `rows` fetched with LIMIT limit + 1, and the cursor of the next page, if any. */
export function pageOf<T>(rows: T[], limit: number, cursorOf: (row: T) => Cursor): { page: T[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  return { page, next_cursor: rows.length > limit ? encodeCursor(cursorOf(page[page.length - 1]!)) : null };
}
