// The collector against a ClickHouse server over HTTP and HTTPS (CLICKHOUSE_URL). No
// ClickHouse server can be installed here, so the server is the fake of test/fakes/clickhouse:
// a real HTTP(S) server speaking ClickHouse's HTTP interface, running every statement on chDB.
// Collectors run in this process, each on a database of its own, all on one fake engine.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { uuidv7 } from "@vigil/plugin-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectorConfigSchema, createLogger, startCollector, type RunningCollector } from "../src/index.js";
import { createStorageClient } from "../src/storage/client.js";
import { COLLECTOR_BIN, TEST_TOKEN, callApi, tempDir } from "../../test/support/collector-process.js";
import { makeCertificateAuthority } from "../../test/support/certificates.js";
import { eventually } from "../../test/support/eventually.js";
import { postBatch } from "../../test/support/events.js";
import { startFakeClickHouse, type FakeClickHouse } from "../../test/fakes/clickhouse/server.js";

const dir = tempDir("vigil-server-mode-");
const engineDir = join(dir.path, "fake-clickhouse");
const USER = "vigil";
const PASSWORD = "clickhouse-password-0123";
let http: FakeClickHouse;
let https: FakeClickHouse;
let caPath: string;
const collectors: RunningCollector[] = [];

beforeAll(async () => {
  const ca = makeCertificateAuthority(dir.path);
  caPath = ca.caPath;
  const users = { default: "", [USER]: PASSWORD };
  // Both listen in front of the one engine of this process (chDB binds one data directory).
  http = await startFakeClickHouse({ dataDir: engineDir, users });
  https = await startFakeClickHouse({ dataDir: engineDir, users, tls: { cert: ca.cert, key: ca.key } });
});

afterAll(async () => {
  for (const collector of collectors) await collector.close();
  await http?.close();
  await https?.close();
  dir.remove();
});

async function startAgainst(url: string, database: string, settings: Record<string, unknown> = {}): Promise<RunningCollector> {
  const config = collectorConfigSchema.parse({
    port: 0,
    host: "127.0.0.1",
    dataDir: join(dir.path, database),
    clickhouseUrl: url,
    clickhouseUser: USER,
    clickhousePassword: PASSWORD,
    clickhouseDatabase: database,
    bootstrapToken: TEST_TOKEN,
    secretKey: "server-mode-secret-key-0123456789",
    logLevel: "silent",
    ...settings,
  });
  const collector = await startCollector(config, createLogger({ format: "json", level: "silent" }));
  collectors.push(collector);
  return collector;
}

const api = (collector: RunningCollector, method: string, path: string, body?: unknown) => callApi({ url: collector.url, token: TEST_TOKEN }, method, path, body);

function events(count: number, type: string): object[] {
  return Array.from({ length: count }, (_, i) => ({ id: uuidv7(), ts: Date.now(), source: "servermode", type, attrs: { n: i, quote: "it's \\ here" }, body: `event ${i}` }));
}

async function ingest(collector: RunningCollector, count: number, type: string): Promise<string> {
  const batchId = uuidv7();
  const res = await postBatch(collector.url, TEST_TOKEN, JSON.stringify(events(count, type)), { batchId });
  expect(res.status, await res.clone().text()).toBe(202);
  return batchId;
}

async function listed(collector: RunningCollector, type: string): Promise<any[]> {
  const res = await api(collector, "GET", `/api/events?source=servermode&type=${type}&limit=1000`);
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json.events;
}

/** Rows of a batch in the engine itself, past the collector and the HTTP interface. */
async function storedRows(database: string, batchId: string): Promise<number> {
  return Number((await http.query(`SELECT count() FROM ${database}.events WHERE batch_id = '${batchId}'`)).trim());
}

async function health(collector: RunningCollector): Promise<{ status: number; body: any }> {
  const res = await fetch(`${collector.url}/health`);
  return { status: res.status, body: await res.json() };
}

