// Collector replicas sharing one storage elect one alert evaluator through a lease in
// ClickHouse (on the embedded engine: one process, one client, as in replicas.test.ts).
// A short lease (2 s) keeps take-overs quick. Throughout the file a sampler looks at every
// replica at the same instant and records any moment with two leaders.
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { join } from "node:path";
import { uuidv7 } from "@vigil/plugin-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeProblems } from "../src/config.js";
import { collectorConfigSchema, createLogger, startCollector, type RunningCollector } from "../src/index.js";
import { TEST_TOKEN, callApi, tempDir } from "../../test/support/collector-process.js";
import { eventually } from "../../test/support/eventually.js";
import { postBatch } from "../../test/support/events.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../test/support/webhook-receiver.js";

const dir = tempDir("vigil-lease-");
const client = createClient({ connection: createChdbConnection({ path: join(dir.path, "clickhouse") }) as never });

/**
 * A replica's own way to the shared storage, which the test can cut: every call fails as
 * when the network between that collector and ClickHouse is gone, while the process and
 * its HTTP server keep running.
 */
interface Link {
  client: ClickHouseClient;
  cut: boolean;
}

function linkTo(shared: ClickHouseClient): Link {
  const link: Link = { client: shared, cut: false };
  const calls = new Set(["query", "insert", "command", "exec", "ping"]);
  link.client = new Proxy(shared, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== "function") return value;
      if (!calls.has(String(prop))) return value.bind(target);
      return (...args: unknown[]) => (link.cut ? Promise.reject(new Error("connect ECONNREFUSED (the test cut this replica off)")) : (value as (...a: unknown[]) => unknown).apply(target, args));
    },
  });
  return link;
}

interface Replica {
  name: string;
  collector: RunningCollector;
  link: Link;
  closed: boolean;
}

const replicas: Replica[] = [];
const hooks: WebhookReceiver[] = [];

async function startReplica(name: string): Promise<Replica> {
  const config = collectorConfigSchema.parse({
    port: 0,
    host: "127.0.0.1",
    dataDir: dir.path,
    bootstrapToken: TEST_TOKEN,
    secretKey: "lease-test-secret-key-0123456789",
    logLevel: "silent",
    alertLease: { seconds: 2, renewSeconds: 0.5 },
  });
  const link = linkTo(client);
  const collector = await startCollector(config, createLogger({ format: "json", level: "silent" }), { client: link.client });
  const replica = { name, collector, link, closed: false };
  replicas.push(replica);
  return replica;
}

async function closeReplica(replica: Replica): Promise<void> {
  replica.closed = true;
  await replica.collector.close();
}

const api = (replica: Replica, method: string, path: string, body?: unknown) => callApi({ url: replica.collector.url, token: TEST_TOKEN }, method, path, body);

async function create(replica: Replica, path: string, body: unknown): Promise<string> {
  const res = await api(replica, "POST", path, body);
  expect(res.status, `POST ${path}: ${JSON.stringify(res.json)}`).toBe(201);
  return res.json.id as string;
}

async function alertingOf(replica: Replica): Promise<string> {
  const res = await fetch(`${replica.collector.url}/health`);
  return ((await res.json()) as { alerting: string }).alerting;
}

async function ingest(replica: Replica, type: string, attrs: Record<string, string>, body: string): Promise<void> {
  const res = await postBatch(replica.collector.url, TEST_TOKEN, JSON.stringify([{ id: uuidv7(), ts: Date.now(), source: "lease", type, attrs, body }]), { batchId: uuidv7() });
  expect(res.status, await res.clone().text()).toBe(202);
}

