// SMS campaign monitoring end to end (issue 7): a campaign of 100,000 messages reported
// through the in-app SDK (this process) to a real agent (its intake, disk queue and
// shipper) and on to a real collector with the SMS plugin's collector part. The mix of
// servers, carriers, statuses, error codes, retries and late reports is seeded, and every
// figure the API answers is recomputed here from what was sent, applying the plugin's
// documented rules (docs/collector.md) on this side. Meanwhile a proxy goes down and comes
// back, an SMTP gateway degrades, and live clients of two tenants watch.
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSmsTracker, type MessageReport, type SmsTracker } from "@vigil/plugin-sms/sdk";
import { STATUS_RANK, type MessageStatus, type ServerKind, type ServerStatus } from "../plugins/sms/src/contract.js";
import { CATEGORIES, diagnose, errorNamespace, type ErrorCategory } from "../plugins/sms/src/errors.js";
import { startAgentProcess, writeAgentConfig, type AgentProcess } from "./support/agent-process.js";
import { callApi, REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess } from "./support/collector-process.js";
import { eventually } from "./support/eventually.js";
import { connectLive, type LiveClient } from "./support/live-client.js";
import { seededRandom } from "./support/random.js";
import { groupBy, percentilesOf } from "./support/stats.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const CAMPAIGN = "e2e-spring-sale";
const MESSAGES = 100_000;
const CHUNKS = 40;
const PER_CHUNK = MESSAGES / CHUNKS;
/** Late reports (finals, retries, late callbacks) land up to this many chunks after the last new message. */
const DRAIN_CHUNKS = 6;
/** Each chunk of the campaign takes at least this long, so it runs for several seconds and the live channel sees it progress. */
const CHUNK_MS = 200;
/** The app waits while more than this many events wait in the tracker (it sends as fast as the agent takes them). */
const MAX_PENDING = 20_000;

// ---------------------------------------------------------------- the simulated campaign

type Weighted<T> = [T, number][];

interface Server {
  kind: ServerKind;
  id: string;
  weight: number;
  sendMs: [number, number];
  /** Share of messages the server refuses at once (the app reports them failed), and with which codes. */
  refusal: number;
  refusalCodes: Weighted<string>;
  /** Codes of the delivery failures reported later. */
  finalCodes: Weighted<string>;
}

const TWILIO_FINAL: Weighted<string> = [
  ["30003", 0.3],
  ["30005", 0.15],
  ["30006", 0.1],
  ["30007", 0.2],
  ["30008", 0.1],
  ["30022", 0.15],
];
const SERVERS: Server[] = [
  { kind: "api", id: "twilio-1", weight: 0.35, sendMs: [60, 400], refusal: 0.02, refusalCodes: [["21211", 0.5], ["21610", 0.3], ["20429", 0.2]], finalCodes: TWILIO_FINAL },
  { kind: "api", id: "twilio-2", weight: 0.2, sendMs: [80, 900], refusal: 0.02, refusalCodes: [["21211", 0.5], ["20429", 0.5]], finalCodes: TWILIO_FINAL },
  { kind: "api", id: "vonage-1", weight: 0.2, sendMs: [100, 700], refusal: 0.02, refusalCodes: [["9", 0.6], ["16", 0.4]], finalCodes: [["2", 0.35], ["3", 0.2], ["6", 0.2], ["4", 0.15], ["99", 0.1]] },
  { kind: "smtp", id: "gw-1", weight: 0.15, sendMs: [200, 2500], refusal: 0.06, refusalCodes: [["421", 0.4], ["550", 0.3], ["554", 0.2], ["535", 0.1]], finalCodes: [["550", 0.5], ["554", 0.3], ["452", 0.2]] },
  { kind: "proxy", id: "px-1", weight: 0.1, sendMs: [40, 300], refusal: 0.06, refusalCodes: [["ECONNRESET", 0.5], ["ETIMEDOUT", 0.3], ["407", 0.2]], finalCodes: [["502", 0.6], ["504", 0.4]] },
];
const CARRIERS: Weighted<string> = [
  ["verizon", 0.3],
  ["att", 0.25],
  ["tmobile", 0.2],
  ["vodafone", 0.15],
  ["orange", 0.1],
];

/** Server status changes, by the chunk from which they hold; every server starts up. */
const TIMELINE: { chunk: number; id: string; status: ServerStatus; error: string }[] = [
  { chunk: 8, id: "gw-1", status: "degraded", error: "421 4.7.0 Try again later" },
  { chunk: 14, id: "gw-1", status: "up", error: "" },
  { chunk: 20, id: "px-1", status: "down", error: "connect ECONNREFUSED 10.0.0.7:3128" },
  { chunk: 30, id: "px-1", status: "up", error: "" },
  { chunk: 36, id: "twilio-2", status: "degraded", error: "responses slower than 2 s" },
];