describe("a collector on a ClickHouse server over HTTP", () => {
  let c: RunningCollector;
  beforeAll(async () => {
    c = await startAgainst(http.url, "vigil_http");
  });

  it("migrates, stores a batch and reads it back through the HTTP interface, compressed both ways", async () => {
    expect((await health(c)).body).toMatchObject({ status: "ok", storage: "ok" });
    await ingest(c, 25, "servermode.http");
    const read = await listed(c, "servermode.http");
    expect(read).toHaveLength(25);
    expect(read[0].attrs.quote).toBe("it's \\ here");
    const ours = http.requests.filter((r) => r.user === USER && r.query.includes("vigil_http."));
    const inserts = ours.filter((r) => r.kind === "insert" && /^INSERT INTO vigil_http\.events\b/.test(r.query));
    expect(inserts.length).toBeGreaterThan(0);
    expect(inserts.every((r) => r.contentEncoding === "gzip" && r.settings.insert_deduplication_token !== undefined)).toBe(true);
    // The plugins' materialized views drop a retried insert's rows too.
    expect(inserts.every((r) => r.settings.deduplicate_blocks_in_dependent_materialized_views === "1")).toBe(true);
    expect(ours.some((r) => r.kind === "select" && r.responseEncoding === "gzip")).toBe(true);
    expect(ours.every((r) => r.http.wait_end_of_query === "1")).toBe(true);
    // The server's default (and a real one's before 26.2) unless CLICKHOUSE_ASYNC_INSERT says otherwise.
    expect(inserts.every((r) => r.settings.async_insert === undefined)).toBe(true);
  });

  it("heals 503s and dropped connections by retrying, and a batch whose answer was lost is stored once", async () => {
    const eventsInsert = /^INSERT INTO vigil_http\.events\b/;
    http.faults.failNext(503, { count: 2, match: eventsInsert });
    const first = await ingest(c, 40, "servermode.retry");
    // The insert runs, then the connection drops before the answer: the retry carries the same token.
    http.faults.resetNext("after", { match: eventsInsert });
    const second = await ingest(c, 40, "servermode.retry");
    expect(await storedRows("vigil_http", first)).toBe(40);
    expect(await storedRows("vigil_http", second)).toBe(40);
    const lost = http.requests.find((r) => r.fault === "reset after" && eventsInsert.test(r.query))!;
    const sameToken = http.requests.filter((r) => r.settings.insert_deduplication_token === lost.settings.insert_deduplication_token);
    expect(sameToken.map((r) => r.status)).toEqual([0, 200]);

    // Reads: a connection reset before the query ran, then a proxy's 502.
    const eventsRead = /FROM vigil_http\.events\b/;
    http.faults.resetNext("before", { match: eventsRead });
    http.faults.failNext(502, { match: eventsRead });
    expect(await listed(c, "servermode.retry")).toHaveLength(80);

    const metrics = await (await fetch(`${c.url}/metrics`)).text();
    expect(Number(/^vigil_storage_retries_total\{operation="insert"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(3);
    expect(Number(/^vigil_storage_retries_total\{operation="query"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
  });

  it("does not send an insert without its own deduplication token again once it may have run", async () => {
    const db = c.services.db;
    await db.command(`CREATE TABLE IF NOT EXISTS vigil_http.retry_probe (id String) ENGINE = MergeTree ORDER BY id SETTINGS non_replicated_deduplication_window = 100`);
    const probeInsert = /^INSERT INTO vigil_http\.retry_probe\b/;
    const count = async (id: string) => Number((await http.query(`SELECT count() FROM vigil_http.retry_probe WHERE id = '${id}'`)).trim());

    http.faults.resetNext("after", { match: probeInsert });
    await expect(db.insert("retry_probe", [{ id: "without-token" }])).rejects.toThrow();
    expect(await count("without-token")).toBe(1);

    http.faults.resetNext("after", { match: probeInsert });
    await db.insert("retry_probe", [{ id: "with-token" }], { insert_deduplication_token: "retry-probe-1" });
    expect(await count("with-token")).toBe(1);

    // A 503 does not say whether the statement ran (a proxy's gateway timeout may come after
    // it did): without a token the insert is not repeated, the caller gets the error.
    http.faults.failNext(503, { match: probeInsert });
    await expect(db.insert("retry_probe", [{ id: "gateway" }])).rejects.toThrow();
    expect(await count("gateway")).toBe(0);
  });
});

describe("a collector on a ClickHouse server over HTTPS", () => {
  it("trusts the server's certificate through CLICKHOUSE_CA_CERT and round-trips events", async () => {
    const c = await startAgainst(https.url, "vigil_tls", { clickhouseCaCert: caPath });
    expect((await health(c)).body).toMatchObject({ status: "ok", storage: "ok" });
    await ingest(c, 10, "servermode.tls");
    expect(await listed(c, "servermode.tls")).toHaveLength(10);
    expect(https.requests.some((r) => r.user === USER && r.kind === "insert" && r.query.includes("vigil_tls.events"))).toBe(true);
  });

  it("without the CA, says on /health that the certificate is not trusted and what to set", async () => {
    const c = await startAgainst(https.url, "vigil_untrusted");
    const { status, body } = await health(c);
    expect(status).toBe(503);
    expect(body.storage).toBe("ClickHouse's TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE): set CLICKHOUSE_CA_CERT to the CA that signed it");
  });

  it("stops the start when CLICKHOUSE_CA_CERT cannot be read", async () => {
    const missing = join(dir.path, "no-such-ca.pem");
    await expect(startAgainst(https.url, "vigil_noca", { clickhouseCaCert: missing })).rejects.toThrow(`CLICKHOUSE_CA_CERT: cannot read ${missing} (ENOENT)`);
  });
});

describe("server-mode settings", () => {
  it("sends async_insert with wait_for_async_insert when CLICKHOUSE_ASYNC_INSERT=1, and keeps the lease's writes synchronous", async () => {
    const c = await startAgainst(http.url, "vigil_async", { clickhouseAsyncInsert: "1" });
    await ingest(c, 15, "servermode.async");
    // Answered once stored: readable at once.
    expect(await listed(c, "servermode.async")).toHaveLength(15);
    const inserts = http.requests.filter((r) => /^INSERT INTO vigil_async\.events\b/.test(r.query));
    expect(inserts.length).toBeGreaterThan(0);
    for (const insert of inserts) expect(insert.settings).toMatchObject({ async_insert: "1", wait_for_async_insert: "1", async_insert_deduplicate: "1" });
    // Servers before 26.1 refuse an async insert that asks its views to de-duplicate.
    for (const insert of inserts) expect(insert.settings.deduplicate_blocks_in_dependent_materialized_views).toBeUndefined();
    const lease = await eventually(
      () => http.requests.filter((r) => /^INSERT INTO vigil_async\.leases\b/.test(r.query)),
      (found) => found.length > 0,
      10_000,
      "a lease write",
    );
    for (const write of lease) expect(write.settings.async_insert).toBe("0");
  });

  it("with a wrong password, /health names the credentials and ingest answers 503", async () => {
    const c = await startAgainst(http.url, "vigil_wrong", { clickhousePassword: "not-the-password" });
    const { status, body } = await health(c);
    expect(status).toBe(503);
    expect(body.storage).toBe("ClickHouse refused the credentials (AUTHENTICATION_FAILED): check CLICKHOUSE_USER and CLICKHOUSE_PASSWORD");
    const res = await postBatch(c.url, TEST_TOKEN, JSON.stringify(events(1, "servermode.wrong")), { batchId: uuidv7() });
    expect(res.status).toBe(503);
    expect(http.requests.some((r) => r.user === USER && r.status === 403 && r.exceptionCode === 516)).toBe(true);
  });

  it("refuses invalid server settings at start, naming each variable", () => {
    const run = (env: Record<string, string>) => spawnSync(process.execPath, [COLLECTOR_BIN, "--port", "0"], { env: { ...process.env, ...env }, encoding: "utf8" });
    const fields = run({ CLICKHOUSE_URL: "ftp://clickhouse:21", CLICKHOUSE_KEEPALIVE_MS: "-1", CLICKHOUSE_RETRIES: "11", CLICKHOUSE_ASYNC_INSERT: "yes" });
    expect(fields.status).toBe(2);
    expect(fields.stderr).toContain('CLICKHOUSE_URL: CLICKHOUSE_URL must be an http:// or https:// URL like "http://clickhouse:8123"');
    expect(fields.stderr).toContain("CLICKHOUSE_KEEPALIVE_MS: CLICKHOUSE_KEEPALIVE_MS must be 0 (no keep-alive) or more");
    expect(fields.stderr).toContain("CLICKHOUSE_RETRIES: CLICKHOUSE_RETRIES must be between 0 and 10");
    expect(fields.stderr).toContain('CLICKHOUSE_ASYNC_INSERT: CLICKHOUSE_ASYNC_INSERT is "1" (on) or "0" (off)');
    const plain = run({ CLICKHOUSE_URL: "http://clickhouse:8123", CLICKHOUSE_CA_CERT: caPath });
    expect(plain.status).toBe(2);
    expect(plain.stderr).toContain("CLICKHOUSE_CA_CERT: a CA certificate is for an https:// CLICKHOUSE_URL; CLICKHOUSE_URL is not one");
  });
});

describe("keep-alive", () => {
  const SERVER_KEEP_ALIVE_S = 2;

  /** Two rounds of queries with a pause longer than the server's keep_alive_timeout between them. */
  async function queriesAcrossIdlePause(fake: FakeClickHouse, keepAliveMs: number): Promise<{ closedIdleByServer: number; closedByClient: number }> {
    const client = createStorageClient({ kind: "server", url: fake.url, user: USER, password: PASSWORD, database: "default", keepAliveMs });
    const before = fake.connections();
    try {
      for (let round = 0; round < 2; round++) {
        for (let i = 0; i < 3; i++) {
          const rows = await (await client.query({ query: "SELECT {n:UInt8} AS n", query_params: { n: i }, format: "JSONEachRow" })).json<{ n: number }>();
          expect(rows).toEqual([{ n: i }]);
        }
        if (round === 0) await new Promise((resolve) => setTimeout(resolve, SERVER_KEEP_ALIVE_S * 1000 + 600));
      }
    } finally {
      await client.close();
    }
    const after = fake.connections();
    return { closedIdleByServer: after.closedIdleByServer - before.closedIdleByServer, closedByClient: after.closedByClient - before.closedByClient };
  }

  it("drops idle connections before the server closes them, whether or not the server's timeout reaches the client", async () => {
    const announced = await startFakeClickHouse({ dataDir: engineDir, users: { [USER]: PASSWORD }, keepAliveTimeoutSeconds: SERVER_KEEP_ALIVE_S });
    // As behind a proxy that drops the Keep-Alive header: only CLICKHOUSE_KEEPALIVE_MS protects the client.
    const hidden = await startFakeClickHouse({ dataDir: engineDir, users: { [USER]: PASSWORD }, keepAliveTimeoutSeconds: SERVER_KEEP_ALIVE_S, announceKeepAlive: false });
    try {
      for (const fake of [announced, hidden]) {
        const shorter = await queriesAcrossIdlePause(fake, 500);
        expect(shorter.closedIdleByServer).toBe(0);
        expect(shorter.closedByClient).toBeGreaterThan(0);
      }
      // The counter-example: kept longer than the server keeps them, with nothing announced,
      // the server closes them first — the client notices the close of a connection at rest.
      const longer = await queriesAcrossIdlePause(hidden, 10_000);
      expect(longer.closedIdleByServer).toBeGreaterThan(0);
      expect([...announced.requests, ...hidden.requests].every((r) => r.status === 200)).toBe(true);
    } finally {
      await announced.close();
      await hidden.close();
    }
  });
});
