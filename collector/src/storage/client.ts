import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";

export type StorageTarget =
  | { kind: "embedded"; dataDir: string; database: string }
  | { kind: "server"; url: string; user: string; password: string; database: string };

/**
 * One ClickHouse client for the whole process. The embedded engine and a server speak
 * the same SQL through the same client; only the connection differs. The database is
 * not bound on the connection because migrations must create it first: every statement
 * names `<database>.<table>` instead (see `tableName`).
 */
export function createStorageClient(target: StorageTarget): ClickHouseClient {
  if (target.kind === "embedded") {
    const path = resolve(target.dataDir, "clickhouse");
    mkdirSync(path, { recursive: true });
    // chDB types its connection against @clickhouse/client-common while the client
    // bundles its own copy of those types; the shapes are the same at run time.
    const connection = createChdbConnection({ path }) as unknown as NonNullable<Parameters<typeof createClient>[0]>["connection"];
    return createClient({ connection });
  }
  return createClient({
    url: target.url,
    username: target.user,
    password: target.password,
    request_timeout: 30_000,
    compression: { request: true, response: true },
    clickhouse_settings: { date_time_input_format: "best_effort" },
  });
}

export function describeTarget(target: StorageTarget): string {
  if (target.kind === "embedded") return `embedded ClickHouse in ${resolve(target.dataDir, "clickhouse")}`;
  const url = new URL(target.url);
  return `ClickHouse server at ${url.protocol}//${url.host}`;
}