function statusAt(server: Server, chunk: number): { status: ServerStatus; error: string } {
  let current = { status: "up" as ServerStatus, error: "" };
  for (const change of TIMELINE) if (change.id === server.id && change.chunk <= chunk) current = change;
  return current;
}

/** A time bracket: Date.now() right before and right after a call, so the SDK's timestamp of it lies within. */
interface Bracket {
  low: number;
  high: number;
}

interface Sent {
  status: MessageStatus;
  attempt: number;
  code: string;
  sendMs: number;
  /** Order of the calls: a later call has a later (or equal) timestamp. */
  seq: number;
  chunk: number;
}

interface Message {
  id: string;
  to: string;
  carrier: string;
  server: Server;
  reports: Sent[];
}

interface ServerCall {
  server: Server;
  status: ServerStatus;
  error: string;
  latencyMs: number;
  at: Bracket;
  /** Whether the SDK reported it as a change too (sms.server_status). */
  change: boolean;
}

function pick<T>(random: () => number, weighted: Weighted<T>): T {
  let r = random() * weighted.reduce((sum, [, w]) => sum + w, 0);
  for (const [value, weight] of weighted) if ((r -= weight) < 0) return value;
  return weighted[weighted.length - 1]![0];
}

const between = (random: () => number, [low, high]: [number, number]) => Math.round(low + random() * (high - low));
const retryable = (server: Server, code: string) => diagnose({ reporter: "app", serverKind: server.kind, code, text: "" }).retryable;

/** What the campaign sent: its messages and reports, the server reports, and when each chunk ran. */
interface Simulation {
  messages: Message[];
  serverCalls: ServerCall[];
  chunkAt: Bracket[];
  campaignAt: { created: Bracket; started: Bracket; completed: Bracket };
  events: { message: number; server: number; serverStatus: number; campaign: number };
}

/**
 * Runs the campaign through `tracker`: each chunk sends PER_CHUNK new messages, the late
 * reports earlier chunks scheduled for it (finals, retries, late "sent" callbacks after a
 * delivery, an undelivered corrected to delivered), and a health report of every server.
 * `onChunk` is told after each chunk.
 */
