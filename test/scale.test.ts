// Scale-out with separate processes: two `vigil-collector` processes sharing one ClickHouse
// over its HTTP interface (CLICKHOUSE_URL). The ClickHouse is the fake of test/fakes/clickhouse
// (no server can be installed here) in a process of its own, running every statement on chDB.
// Any replica takes any call; exactly one evaluates alerts, and another takes over when it is
// killed or stopped; a change made through one reaches agents connected to the other.
import { join } from "node:path";
import { uuidv7 } from "@vigil/plugin-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURE_PLUGINS, startAgentProcess, testAgentConfig, writeAgentConfig, type AgentProcess } from "./support/agent-process.js";
import { startFakeClickHouseProcess, type FakeClickHouseProcess } from "./support/clickhouse-process.js";
import { TEST_TOKEN, callApi, startCollectorProcess, tempDir, type CollectorProcess } from "./support/collector-process.js";
import { eventually } from "./support/eventually.js";
import { postBatch } from "./support/events.js";
import { openAgentStream } from "../collector/test/support/agent-stream.js";

const dir = tempDir("vigil-scale-");
let clickhouse: FakeClickHouseProcess;
const running: { stop(): Promise<unknown>; kill(): Promise<void> }[] = [];

beforeAll(async () => {
  clickhouse = await startFakeClickHouseProcess({ dataDir: join(dir.path, "clickhouse"), users: { vigil: "scale-password" } });
});

afterAll(async () => {
  for (const proc of running.reverse()) await proc.kill();
  await clickhouse?.stop();
  dir.remove();
});

/** A collector process on the shared storage; `database` keeps one scenario's replicas apart from another's. */
async function replica(name: string, database: string, lease: { seconds: number; renewSeconds: number }): Promise<CollectorProcess> {
  const collector = await startCollectorProcess({
    dataDir: join(dir.path, name),
    env: {
      CLICKHOUSE_URL: clickhouse.url,
      CLICKHOUSE_USER: "vigil",
      CLICKHOUSE_PASSWORD: "scale-password",
      CLICKHOUSE_DATABASE: database,
      VIGIL_SECRET_KEY: "scale-test-secret-key-0123456789",
      VIGIL_ADMIN_PASSWORD: "scale admin password",
      VIGIL_LEASE_SECONDS: String(lease.seconds),
      VIGIL_LEASE_RENEW_SECONDS: String(lease.renewSeconds),
    },
  });
  running.push(collector);
  return collector;
}

async function alertingOf(collector: CollectorProcess): Promise<string> {
  const res = await fetch(`${collector.url}/health`);
  return ((await res.json()) as { alerting: string }).alerting;
}

/** The replicas' roles, looked at one after the other (each answers for itself). */
async function roles(collectors: CollectorProcess[]): Promise<string[]> {
  return Promise.all(collectors.map(alertingOf));
}

const oneLeader = (seen: string[]) => seen.filter((r) => r === "leader").length === 1 && seen.filter((r) => r === "follower").length === seen.length - 1;

