import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { REPO_ROOT, TEST_TOKEN } from "../../../test/support/collector-process.js";
import { startInProcess } from "../../../test/support/in-process.js";
import { seededRandom } from "../../../test/support/random.js";
import { CAMPAIGN_EVENT, MESSAGE_EVENT, MESSAGE_STATUSES, SERVER_EVENT, SERVER_STATUS_EVENT, SOURCE, STATUS_RANK, type MessageStatus } from "../src/contract.js";
import { groupBy, percentilesOf } from "../../../test/support/stats.js";
import { CATEGORIES, ERROR_CATEGORIES, ERROR_TABLE, diagnose, errorNamespace, type ErrorCategory } from "../src/errors.js";

/**
 * The collector part against a simulated campaign of 100,000 messages (seeded, so every
 * run is the same): each figure the API answers is recomputed here from the generated
 * reports, applying the contract's rules independently of the SQL (a final status is
 * never downgraded; between finals the later report wins; carrier and server come from
 * whichever report carries them).
 */

let env: Awaited<ReturnType<typeof startInProcess>>;
let otherTenant: string;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const MESSAGES = 100_000;
const CAMPAIGN = "spring-sale";
const SMALL_CAMPAIGN = "newsletter";

interface Report {
  status: MessageStatus;
  ts: number;
  carrier: string;
  serverKind: string;
  serverId: string;
  errorCode: string;
  errorText: string;
  category: string;
  /** 0: the report did not say (a receipt without attempt=). */
  attempt: number;
  queuedMs: number;
  sendMs: number;
  reporter: string;
}

interface Message {
  campaignId: string;
  id: string;
  reports: Report[];
}

interface Server {
  kind: "api" | "smtp" | "proxy";
  id: string;
  /** Who sends the receipts of its messages. */
  receipts: "twilio" | "vonage";
  weight: number;
  sendMs: [number, number];
}

const SERVERS: Server[] = [
  { kind: "api", id: "twilio-1", receipts: "twilio", weight: 0.35, sendMs: [60, 400] },
  { kind: "api", id: "twilio-2", receipts: "twilio", weight: 0.2, sendMs: [80, 900] },
  { kind: "api", id: "vonage-1", receipts: "vonage", weight: 0.2, sendMs: [100, 700] },
  { kind: "smtp", id: "gw-1", receipts: "twilio", weight: 0.15, sendMs: [200, 2500] },
  { kind: "proxy", id: "px-1", receipts: "twilio", weight: 0.1, sendMs: [40, 300] },
];
const CARRIERS: [string, number][] = [
  ["verizon", 0.3],
  ["att", 0.25],
  ["tmobile", 0.2],
  ["vodafone", 0.15],
  ["orange", 0.1],
];
/** Failure codes by who reports them, with their weights. */
const CODES: Record<string, [string, number][]> = {
  twilio: [
    ["30003", 0.3],
    ["30005", 0.15],
    ["30006", 0.1],
    ["30007", 0.15],
    ["21610", 0.1],
    ["30008", 0.05],
    ["20429", 0.1],
    ["30022", 0.05],
  ],
  vonage: [
    ["2", 0.3],
    ["3", 0.2],
    ["6", 0.2],
    ["4", 0.1],
    ["16", 0.1],
    ["99", 0.1],
  ],
  smtp: [
    ["421", 0.3],
    ["550", 0.3],
    ["554", 0.2],
    ["535", 0.1],
    ["451", 0.1],
  ],
  proxy: [
    ["ECONNRESET", 0.4],
    ["ETIMEDOUT", 0.3],
    ["502", 0.2],
    ["407", 0.1],
  ],
};

function pick<T>(random: () => number, weighted: [T, number][]): T {
  let r = random() * weighted.reduce((sum, [, w]) => sum + w, 0);
  for (const [value, weight] of weighted) if ((r -= weight) < 0) return value;
  return weighted[weighted.length - 1]![0];
}

const between = (random: () => number, [low, high]: [number, number]) => Math.round(low + random() * (high - low));

function report(partial: Partial<Report> & Pick<Report, "status" | "ts">): Report {
  return { carrier: "", serverKind: "", serverId: "", errorCode: "", errorText: "", category: "", attempt: 0, queuedMs: 0, sendMs: 0, reporter: "app", ...partial };
}

/** A failure report: the code's category stamped as the SDK and receipts do (unstamped once in a while, as a foreign emitter would). */
function failure(random: () => number, base: Omit<Report, "errorCode" | "errorText" | "category">, code: string): Report {
  const diagnosis = diagnose({ reporter: base.reporter, serverKind: base.serverKind || "api", code, text: "" });
  return { ...base, errorCode: code, errorText: diagnosis.title, category: random() < 0.01 ? "" : diagnosis.category };
}

function messageEvent(campaignId: string, messageId: string, r: Report) {
  return {
    id: uuidv7(r.ts),
    ts: r.ts,
    source: SOURCE,
    type: MESSAGE_EVENT,
    attrs: {
      campaign_id: campaignId,
      message_id: messageId,
      to_hash: "0".repeat(32),
      carrier: r.carrier,
      server_kind: r.serverKind,
      server_id: r.serverId,
      status: r.status,
      error_code: r.errorCode,
      error_text: r.errorText,
      error_category: r.category,
      attempt: r.attempt,
      queued_ms: r.queuedMs,
      send_ms: r.sendMs,
      reporter: r.reporter,
    },
  };
}

const campaignEvent = (id: string, status: string, ts: number, total: number, user: string, name: string) => ({
  id: uuidv7(ts),
  ts,
  source: SOURCE,
  type: CAMPAIGN_EVENT,
  attrs: { campaign_id: id, name, total, user, status },
});