async function runCampaign(tracker: SmsTracker, onChunk: (chunk: number) => void): Promise<Simulation> {
  const random = seededRandom(20_261_127);
  const messages: Message[] = [];
  const serverCalls: ServerCall[] = [];
  const chunkAt: Bracket[] = [];
  const later = new Map<number, (() => void)[]>();
  let seq = 0;
  const lastStatus = new Map<string, ServerStatus>();
  const bracket = (call: () => void): Bracket => {
    const low = Date.now();
    call();
    return { low, high: Date.now() };
  };
  const schedule = (chunk: number, work: () => void) => {
    const list = later.get(chunk) ?? [];
    list.push(work);
    later.set(chunk, list);
  };

  function report(m: Message, chunk: number, status: MessageStatus, options: { attempt?: number; code?: string; sendMs?: number; queuedMs?: number } = {}): void {
    const attempt = options.attempt ?? 1;
    const code = options.code ?? "";
    const sendMs = options.sendMs ?? 0;
    m.reports.push({ status, attempt, code, sendMs, seq: seq++, chunk });
    const call: MessageReport = { campaignId: CAMPAIGN, messageId: m.id, to: m.to, carrier: m.carrier, server: { kind: m.server.kind, id: m.server.id }, status, attempt };
    if (code) Object.assign(call, { errorCode: code, errorText: `provider error ${code}` });
    if (sendMs) call.sendMs = sendMs;
    if (options.queuedMs !== undefined) call.queuedMs = options.queuedMs;
    tracker.trackMessage(call);
  }

  /** A failure at `chunk`: retried two chunks later (when the code is worth it), where the retry ends one chunk after. */
  function failed(m: Message, chunk: number, status: "failed" | "undelivered", code: string, attempt: number, sendMs?: number): void {
    report(m, chunk, status, { attempt, code, ...(sendMs !== undefined ? { sendMs } : {}) });
    if (attempt > 1 || !retryable(m.server, code) || random() >= 0.5) return;
    schedule(chunk + 2, () => {
      if (statusAt(m.server, chunk + 2).status === "down") return failed(m, chunk + 2, "failed", "ECONNREFUSED", 2);
      report(m, chunk + 2, "sent", { attempt: 2, sendMs: between(random, m.server.sendMs) });
      const end = random();
      if (end < 0.75) schedule(chunk + 3, () => report(m, chunk + 3, "delivered", { attempt: 2 }));
      else if (end < 0.9) schedule(chunk + 3, () => report(m, chunk + 3, status, { attempt: 2, code }));
    });
  }

  function newMessage(chunk: number, index: number): void {
    const server = pick(
      random,
      SERVERS.map((s) => [s, s.weight]),
    );
    const m: Message = { id: `SM${index.toString(16).padStart(10, "0")}`, to: `+1 555 ${String(index).padStart(7, "0")}`, carrier: pick(random, CARRIERS), server, reports: [] };
    messages.push(m);
    const queuedMs = between(random, [0, 3000]);
    if (statusAt(server, chunk).status === "down") return failed(m, chunk, "failed", "ECONNREFUSED", 1);
    if (random() < 0.005) return report(m, chunk, "queued", { queuedMs });
    if (random() < 0.1) report(m, chunk, "queued", { queuedMs });
    const sendMs = between(random, server.sendMs);
    const refusal = statusAt(server, chunk).status === "degraded" ? 0.25 : server.refusal;
    if (random() < refusal) return failed(m, chunk, "failed", pick(random, server.refusalCodes), 1, sendMs);
    report(m, chunk, "sent", { sendMs, queuedMs });
    const finalChunk = chunk + 1 + Math.floor(random() * 2);
    const end = random();
    if (end < 0.03) return; // no receipt yet: still "sent"
    if (end < 0.04) {
      // The provider first said undelivered, then delivered: the later final wins.
      const code = pick(random, server.finalCodes);
      schedule(finalChunk, () => report(m, finalChunk, "undelivered", { code }));
      schedule(finalChunk + 2, () => report(m, finalChunk + 2, "delivered"));
    } else if (end < 0.13) {
      const status = random() < 0.5 ? "failed" : "undelivered";
      const code = pick(random, server.finalCodes);
      schedule(finalChunk, () => failed(m, finalChunk, status, code, 1));
    } else {
      schedule(finalChunk, () => report(m, finalChunk, "delivered"));
      // A "sent" callback arriving after the delivery: never a downgrade.
      if (random() < 0.03) schedule(finalChunk + 2, () => report(m, finalChunk + 2, "sent"));
    }
  }

  function serverReport(server: Server, chunk: number): void {
    const { status, error } = statusAt(server, chunk);
    const latencyMs = status === "down" ? 0 : Math.round(between(random, server.sendMs) / 2);
    const change = lastStatus.get(server.id) !== status;
    lastStatus.set(server.id, status);
    const at = bracket(() => tracker.trackServer({ kind: server.kind, id: server.id, status, latencyMs, error: error || null }));
    serverCalls.push({ server, status, error, latencyMs, at, change });
  }

  const campaign = { id: CAMPAIGN, name: "Spring sale (e2e)", total: MESSAGES, user: "ann" };
  const created = bracket(() => tracker.trackCampaign({ ...campaign, status: "created" }));
  const started = bracket(() => tracker.trackCampaign({ ...campaign, status: "started" }));
  for (let chunk = 0; chunk < CHUNKS + DRAIN_CHUNKS; chunk++) {
    const chunkStart = performance.now();
    const low = Date.now();
    for (const work of later.get(chunk) ?? []) work();
    later.delete(chunk);
    if (chunk < CHUNKS) {
      for (let i = 0; i < PER_CHUNK; i++) newMessage(chunk, chunk * PER_CHUNK + i);
      // After the chunk's messages: every health report lies inside the campaign's span of messages.
      for (const server of SERVERS) serverReport(server, chunk);
    }
    chunkAt.push({ low, high: Date.now() });
    onChunk(chunk);
    while (tracker.pending() > MAX_PENDING) await sleep(20);
    await sleep(Math.max(20, CHUNK_MS - (performance.now() - chunkStart)));
  }
  if (later.size > 0) throw new Error(`reports scheduled past the drain: chunks ${[...later.keys()].join(", ")}`);
  const completed = bracket(() => tracker.trackCampaign({ ...campaign, status: "completed" }));
  return {
    messages,
    serverCalls,
    chunkAt,
    campaignAt: { created, started, completed },
    events: {
      message: messages.reduce((sum, m) => sum + m.reports.length, 0),
      server: serverCalls.length,
      serverStatus: serverCalls.filter((call) => call.change).length,
      campaign: 3,
    },
  };
}

// ---------------------------------------------------------------- expected figures

const STATUS_ORDER: MessageStatus[] = ["queued", "sent", "delivered", "undelivered", "failed"];
const isFailure = (status: MessageStatus) => status === "failed" || status === "undelivered";
const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null);

/** The message's current status: the highest rank wins; within a rank, the later report (then the status order). */
function winnerOf(reports: readonly Sent[]): Sent {
  let best = reports[0]!;
  for (const r of reports) {
    const rank = STATUS_RANK[r.status] - STATUS_RANK[best.status];
    if (rank > 0 || (rank === 0 && (r.seq > best.seq || (r.seq === best.seq && STATUS_ORDER.indexOf(r.status) > STATUS_ORDER.indexOf(best.status))))) best = r;
  }
  return best;
}

