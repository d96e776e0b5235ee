// The alert engine end to end: the collector runs as a real child process on embedded
// ClickHouse; rules, routes, channels and silences are made through its API; events go in
// through /v1/events; what leaves reaches real servers — fakes of Discord and Slack that
// enforce their documented limits and rate limits, a real SMTP server, the real
// Alertmanager, and a webhook consumer that de-duplicates on the notification id.
//
// One collector serves most tests, each in its own tenant, so they run side by side; the
// durable-outbox test kills and restarts a collector of its own, and the storage-down test
// starts one pointed at a ClickHouse that is not there.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { startFakeDiscord } from "./fakes/discord.js";
import { startFakeSlack } from "./fakes/slack.js";
import { startAlertmanager } from "./support/alertmanager.js";
import { callApi, startCollectorProcess, tempDir, type CollectorProcess } from "./support/collector-process.js";
import { eventually } from "./support/eventually.js";
import { postBatch } from "./support/events.js";
import { startSmtpSink } from "./support/smtp.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const SECRET_KEY = "e2e-alerts-secret-key-0123456789";

/** Undone in reverse order in afterAll, whatever happened. */
const cleanups: (() => Promise<unknown> | unknown)[] = [];
function onCleanup<T>(resource: T, undo: (resource: T) => Promise<unknown> | unknown): T {
  cleanups.push(() => undo(resource));
  return resource;
}

/** SIGTERM, and SIGKILL when it has not exited in 15 s. */
async function shutdown(proc: CollectorProcess): Promise<void> {
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 15_000);
  await proc.stop();
  clearTimeout(timer);
}

async function collector(dataDir: string, env: Record<string, string> = {}): Promise<CollectorProcess> {
  return onCleanup(await startCollectorProcess({ dataDir, env: { VIGIL_SECRET_KEY: SECRET_KEY, ...env } }), shutdown);
}

let shared: CollectorProcess;
const sharedDir = onCleanup(tempDir("vigil-e2e-alerts-"), (dir) => dir.remove());

beforeAll(async () => {
  shared = await collector(sharedDir.path);
});

afterAll(async () => {
  const errors: unknown[] = [];
  while (cleanups.length) {
    try {
      await cleanups.pop()!();
    } catch (error) {
      errors.push(error);
    }
  }
  if (errors.length) throw errors[0];
}, 60_000);

// ---------------------------------------------------------------------------------------
// Helpers: a tenant with its admin key, and the API calls every test makes.

interface Tenant {
  url: string;
  token: string;
}

async function newTenant(id: string, on: CollectorProcess = shared): Promise<Tenant> {
  const res = await callApi(on, "POST", "/api/tenants", { id, name: `e2e ${id}` });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
  return { url: on.url, token: res.json.token as string };
}

async function api(t: Tenant, method: string, path: string, body?: unknown) {
  return callApi(t, method, path, body);
}

async function create(t: Tenant, path: string, body: unknown): Promise<string> {
  const res = await api(t, "POST", path, body);
  expect(res.status, `POST ${path}: ${JSON.stringify(res.json)}`).toBe(201);
  return res.json.id as string;
}

/** A webhook channel, a route to it and a rule: what most tests start with. */
async function setUp(t: Tenant, options: { channel: Record<string, unknown>; route?: Record<string, unknown>; rule: Record<string, unknown> }): Promise<{ channel: string; rule: string }> {
  const channel = await create(t, "/api/alerts/channels", options.channel);
  await create(t, "/api/alerts/routes", { name: "e2e route", channels: [channel], ...options.route });
  const rule = await create(t, "/api/alerts/rules", options.rule);
  return { channel, rule };
}

interface E2eEvent {
  id: string;
  ts: number;
  source: string;
  type: string;
  attrs: Record<string, string | number | boolean>;
  body?: string;
}

function event(type: string, attrs: E2eEvent["attrs"] = {}, body?: string): E2eEvent {
  return { id: uuidv7(), ts: Date.now(), source: "e2e", type, attrs, ...(body !== undefined ? { body } : {}) };
}

async function ingest(t: Tenant, events: E2eEvent[]): Promise<void> {
  const res = await postBatch(t.url, t.token, JSON.stringify(events), { batchId: uuidv7() });
  expect(res.status, await res.clone().text()).toBe(202);
}

