import { OP_DB_READ, RESULT_ERROR, RESULT_NONE } from "./codes.js";
import { INSTRUMENTED, observe, safely, type Recorder } from "./recorder.js";
import { classifySql } from "./sql.js";

type Query = (this: unknown, ...args: unknown[]) => unknown;

interface PgClient {
  query?: Query;
  [INSTRUMENTED]?: true;
}

interface PgPool extends PgClient {
  totalCount?: unknown;
  _clients?: unknown;
  on?: (event: string, listener: (client: PgClient) => void) => unknown;
}

/** pg-pool's Pool: node-postgres's Client has no client count. */
function isPool(target: PgPool): boolean {
  return typeof target.totalCount === "number" && typeof target.on === "function";
}

/**
 * Instruments a pg `Client`, or a `Pool` through its clients: each client the pool
 * connects (the 'connect' event), and those it already holds, has its `query` wrapped,
 * so `pool.query()` and clients from `pool.connect()` are both recorded, each query
 * once. The same object is returned.
 *
 * Recorded: `query(text | {text}, [values], [callback])`, promise and callback forms.
 * A SELECT (or a WITH that changes no data) is a db_read counting rows, a data change a
 * db_write counting `rowCount`; the key label is the first table after FROM, INTO or
 * UPDATE. Passed through unrecorded: submittables (pg-cursor, pg-query-stream), a
 * callback given as the config's `callback` field, transaction and session statements.
 */
export function instrumentPg<T extends object>(target: T, recorder: Recorder): T {
  const pg = target as T & PgPool;
  if (typeof pg.query !== "function") throw new TypeError("instrumentPg expects a pg Client or Pool: this object has no query()");
  if (isPool(pg)) {
    if (pg[INSTRUMENTED]) return target;
    if (Array.isArray(pg._clients)) for (const client of pg._clients as PgClient[]) instrumentClient(client, recorder);
    pg.on!("connect", (client) => instrumentClient(client, recorder));
    Object.defineProperty(pg, INSTRUMENTED, { value: true });
    return target;
  }
  instrumentClient(pg, recorder);
  return target;
}

function rowsOf(result: unknown, op: number): number {
  if (Array.isArray(result)) {
    // A multi-statement text answers one result per statement.
    let total = 0;
    for (const part of result) total += rowsOf(part, op);
    return total;
  }
  if (typeof result !== "object" || result === null) return 0;
  const { rowCount, rows } = result as { rowCount?: unknown; rows?: unknown };
  if (op === OP_DB_READ && Array.isArray(rows)) return rows.length;
  return typeof rowCount === "number" ? rowCount : 0;
}

function instrumentClient(client: PgClient, recorder: Recorder): void {
  if (client[INSTRUMENTED] || typeof client.query !== "function") return;
  const original = client.query;

  client.query = function query(this: unknown, ...args: unknown[]): unknown {
    if (!recorder.active()) return original.apply(this, args);
    const config = args[0] as { text?: unknown; submit?: unknown } | string | undefined;
    const text = typeof config === "string" ? config : typeof config === "object" && config !== null && typeof config.submit !== "function" ? config.text : undefined;
    const statement = typeof text === "string" ? classifySql(text) : undefined;
    if (statement === undefined) return original.apply(this, args);
    const started = recorder.now();
    const settled = (result: unknown, error: unknown): void => {
      recorder.record(statement.op, statement.table, error !== undefined ? RESULT_NONE | RESULT_ERROR : RESULT_NONE, error !== undefined ? 0 : rowsOf(result, statement.op), recorder.now() - started, "pg");
    };
    // The callback is the last function argument: query(text, cb) or query(text, values, cb).
    const last = args.length - 1;
    const callback = args[last];
    if (last >= 1 && typeof callback === "function") {
      const wrapped = args.slice();
      wrapped[last] = function queryCallback(this: unknown, error: unknown, result: unknown) {
        safely(settled, result, error ?? undefined);
        return (callback as (...a: unknown[]) => unknown).apply(this, arguments as unknown as unknown[]);
      };
      return original.apply(this, wrapped);
    }
    const sent = original.apply(this, args);
    return sent instanceof Promise ? observe(sent, settled) : sent;
  };
  Object.defineProperty(client, INSTRUMENTED, { value: true });
}