interface Outcome {
  message: Message;
  status: MessageStatus;
  winner: Sent;
  /** The chunk of the first report that took it out of the queue (sent or final), null when never. */
  dispatchedChunk: number | null;
  /** The largest send time reported (0: none). */
  sendMs: number;
  lastAttempt: number;
  /** The status of the last attempt: "sent" while the message's status is an earlier attempt's. */
  lastAttemptStatus: MessageStatus;
  firstFailure: { attempt: number; category: ErrorCategory } | null;
}

const categoryOf = (m: Message, code: string) => diagnose({ reporter: "app", serverKind: m.server.kind, code, text: `provider error ${code}` }).category;

function outcomeOf(m: Message): Outcome {
  const winner = winnerOf(m.reports);
  const lastAttempt = Math.max(...m.reports.map((r) => r.attempt));
  const lastAttemptStart = Math.min(...m.reports.filter((r) => r.attempt === lastAttempt).map((r) => r.seq));
  const dispatched = m.reports.filter((r) => STATUS_RANK[r.status] >= 2);
  const failures = m.reports.filter((r) => isFailure(r.status)).sort((a, b) => a.attempt - b.attempt || a.seq - b.seq);
  const first = failures[0];
  return {
    message: m,
    status: winner.status,
    winner,
    dispatchedChunk: dispatched.length > 0 ? Math.min(...dispatched.map((r) => r.chunk)) : null,
    sendMs: Math.max(...m.reports.map((r) => r.sendMs)),
    lastAttempt,
    lastAttemptStatus: lastAttempt > 1 && STATUS_RANK[winner.status] === 3 && winner.seq < lastAttemptStart ? "sent" : winner.status,
    firstFailure: first ? { attempt: first.attempt, category: categoryOf(m, first.code) } : null,
  };
}

function countsOf(outcomes: readonly Outcome[]) {
  const by = (status: MessageStatus) => outcomes.filter((o) => o.status === status).length;
  const delivered = by("delivered");
  const undelivered = by("undelivered");
  const failed = by("failed");
  return { messages: outcomes.length, queued: by("queued"), sent: by("sent"), delivered, undelivered, failed, final: delivered + undelivered + failed };
}

const sendPercentiles = (outcomes: readonly Outcome[]) => percentilesOf(outcomes.map((o) => o.sendMs).filter((ms) => ms > 0));


function expectWithin(iso: string | null, bracket: Bracket, what: string): void {
  expect(iso, what).not.toBeNull();
  const ms = Date.parse(iso!);
  expect(ms, `${what}: ${iso} within [${new Date(bracket.low).toISOString()}, ${new Date(bracket.high).toISOString()}]`).toBeGreaterThanOrEqual(bracket.low);
  expect(ms, `${what}: ${iso} within [${new Date(bracket.low).toISOString()}, ${new Date(bracket.high).toISOString()}]`).toBeLessThanOrEqual(bracket.high);
}

// ---------------------------------------------------------------- the run

let collector: CollectorProcess;
let agent: AgentProcess;
let hook: WebhookReceiver;
let otherTenant: { url: string; token: string };
let sim: Simulation;
let outcomes: Outcome[];
/** Live clients: the campaign's tenant and another one, each on the campaign and system channels. */
let liveA: LiveClient;
let liveB: LiveClient;
/** The campaign's statistics the live channel sent before the campaign completed, with the chunk the app was at. */
const progressSeen: { chunk: number; messages: number }[] = [];
const cleanups: (() => Promise<unknown> | unknown)[] = [];

async function api(path: string, token = collector.token) {
  const res = await callApi({ url: collector.url, token }, "GET", path);
  expect(res.status, `GET ${path}: ${JSON.stringify(res.json)?.slice(0, 500)}`).toBe(200);
  return res.json;
}

async function subscribe(client: LiveClient, id: string, topic: string, params: Record<string, unknown>): Promise<void> {
  client.send({ type: "subscribe", id, topic, params });
  await client.next((m) => (m.type === "subscribed" || m.type === "error") && m.id === id);
  expect(client.messages.find((m) => m.type === "error" && m.id === id), `subscribe ${topic}`).toBeUndefined();
}

const dataOf = (client: LiveClient, id: string) => client.messages.filter((m) => m.type === "data" && m.id === id).map((m) => m.data);