interface ActiveAlert {
  fingerprint: string;
  rule_id: string;
  state: string;
  firing_since: string | null;
  labels: Record<string, string>;
  silenced: boolean;
  message: string | null;
}

async function activeAlerts(t: Tenant, ruleId: string): Promise<ActiveAlert[]> {
  const res = await api(t, "GET", `/api/alerts?rule_id=${ruleId}`);
  expect(res.status).toBe(200);
  return res.json.alerts as ActiveAlert[];
}

interface HistoryRow {
  id: string;
  channel_id: string;
  status: "pending" | "sent" | "failed";
  alert_status: "firing" | "resolved";
  alerts: { fingerprint: string; status: string; labels: Record<string, string>; summary: string }[];
  attempts: number;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
}

async function history(t: Tenant, channelId: string): Promise<HistoryRow[]> {
  const res = await api(t, "GET", `/api/alerts/notifications?channel_id=${channelId}`);
  expect(res.status).toBe(200);
  return res.json.notifications as HistoryRow[];
}

/** The Alertmanager v4 webhook body our webhook channel posts. */
interface WebhookBody {
  status: "firing" | "resolved";
  notificationId: string;
  groupLabels: Record<string, string>;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string; fingerprint: string }[];
}

const bodies = (hook: WebhookReceiver) => hook.notifications() as WebhookBody[];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function webhookReceiver(options: Parameters<typeof startWebhookReceiver>[0] = {}): Promise<WebhookReceiver> {
  return onCleanup(await startWebhookReceiver(options), (hook) => hook.close());
}

/** Posts one event every `everyMs` until stopped; remembers the newest event time. */
function pump(t: Tenant, make: () => E2eEvent, everyMs: number) {
  let running = true;
  let first = 0;
  let last = 0;
  const loop = (async () => {
    while (running) {
      const e = make();
      first ||= e.ts;
      last = e.ts;
      await ingest(t, [e]);
      await sleep(everyMs);
    }
  })();
  return {
    firstTs: () => first,
    lastTs: () => last,
    async stop() {
      running = false;
      await loop;
    },
  };
}

// ---------------------------------------------------------------------------------------