async function webhookReceiver(): Promise<WebhookReceiver> {
  const hook = await startWebhookReceiver();
  hooks.push(hook);
  return hook;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The leaders at one instant: every replica lives in this process, so one synchronous look sees them all at once. */
const leadersNow = () => replicas.filter((r) => !r.closed && r.collector.services.alerts.leading()).map((r) => r.name);
const overlaps: string[][] = [];
let samples = 0;
const sampler = setInterval(() => {
  samples++;
  const leaders = leadersNow();
  if (leaders.length > 1) overlaps.push(leaders);
}, 5);

let a: Replica;
let b: Replica;
let c: Replica;

beforeAll(async () => {
  a = await startReplica("a");
  b = await startReplica("b");
});

afterAll(async () => {
  clearInterval(sampler);
  for (const replica of replicas) if (!replica.closed) await closeReplica(replica);
  for (const hook of hooks) await hook.close();
  await client.close();
  dir.remove();
});

describe("collector replicas sharing one storage", () => {
  it("elect one alert evaluator: /health says leader on it and follower on the other, and so does the metric", async () => {
    expect(await alertingOf(a)).toBe("leader");
    expect(await alertingOf(b)).toBe("follower");
    const metricsOf = async (replica: Replica) => (await fetch(`${replica.collector.url}/metrics`)).text();
    expect(await metricsOf(a)).toMatch(/^vigil_alert_leader 1$/m);
    expect(await metricsOf(a)).toMatch(/^vigil_alert_lease_changes_total\{change="gained"\} 1$/m);
    expect(await metricsOf(b)).toMatch(/^vigil_alert_leader 0$/m);
  });

  it("fire an event rule and a threshold rule made and fed through the follower once each: one notification per alert, and the follower's API shows them", async () => {
    const hook = await webhookReceiver();
    const channel = await create(b, "/api/alerts/channels", { name: "on-call", kind: "webhook", config: { url: hook.url } });
    await create(b, "/api/alerts/routes", { name: "once", matchers: [{ label: "case", value: "once" }], channels: [channel], group_wait: "0s" });
    const eventRule = await create(b, "/api/alerts/rules", { kind: "event", name: "DiskFailed", source: "lease", type: "lease.disk_failed", labels: { case: "once" } });
    const thresholdRule = await create(b, "/api/alerts/rules", {
      kind: "threshold",
      name: "QueueBacklog",
      source: "lease",
      type: "lease.enqueued",
      aggregation: "count",
      condition: ">=",
      threshold: 1,
      window: "5m",
      interval: "5s",
      labels: { case: "once" },
    });

    await ingest(b, "lease.disk_failed", { disk: "sdb" }, "sdb failed its SMART check");
    await ingest(b, "lease.enqueued", { queue: "mail" }, "queued");
    const names = () => hook.notifications().map((n) => (n as { groupLabels: { alertname: string } }).groupLabels.alertname).sort();
    await eventually(names, (list) => list.length === 2, 30_000, "both alerts notified");
    expect(names()).toEqual(["DiskFailed", "QueueBacklog"]);

    const shown = async (replica: Replica) => ((await api(replica, "GET", "/api/alerts")).json.alerts as { rule_id: string; state: string }[]).filter((x) => x.state === "firing").map((x) => x.rule_id).sort();
    await eventually(() => shown(b), (list) => list.length === 2, 15_000, "the follower shows what the leader fired");
    expect(await shown(b)).toEqual([eventRule, thresholdRule].sort());
    expect(await shown(a)).toEqual([eventRule, thresholdRule].sort());

    // More evaluations pass; neither replica tells anyone again.
    await sleep(6_000);
    expect(hook.requests).toHaveLength(2);
    expect(hook.uniqueIds()).toHaveLength(2);
  });

  it("hand over at a graceful shutdown: the follower takes over and sends the notification left pending, once, with the same id", async () => {
    const hook = await webhookReceiver();
    const channel = await create(b, "/api/alerts/channels", { name: "handover", kind: "webhook", config: { url: hook.url } });
    await create(b, "/api/alerts/routes", { name: "handover", matchers: [{ label: "case", value: "handover" }], channels: [channel], group_wait: "0s" });
    await create(b, "/api/alerts/rules", { kind: "event", name: "PaymentFailed", source: "lease", type: "lease.payment_failed", labels: { case: "handover" } });
    // The receiver holds the request: the notification is still pending when the leader stops.
    hook.hang();
    await ingest(b, "lease.payment_failed", { order: "A-1001" }, "card declined");
    await eventually(() => hook.requests.length, (n) => n >= 1, 30_000, "the leader sends the notification");
    const id = hook.requests[0]!.notificationId;

    await closeReplica(a);
    await eventually(() => alertingOf(b), (role) => role === "leader", 15_000, "the follower takes over");
    hook.release();
    await eventually(() => hook.deliveries().length, (n) => n >= 1, 30_000, "the new leader sends it");
    expect(hook.uniqueIds()).toEqual([id]);
    expect(hook.requests.every((r) => r.notificationId === id)).toBe(true);
    const sent = await eventually(
      async () => (await api(b, "GET", `/api/alerts/notifications?channel_id=${channel}`)).json.notifications as { id: string; status: string }[],
      (rows) => rows[0]?.status === "sent",
      15_000,
      "the history says sent",
    );
    expect(sent.map((r) => r.id)).toEqual([id]);
  });

  it("take over from a leader cut off from storage, which stops by itself; the notification it left pending is sent once, with the same id", async () => {
    c = await startReplica("c");
    expect(await alertingOf(b)).toBe("leader");
    expect(await alertingOf(c)).toBe("follower");
    const hook = await webhookReceiver();
    const channel = await create(c, "/api/alerts/channels", { name: "cutoff", kind: "webhook", config: { url: hook.url } });
    await create(c, "/api/alerts/routes", { name: "cutoff", matchers: [{ label: "case", value: "cutoff" }], channels: [channel], group_wait: "0s" });
    await create(c, "/api/alerts/rules", { kind: "event", name: "LinkDown", source: "lease", type: "lease.link_down", labels: { case: "cutoff" } });
    hook.hang();
    await ingest(c, "lease.link_down", { link: "uplink-2" }, "uplink-2 down");
    await eventually(() => hook.requests.length, (n) => n >= 1, 30_000, "the leader sends the notification");
    const id = hook.requests[0]!.notificationId;

    // The leader can no longer renew: it stops leading by itself, and the follower takes over.
    b.link.cut = true;
    await eventually(() => b.collector.services.alerts.leading(), (leading) => !leading, 15_000, "the cut-off leader stops leading");
    await eventually(() => alertingOf(c), (role) => role === "leader", 15_000, "the follower takes over");
    expect(await alertingOf(b)).toBe("paused");
    hook.release();
    await eventually(() => hook.deliveries().length, (n) => n >= 1, 30_000, "the new leader sends it");
    expect(hook.uniqueIds()).toEqual([id]);
    expect(hook.requests.every((r) => r.notificationId === id)).toBe(true);

    // Back in touch, the old leader follows.
    b.link.cut = false;
    await eventually(() => alertingOf(b), (role) => role === "follower", 15_000, "the old leader follows");
    expect(await alertingOf(c)).toBe("leader");
    await sleep(1_000);
    expect(hook.uniqueIds()).toEqual([id]);
    // Three leaders in turn, and what fired in the first test was told once.
    expect(hooks[0]!.requests).toHaveLength(2);
  });

  it("refuse a renew interval that leaves no time to retry before the lease ends, naming both settings", () => {
    const parsed = collectorConfigSchema.safeParse({ alertLease: { seconds: 6 } });
    expect(parsed.success).toBe(false);
    expect(describeProblems(parsed.error!)).toEqual([
      "alertLease.renewSeconds: must be at most half of VIGIL_LEASE_SECONDS (6), so a renewal that fails is retried before the lease runs out; it is 5",
    ]);
    expect(collectorConfigSchema.parse({ alertLease: { seconds: 6, renewSeconds: 2 } }).alertLease).toEqual({ seconds: 6, renewSeconds: 2 });
  });

  it("never had two leaders at the same instant", () => {
    expect(samples).toBeGreaterThan(100);
    expect(overlaps).toEqual([]);
  });
});
