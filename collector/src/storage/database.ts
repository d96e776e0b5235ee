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
  /** `<database>.<table>`, for SQL text. */
  table(name: string): string;
  query<T>(sql: string, params?: Record<string, unknown>, settings?: ClickHouseSettings): Promise<T[]>;
  command(sql: string, params?: Record<string, unknown>): Promise<void>;
  insert(table: string, rows: readonly object[], settings?: ClickHouseSettings): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function openDatabase(client: ClickHouseClient, name: string): Database {
  if (!IDENTIFIER.test(name)) throw new Error(`database name ${JSON.stringify(name)} is not a plain identifier`);
  const table = (tableName: string) => {
    if (!IDENTIFIER.test(tableName)) throw new Error(`table name ${JSON.stringify(tableName)} is not a plain identifier`);
    return `${name}.${tableName}`;
  };
  return {
    client,
    name,
    table,
    async query<T>(sql: string, params: Record<string, unknown> = {}, settings: ClickHouseSettings = {}) {
      const result = await client.query({
        query: sql,
        query_params: params,
        format: "JSONEachRow",
        clickhouse_settings: { output_format_json_quote_64bit_integers: 0, ...settings },
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
      const clickhouse_settings = { insert_deduplication_token: randomUUID(), ...settings };
      await client.insert({ table: table(tableName), values: rows as object[], format: "JSONEachRow", clickhouse_settings });
    },
  };
}
