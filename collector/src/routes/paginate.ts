import { z } from "zod";
import { invalidInput } from "../validate.js";

export const pageQuerySchema = z
  .object({
    limit: z.coerce.number({ error: "limit must be a number" }).int().min(1, "limit must be at least 1").max(1000, "limit must be at most 1000").default(100),
    cursor: z.string().optional(),
  })
  .strict();

/**
 * Pages a small, already sorted list (keys, tenants) with the same `limit` + opaque
 * `cursor` contract as the large lists; the cursor is the position, base64url-encoded.
 */
export function paginate<T, K extends string>(items: T[], page: z.output<typeof pageQuerySchema>, name: K): Record<K, T[]> & { next_cursor: string | null } {
  let start = 0;
  if (page.cursor) {
    start = Number(Buffer.from(page.cursor, "base64url").toString("utf8"));
    if (!Number.isInteger(start) || start < 0) throw invalidInput([{ path: ["cursor"], message: "cursor is not valid: pass the next_cursor of the previous page unchanged" }]);
  }
  const end = start + page.limit;
  return { [name]: items.slice(start, end), next_cursor: end < items.length ? Buffer.from(String(end)).toString("base64url") : null } as Record<K, T[]> & {
    next_cursor: string | null;
  };
}