// Long tests first: vitest runs at most 5 concurrent tests at once, the rest wait their turn.
describe.concurrent("alert notifications through a real collector", () => {
  it("webhook: pending → firing → resolved with for and keep_firing_for, signed, in the Alertmanager webhook shape", async ({ expect }) => {
    const t = await newTenant("lifecycle");
    const hmac = "lifecycle-signing-secret-0123456789";
    const hook = await webhookReceiver({ secret: hmac });
    const { rule } = await setUp(t, {
      channel: { name: "ops hook", kind: "webhook", config: { url: hook.url, hmac_secret: hmac } },
      route: { group_wait: "0s", group_interval: "1s" },
      rule: {
        kind: "threshold",
        name: "CheckoutErrors",
        source: "e2e",
        type: "e2e.checkout_error",
        aggregation: "count",
        group_by: ["host"],
        condition: ">=",
        threshold: 1,
        window: "10s",
        interval: "5s",
        for: "10s",
        keep_firing_for: "10s",
        labels: { severity: "critical" },
      },
    });

    const seen: string[] = [];
    const watch = async () => {
      const alerts = await activeAlerts(t, rule);
      const state = alerts[0]?.state ?? "ok";
      if (seen.at(-1) !== state) seen.push(state);
      return state;
    };

    const errors = pump(t, () => event("e2e.checkout_error", { host: "web-1" }), 1_500);
    try {
      await eventually(watch, (state) => state === "pending", 30_000, "pending", 200);
      await eventually(watch, (state) => state === "firing", 40_000, "firing", 200);
      await eventually(() => bodies(hook), (list) => list.some((b) => b.status === "firing"), 20_000, "firing notification");
    } finally {
      await errors.stop();
    }
    const lastTs = errors.lastTs();

    // Events stopped: the condition clears once they leave the 10 s window, then the alert
    // keeps firing for keep_firing_for before it resolves.
    const [resolved] = await eventually(() => bodies(hook).filter((b) => b.status === "resolved"), (list) => list.length >= 1, 60_000, "resolved notification");
    await watch();
    expect(seen).toEqual(["ok", "pending", "firing", "ok"].slice(seen[0] === "ok" ? 0 : 1));

    const firing = bodies(hook).find((b) => b.status === "firing")!;
    expect(firing.alerts).toHaveLength(1);
    expect(firing.alerts[0]!.labels).toMatchObject({ alertname: "CheckoutErrors", host: "web-1", severity: "critical" });
    expect(firing.alerts[0]!.endsAt).toBe("0001-01-01T00:00:00Z");
    // `for`: it fired no sooner than 10 s after the first matching event.
    expect(Date.parse(firing.alerts[0]!.startsAt)).toBeGreaterThanOrEqual(errors.firstTs() + 10_000);

    expect(resolved!.alerts).toHaveLength(1);
    expect(resolved!.alerts[0]!.fingerprint).toBe(firing.alerts[0]!.fingerprint);
    expect(resolved!.alerts[0]!.status).toBe("resolved");
    // window (10 s) until the condition cleared, then keep_firing_for (10 s) more.
    expect(Date.parse(resolved!.alerts[0]!.endsAt)).toBeGreaterThanOrEqual(lastTs + 20_000);

    expect(hook.requests.every((r) => r.signatureValid === true)).toBe(true);
    expect(hook.uniqueIds()).toHaveLength(2);
    expect(await activeAlerts(t, rule)).toEqual([]);
  }, 150_000);

  it("flap damping: input that keeps crossing the threshold holds the alert in flapping, and notifications stop", async ({ expect }) => {
    const t = await newTenant("flapping");
    const hook = await webhookReceiver();
    const { rule } = await setUp(t, {
      channel: { name: "flap hook", kind: "webhook", config: { url: hook.url } },
      route: { group_wait: "0s", group_interval: "1s" },
      rule: {
        kind: "threshold",
        name: "FlappyQueue",
        source: "e2e",
        type: "e2e.queue_full",
        aggregation: "count",
        condition: ">=",
        threshold: 3,
        window: "10s",
        interval: "5s",
        flap: { window: "1m", max_changes: 2 },
      },
    });
    const burst = () => ingest(t, [event("e2e.queue_full"), event("e2e.queue_full"), event("e2e.queue_full")]);
    const stateOf = async () => (await activeAlerts(t, rule))[0]?.state ?? "ok";

    // Change 1: over the threshold.
    await burst();
    await eventually(stateOf, (s) => s === "firing", 30_000, "firing", 200);
    // Change 2: the burst leaves the window.
    await eventually(stateOf, (s) => s === "ok", 40_000, "back to ok", 200);
    // Change 3 within the flap window: more than max_changes, so the alert is held.
    await burst();
    const held = await eventually(() => activeAlerts(t, rule), (alerts) => alerts[0]?.state === "flapping", 30_000, "flapping", 200);
    expect(held[0]!.message).toMatch(/held/);
    expect(held[0]!.message).toMatch(/changed state 3 times/);

    // The input keeps alternating; the alert stays held and nobody hears of it.
    await sleep(4_000);
    await burst();
    for (let i = 0; i < 12; i++) {
      expect(await stateOf()).toBe("flapping");
      await sleep(1_000);
    }
    // Told once firing and once resolved (the two changes before it was held), nothing since.
    await eventually(() => bodies(hook).length, (n) => n >= 2, 10_000, "first two notifications");
    expect(bodies(hook).map((b) => b.status)).toEqual(["firing", "resolved"]);
    expect(hook.requests.length).toBe(2);
  }, 150_000);

  it("durable outbox: a collector killed mid-delivery sends the notification after restart, exactly once per id; a 503 outage survives a graceful restart; firing state survives both", async ({ expect }) => {
    const dir = onCleanup(tempDir("vigil-e2e-outbox-"), (d) => d.remove());
    const first = await collector(dir.path);
    const t = await newTenant("outbox", first);
    const slow = await webhookReceiver();
    const flaky = await webhookReceiver();
    const steady = await webhookReceiver();
    const slowChannel = await create(t, "/api/alerts/channels", { name: "slow consumer", kind: "webhook", config: { url: slow.url } });
    const flakyChannel = await create(t, "/api/alerts/channels", { name: "flaky consumer", kind: "webhook", config: { url: flaky.url } });
    await create(t, "/api/alerts/routes", { name: "kill case", matchers: [{ label: "case", value: "kill" }], channels: [slowChannel], group_wait: "0s" });
    await create(t, "/api/alerts/routes", { name: "outage case", matchers: [{ label: "case", value: "outage" }], channels: [flakyChannel], group_wait: "0s" });
    const steadyChannel = await create(t, "/api/alerts/channels", { name: "steady consumer", kind: "webhook", config: { url: steady.url } });
    await create(t, "/api/alerts/routes", { name: "state case", matchers: [{ label: "case", value: "state" }], channels: [steadyChannel], group_wait: "0s" });
    const stateRule = await create(t, "/api/alerts/rules", {
      kind: "threshold",
      name: "ReplicaLag",
      source: "e2e",
      type: "e2e.replica_lag",
      aggregation: "max",
      field: "lag_s",
      condition: ">",
      threshold: 30,
      window: "2m",
      interval: "5s",
      labels: { case: "state" },
    });
    await create(t, "/api/alerts/rules", { kind: "event", name: "PaymentFailed", source: "e2e", type: "e2e.payment_failed", labels: { case: "kill" } });
    await create(t, "/api/alerts/rules", { kind: "event", name: "GatewayDown", source: "e2e", type: "e2e.gateway_down", labels: { case: "outage" } });

    // A threshold alert fires before the restarts; it must neither be forgotten nor told again.
    await ingest(t, [event("e2e.replica_lag", { lag_s: 95 })]);
    await eventually(() => steady.deliveries().length, (n) => n >= 1, 30_000, "ReplicaLag notified");
    const [firingBefore] = await activeAlerts(t, stateRule);
    expect(firingBefore!.state).toBe("firing");
    // States are stored every second: give the first collector that second.
    await sleep(2_000);

    // 1. Killed while the receiver holds the request: the answer never reaches the collector.
    slow.delay(3_000);
    await ingest(t, [event("e2e.payment_failed", { order: "A-1001" }, "card declined by issuer")]);
    await eventually(() => slow.requests.length, (n) => n >= 1, 20_000, "the receiver has the request");
    await first.kill();
    expect(slow.deliveries()).toHaveLength(0);

    const second = await collector(dir.path);
    await eventually(() => slow.deliveries().length, (n) => n >= 1, 30_000, "delivery after the restart");
    const [id] = slow.uniqueIds();
    expect(slow.uniqueIds()).toEqual([id]);
    expect(slow.requests.every((r) => r.notificationId === id)).toBe(true);
    expect(slow.requests.length).toBeGreaterThanOrEqual(2);
    const afterKill = { url: second.url, token: t.token };
    const sent = await eventually(() => history(afterKill, slowChannel), (rows) => rows[0]?.status === "sent", 20_000, "history says sent");
    expect(sent).toHaveLength(1);
    expect(sent[0]!.id).toBe(id);
    expect(sent[0]!.alerts[0]!.summary).toContain("card declined by issuer");
    const [afterKillState] = await activeAlerts(afterKill, stateRule);
    expect(afterKillState).toMatchObject({ state: "firing", fingerprint: firingBefore!.fingerprint, firing_since: firingBefore!.firing_since });

    // 2. The receiver answers 503 (Retry-After 3) twice; the collector stops gracefully in between.
    flaky.answerNext(503, { count: 2, headers: { "retry-after": "3" } });
    await ingest(afterKill, [event("e2e.gateway_down", { gateway: "psp-eu" }, "gateway psp-eu refuses connections")]);
    await eventually(() => flaky.requests.filter((r) => r.status === 503).length, (n) => n >= 2, 30_000, "two 503 answers");
    expect(await second.stop()).toBe(0);
    expect(flaky.deliveries()).toHaveLength(0);
    const pending = flaky.requests[0]!.notificationId;

    const restartedAt = Date.now();
    const third = await collector(dir.path);
    await eventually(() => flaky.deliveries().length, (n) => n >= 1, 30_000, "delivery after the receiver recovered");
    expect(flaky.uniqueIds()).toEqual([pending]);
    expect(flaky.deliveries()[0]!.at).toBeGreaterThan(restartedAt);
    const afterRestart = { url: third.url, token: t.token };
    const recovered = await eventually(() => history(afterRestart, flakyChannel), (rows) => rows[0]?.status === "sent", 20_000, "history says sent");
    expect(recovered.map((r) => r.id)).toEqual([pending]);
    expect(recovered[0]!.attempts).toBeGreaterThanOrEqual(3);
    // Nothing told before the restarts is told again by the restarted collectors.
    expect(slow.uniqueIds()).toEqual([id]);
    const [afterRestartState] = await activeAlerts(afterRestart, stateRule);
    expect(afterRestartState).toMatchObject({ state: "firing", firing_since: firingBefore!.firing_since });
    await sleep(1_000);
    expect(steady.uniqueIds()).toHaveLength(1);
    await shutdown(third);
  }, 150_000);

  it("Alertmanager: the real Alertmanager receives the firing alert of a threshold rule, then its resolution", async ({ expect }) => {
    const am = onCleanup(await startAlertmanager(), (a) => a.stop());
    const t = await newTenant("alertmanager");
    const { channel } = await setUp(t, {
      channel: { name: "alertmanager", kind: "alertmanager", config: { url: am.url } },
      route: { group_wait: "0s", group_interval: "1s" },
      rule: {
        kind: "threshold",
        name: "QueueBacklog",
        source: "e2e",
        type: "e2e.enqueued",
        aggregation: "count",
        group_by: ["queue"],
        condition: ">=",
        threshold: 3,
        window: "10s",
        interval: "5s",
        labels: { severity: "page", team: "payments" },
      },
    });
    await ingest(t, Array.from({ length: 5 }, () => event("e2e.enqueued", { queue: "settlements" })));

    const [alert] = await eventually(() => am.alerts(['alertname="QueueBacklog"']), (list) => list.length === 1, 30_000, "the alert in Alertmanager");
    expect(alert!.labels).toEqual({ alertname: "QueueBacklog", queue: "settlements", severity: "page", team: "payments" });
    expect(alert!.annotations.summary).toBe("QueueBacklog: count is 5 (>= 3)");
    expect(alert!.status.state).toBe("active");

    // The events leave the 10 s window: the rule resolves and Alertmanager drops the alert.
    await eventually(() => am.alerts(['alertname="QueueBacklog"']), (list) => list.length === 0, 45_000, "the alert resolved in Alertmanager");
    const rows = await eventually(() => history(t, channel), (list) => list.some((r) => r.alert_status === "resolved" && r.status === "sent"), 10_000, "resolved notification sent");
    expect(rows.every((r) => r.status === "sent")).toBe(true);
  }, 120_000);

  it("grouping: alerts within group_wait share one notification, a later one waits for group_interval, repeat_interval re-sends", async ({ expect }) => {
    const t = await newTenant("grouping");
    const hook = await webhookReceiver();
    const { channel } = await setUp(t, {
      channel: { name: "group hook", kind: "webhook", config: { url: hook.url } },
      route: { group_by: ["alertname"], group_wait: "3s", group_interval: "5s", repeat_interval: "3s" },
      rule: { kind: "event", name: "JobFailed", source: "e2e", type: "e2e.job_failed", labels: { team: "batch" } },
    });
    await ingest(t, [event("e2e.job_failed", { job: "nightly-export" }, "nightly-export failed")]);
    await ingest(t, [event("e2e.job_failed", { job: "invoice-run" }, "invoice-run failed")]);

    const [first] = await eventually(() => bodies(hook), (list) => list.length >= 1, 20_000, "first notification");
    expect(first!.alerts.map((a) => a.annotations.message).sort()).toEqual(["invoice-run failed", "nightly-export failed"]);
    expect(first!.groupLabels).toEqual({ alertname: "JobFailed" });

    await ingest(t, [event("e2e.job_failed", { job: "reindex" }, "reindex failed")]);
    const list = await eventually(() => bodies(hook), (l) => l.length >= 3, 40_000, "the change, then a repeat");
    const [, second, third] = list as [WebhookBody, WebhookBody, WebhookBody];
    expect(second.alerts.map((a) => a.annotations.message).sort()).toEqual(["invoice-run failed", "nightly-export failed", "reindex failed"]);
    // The repeat tells the same alerts again, under a new notification id.
    expect(third.status).toBe("firing");
    expect(third.alerts.map((a) => a.fingerprint).sort()).toEqual(second.alerts.map((a) => a.fingerprint).sort());
    expect(new Set([first!.notificationId, second.notificationId, third.notificationId]).size).toBe(3);

    // The change waited for group_interval (5 s) after the first telling (1 s allowed for the sends themselves).
    const arrived = (id: string) => hook.deliveries().find((d) => d.notificationId === id)!.at;
    expect(arrived(second.notificationId) - arrived(first!.notificationId)).toBeGreaterThanOrEqual(4_000);
    const rows = await eventually(() => history(t, channel), (r) => r.length >= 3 && r.every((n) => n.status === "sent"), 10_000, "history of three sent");
    expect(rows.map((r) => r.id).sort()).toEqual([first!.notificationId, second.notificationId, third.notificationId].sort());
  }, 120_000);

  it("Discord: many alerts in one group are split into messages within Discord's limits, and a 429 retry_after is honoured", async ({ expect }) => {
    const discord = onCleanup(await startFakeDiscord(), (d) => d.close());
    const webhook = discord.createWebhook();
    const t = await newTenant("discord");
    const { channel } = await setUp(t, {
      channel: { name: "discord", kind: "discord", config: { webhook_url: webhook.url, username: "Vigil alerts" } },
      route: { group_by: [], group_wait: "2s" },
      rule: { kind: "event", name: "KeywordMention", source: "e2e", type: "e2e.mention", labels: { severity: "warning" } },
    });
    // The channel's URL embeds the webhook token: it is stored sealed and never shown.
    const shown = await api(t, "GET", `/api/alerts/channels/${channel}`);
    expect(shown.json.secrets_set).toEqual(["webhook_url"]);
    expect(JSON.stringify(shown.json)).not.toContain(webhook.token);

    discord.rateLimitAfter(2, 1.5);
    const markers = Array.from({ length: 25 }, (_, i) => `mention-${String(i).padStart(2, "0")}`);
    await ingest(t, markers.map((m, i) => event("e2e.mention", { post: i }, `${m}: ${"a long post that mentions the brand ".repeat(40)}`)));

    const found = () => discord.messages.flatMap((m) => m.embeds.map((e) => /mention-\d\d/.exec(e.description ?? "")?.[0]));
    await eventually(found, (list) => list.length >= 25, 30_000, "all alerts at Discord");
    expect(found().sort()).toEqual(markers);
    expect(discord.refused).toEqual([]);
    expect(discord.messages.length).toBeGreaterThan(2);
    for (const message of discord.messages) {
      expect(message.content.length).toBeLessThanOrEqual(2000);
      expect(message.embeds.length).toBeLessThanOrEqual(10);
      const chars = message.embeds.reduce((n, e) => n + (e.title?.length ?? 0) + (e.description?.length ?? 0) + (e.footer?.text.length ?? 0) + (e.fields ?? []).reduce((s, f) => s + f.name.length + f.value.length, 0), 0);
      expect(chars).toBeLessThanOrEqual(6000);
      expect(message.content).toMatch(/^\[FIRING:25\] KeywordMention \(part \d+\/\d+\)$/);
    }

    const requests = discord.stats.requests;
    const limited = requests.findIndex((r) => r.status === 429);
    expect(limited).toBe(2);
    expect(requests[limited + 1]!.at - requests[limited]!.at).toBeGreaterThanOrEqual(1_500);
    const [row] = await eventually(() => history(t, channel), (rows) => rows[0]?.status === "sent", 15_000, "history says sent");
    expect(row!.attempts).toBeGreaterThan(1);
    expect(row!.alerts).toHaveLength(25);
  }, 90_000);

  it("Slack: many alerts are split into messages of at most 50 blocks, and a 429 Retry-After is honoured", async ({ expect }) => {
    const slack = onCleanup(await startFakeSlack(), (s) => s.close());
    const webhook = slack.createWebhook();
    const t = await newTenant("slack");
    const { channel } = await setUp(t, {
      channel: { name: "slack", kind: "slack", config: { webhook_url: webhook.url } },
      route: { group_by: [], group_wait: "2s" },
      rule: { kind: "event", name: "SmsUndelivered", source: "e2e", type: "e2e.sms_failed", labels: { severity: "warning" } },
    });
    slack.rateLimitAfter(1, 1);
    const markers = Array.from({ length: 60 }, (_, i) => `sms-${String(i).padStart(2, "0")}`);
    await ingest(t, markers.map((m, i) => event("e2e.sms_failed", { n: i }, `${m} <carrier> & ${"undelivered message text ".repeat(20)}`)));

    const found = () => slack.messages.flatMap((m) => m.blocks.filter((b) => b.type === "section").map((b) => /sms-\d\d/.exec(b.text?.text ?? "")?.[0]));
    await eventually(found, (list) => list.length >= 60, 30_000, "all alerts at Slack");
    expect(found().sort()).toEqual(markers);
    expect(slack.refused).toEqual([]);
    expect(slack.messages.length).toBeGreaterThanOrEqual(2);
    for (const message of slack.messages) {
      expect(message.blocks.length).toBeLessThanOrEqual(50);
      expect(message.blocks[0]!.type).toBe("header");
      expect(message.blocks[0]!.text!.text.length).toBeLessThanOrEqual(150);
      expect(message.text).toMatch(/^\[FIRING:60\] SmsUndelivered \(part \d\/\d\)$/);
    }
    // mrkdwn control characters arrive escaped.
    expect(slack.messages[0]!.blocks[1]!.text!.text).toContain("&lt;carrier&gt; &amp;");

    const requests = slack.stats.requests;
    const limited = requests.findIndex((r) => r.status === 429);
    expect(limited).toBe(1);
    expect(requests[limited + 1]!.at - requests[limited]!.at).toBeGreaterThanOrEqual(1_000);
    const [row] = await eventually(() => history(t, channel), (rows) => rows[0]?.status === "sent", 15_000, "history says sent");
    expect(row!.attempts).toBe(2);
  }, 90_000);

  it("email: a real SMTP server receives the alert mail, logged in, with the notification id as Message-ID", async ({ expect }) => {
    const smtp = onCleanup(await startSmtpSink({ user: "vigil", password: "smtp-password-123" }), (s) => s.close());
    const t = await newTenant("email");
    const { channel } = await setUp(t, {
      channel: {
        name: "on-call mail",
        kind: "email",
        config: { host: smtp.host, port: smtp.port, user: "vigil", password: "smtp-password-123", from: "Vigil <vigil@example.com>", to: ["oncall@example.com"], subject_prefix: "[vigil]" },
      },
      route: { group_wait: "0s" },
      rule: { kind: "event", name: "DiskFull", source: "e2e", type: "e2e.disk_full", group_by: ["host"], labels: { severity: "critical" } },
    });
    const shown = await api(t, "GET", `/api/alerts/channels/${channel}`);
    expect(shown.json.secrets_set).toEqual(["password"]);
    expect(JSON.stringify(shown.json)).not.toContain("smtp-password-123");

    // The channel's test message goes out at once.
    const test = await api(t, "POST", `/api/alerts/channels/${channel}/test`);
    expect(test.status, JSON.stringify(test.json)).toBe(200);
    expect(test.json.ok).toBe(true);
    await eventually(() => smtp.messages.length, (n) => n >= 1, 15_000, "test mail");
    expect(smtp.messages[0]!.subject).toBe("[vigil] [TEST] [FIRING:1] VigilTest");

    await ingest(t, [event("e2e.disk_full", { host: "db-1" }, "/var/lib/postgresql is 100% full on db-1")]);
    const [mail] = await eventually(() => smtp.messages.slice(1), (list) => list.length >= 1, 20_000, "alert mail");
    const [row] = await eventually(() => history(t, channel), (rows) => rows[0]?.status === "sent", 15_000, "history says sent");
    expect(mail!.user).toBe("vigil");
    expect(mail!.envelopeTo).toEqual(["oncall@example.com"]);
    expect(mail!.subject).toBe("[vigil] [FIRING:1] DiskFull");
    expect(mail!.messageId).toBe(`<${row!.id}@vigil>`);
    expect(mail!.text).toContain("FIRING: DiskFull (severity=critical, host=db-1)");
    expect(mail!.text).toContain("/var/lib/postgresql is 100% full on db-1");
    expect(mail!.html).toContain("100% full on db-1");
  }, 90_000);

  it("silences: a matching silence keeps a new alert from being notified until it expires", async ({ expect }) => {
    const t = await newTenant("silences");
    const hook = await webhookReceiver();
    const { rule } = await setUp(t, {
      channel: { name: "silence hook", kind: "webhook", config: { url: hook.url } },
      route: { group_wait: "0s", group_interval: "1s" },
      rule: { kind: "event", name: "IndexerStalled", source: "e2e", type: "e2e.indexer_stalled", labels: { team: "search" } },
    });
    const endsAt = Date.now() + 8_000;
    const silence = await api(t, "POST", "/api/alerts/silences", { matchers: [{ label: "team", value: "search" }], ends_at: new Date(endsAt).toISOString(), comment: "reindexing tonight" });
    expect(silence.status, JSON.stringify(silence.json)).toBe(201);
    expect(silence.json.state).toBe("active");

    await ingest(t, [event("e2e.indexer_stalled", {}, "indexer stalled at offset 1234")]);
    const [alert] = await eventually(() => activeAlerts(t, rule), (list) => list.length === 1, 10_000, "the alert fires");
    expect(alert!.state).toBe("firing");
    expect(alert!.silenced).toBe(true);

    // While the silence holds, nothing is sent.
    while (Date.now() < endsAt - 500) {
      expect(hook.requests).toHaveLength(0);
      await sleep(250);
    }
    const [body] = await eventually(() => bodies(hook), (list) => list.length >= 1, 20_000, "notified after the silence expired");
    expect(hook.deliveries()[0]!.at).toBeGreaterThanOrEqual(endsAt);
    expect(body!.alerts.map((a) => a.annotations.message)).toEqual(["indexer stalled at offset 1234"]);
    const ended = await api(t, "GET", `/api/alerts/silences/${silence.json.id}`);
    expect(ended.json.state).toBe("expired");
    expect((await activeAlerts(t, rule))[0]!.silenced).toBe(false);
  }, 90_000);

  it("storage down: /health answers 503 with alerting paused, and no alert fires", async ({ expect }) => {
    const dir = onCleanup(tempDir("vigil-e2e-nostorage-"), (d) => d.remove());
    const proc = await collector(dir.path, { CLICKHOUSE_URL: "http://127.0.0.1:1" });
    const health = async () => {
      const res = await fetch(`${proc.url}/health`);
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const first = await health();
    expect(first.status).toBe(503);
    expect(first.body.status).toBe("unavailable");
    expect(first.body.alerting).toBe("paused");
    // A few more seconds of outage: still paused, nothing fires.
    await sleep(3_000);
    const later = await health();
    expect(later.status).toBe(503);
    expect(later.body.alerting).toBe("paused");
    const alertLogs = proc.logs.filter((line) => /alert|notif|firing/i.test(String(line.msg ?? "")));
    expect(alertLogs).toEqual([]);
    await shutdown(proc);
  }, 60_000);
});

describe("alert metrics", () => {
  it("GET /metrics shows evaluations, notifications by channel and outcome, and delivery delay buckets beyond 60 s; promtool accepts it", async () => {
    const res = await fetch(`${shared.url}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^vigil_alert_evaluations_total\{kind="threshold",outcome="ok"\} [1-9]\d*$/m);
    expect(text).toMatch(/^vigil_alert_evaluation_seconds_bucket\{le="0\.1",kind="threshold"\} \d+$/m);
    expect(text).toMatch(/^vigil_alert_notifications_total\{channel="webhook",outcome="sent"\} [1-9]\d*$/m);
    expect(text).toMatch(/^vigil_alert_notifications_total\{channel="discord",outcome="rate_limited"\} [1-9]\d*$/m);
    expect(text).toMatch(/^vigil_alert_notifications_total\{channel="slack",outcome="rate_limited"\} [1-9]\d*$/m);
    expect(text).toMatch(/^vigil_alert_notifications_total\{channel="email",outcome="sent"\} [1-9]\d*$/m);
    expect(text).toMatch(/^vigil_alert_notifications_total\{channel="alertmanager",outcome="sent"\} [1-9]\d*$/m);
    for (const le of ["60", "120", "300", "600", "1800", "3600", "\\+Inf"]) expect(text).toMatch(new RegExp(`^vigil_alert_delivery_seconds_bucket\\{le="${le}"\\} [1-9]\\d*$`, "m"));
    expect(text).toMatch(/^vigil_alert_delivery_seconds_count [1-9]\d*$/m);

    const file = join(sharedDir.path, "metrics.txt");
    writeFileSync(file, text);
    const check = spawnSync("sh", ["-c", `promtool check metrics < ${file}`], { encoding: "utf8" });
    expect(check.error).toBeUndefined();
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});
