import type { Logger } from "pino";
import type { Database } from "./database.js";

/**
 * Follows a log table that collector replicas append to (each row has an `id` and an
 * `at DateTime64(3) DEFAULT now64(3)`), reading what was written since the last read a few
 * times a second. ClickHouse stamps `at` (one clock for all replicas), and a look-back
 * window with a set of ids already seen covers rows that become visible late (an insert
 * that began before a later one finished).
 */
export interface LogTailOptions<Row extends { id: string }> {
  table: string;
  /** The columns to read, besides `id` and `at`. */
  columns: string;
  /** A further condition on the rows, with its query parameters. */
  where?: { sql: string; params: Record<string, unknown> };
  pollMs: number;
  lookBackMs: number;
  /** The rows not seen before, oldest first. */
  deliver(rows: Row[]): void;
  log: Logger;
  /** Log lines when a read fails (once, until one works again) and when reading works again. */
  messages: { failed: string; recovered: string };
}

export function createLogTail<Row extends { id: string }>(db: Database, options: LogTailOptions<Row>) {
  const seen = new Map<string, number>();
  let since = 0;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let failing = false;

  async function poll(): Promise<void> {
    try {
      const rows = await db.query<Row & { at_ms: number }>(
        `SELECT id, ${options.columns}, toUnixTimestamp64Milli(at) AS at_ms
         FROM ${db.table(options.table)}
         WHERE at >= fromUnixTimestamp64Milli({since:Int64})${options.where ? ` AND ${options.where.sql}` : ""}
         ORDER BY at, id`,
        { ...options.where?.params, since: Math.max(0, since - options.lookBackMs) },
      );
      const fresh: Row[] = [];
      for (const row of rows) {
        const at = Number(row.at_ms);
        since = Math.max(since, at);
        if (seen.has(row.id)) continue;
        seen.set(row.id, at);
        fresh.push(row);
      }
      for (const [id, at] of seen) if (at < since - 2 * options.lookBackMs) seen.delete(id);
      if (fresh.length) options.deliver(fresh);
      if (failing) options.log.info(options.messages.recovered);
      failing = false;
    } catch (error) {
      if (!failing) options.log.warn({ err: (error as Error).message.split("\n")[0] }, options.messages.failed);
      failing = true;
    }
  }

  return {
    /**
     * Starts reading from now. With `replay`, rows already within the look-back window are
     * delivered too (a reader taking over from another); without, they are old news.
     */
    async start({ replay }: { replay: boolean }): Promise<void> {
      const [row] = await db.query<{ now_ms: number }>("SELECT toUnixTimestamp64Milli(now64(3)) AS now_ms");
      since = Number(row?.now_ms ?? Date.now());
      seen.clear();
      if (!replay) {
        const old = await db.query<{ id: string; at_ms: number }>(
          `SELECT id, toUnixTimestamp64Milli(at) AS at_ms FROM ${db.table(options.table)} WHERE at >= fromUnixTimestamp64Milli({since:Int64})`,
          { since: since - options.lookBackMs },
        );
        for (const r of old) seen.set(r.id, Number(r.at_ms));
      }
      timer = setInterval(() => {
        // One read at a time: a slow one must not stack others behind it.
        polling ??= poll().finally(() => (polling = undefined));
      }, options.pollMs);
      timer.unref();
    },
    /** Stops reading; waits for a read in flight, so nothing is delivered after. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      timer = undefined;
      await polling;
    },
  };
}