describe("two collector processes on one ClickHouse (short lease)", () => {
  const LEASE = { seconds: 2, renewSeconds: 0.5 };
  let a: CollectorProcess;
  let b: CollectorProcess;

  beforeAll(async () => {
    // One after the other: the first runs the migrations and makes the first key.
    a = await replica("a", "vigil_scale", LEASE);
    b = await replica("b", "vigil_scale", LEASE);
  });

  it("take any call on either: events posted to A are read from B, a key made on A works on B", async () => {
    const events = Array.from({ length: 30 }, (_, i) => ({ id: uuidv7(), ts: Date.now(), source: "scale", type: "scale.posted", attrs: { n: i } }));
    const res = await postBatch(a.url, TEST_TOKEN, JSON.stringify(events), { batchId: uuidv7() });
    expect(res.status).toBe(202);
    const read = await callApi(b, "GET", "/api/events?source=scale&type=scale.posted&limit=100");
    expect(read.status).toBe(200);
    expect(read.json.events.map((e: { id: string }) => e.id).sort()).toEqual(events.map((e) => e.id).sort());

    const key = await callApi(a, "POST", "/api/keys", { name: "made-on-a", scopes: ["read", "ingest"] });
    expect(key.status).toBe(201);
    const onB = { url: b.url, token: key.json.token as string };
    expect((await callApi(onB, "GET", "/api/stats")).status).toBe(200);
    const more = await postBatch(b.url, onB.token, JSON.stringify([{ id: uuidv7(), ts: Date.now(), source: "scale", type: "scale.with-new-key" }]), { batchId: uuidv7() });
    expect(more.status).toBe(202);
    expect((await callApi(a, "GET", "/api/events?source=scale&type=scale.with-new-key")).json.events).toHaveLength(1);
  });

  it("have exactly one leader, looked at again and again", async () => {
    await eventually(() => roles([a, b]), oneLeader, 15_000, "one leader and one follower");
    for (let look = 0; look < 10; look++) expect(oneLeader(await roles([a, b])), `look ${look}`).toBe(true);
  });

  it("deliver a config change made through A to an agent stream connected to B", async () => {
    const ingestKey = (await callApi(a, "POST", "/api/keys", { name: "agents", scopes: ["ingest"] })).json.token as string;
    const stream = await openAgentStream(b.url, ingestKey, "stream-on-b");
    expect((await stream.next()).data.version).toBe(0);
    const config = { plugins: { web: { use: "@vigil/plugin-http-check", config: { targets: [{ url: "http://127.0.0.1:1/" }] } } } };
    const put = await callApi(a, "PUT", "/api/agents/stream-on-b/config", { config });
    expect(put.status).toBe(200);
    expect(await stream.next()).toEqual({ event: "config", data: { version: 1, config } });
    stream.close();
  });

  it("push a remote config PUT through A to a real agent process connected to B", async () => {
    let agent: AgentProcess | undefined;
    try {
      agent = await startAgentProcess(
        writeAgentConfig(
          dir.path,
          {
            ...testAgentConfig({ url: b.url, token: TEST_TOKEN }, join(dir.path, "agent-data"), {
              name: "agent-on-b",
              plugins: [{ use: join(FIXTURE_PLUGINS, "counter.js"), id: "counter", config: { every: "1s" } }],
            }),
            // The backup poll is out of the way: the change must come by push, relayed from A.
            config_channel: { push: true, backup_poll_seconds: 3600 },
          },
          "agent-on-b.yaml",
        ),
      );
      running.push(agent);
      const status = await eventually(() => agent!.status(), (s: any) => s.channel.push_connected === true, 30_000, "the agent's push connection to B");
      const put = await callApi(a, "PUT", `/api/agents/${status.id}/config`, { config: { plugins: { counter: { config: { label: "from-a" } } } } });
      expect(put.status).toBe(200);
      const applied = await eventually(() => agent!.status(), (s: any) => s.config_version === put.json.version, 30_000, "the agent applying the change");
      expect(applied.plugins[0].details.label).toBe("from-a");
      expect(agent.logs.some((l) => l.msg === "remote configuration received" && l.via === "push")).toBe(true);
    } finally {
      await agent?.stop();
    }
  });

  it("hand the lease to the other when the leader is killed (SIGKILL), and a restarted one follows", async () => {
    const [roleA] = await roles([a]);
    const [leader, follower] = roleA === "leader" ? [a, b] : [b, a];
    await leader.kill();
    // Nothing released it: the follower takes over once the killed holder's lease has run out.
    await eventually(() => alertingOf(follower), (role) => role === "leader", 30_000, "the follower taking over");
    const restarted = await replica("a-restarted", "vigil_scale", LEASE);
    await eventually(() => roles([follower, restarted]), oneLeader, 15_000, "one leader after the restart");
    expect(await alertingOf(follower)).toBe("leader");
    expect(await alertingOf(restarted)).toBe("follower");
    await restarted.stop();
    await follower.stop();
  });
});

describe("two collector processes on one ClickHouse (a lease far longer than the wait)", () => {
  // A 120 s lease: a take-over within the 30 s waited below can only come from the stopping
  // leader handing the lease back, never from it running out.
  const LEASE = { seconds: 120, renewSeconds: 5 };

  it("hand the lease over at once when the leader stops gracefully", async () => {
    const c = await replica("c", "vigil_scale_graceful", LEASE);
    const d = await replica("d", "vigil_scale_graceful", LEASE);
    await eventually(() => roles([c, d]), oneLeader, 15_000, "one leader and one follower");
    const [roleC] = await roles([c]);
    const [leader, follower] = roleC === "leader" ? [c, d] : [d, c];
    expect(await leader.stop()).toBe(0);
    await eventually(() => alertingOf(follower), (role) => role === "leader", 30_000, "the follower taking over the released lease");
    await follower.stop();
  });
});