beforeAll(async () => {
  const dir = tempDir("vigil-e2e-sms-");
  cleanups.push(() => dir.remove());
  collector = await startCollectorProcess({ dataDir: join(dir.path, "collector"), args: ["--plugin", join(REPO_ROOT, "plugins/sms/dist/collector.js")] });
  cleanups.push(() => collector.kill());
  const config = {
    collector: { url: collector.url, api_key: collector.token, timeout: "10s" },
    agent: { name: "sms-e2e-agent", data_dir: join(dir.path, "agent-data") },
    intake: { address: "127.0.0.1:0" },
    shipper: { flush_interval: "100ms" },
    log: { format: "json", level: "info" },
  };
  agent = await startAgentProcess(writeAgentConfig(dir.path, config));
  cleanups.push(() => agent.kill());

  const tenant = await callApi(collector, "POST", "/api/tenants", { id: "sms-e2e-other", name: "Another SMS sender" });
  expect(tenant.status, JSON.stringify(tenant.json)).toBe(201);
  otherTenant = { url: collector.url, token: tenant.json.token };

  // The "SMS server down" alert, to a webhook at once.
  hook = await startWebhookReceiver();
  cleanups.push(() => hook.close());
  const channel = await callApi(collector, "POST", "/api/alerts/channels", { name: "sms on-call", kind: "webhook", config: { url: hook.url } });
  expect(channel.status, JSON.stringify(channel.json)).toBe(201);
  const route = await callApi(collector, "POST", "/api/alerts/routes", { name: "sms e2e route", channels: [channel.json.id], group_wait: "0s" });
  expect(route.status, JSON.stringify(route.json)).toBe(201);
  const rule = await callApi(collector, "POST", "/api/alerts/templates/sms-server-down/install", {});
  expect(rule.status, JSON.stringify(rule.json)).toBe(201);

  liveA = await connectLive(collector.url, collector.token);
  liveB = await connectLive(collector.url, otherTenant.token);
  cleanups.push(() => liveA.close(), () => liveB.close());
  for (const client of [liveA, liveB]) {
    const hello = await client.next((m) => m.type === "hello");
    expect(hello.topics.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(["sms.campaign", "sms.system"]));
    await subscribe(client, "campaign", "sms.campaign", { campaign_id: CAMPAIGN });
    await subscribe(client, "system", "sms.system", {});
  }

  const tracker = createSmsTracker({ agentUrl: agent.intakeUrl, app: "e2e", flushIntervalMs: 100 });
  cleanups.push(() => tracker.close());
  let seen = 0;
  sim = await runCampaign(tracker, (chunk) => {
    const updates = dataOf(liveA, "campaign").filter((d) => typeof d.messages === "number");
    for (const update of updates.slice(seen)) progressSeen.push({ chunk, messages: update.messages });
    seen = updates.length;
  });
  await tracker.close();
  expect(tracker.dropped()).toBe(0);
  expect(tracker.invalid()).toBe(0);
  outcomes = sim.messages.map(outcomeOf);

  // Everything sent is stored before the figures are compared.
  const expected = { "sms.message": sim.events.message, "sms.server": sim.events.server, "sms.server_status": sim.events.serverStatus, "sms.campaign": sim.events.campaign };
  await eventually(
    async () => {
      const stats = await api("/api/stats");
      return Object.fromEntries(stats.by_type.filter((row: { source: string }) => row.source === "sms").map((row: { type: string; events: number }) => [row.type, row.events]));
    },
    (stored) => Object.entries(expected).every(([type, n]) => stored[type] === n),
    90_000,
    `stored events ${JSON.stringify(expected)}`,
    250,
  );
}, 180_000);

afterAll(async () => {
  while (cleanups.length) {
    try {
      await cleanups.pop()!();
    } catch {
      // the rest still runs
    }
  }
}, 60_000);

