import { randomUUID } from "node:crypto";
import type { ClickHouseClient, ClickHouseSettings } from "@clickhouse/client";

/**
 * The collector's handle on ClickHouse: the client plus the database every table lives
 * in. Only system code (migrations, the writer, key lookup, health) holds it; request
 * handlers get a `TenantScope` instead.
 */
export interface Database {
  readonly client: ClickHouseClient;
  readonly name: string;
  /**
   * The ClickHouse cluster the schema is spread over (VIGIL_CLICKHOUSE_CLUSTER), or
   * undefined on one server or the embedded engine. Only migrations care (see
   * `cluster.ts`); every other statement is the same in all modes.
   */
  readonly cluster?: string;
  /** `<database>.<table>`, for SQL text. In cluster mode, the Distributed table in front of the shards (or a global table). */
  table(name: string): string;
  query<T>(sql: string, params?: Record<string, unknown>, settings?: ClickHouseSettings): Promise<T[]>;
  command(sql: string, params?: Record<string, unknown>): Promise<void>;
  insert(table: string, rows: readonly object[], settings?: ClickHouseSettings): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Settings every statement carries in cluster mode, so the same SQL means the same there:
 * - an insert through a Distributed table returns once the shards stored the rows (not
 *   once they are queued on the node that took it), so "stored" means stored and a read
 *   right after sees them, as on one server;
 * - an `IN (SELECT …)` over a Distributed table inside a query over another one (e.g.
 *   SMS messages of recently active campaigns) is evaluated once and sent to the shards
 *   (`GLOBAL IN`), where ClickHouse would otherwise refuse it.
 */
const CLUSTER_INSERT_SETTINGS: ClickHouseSettings = { insert_distributed_sync: 1 };
const CLUSTER_QUERY_SETTINGS: ClickHouseSettings = { distributed_product_mode: "global" };

export function openDatabase(client: ClickHouseClient, name: string, options: { cluster?: string } = {}): Database {
  if (!IDENTIFIER.test(name)) throw new Error(`database name ${JSON.stringify(name)} is not a plain identifier`);
  const { cluster } = options;
  if (cluster !== undefined && !IDENTIFIER.test(cluster)) throw new Error(`cluster name ${JSON.stringify(cluster)} is not a plain identifier`);
  const querySettings = cluster ? CLUSTER_QUERY_SETTINGS : {};
  const insertSettings = cluster ? CLUSTER_INSERT_SETTINGS : {};
  const table = (tableName: string) => {
    if (!IDENTIFIER.test(tableName)) throw new Error(`table name ${JSON.stringify(tableName)} is not a plain identifier`);
    return `${name}.${tableName}`;
  };
  return {
    client,
    name,
    ...(cluster ? { cluster } : {}),
    table,
    async query<T>(sql: string, params: Record<string, unknown> = {}, settings: ClickHouseSettings = {}) {
      const result = await client.query({
        query: sql,
        query_params: params,
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0, ...querySettings, ...settings },
      });
      return result.json<T>();
    },
    async command(sql: string, params: Record<string, unknown> = {}) {
      await client.command({ query: sql, query_params: params });
    },
    async insert(tableName: string, rows: readonly object[], settings: ClickHouseSettings = {}) {
      if (rows.length === 0) return;
      // A fresh token unless the caller brings one: the embedded engine keeps settings on
      // its session, and an inherited token would make ClickHouse drop this insert as a
      // duplicate of an earlier one.
      const clickhouse_settings = { insert_deduplication_token: randomUUID(), ...insertSettings, ...settings };
      await client.insert({ table: table(tableName), values: rows as object[], format: "JSONEachRow", clickhouse_settings });
    },
  };
}