/** Messages of one campaign: app reports (attempts 1 and 2), receipts out of order, duplicates, late "sent" receipts. */
function simulateCampaign(random: () => number, campaignId: string, count: number, start: number, end: number): Message[] {
  const messages: Message[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${campaignId}-${i}`;
    const server = pick(
      random,
      SERVERS.map((s) => [s, s.weight]),
    );
    const carrier = pick(random, CARRIERS);
    const app = { carrier, serverKind: server.kind, serverId: server.id, reporter: "app" };
    const t = Math.round(start + ((end - start) * i) / count + random() * 500);
    const reports: Report[] = [];
    messages.push({ campaignId, id, reports });
    if (random() < 0.01) {
      reports.push(report({ ...app, status: "queued", ts: t, attempt: 1, queuedMs: between(random, [0, 5000]) }));
      continue;
    }
    const appFailure = (attempt: number, at: number, code: string) => failure(random, report({ ...app, status: "failed", ts: at, attempt }), code);
    const receiptFailure = (attempt: number, at: number, code: string) =>
      failure(random, report({ status: random() < 0.5 ? "failed" : "undelivered", ts: at, attempt, reporter: server.receipts }), code);
    const attemptOne = (attempt: number, at: number, failedBefore?: Report): void => {
      const sendMs = random() < 0.02 ? 0 : between(random, server.sendMs);
      reports.push(report({ ...app, status: "sent", ts: at, attempt, queuedMs: between(random, [0, 5000]), sendMs }));
      const receiptAttempt = random() < 0.5 ? attempt : 0;
      const receiptAt = at + between(random, [1000, 20_000]);
      const r = random();
      if (failedBefore) {
        // A retry: in flight still, delivered, or failing the same way again.
        if (r < 0.1) return;
        if (r < 0.8) reports.push(report({ status: "delivered", ts: receiptAt, attempt: receiptAttempt, reporter: server.receipts }));
        else if (failedBefore.reporter === "app") reports.push(appFailure(attempt, at + sendMs + 1, failedBefore.errorCode));
        else reports.push(receiptFailure(receiptAttempt, receiptAt, failedBefore.errorCode));
      } else if (server.kind !== "api" && r < 0.08) {
        // Gateways and proxies refuse some messages themselves: the app reports the failure.
        reports.push(appFailure(attempt, at + sendMs + 1, pick(random, CODES[server.kind]!)));
      } else if (r < 0.1) {
        // No receipt yet: still "sent".
      } else if (r < 0.11) {
        // The provider first said undelivered, then delivered: the later final wins.
        reports.push(failure(random, report({ status: "undelivered", ts: receiptAt, attempt: receiptAttempt, reporter: server.receipts }), pick(random, CODES[server.receipts]!)));
        reports.push(report({ status: "delivered", ts: receiptAt + 5000, attempt: receiptAttempt, reporter: server.receipts }));
      } else if (r < 0.22) {
        reports.push(receiptFailure(receiptAttempt, receiptAt, pick(random, CODES[server.receipts]!)));
      } else {
        const delivered = report({ status: "delivered", ts: receiptAt, attempt: receiptAttempt, reporter: server.receipts });
        reports.push(delivered);
        if (random() < 0.03) reports.push({ ...delivered });
        // A "sent" callback that arrives, and happened, after the delivery: never a downgrade.
        if (random() < 0.05) reports.push(report({ status: "sent", ts: receiptAt + 1000, attempt: receiptAttempt, reporter: server.receipts }));
      }
    };
    attemptOne(1, t);
    const failed = reports.find((r) => r.status === "failed" || r.status === "undelivered");
    const stillFailed = failed && !reports.some((r) => r.status === "delivered");
    if (stillFailed && diagnose({ reporter: failed.reporter, serverKind: server.kind, code: failed.errorCode, text: "" }).retryable && random() < 0.6) {
      attemptOne(2, failed.ts + 30_000, failed);
    }
  }
  return messages;
}

// ---------------------------------------------------------------- expected figures

const codeOf = (status: MessageStatus) => MESSAGE_STATUSES.indexOf(status);
const isFinal = (status: MessageStatus) => STATUS_RANK[status] === 3;
const isFailure = (status: MessageStatus) => status === "failed" || status === "undelivered";

/** The report that sets a message's status: highest rank, then latest, then status order. */
function winner(reports: readonly Report[]): Report {
  let best = reports[0]!;
  for (const r of reports) {
    const a = [STATUS_RANK[r.status], r.ts, codeOf(r.status)];
    const b = [STATUS_RANK[best.status], best.ts, codeOf(best.status)];
    if (a[0]! > b[0]! || (a[0] === b[0] && (a[1]! > b[1]! || (a[1] === b[1] && a[2]! > b[2]!)))) best = r;
  }
  return best;
}

const maxText = (values: string[]) => values.reduce((a, b) => (b > a ? b : a), "");

interface Outcome {
  status: MessageStatus;
  winner: Report;
  carrier: string;
  serverKind: string;
  serverId: string;
  sendMs: number;
  dispatchedAt: number | null;
  lastAttempt: number;
  lastAttemptStatus: MessageStatus;
  firstFailure: { attempt: number; category: ErrorCategory } | null;
  category: ErrorCategory | null;
  /** The summaries' category of a failure: as stamped on its report, unknown when unstamped. */
  stampedCategory: ErrorCategory | null;
}

function outcome(m: Message): Outcome {
  const w = winner(m.reports);
  const serverKind = maxText(m.reports.map((r) => r.serverKind));
  const attemptOf = (r: Report) => Math.max(1, r.attempt);
  const lastAttempt = Math.max(...m.reports.map(attemptOf));
  const lastAttemptStart = Math.min(...m.reports.filter((r) => attemptOf(r) === lastAttempt).map((r) => r.ts));
  const failures = m.reports.filter((r) => isFailure(r.status)).sort((a, b) => attemptOf(a) - attemptOf(b) || a.ts - b.ts);
  const categoryOf = (r: Report) =>
    (ERROR_CATEGORIES as readonly string[]).includes(r.category) ? (r.category as ErrorCategory) : diagnose({ reporter: r.reporter, serverKind, code: r.errorCode, text: r.errorText }).category;
  const dispatched = m.reports.filter((r) => STATUS_RANK[r.status] >= 2).map((r) => r.ts);
  return {
    status: w.status,
    winner: w,
    carrier: maxText(m.reports.map((r) => r.carrier)),
    serverKind,
    serverId: maxText(m.reports.map((r) => r.serverId)),
    sendMs: Math.max(...m.reports.map((r) => r.sendMs)),
    dispatchedAt: dispatched.length ? Math.min(...dispatched) : null,
    lastAttempt,
    lastAttemptStatus: lastAttempt > 1 && isFinal(w.status) && w.ts < lastAttemptStart ? "sent" : w.status,
    // The retry analysis takes a first failure's category as stamped (unstamped: unknown).
    firstFailure: failures[0]
      ? { attempt: attemptOf(failures[0]), category: (ERROR_CATEGORIES as readonly string[]).includes(failures[0].category) ? (failures[0].category as ErrorCategory) : "unknown" }
      : null,
    category: isFailure(w.status) ? categoryOf(w) : null,
    stampedCategory: isFailure(w.status) ? ((ERROR_CATEGORIES as readonly string[]).includes(w.category) ? (w.category as ErrorCategory) : "unknown") : null,
  };
}


/** The error table's entry with the category's defaults filled in. */
function tableEntry(namespace: string, code: string) {
  const entry = ERROR_TABLE.find((e) => e.namespace === namespace && e.code === code);
  if (!entry) throw new Error(`${namespace}:${code} is not in the error table`);
  const info = CATEGORIES[entry.category];
  return { title: entry.title, severity: entry.severity ?? info.severity, retryable: entry.retryable ?? info.retryable, recommendation: entry.recommendation ?? info.recommendation };
}

const rate = (part: number, whole: number) => (whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null);

function countsOf(outcomes: readonly Outcome[]) {
  const by = (status: MessageStatus) => outcomes.filter((o) => o.status === status).length;
  const delivered = by("delivered");
  const failedTotal = by("failed") + by("undelivered");
  return { messages: outcomes.length, queued: by("queued"), sent: by("sent"), delivered, undelivered: by("undelivered"), failed: by("failed"), final: delivered + failedTotal, failedTotal };
}

// ---------------------------------------------------------------- the data

const random = seededRandom(20261127);
const generatedAt = Date.now();
const T0 = generatedAt - 5 * HOUR;
const campaign = simulateCampaign(random, CAMPAIGN, MESSAGES, T0 + 10_000, generatedAt - 2000);
const small = simulateCampaign(random, SMALL_CAMPAIGN, 300, T0 + 10 * MINUTE, T0 + 40 * MINUTE);
const SMALL_COMPLETED = T0 + 50 * MINUTE;
/** Receipts whose callback URL named no campaign. */
const orphans: Message[] = Array.from({ length: 50 }, (_, i) => ({
  campaignId: "",
  id: `orphan-${i}`,
  reports: [report({ status: "delivered", ts: generatedAt - 10 * MINUTE + i, attempt: 0, reporter: "twilio" })],
}));

interface Sample {
  kind: string;
  id: string;
  ts: number;
  status: "up" | "degraded" | "down";
  latency: number;
  error: string;
}
const samples: Sample[] = [];
const changes: { kind: string; id: string; ts: number; status: string; previous: string; error: string }[] = [];
const PX_DOWN = T0 + 2 * HOUR;
const PX_UP = T0 + 2.5 * HOUR;
const GW_DEGRADED = generatedAt - 10 * MINUTE - 30_000;
const TWILIO_RESTART = T0 + 3 * HOUR;
for (const server of SERVERS) {
  for (let ts = T0; ts < generatedAt; ts += MINUTE) {
    let status: Sample["status"] = "up";
    if (server.id === "px-1" && ts >= PX_DOWN && ts < PX_UP) status = "down";
    if (server.id === "gw-1" && ts >= GW_DEGRADED) status = "degraded";
    samples.push({ kind: server.kind, id: server.id, ts, status, latency: status === "down" ? 0 : between(random, server.sendMs), error: status === "down" ? "connect ECONNREFUSED" : "" });
  }
}
// vonage-1 reports samples only (no change events): its "since" comes from the samples.
for (const server of SERVERS.filter((s) => s.id !== "vonage-1")) changes.push({ kind: server.kind, id: server.id, ts: T0, status: "up", previous: "unknown", error: "" });
changes.push({ kind: "proxy", id: "px-1", ts: PX_DOWN, status: "down", previous: "up", error: "connect ECONNREFUSED" });
changes.push({ kind: "proxy", id: "px-1", ts: PX_UP, status: "up", previous: "down", error: "" });
changes.push({ kind: "smtp", id: "gw-1", ts: GW_DEGRADED, status: "degraded", previous: "up", error: "421 slow down" });
// The app restarted: its tracker reports the same status again, from "unknown".
changes.push({ kind: "api", id: "twilio-1", ts: TWILIO_RESTART, status: "up", previous: "unknown", error: "" });

function allEvents(): object[] {
  const events: object[] = [
    campaignEvent(CAMPAIGN, "created", T0 - MINUTE, MESSAGES, "ann", "Spring sale"),
    campaignEvent(CAMPAIGN, "started", T0, MESSAGES, "ann", "Spring sale"),
    campaignEvent(SMALL_CAMPAIGN, "created", T0 + 9 * MINUTE, 300, "bob", "Newsletter"),
    campaignEvent(SMALL_CAMPAIGN, "started", T0 + 10 * MINUTE, 300, "bob", "Newsletter"),
    campaignEvent(SMALL_CAMPAIGN, "completed", SMALL_COMPLETED, 300, "bob", "Newsletter"),
  ];
  for (const m of [...campaign, ...small, ...orphans]) for (const r of m.reports) events.push(messageEvent(m.campaignId, m.id, r));
  for (const s of samples) events.push({ id: uuidv7(s.ts), ts: s.ts, source: SOURCE, type: SERVER_EVENT, attrs: { server_kind: s.kind, server_id: s.id, status: s.status, latency_ms: s.latency, error: s.error } });
  for (const c of changes) events.push({ id: uuidv7(c.ts), ts: c.ts, source: SOURCE, type: SERVER_STATUS_EVENT, attrs: { server_kind: c.kind, server_id: c.id, status: c.status, previous_status: c.previous, error: c.error } });
  // Arrival order has nothing to do with event time: receipts before the app's reports, late callbacks.
  for (let i = events.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [events[i], events[j]] = [events[j]!, events[i]!];
  }
  return events;
}

/** Every event stored for the default tenant. */
const ingested: object[] = [];

async function ingest(events: readonly object[], token = TEST_TOKEN): Promise<void> {
  if (token === TEST_TOKEN) for (const event of events) ingested.push(event);
  for (let i = 0; i < events.length; i += 5000) {
    const res = await env.request("POST", "/v1/events", { token, body: events.slice(i, i + 5000), headers: { "vigil-batch-id": uuidv7() } });
    expect(res.status, res.text).toBe(202);
  }
}

async function get(path: string, token = TEST_TOKEN) {
  const res = await env.request("GET", path, { token });
  expect(res.status, `${path}: ${res.text.slice(0, 500)}`).toBe(200);
  return res.json;
}

const outcomes = campaign.map(outcome);
const smallOutcomes = small.map(outcome);

beforeAll(async () => {
  env = await startInProcess({ plugins: [join(REPO_ROOT, "plugins/sms/dist/collector.js")] });
  otherTenant = (await env.request("POST", "/api/tenants", { body: { id: "sms-tenant-b", name: "B" } })).json.token;
  await ingest(allEvents());
}, 180_000);
afterAll(async () => {
  await env?.close();
});

describe("campaign statistics", () => {
  it("match what was sent: counts, progress, rates, throughput, ETA and times", async () => {
    const stats = await get(`/api/sms/campaigns/${CAMPAIGN}`);
    const asOf = Date.parse(stats.as_of);
    const c = countsOf(outcomes);
    const dispatched = outcomes.filter((o) => o.dispatchedAt !== null);
    const lastMinute = dispatched.filter((o) => o.dispatchedAt! > asOf - MINUTE && o.dispatchedAt! <= asOf).length;
    const left = MESSAGES - dispatched.length;
    const etaS = lastMinute > 0 ? Math.round((left / lastMinute) * 60) : null;
    expect(c.queued).toBeGreaterThan(500);
    expect(c.sent).toBeGreaterThan(500);
    expect(c.undelivered).toBeGreaterThan(1000);
    expect(stats).toEqual({
      campaign_id: CAMPAIGN,
      name: "Spring sale",
      user: "ann",
      status: "started",
      total: MESSAGES,
      messages: MESSAGES,
      not_reported: 0,
      queued: c.queued,
      sent: c.sent,
      delivered: c.delivered,
      undelivered: c.undelivered,
      failed: c.failed,
      failed_total: c.failedTotal,
      final: c.final,
      pending: MESSAGES - c.final,
      dispatched: dispatched.length,
      progress_pct: Math.round((c.final / MESSAGES) * 100 * 100) / 100,
      delivery_rate: rate(c.delivered, c.final),
      failure_rate: rate(c.failedTotal, c.final),
      throughput: { last_minute: lastMinute, avg_per_minute: Math.round((dispatched.length / (asOf - T0)) * MINUTE * 100) / 100 },
      created_at: new Date(T0 - MINUTE).toISOString(),
      started_at: new Date(T0).toISOString(),
      completed_at: null,
      last_activity_at: new Date(campaign.reduce((latest, m) => m.reports.reduce((l, r) => Math.max(l, r.ts), latest), 0)).toISOString(),
      duration_s: (asOf - T0) / 1000,
      eta: etaS === null ? null : new Date(asOf + etaS * 1000).toISOString(),
      eta_s: etaS,
      as_of: stats.as_of,
    });
  });

  it("lists campaigns newest first with their progress, filtered by user and status, page by page", async () => {
    const all = await get("/api/sms/campaigns");
    expect(all.campaigns.map((c: { campaign_id: string }) => c.campaign_id)).toEqual([SMALL_CAMPAIGN, CAMPAIGN]);
    const newsletter = all.campaigns[0];
    const s = countsOf(smallOutcomes);
    expect(newsletter).toMatchObject({
      status: "completed",
      user: "bob",
      total: 300,
      delivered: s.delivered,
      final: s.final,
      pending: 300 - s.final,
      completed_at: new Date(SMALL_COMPLETED).toISOString(),
      duration_s: (SMALL_COMPLETED - (T0 + 10 * MINUTE)) / 1000,
      eta: null,
      eta_s: null,
    });
    expect(all.campaigns[1].delivered).toBe(countsOf(outcomes).delivered);

    const first = await get("/api/sms/campaigns?limit=1");
    expect(first.campaigns.map((c: { campaign_id: string }) => c.campaign_id)).toEqual([SMALL_CAMPAIGN]);
    const second = await get(`/api/sms/campaigns?limit=1&cursor=${first.next_cursor}`);
    expect(second.campaigns.map((c: { campaign_id: string }) => c.campaign_id)).toEqual([CAMPAIGN]);
    expect(second.next_cursor).toBeNull();

    expect((await get("/api/sms/campaigns?user=ann")).campaigns.map((c: { campaign_id: string }) => c.campaign_id)).toEqual([CAMPAIGN]);
    expect((await get("/api/sms/campaigns?status=completed")).campaigns.map((c: { campaign_id: string }) => c.campaign_id)).toEqual([SMALL_CAMPAIGN]);
    expect((await get("/api/sms/campaigns?status=paused")).campaigns).toEqual([]);
  });

  it("breaks a campaign down per hour and per day (UTC): when messages left the queue and when they ended", async () => {
    for (const [path, size] of [
      ["hourly", HOUR],
      ["daily", 24 * HOUR],
    ] as const) {
      const body = await get(`/api/sms/campaigns/${CAMPAIGN}/${path}`);
      const expected = new Map<number, { dispatched: number; delivered: number; undelivered: number; failed: number }>();
      const at = (ts: number) => {
        const start = Math.floor(ts / size) * size;
        let entry = expected.get(start);
        if (!entry) expected.set(start, (entry = { dispatched: 0, delivered: 0, undelivered: 0, failed: 0 }));
        return entry;
      };
      for (const o of outcomes) {
        if (o.dispatchedAt !== null) at(o.dispatchedAt).dispatched++;
        if (o.status === "delivered" || o.status === "undelivered" || o.status === "failed") at(o.winner.ts)[o.status]++;
      }
      const starts = [...expected.keys()].sort((a, b) => a - b);
      expect(body.interval).toBe(path === "hourly" ? "hour" : "day");
      expect(body.buckets.length).toBe((starts[starts.length - 1]! - starts[0]!) / size + 1);
      for (const bucket of body.buckets) {
        const e = expected.get(Date.parse(bucket.start)) ?? { dispatched: 0, delivered: 0, undelivered: 0, failed: 0 };
        const final = e.delivered + e.undelivered + e.failed;
        expect(bucket).toEqual({ start: bucket.start, ...e, final, delivery_rate: rate(e.delivered, final) });
      }
      expect(body.buckets.reduce((sum: number, b: { dispatched: number }) => sum + b.dispatched, 0)).toBe(outcomes.filter((o) => o.dispatchedAt !== null).length);
    }
  });

  it("shows the live rate and ETA of a campaign that is sending now", async () => {
    const now = Date.now();
    const live: object[] = [campaignEvent("live", "started", now - 40_000, 1000, "ann", "Live")];
    for (let i = 0; i < 120; i++) {
      const at = now - 30_000 + i * 200;
      live.push(messageEvent("live", `live-${i}`, report({ status: "sent", ts: at, attempt: 1, carrier: "att", serverKind: "api", serverId: "twilio-1", sendMs: 100 })));
      if (i % 2 === 0) live.push(messageEvent("live", `live-${i}`, report({ status: "delivered", ts: at + 1000, reporter: "twilio" })));
    }
    await ingest(live);
    const stats = await get("/api/sms/campaigns/live");
    const asOf = Date.parse(stats.as_of);
    expect(asOf - now).toBeLessThan(29_000);
    expect(stats).toMatchObject({ total: 1000, dispatched: 120, delivered: 60, sent: 60, pending: 940, progress_pct: 6, delivery_rate: 1 });
    expect(stats.throughput.last_minute).toBe(120);
    expect(stats.eta_s).toBe(Math.round((880 / 120) * 60));
    expect(stats.eta).toBe(new Date(asOf + stats.eta_s * 1000).toISOString());
  });
});

describe("out-of-order and repeated reports", () => {
  it("never downgrade a final status; between finals the later report wins; receipts keep the app's carrier", async () => {
    const t = Date.now() - 10 * MINUTE;
    const app = { carrier: "att", serverKind: "api", serverId: "twilio-1", attempt: 1, sendMs: 120 };
    const ev = (id: string, r: Partial<Report> & Pick<Report, "status" | "ts">) => messageEvent("ordering", id, report(r));
    // Each batch arrives after the one before.
    await ingest([ev("m1", { status: "delivered", ts: t + 2000, reporter: "twilio" }), ev("m4", { status: "delivered", ts: t + 4000, reporter: "twilio" })]);
    await ingest([ev("m1", { ...app, status: "sent", ts: t }), ev("m2", { status: "failed", ts: t + 1000, reporter: "twilio", errorCode: "30007", category: "carrier_filtering" })]);
    await ingest([
      ev("m1", { status: "sent", ts: t + 5000, reporter: "twilio" }),
      ev("m2", { ...app, status: "queued", ts: t + 3000 }),
      ev("m3", { status: "delivered", ts: t + 4000, reporter: "twilio" }),
      ev("m4", { status: "undelivered", ts: t + 1000, reporter: "twilio", errorCode: "30003", category: "network" }),
    ]);
    await ingest([ev("m3", { status: "undelivered", ts: t + 1000, reporter: "twilio", errorCode: "30003", category: "network" }), ev("m5", { status: "delivered", ts: t + 100, reporter: "twilio" })]);
    await ingest([ev("m5", { status: "delivered", ts: t + 100, reporter: "twilio" }), ev("m5", { status: "queued", ts: t + 50, ...app, carrier: "verizon" })]);

    const stats = await get("/api/sms/campaigns/ordering");
    expect(stats).toMatchObject({ messages: 5, delivered: 4, failed: 1, undelivered: 0, sent: 0, queued: 0, final: 5 });
    const carriers = await get("/api/sms/carriers?campaign_id=ordering");
    expect(carriers.carriers).toEqual([
      expect.objectContaining({ carrier: null, messages: 2, delivered: 2 }),
      expect.objectContaining({ carrier: "att", messages: 2, delivered: 1, failed: 1, send_ms: { p50: 120, p95: 120 } }),
      expect.objectContaining({ carrier: "verizon", messages: 1, delivered: 1 }),
    ]);
    const errors = await get("/api/sms/errors?campaign_id=ordering");
    expect(errors.categories).toEqual([expect.objectContaining({ category: "carrier_filtering", count: 1 })]);
  });

  it("count every message of the simulation once, whatever the order of its reports and their repeats", async () => {
    const repeated = campaign.filter((m) => m.reports.some((r, i) => m.reports.findIndex((o) => o.status === r.status && o.ts === r.ts) !== i));
    const downgradeAttempts = campaign.filter((m) => m.reports.some((r) => r.status === "sent" && r.reporter !== "app"));
    expect(repeated.length).toBeGreaterThan(1000);
    expect(downgradeAttempts.length).toBeGreaterThan(1000);
    const stats = await get(`/api/sms/campaigns/${CAMPAIGN}`);
    expect(stats.messages).toBe(MESSAGES);
    // Every message with a late "sent" callback was delivered before it: still delivered.
    expect(downgradeAttempts.every((m) => outcome(m).status === "delivered")).toBe(true);
    expect(stats.delivered).toBe(countsOf(outcomes).delivered);
  });
});

describe("carriers and servers", () => {
  it("carriers: volume, share, success rate and send times per carrier", async () => {
    const body = await get(`/api/sms/carriers?campaign_id=${CAMPAIGN}`);
    const byCarrier = groupBy(outcomes, (o) => o.carrier);
    expect(body.carriers).toHaveLength(byCarrier.size);
    for (const entry of body.carriers) {
      const group = byCarrier.get(entry.carrier ?? "")!;
      const c = countsOf(group);
      expect(entry).toEqual({
        carrier: entry.carrier,
        messages: c.messages,
        share: rate(c.messages, MESSAGES),
        queued: c.queued,
        sent: c.sent,
        delivered: c.delivered,
        undelivered: c.undelivered,
        failed: c.failed,
        final: c.final,
        success_rate: rate(c.delivered, c.final),
        failure_rate: rate(c.failedTotal, c.final),
        send_ms: percentilesOf(group.map((o) => o.sendMs).filter((ms) => ms > 0)),
      });
    }
    expect(body.carriers.map((c: { messages: number }) => c.messages)).toEqual([...body.carriers.map((c: { messages: number }) => c.messages)].sort((a, b) => b - a));
  });

  it("servers of a campaign: messages, success rate and send times", async () => {
    const body = await get(`/api/sms/servers?campaign_id=${CAMPAIGN}`);
    const byServer = groupBy(outcomes, (o) => `${o.serverKind}/${o.serverId}`);
    expect(body.servers.map((s: { server_kind: string; server_id: string }) => `${s.server_kind}/${s.server_id}`)).toEqual([...byServer.keys()].sort());
    for (const server of body.servers) {
      const group = byServer.get(`${server.server_kind}/${server.server_id}`)!;
      const c = countsOf(group);
      expect(server).toMatchObject({
        messages: c.messages,
        delivered: c.delivered,
        undelivered: c.undelivered,
        failed: c.failed,
        final: c.final,
        success_rate: rate(c.delivered, c.final),
        send_ms: percentilesOf(group.map((o) => o.sendMs).filter((ms) => ms > 0)),
      });
    }
  });

  it("servers of the tenant: probe latency from samples, current status and since when, last error", async () => {
    const body = await get("/api/sms/servers");
    const at = (id: string) => body.servers.find((s: { server_id: string }) => s.server_id === id);
    for (const server of SERVERS) {
      const own = samples.filter((s) => s.id === server.id);
      expect(at(server.id)).toMatchObject({
        server_kind: server.kind,
        samples: own.length,
        latency_ms: percentilesOf(own.map((s) => s.latency).filter((ms) => ms > 0)),
        sample_statuses: { up: own.filter((s) => s.status === "up").length, degraded: own.filter((s) => s.status === "degraded").length, down: own.filter((s) => s.status === "down").length },
      });
    }
    const lastSample = (id: string) => new Date(Math.max(...samples.filter((s) => s.id === id).map((s) => s.ts))).toISOString();
    // Back up after being down: up since it came back.
    expect(at("px-1")).toMatchObject({ status: "up", since: new Date(PX_UP).toISOString(), last_report_at: lastSample("px-1"), last_error: { error: "connect ECONNREFUSED", at: new Date(PX_UP - MINUTE).toISOString() } });
    expect(at("gw-1")).toMatchObject({ status: "degraded", since: new Date(GW_DEGRADED).toISOString(), last_error: { error: "421 slow down", at: new Date(GW_DEGRADED).toISOString() } });
    // A restarted app reporting "up" again does not restart the run.
    expect(at("twilio-1")).toMatchObject({ status: "up", since: new Date(T0).toISOString(), last_error: null });
    // No change events at all: since the first sample.
    expect(at("vonage-1")).toMatchObject({ status: "up", since: new Date(T0).toISOString() });
  });

  it("server history: its status changes, newest first, page by page", async () => {
    const first = await get("/api/sms/servers/proxy/px-1/history?limit=2");
    expect(first.changes.map((c: { status: string; previous_status: string; at: string }) => [c.status, c.previous_status, c.at])).toEqual([
      ["up", "down", new Date(PX_UP).toISOString()],
      ["down", "up", new Date(PX_DOWN).toISOString()],
    ]);
    expect(first.changes[1].error).toBe("connect ECONNREFUSED");
    const rest = await get(`/api/sms/servers/proxy/px-1/history?limit=2&cursor=${first.next_cursor}`);
    expect(rest.changes.map((c: { status: string; previous_status: string }) => [c.status, c.previous_status])).toEqual([["up", "unknown"]]);
    expect(rest.next_cursor).toBeNull();
    const windowed = await get(`/api/sms/servers/proxy/px-1/history?since=${PX_DOWN}&until=${PX_UP}`);
    expect(windowed.changes.map((c: { status: string }) => c.status)).toEqual(["down"]);
    expect((await env.request("GET", "/api/sms/servers/api/nowhere/history")).status).toBe(404);
  });
});

describe("error analysis", () => {
  it("categorises each failure with the error table: counts, shares, top codes, hourly trends", async () => {
    const body = await get(`/api/sms/errors?campaign_id=${CAMPAIGN}`);
    const failed = outcomes.filter((o) => o.category !== null);
    const c = countsOf(outcomes);
    expect(body).toMatchObject({ campaign_id: CAMPAIGN, messages: MESSAGES, final: c.final, failed: failed.length, failure_rate: rate(failed.length, c.final) });
    const byCategory = groupBy(failed, (o) => o.category!);
    expect(body.categories.map((e: { category: string }) => e.category).sort()).toEqual([...byCategory.keys()].sort());
    expect(byCategory.size).toBeGreaterThanOrEqual(7);
    for (const entry of body.categories) {
      const group = byCategory.get(entry.category)!;
      expect(entry).toMatchObject({ count: group.length, share: rate(group.length, failed.length), ...CATEGORIES[entry.category as ErrorCategory] });
      const codes = groupBy(group, (o) => `${errorNamespace(o.winner.reporter, o.serverKind, o.winner.errorCode)}:${o.winner.errorCode}`);
      const top = [...codes].sort((a, b) => b[1].length - a[1].length || a[0].split(":")[1]!.localeCompare(b[0].split(":")[1]!)).slice(0, 5);
      expect(entry.top_codes.map((code: { namespace: string; code: string; count: number }) => [`${code.namespace}:${code.code}`, code.count])).toEqual(top.map(([key, list]) => [key, list.length]));
      for (const code of entry.top_codes) {
        expect(code).toMatchObject({ known: true, ...tableEntry(code.namespace, code.code) });
      }
      expect(entry.other_codes).toBe(group.length - top.reduce((sum, [, list]) => sum + list.length, 0));
    }
    const hours = groupBy(failed, (o) => Math.floor(o.winner.ts / HOUR) * HOUR);
    for (const bucket of body.trends.buckets) {
      const group = hours.get(Date.parse(bucket.start)) ?? [];
      expect(bucket.total).toBe(group.length);
      const perCategory = Object.fromEntries([...groupBy(group, (o) => o.category!)].map(([name, list]) => [name, list.length]));
      expect(bucket.categories).toEqual(perCategory);
    }
    expect(body.trends.buckets.reduce((sum: number, b: { total: number }) => sum + b.total, 0)).toBe(failed.length);
  });

  it("retry analysis: success by attempt number, and per category whether retrying helped", async () => {
    const body = await get(`/api/sms/errors?campaign_id=${CAMPAIGN}`);
    const byAttempt = new Map<number, { attempts: number; delivered: number; failed: number; pending: number }>();
    const at = (n: number) => {
      let entry = byAttempt.get(n);
      if (!entry) byAttempt.set(n, (entry = { attempts: 0, delivered: 0, failed: 0, pending: 0 }));
      return entry;
    };
    for (const o of outcomes) {
      for (let n = 1; n < o.lastAttempt; n++) (at(n).attempts++, at(n).failed++);
      const last = at(o.lastAttempt);
      last.attempts++;
      if (o.lastAttemptStatus === "delivered") last.delivered++;
      else if (isFailure(o.lastAttemptStatus)) last.failed++;
      else last.pending++;
    }
    expect(body.retry.by_attempt).toEqual([...byAttempt].sort((a, b) => a[0] - b[0]).map(([attempt, e]) => ({ attempt, ...e, success_rate: rate(e.delivered, e.delivered + e.failed) })));
    expect(byAttempt.get(2)!.attempts).toBeGreaterThan(1000);

    const byCategory = groupBy(
      outcomes.filter((o) => o.firstFailure),
      (o) => o.firstFailure!.category,
    );
    for (const entry of body.retry.by_category) {
      const group = byCategory.get(entry.category)!;
      const retried = group.filter((o) => o.lastAttempt > o.firstFailure!.attempt);
      const delivered = retried.filter((o) => o.lastAttemptStatus === "delivered").length;
      const failed = retried.filter((o) => isFailure(o.lastAttemptStatus)).length;
      const observed = delivered + failed >= 20;
      const retryRate = rate(delivered, delivered + failed);
      expect(entry).toEqual({
        category: entry.category,
        failed_first: group.length,
        retried: retried.length,
        retried_delivered: delivered,
        retried_failed: failed,
        retried_pending: retried.length - delivered - failed,
        retry_success_rate: retryRate,
        retryable: CATEGORIES[entry.category as ErrorCategory].retryable,
        worth_retrying: observed ? retryRate! >= 0.2 : CATEGORIES[entry.category as ErrorCategory].retryable,
        basis: observed ? "observed" : "error_table",
      });
    }
    expect(body.retry.by_category.map((e: { category: string }) => e.category).sort()).toEqual([...byCategory.keys()].sort());
    // Network failures are retried and often succeed; opted-out numbers never are.
    const network = body.retry.by_category.find((e: { category: string }) => e.category === "network");
    expect(network).toMatchObject({ basis: "observed", worth_retrying: true });
    expect(body.retry.by_category.find((e: { category: string }) => e.category === "opted_out")).toMatchObject({ retried: 0, worth_retrying: false });
  });

  it("narrows to a window by when the current status was reported", async () => {
    const since = T0 + HOUR;
    const until = T0 + 2 * HOUR;
    const body = await get(`/api/sms/errors?campaign_id=${CAMPAIGN}&since=${new Date(since).toISOString()}&until=${until}`);
    const inWindow = outcomes.filter((o) => o.winner.ts >= since && o.winner.ts < until);
    expect(body).toMatchObject({ since: new Date(since).toISOString(), until: new Date(until).toISOString(), messages: inWindow.length, failed: inWindow.filter((o) => o.category !== null).length });
  });

  it("serves the whole error table with each code's effective advice", async () => {
    const body = await get("/api/sms/errors/table");
    expect(body.categories.map((c: { category: string }) => c.category)).toEqual([...ERROR_CATEGORIES]);
    const code30003 = body.codes.find((c: { namespace: string; code: string }) => c.namespace === "twilio" && c.code === "30003");
    expect(code30003).toMatchObject({ category: "network", severity: "medium", retryable: true, title: "Unreachable destination handset" });
    const code21610 = body.codes.find((c: { code: string }) => c.code === "21610");
    expect(code21610).toMatchObject({ category: "opted_out", severity: "low", retryable: false, recommendation: CATEGORIES.opted_out.recommendation });
  });
});

describe("reports", () => {
  it("campaign report: statistics, carriers, servers, errors and the hourly breakdown together", async () => {
    const [report, stats, carriers, errors, hourly] = await Promise.all([
      get(`/api/sms/campaigns/${CAMPAIGN}/report`),
      get(`/api/sms/campaigns/${CAMPAIGN}`),
      get(`/api/sms/carriers?campaign_id=${CAMPAIGN}`),
      get(`/api/sms/errors?campaign_id=${CAMPAIGN}`),
      get(`/api/sms/campaigns/${CAMPAIGN}/hourly`),
    ]);
    const { as_of: _a, duration_s: _d, throughput: _t, eta: _e, eta_s: _s, ...steady } = stats;
    expect(report.campaign).toMatchObject(steady);
    expect(report.carriers).toEqual(carriers.carriers);
    expect(report.errors).toEqual(errors);
    expect(report.hourly).toEqual(hourly.buckets);
    expect(report.servers.map((s: { server_id: string }) => s.server_id).sort()).toEqual(SERVERS.map((s) => s.id).sort());
  });

  it("user summary: totals over the user's campaigns", async () => {
    const ann = await get("/api/sms/users/ann/summary");
    const annOutcomes = [...outcomes];
    const live = await get("/api/sms/campaigns/live");
    const ordering = await get("/api/sms/campaigns/ordering");
    const c = countsOf(annOutcomes);
    expect(ann.campaigns.map((x: { campaign_id: string }) => x.campaign_id)).toEqual(["live", CAMPAIGN]);
    expect(ann).toMatchObject({ user: "ann", campaigns_total: 2, truncated: false, active_campaigns: 2 });
    expect(ann.totals).toMatchObject({ messages: c.messages + live.messages, delivered: c.delivered + live.delivered, failed: c.failed, undelivered: c.undelivered, queued: c.queued });
    const failed = outcomes.filter((o) => o.stampedCategory !== null);
    const top = [...groupBy(failed, (o) => o.stampedCategory!)].map(([category, list]) => ({ category, count: list.length })).sort((a, b) => b.count - a.count || a.category.localeCompare(b.category));
    expect(ann.top_error_categories.map((e: { category: string; count: number }) => ({ category: e.category, count: e.count }))).toEqual(top.slice(0, 5));
    expect(ordering.user).toBeNull();

    const bob = await get("/api/sms/users/bob/summary");
    const s = countsOf(smallOutcomes);
    expect(bob).toMatchObject({ campaigns_total: 1, active_campaigns: 0, totals: { messages: 300, delivered: s.delivered, final: s.final } });
    const none = await get(`/api/sms/users/bob/summary?since=${T0 + 10 * MINUTE}`);
    expect(none.campaigns_total).toBe(0);
  });

  it("system view: the tenant's last 24 hours, active campaigns, servers not up, top error categories", async () => {
    const body = await get("/api/sms/system");
    const all = [...outcomes, ...smallOutcomes];
    const c = countsOf(all);
    const extra = (await get("/api/sms/campaigns/live")).messages + (await get("/api/sms/campaigns/ordering")).messages;
    expect(body.totals.messages).toBe(c.messages + extra + orphans.length);
    // "ordering" was never announced and is quiet for more than 5 minutes: seen, not active.
    expect(body.campaigns).toMatchObject({ seen: 4, active: 2 });
    expect(body.campaigns.active_list.map((x: { campaign_id: string }) => x.campaign_id)).toEqual(["live", CAMPAIGN]);
    expect(body.servers).toMatchObject({ total: SERVERS.length, up: SERVERS.length - 1, degraded: 1, down: 0 });
    expect(body.servers.not_up).toEqual([expect.objectContaining({ server_id: "gw-1", status: "degraded", since: new Date(GW_DEGRADED).toISOString() })]);
    expect(body.receipts_without_campaign).toBe(orphans.length);
    expect(body.top_error_categories[0].category).toBe([...groupBy(all.filter((o) => o.stampedCategory), (o) => o.stampedCategory!)].sort((a, b) => b[1].length - a[1].length)[0]![0]);
  });
});

describe("tenant isolation", () => {
  const paths = [
    "/api/sms/campaigns",
    "/api/sms/servers",
    `/api/sms/servers?campaign_id=${CAMPAIGN}`,
    `/api/sms/carriers?campaign_id=${CAMPAIGN}`,
    "/api/sms/carriers",
    `/api/sms/errors?campaign_id=${CAMPAIGN}`,
    "/api/sms/errors",
    "/api/sms/users/ann/summary",
    "/api/sms/system",
  ];
  const notFound = [`/api/sms/campaigns/${CAMPAIGN}`, `/api/sms/campaigns/${CAMPAIGN}/hourly`, `/api/sms/campaigns/${CAMPAIGN}/daily`, `/api/sms/campaigns/${CAMPAIGN}/report`, "/api/sms/servers/proxy/px-1/history"];

  it("a second tenant sees none of it, on every endpoint", async () => {
    const [campaigns, servers, campaignServers, campaignCarriers, carriers, campaignErrors, errors, summary, system] = await Promise.all(paths.map((path) => get(path, otherTenant)));
    expect(campaigns).toEqual({ campaigns: [], next_cursor: null });
    expect(servers.servers).toEqual([]);
    expect(campaignServers.servers).toEqual([]);
    expect(campaignCarriers.carriers).toEqual([]);
    expect(carriers.carriers).toEqual([]);
    for (const e of [campaignErrors, errors]) expect(e).toMatchObject({ messages: 0, failed: 0, categories: [], trends: { buckets: [] }, retry: { by_attempt: [], by_category: [] } });
    expect(summary).toMatchObject({ campaigns_total: 0, campaigns: [], totals: { messages: 0 } });
    expect(system).toMatchObject({ totals: { messages: 0 }, campaigns: { seen: 0, active: 0 }, servers: { total: 0 }, receipts_without_campaign: 0, top_error_categories: [] });
    for (const path of notFound) expect((await env.request("GET", path, { token: otherTenant })).status, path).toBe(404);
  });

  it("a campaign of the same id in another tenant is that tenant's alone", async () => {
    const t = Date.now() - MINUTE;
    await ingest(
      [
        campaignEvent(CAMPAIGN, "started", t, 10, "ann", "B's sale"),
        ...Array.from({ length: 10 }, (_, i) => messageEvent(CAMPAIGN, `b-${i}`, report({ status: "delivered", ts: t + i, carrier: "b-carrier", serverKind: "api", serverId: "b-server", reporter: "app" }))),
      ],
      otherTenant,
    );
    const theirs = await get(`/api/sms/campaigns/${CAMPAIGN}`, otherTenant);
    expect(theirs).toMatchObject({ name: "B's sale", total: 10, messages: 10, delivered: 10 });
    expect((await get(`/api/sms/carriers?campaign_id=${CAMPAIGN}`, otherTenant)).carriers.map((c: { carrier: string }) => c.carrier)).toEqual(["b-carrier"]);
    expect((await get("/api/sms/servers", otherTenant)).servers.map((s: { server_id: string }) => s.server_id)).toEqual(["b-server"]);
    const ours = await get(`/api/sms/campaigns/${CAMPAIGN}`);
    expect(ours).toMatchObject({ name: "Spring sale", messages: MESSAGES });
    expect((await get("/api/sms/carriers?campaign_id=" + CAMPAIGN)).carriers.map((c: { carrier: string }) => c.carrier)).not.toContain("b-carrier");
  });
});

describe("bad parameters", () => {
  const cases: [string, string][] = [
    ["/api/sms/campaigns?limit=0", "limit"],
    ["/api/sms/campaigns?limit=abc", "limit"],
    ["/api/sms/campaigns?status=running", "status"],
    ["/api/sms/campaigns?cursor=not-a-cursor", "cursor"],
    ["/api/sms/campaigns?colour=blue", "colour"],
    [`/api/sms/campaigns/${"x".repeat(300)}`, "id"],
    [`/api/sms/campaigns/${CAMPAIGN}?since=1`, "since"],
    ["/api/sms/carriers?since=yesterday", "since"],
    ["/api/sms/carriers?campaign_id=", "campaign_id"],
    ["/api/sms/errors?since=2000&until=1000", "since"],
    ["/api/sms/errors?until=soon", "until"],
    ["/api/sms/servers?until=tomorrow", "until"],
    ["/api/sms/servers/ftp/x/history", "kind"],
    ["/api/sms/servers/api/x/history?limit=5000", "limit"],
    ["/api/sms/servers/api/x/history?cursor=%7B%7D", "cursor"],
    [`/api/sms/users/${"u".repeat(300)}/summary`, "user"],
    ["/api/sms/users/ann/summary?since=never", "since"],
    ["/api/sms/system?verbose=1", "verbose"],
    [`/api/sms/campaigns/${CAMPAIGN}/hourly?interval=minute`, "interval"],
  ];
  it.each(cases)("%s answers 400 naming %s", async (path, field) => {
    const res = await env.request("GET", path);
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe("invalid_argument");
    expect(res.json.error.message).toContain(field);
  });
});

describe("alerts and metrics", () => {
  it("offers the SMS alert templates, each installing as a rule", async () => {
    const { templates } = await get("/api/alerts/templates");
    const ids = templates.map((t: { id: string }) => t.id).filter((id: string) => id.startsWith("sms-"));
    expect(ids.sort()).toEqual(["sms-authentication-failures", "sms-campaign-failure-rate", "sms-server-degraded", "sms-server-down"]);
    expect(templates.find((t: { id: string }) => t.id === "sms-server-down").rule).toMatchObject({ kind: "event", type: SERVER_STATUS_EVENT, where: [{ attr: "status", op: "=", value: "down" }] });
    for (const id of ids) {
      const res = await env.request("POST", `/api/alerts/templates/${id}/install`, { body: {} });
      expect(res.status, `${id}: ${res.text}`).toBe(201);
    }
  });

  it("serves vigil_sms_* series per tenant on /metrics, with bounded labels", async () => {
    const res = await env.request("GET", "/metrics", { token: null });
    const lines = res.text.split("\n").filter((line) => line.startsWith("vigil_sms_"));
    const reports = (status: string, events: readonly object[]) =>
      events.filter((e) => (e as { type: string; attrs: { status?: string } }).type === MESSAGE_EVENT && (e as { attrs: { status: string } }).attrs.status === status).length;
    expect(lines).toContain(`vigil_sms_message_reports_total{tenant="default",status="undelivered"} ${reports("undelivered", ingested)}`);
    expect(lines).toContain('vigil_sms_message_reports_total{tenant="sms-tenant-b",status="delivered"} 10');
    expect(lines).toContain('vigil_sms_servers{tenant="default",status="degraded"} 1');
    expect(lines).toContain('vigil_sms_campaigns_running{tenant="default"} 2');
    expect(lines.some((line) => line.startsWith('vigil_sms_failure_reports_total{tenant="default",category="network"}'))).toBe(true);
    expect(lines.join("\n")).not.toMatch(/spring-sale|twilio-1|orphan/);
  });
});