describe("a campaign of 100,000 messages through SDK → agent → collector", () => {
  it("GET /api/sms/campaigns/:id: every statistic matches what was sent", async () => {
    const stats = await api(`/api/sms/campaigns/${CAMPAIGN}`);
    const c = countsOf(outcomes);
    const failedTotal = c.failed + c.undelivered;
    const dispatched = outcomes.filter((o) => o.dispatchedChunk !== null);
    expect(stats).toMatchObject({
      campaign_id: CAMPAIGN,
      name: "Spring sale (e2e)",
      user: "ann",
      status: "completed",
      total: MESSAGES,
      messages: MESSAGES,
      not_reported: 0,
      queued: c.queued,
      sent: c.sent,
      delivered: c.delivered,
      undelivered: c.undelivered,
      failed: c.failed,
      failed_total: failedTotal,
      final: c.final,
      pending: MESSAGES - c.final,
      dispatched: dispatched.length,
      progress_pct: Math.round((c.final / MESSAGES) * 100 * 100) / 100,
      delivery_rate: rate(c.delivered, c.final),
      failure_rate: rate(failedTotal, c.final),
      eta: null,
      eta_s: null,
    });
    // A realistic mix: every status is there.
    for (const status of STATUS_ORDER) expect(c[status], status).toBeGreaterThan(100);

    expectWithin(stats.created_at, sim.campaignAt.created, "created_at");
    expectWithin(stats.started_at, sim.campaignAt.started, "started_at");
    expectWithin(stats.completed_at, sim.campaignAt.completed, "completed_at");
    expectWithin(stats.last_activity_at, sim.campaignAt.completed, "last_activity_at");
    const spanMs = Date.parse(stats.completed_at) - Date.parse(stats.started_at);
    expect(stats.duration_s).toBe(Math.round(spanMs) / 1000);
    expect(stats.throughput.avg_per_minute).toBe(Math.round((dispatched.length / spanMs) * 60_000 * 100) / 100);
    // Messages that left the queue in the minute before as_of: each one's chunk bounds when.
    const minuteAgo = Date.parse(stats.as_of) - 60_000;
    const surely = dispatched.filter((o) => sim.chunkAt[o.dispatchedChunk!]!.low > minuteAgo).length;
    const possibly = dispatched.filter((o) => sim.chunkAt[o.dispatchedChunk!]!.high > minuteAgo).length;
    expect(stats.throughput.last_minute).toBeGreaterThanOrEqual(surely);
    expect(stats.throughput.last_minute).toBeLessThanOrEqual(possibly);
  });

  it("GET /api/sms/carriers: volume, share, statuses, success rate and send times per carrier", async () => {
    const answer = await api(`/api/sms/carriers?campaign_id=${CAMPAIGN}`);
    const expected = [...groupBy(outcomes, (o) => o.message.carrier)]
      .map(([carrier, group]) => {
        const c = countsOf(group);
        return {
          carrier,
          messages: c.messages,
          share: rate(c.messages, MESSAGES),
          queued: c.queued,
          sent: c.sent,
          delivered: c.delivered,
          undelivered: c.undelivered,
          failed: c.failed,
          final: c.final,
          success_rate: rate(c.delivered, c.final),
          failure_rate: rate(c.failed + c.undelivered, c.final),
          send_ms: sendPercentiles(group),
        };
      })
      .sort((a, b) => b.messages - a.messages || a.carrier.localeCompare(b.carrier));
    expect(answer).toEqual({ campaign_id: CAMPAIGN, since: null, until: null, carriers: expected });
    expect(expected).toHaveLength(CARRIERS.length);
  });

  it("GET /api/sms/servers: messages, success rate, send times, health samples and current status per server", async () => {
    const answer = await api(`/api/sms/servers?campaign_id=${CAMPAIGN}`);
    expect(answer.since).toBeNull();
    expect(answer.until).toBeNull();
    const byServer = groupBy(outcomes, (o) => o.message.server.id);
    const expected = [...SERVERS]
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.id.localeCompare(b.id))
      .map((server) => {
        const group = byServer.get(server.id)!;
        const c = countsOf(group);
        const calls = sim.serverCalls.filter((call) => call.server === server);
        const count = (status: ServerStatus) => calls.filter((call) => call.status === status).length;
        return {
          server_kind: server.kind,
          server_id: server.id,
          status: calls[calls.length - 1]!.status,
          messages: c.messages,
          delivered: c.delivered,
          undelivered: c.undelivered,
          failed: c.failed,
          final: c.final,
          success_rate: rate(c.delivered, c.final),
          send_ms: sendPercentiles(group),
          samples: calls.length,
          latency_ms: percentilesOf(calls.map((call) => call.latencyMs).filter((ms) => ms > 0)),
          sample_statuses: { up: count("up"), degraded: count("degraded"), down: count("down") },
        };
      });
    expect(answer.servers.map(({ since, last_report_at, last_error, ...rest }: Record<string, unknown>) => rest)).toEqual(expected);
    // In that order: twilio-1, twilio-2 (degraded at the end), vonage-1, px-1 (down, then back), gw-1 (degraded, then back).
    expect(expected.map((s) => s.status)).toEqual(["up", "degraded", "up", "up", "up"]);

    for (const server of SERVERS) {
      const got = answer.servers.find((s: { server_id: string }) => s.server_id === server.id);
      const calls = sim.serverCalls.filter((call) => call.server === server);
      const lastChange = calls.filter((call) => call.change).at(-1)!;
      expectWithin(got.since, lastChange.at, `${server.id} since`);
      expectWithin(got.last_report_at, calls.at(-1)!.at, `${server.id} last_report_at`);
      const lastError = calls.filter((call) => call.error !== "").at(-1);
      if (!lastError) expect(got.last_error, server.id).toBeNull();
      else {
        expect(got.last_error.error, server.id).toBe(lastError.error);
        expectWithin(got.last_error.at, lastError.at, `${server.id} last_error.at`);
      }
    }
  });

  it("GET /api/sms/errors: categories with advice and top codes, trends, retry analysis", async () => {
    const answer = await api(`/api/sms/errors?campaign_id=${CAMPAIGN}`);
    const c = countsOf(outcomes);
    const failures = outcomes.filter((o) => isFailure(o.status));
    const failedCount = failures.length;
    const categories = [...groupBy(failures, (o) => categoryOf(o.message, o.winner.code))]
      .map(([category, group]) => {
        const codes = [...groupBy(group, (o) => `${errorNamespace("app", o.message.server.kind, o.winner.code)}:${o.winner.code}`)]
          .map(([key, coded]) => {
            const code = coded[0]!.winner.code;
            const diagnosis = diagnose({ reporter: "app", serverKind: coded[0]!.message.server.kind, code, text: "" });
            expect(diagnosis.known, key).toBe(true);
            return {
              namespace: key.slice(0, key.indexOf(":")),
              code,
              title: diagnosis.title,
              known: true,
              count: coded.length,
              share: rate(coded.length, group.length),
              severity: diagnosis.severity,
              retryable: diagnosis.retryable,
              recommendation: diagnosis.recommendation,
            };
          })
          .sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
        const top = codes.slice(0, 5);
        return {
          category,
          count: group.length,
          share: rate(group.length, failedCount),
          ...CATEGORIES[category],
          top_codes: top,
          other_codes: group.length - top.reduce((sum, code) => sum + code.count, 0),
        };
      })
      .sort((a, b) => b.count - a.count || a.category.localeCompare(b.category));
    expect(categories.length).toBeGreaterThanOrEqual(6);

    const byAttempt = new Map<number, { attempt: number; attempts: number; delivered: number; failed: number; pending: number }>();
    const attemptEntry = (attempt: number) => {
      let entry = byAttempt.get(attempt);
      if (!entry) byAttempt.set(attempt, (entry = { attempt, attempts: 0, delivered: 0, failed: 0, pending: 0 }));
      return entry;
    };
    const byCategory = new Map<ErrorCategory, { failed_first: number; retried: number; retried_delivered: number; retried_failed: number; retried_pending: number }>();
    for (const o of outcomes) {
      for (let attempt = 1; attempt < o.lastAttempt; attempt++) {
        attemptEntry(attempt).attempts++;
        attemptEntry(attempt).failed++;
      }
      const last = attemptEntry(o.lastAttempt);
      last.attempts++;
      const ending = o.lastAttemptStatus === "delivered" ? "delivered" : isFailure(o.lastAttemptStatus) ? "failed" : "pending";
      last[ending]++;
      if (!o.firstFailure) continue;
      const entry = byCategory.get(o.firstFailure.category) ?? { failed_first: 0, retried: 0, retried_delivered: 0, retried_failed: 0, retried_pending: 0 };
      byCategory.set(o.firstFailure.category, entry);
      entry.failed_first++;
      if (o.lastAttempt <= o.firstFailure.attempt) continue;
      entry.retried++;
      entry[`retried_${ending}`]++;
    }
    const retry = {
      by_attempt: [...byAttempt.values()].sort((a, b) => a.attempt - b.attempt).map((e) => ({ ...e, success_rate: rate(e.delivered, e.delivered + e.failed) })),
      by_category: [...byCategory]
        .map(([category, e]) => {
          const decided = e.retried_delivered + e.retried_failed;
          const successRate = rate(e.retried_delivered, decided);
          const observed = decided >= 20 && successRate !== null;
          return {
            category,
            ...e,
            retry_success_rate: successRate,
            retryable: CATEGORIES[category].retryable,
            worth_retrying: observed ? successRate >= 0.2 : CATEGORIES[category].retryable,
            basis: observed ? "observed" : "error_table",
          };
        })
        .sort((a, b) => b.failed_first - a.failed_first || a.category.localeCompare(b.category)),
    };
    expect(retry.by_attempt.map((e) => e.attempt)).toEqual([1, 2]);
    expect(retry.by_category.some((e) => e.basis === "observed")).toBe(true);

    expect(answer).toMatchObject({ campaign_id: CAMPAIGN, since: null, until: null, messages: MESSAGES, final: c.final, failed: failedCount, failure_rate: rate(failedCount, c.final) });
    expect(answer.categories).toEqual(categories);
    expect(answer.retry).toEqual(retry);
    // Trends: failures per hour of their report, by category (the campaign may straddle an hour).
    expect(answer.trends.interval).toBe("hour");
    const hourOf = (ms: number) => new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString();
    const hours = new Set(sim.chunkAt.flatMap((b) => [hourOf(b.low), hourOf(b.high)]));
    for (const bucket of answer.trends.buckets) expect(hours.has(bucket.start), bucket.start).toBe(true);
    expect(answer.trends.buckets.reduce((sum: number, b: { total: number }) => sum + b.total, 0)).toBe(failedCount);
    for (const category of categories) {
      expect(answer.trends.buckets.reduce((sum: number, b: { categories: Record<string, number> }) => sum + (b.categories[category.category] ?? 0), 0), category.category).toBe(category.count);
    }
  });

  it("the proxy going down is an sms.server_status event, and the sms-server-down alert reaches the webhook", async () => {
    const res = await callApi(collector, "GET", "/v1/events?source=sms&type=sms.server_status&attr.server_id=px-1&limit=100");
    expect(res.status).toBe(200);
    const changes = res.json.events.map((e: { severity: string; attrs: Record<string, string> }) => ({ severity: e.severity, ...e.attrs }));
    expect(changes).toEqual(
      expect.arrayContaining([
        { severity: "error", server_kind: "proxy", server_id: "px-1", status: "down", previous_status: "up", error: "connect ECONNREFUSED 10.0.0.7:3128" },
        { severity: "notice", server_kind: "proxy", server_id: "px-1", status: "up", previous_status: "down", error: "" },
      ]),
    );
    expect(changes).toHaveLength(3); // unknown → up, up → down, down → up

    const notifications = await eventually(
      () => hook.notifications() as { status: string; alerts: { labels: Record<string, string>; annotations: Record<string, string> }[] }[],
      (list) => list.some((n) => n.status === "firing"),
      30_000,
      "a firing notification",
    );
    const firing = notifications.filter((n) => n.status === "firing").flatMap((n) => n.alerts);
    expect(firing).toHaveLength(1);
    expect(firing[0]!.labels).toMatchObject({ alertname: "SMS server down", server_kind: "proxy", server_id: "px-1", severity: "critical" });
    expect(firing[0]!.annotations.summary).toBe("SMS server proxy px-1 is down");
  });

  it("the campaign channel showed progress while it ran, and its last update matches the final statistics", async () => {
    const updates = dataOf(liveA, "campaign").filter((d) => typeof d.messages === "number");
    // Updates reached the client while the app was still sending, …
    expect(progressSeen.length, JSON.stringify(progressSeen)).toBeGreaterThanOrEqual(1);
    // … several of them while the campaign ran (its completion had not been stored yet), counting up.
    const running = updates.filter((d) => d.status === "started" && d.messages > 0 && d.messages < MESSAGES).map((d) => d.messages as number);
    expect(new Set(running).size, JSON.stringify(progressSeen)).toBeGreaterThanOrEqual(3);
    const counts = updates.map((d) => d.messages as number);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));

    const rest = await api(`/api/sms/campaigns/${CAMPAIGN}`);
    const last = await liveA.next((m) => m.type === "data" && m.id === "campaign" && m.data.status === "completed" && m.data.final === rest.final && m.data.messages === MESSAGES, 15_000);
    // The live copy leaves out as_of (it would make every read a change); last_minute depends on when it was read.
    const { found, throughput: liveThroughput, ...live } = last.data;
    const { as_of: _asOf, throughput: restThroughput, ...final } = rest;
    expect(found).toBe(true);
    expect(live).toEqual(final);
    expect(liveThroughput.avg_per_minute).toBe(restThroughput.avg_per_minute);

    const system = dataOf(liveA, "system");
    const changes = system.filter((d) => d.kind === "events").flatMap((d) => d.server_changes);
    expect(changes).toEqual(expect.arrayContaining([expect.objectContaining({ server_id: "px-1", status: "down", previous_status: "up" })]));
  });

  it("another tenant sees none of it: not the campaign (same id), not its servers, not on the live channels", async () => {
    expect((await callApi(otherTenant, "GET", `/api/sms/campaigns/${CAMPAIGN}`)).status).toBe(404);
    const servers = await api("/api/sms/servers", otherTenant.token);
    expect(servers.servers).toEqual([]);

    const campaign = dataOf(liveB, "campaign");
    expect(campaign.length).toBeGreaterThanOrEqual(1);
    for (const data of campaign) expect(data).toEqual({ campaign_id: CAMPAIGN, found: false });

    const system = dataOf(liveB, "system");
    expect(system.filter((d) => d.kind === "events")).toEqual([]);
    const views = system.filter((d) => d.kind === "system").map((d) => d.view);
    expect(views.length).toBeGreaterThanOrEqual(1);
    for (const view of views) {
      expect(view.servers.total).toBe(0);
      expect(view.campaigns.seen).toBe(0);
      expect(view.totals.messages).toBe(0);
    }
    expect(liveB.messages.filter((m) => m.type === "error")).toEqual([]);
  });
});
