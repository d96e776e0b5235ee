import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { ClickHouseLogLevel, createClient, type ClickHouseClient, type Logger as ClickHouseLogger } from "@clickhouse/client";
import type { Logger } from "pino";

// chDB (a ~550 MB engine, ~250 MB resident once loaded) is loaded only for the embedded
// mode: a collector on a ClickHouse server never needs it.
const require = createRequire(import.meta.url);

export type StorageTarget =
  | { kind: "embedded"; dataDir: string; database: string }
  | {
      kind: "server";
      url: string;
      user: string;
      password: string;
      database: string;
      /** PEM file of the CA that signed the server's certificate (CLICKHOUSE_CA_CERT), for https. */
      caCertPath?: string;
      /** How long an idle connection is kept for reuse (CLICKHOUSE_KEEPALIVE_MS, see config.ts); 0: no keep-alive. */
      keepAliveMs: number;
    };

/**
 * One ClickHouse client for the whole process. The embedded engine and a server speak
 * the same SQL through the same client; only the connection differs. The database is
 * not bound on the connection because migrations must create it first: every statement
 * names `<database>.<table>` instead (see `tableName`).
 */
export function createStorageClient(target: StorageTarget, log?: Logger): ClickHouseClient {
  if (target.kind === "embedded") {
    const path = resolve(target.dataDir, "clickhouse");
    mkdirSync(path, { recursive: true });
    // chDB types its connection against @clickhouse/client-common while the client
    // bundles its own copy of those types; the shapes are the same at run time.
    const { createChdbConnection } = require("chdb/connection") as typeof import("chdb/connection");
    const connection = createChdbConnection({ path }) as unknown as NonNullable<Parameters<typeof createClient>[0]>["connection"];
    return createClient({ connection });
  }
  const caCert = target.caCertPath === undefined ? undefined : readCaCert(target.caCertPath);
  const { keepAliveMs } = target;
  return createClient({
    url: target.url,
    username: target.user,
    password: target.password,
    request_timeout: 30_000,
    compression: { request: true, response: true },
    keep_alive: keepAliveMs > 0 ? { enabled: true, idle_socket_ttl: keepAliveMs } : { enabled: false },
    ...(caCert ? { tls: { ca_cert: caCert } } : {}),
    // wait_end_of_query: the server answers once the statement finished, so a 2xx means it
    // succeeded; otherwise an error after the first bytes arrives inside a 200 answer.
    clickhouse_settings: { date_time_input_format: "best_effort", wait_end_of_query: 1 },
    ...(log ? { log: { LoggerClass: clientLogger(log), level: ClickHouseLogLevel.WARN } } : {}),
  });
}

/**
 * CLICKHOUSE_ASYNC_INSERT=1: the server batches inserts from all replicas in memory and
 * writes bigger parts; `wait_for_async_insert` keeps "answered" meaning "stored". Async inserts
 * are de-duplicated by their token only with `async_insert_deduplicate` on Replicated tables
 * before ClickHouse 26.2 (on every MergeTree since), which is why the alert lease writes
 * synchronously whatever this says.
 */
export const ASYNC_INSERT_SETTINGS = { async_insert: 1, wait_for_async_insert: 1, async_insert_deduplicate: 1 } as const;

/** Reads CLICKHOUSE_CA_CERT at start, so a wrong path stops the start with its reason instead of failing every request. */
function readCaCert(path: string): Buffer {
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    throw new Error(`CLICKHOUSE_CA_CERT: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`CLICKHOUSE_CA_CERT: ${path} holds no PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  return pem;
}

/**
 * The client's own log lines into the collector's log. Its warnings (e.g. an idle socket
 * outliving the server's keep-alive) are worth seeing; its request errors reach the caller,
 * which logs them with what they meant (retried, answered 503), so they go to debug.
 */
function clientLogger(log: Logger): new () => ClickHouseLogger {
  const child = log.child({ component: "clickhouse-client" });
  return class {
    trace(): void {}
    debug(): void {}
    info(): void {}
    warn(params: { message: string; err?: Error }): void {
      child.warn({ err: params.err?.message }, params.message);
    }
    error(params: { message: string; err: Error }): void {
      child.debug({ err: params.err.message }, params.message);
    }
  };
}

export function describeTarget(target: StorageTarget): string {
  if (target.kind === "embedded") return `embedded ClickHouse in ${resolve(target.dataDir, "clickhouse")}`;
  const url = new URL(target.url);
  return `ClickHouse server at ${url.protocol}//${url.host}`;
}
