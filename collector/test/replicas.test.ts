// Two collector replicas sharing one storage (on the embedded engine: one process, one
// client). A change made through one reaches an agent connected to the other: configs,
// commands and plugin broadcasts. Keys, users and sessions made on one work on the other.
import { createClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { collectorConfigSchema, createLogger, startCollector, type RunningCollector } from "../src/index.js";
import { TEST_TOKEN, tempDir, callApi } from "../../test/support/collector-process.js";
import { signIn } from "../../test/support/session-client.js";
import { openAgentStream } from "./support/agent-stream.js";

const dir = tempDir("vigil-replicas-");
const client = createClient({ connection: createChdbConnection({ path: join(dir.path, "clickhouse") }) as never });
let a: RunningCollector;
let b: RunningCollector;
let ingest: string;
const api = (replica: RunningCollector, method: string, path: string, body?: unknown) => callApi({ url: replica.url, token: TEST_TOKEN }, method, path, body);

function start(): Promise<RunningCollector> {
  const config = collectorConfigSchema.parse({ port: 0, host: "127.0.0.1", dataDir: dir.path, bootstrapToken: TEST_TOKEN, adminPassword: "replica admin password", logLevel: "silent" });
  return startCollector(config, createLogger({ format: "json", level: "silent" }), { client });
}

beforeAll(async () => {
  a = await start();
  b = await start();
  ingest = (await api(a, "POST", "/api/keys", { name: "agents", scopes: ["ingest"] })).json.token;
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await client.close();
  dir.remove();
});

describe("replicas sharing one storage", () => {
  it("are two processes' worth of collectors: distinct replica ids, one bootstrap", () => {
    expect(a.services.replica).not.toBe(b.services.replica);
    expect(a.bootstrapAdmin).toBeDefined();
    expect(b.bootstrapAdmin).toBeUndefined();
  });

  it("deliver a config change made through A to an agent streaming from B", async () => {
    const stream = await openAgentStream(b.url, ingest, "agent-on-b");
    expect((await stream.next()).data.version).toBe(0);
    const config = { plugins: { web: { use: "@vigil/plugin-http-check", config: { targets: [{ url: "http://127.0.0.1:1/" }] } } } };
    const put = await api(a, "PUT", "/api/agents/agent-on-b/config", { config });
    expect(put.status).toBe(200);
    expect(await stream.next()).toEqual({ event: "config", data: { version: 1, config } });
    stream.close();
  });

  it("deliver a command made through A to B's streams, once each", async () => {
    const stream = await openAgentStream(b.url, ingest, "agent-cmd");
    await stream.next();
    expect((await api(a, "POST", "/api/agents/agent-cmd/commands", { name: "reload" })).status).toBe(202);
    expect(await stream.next()).toEqual({ event: "command", data: { name: "reload", args: {} } });
    // Nothing arrives twice: the next event is the one sent after.
    expect((await api(a, "POST", "/api/agents/agent-cmd/commands", { name: "second" })).status).toBe(202);
    expect((await stream.next()).data.name).toBe("second");
    stream.close();
  });

  it("accept on B the keys, users and sessions made on A", async () => {
    const key = (await api(a, "POST", "/api/keys", { name: "reader", scopes: ["read"] })).json.token;
    expect((await callApi({ url: b.url, token: key }, "GET", "/api/stats")).status).toBe(200);
    const session = await signIn(a.url, "admin@vigil.local", "replica admin password");
    const onB = await fetch(`${b.url}/api/session`, { headers: { cookie: session.cookie } });
    expect(onB.status).toBe(200);
    await session.request("DELETE", "/api/session");
    const afterLogout = await fetch(`${a.url}/api/session`, { headers: { cookie: session.cookie } });
    expect(afterLogout.status).toBe(401);
  });
});
