/**
 * Alerting benchmark (issue 8), two parts.
 *
 * (a) Event rules, end to end: a collector child process (as in production) with a webhook
 *     channel pointing at `test/support/webhook-receiver.ts`, a route with group_wait 0 and
 *     group_by ["seq"], and an event rule matching `bench.alert` events grouped by their
 *     distinct `seq` attr, so every event is a group of its own (a group's second alert
 *     would wait group_interval). BENCH_EVENTS (200) single-event POSTs per round, one
 *     every BENCH_SPACING_MS (50) ms, alternating with a non-matching `bench.plain` event
 *     (A B A B …). Latency: the receiver's arrival time minus the moment the POST was
 *     sent (both Date.now() in this process). Baseline: the plain events' ingest round
 *     trip (sent → 202) on the same collector in the same rounds, so the ratio shows what
 *     alerting adds to ingest. BENCH_REPEATS (3) rounds: median of the rounds' p50/p99,
 *     with min and max.
 *
 * (b) Threshold rules: BENCH_STORED_EVENTS (10,000,000) events inserted with SQL inside
 *     ClickHouse (24 h of http/social/sms/jobs events with latency_ms, status_code,
 *     check_name from 50 values, region), then BENCH_RULES (1,000) threshold rules made
 *     through the API (count/avg/p95/p99/max/sum/rate/ratio, windows 5m–1h, half grouped
 *     by check_name, interval 30s), on a collector with alerting off. The collector runs
 *     in this process: chDB executes its queries on threads of this process, so
 *     process.cpuUsage() counts both the engine's JavaScript and ClickHouse's query work —
 *     the honest CPU of a cycle.
 *     A cycle: a collector with alerting on is started on that data (chDB reopens the
 *     directory), its engine finds every rule due at its first tick, as after any restart
 *     or rule file load. The span runs from the first evaluation's start until every rule
 *     has finished one evaluation, CPU (user + system) over it; a cycle still running
 *     after BENCH_CYCLE_TIMEOUT_S (60, twice the interval) is stopped and reported as
 *     incomplete, with what it got through.
 *     Baseline, in the same process right after each cycle, with the engine stopped: the
 *     same rules' SQL (captured from the engine's evaluate functions at that moment) run
 *     straight through the database handle, 4 at a time as the engine does. Engine and
 *     baseline alternate (A B A B …), after one unmeasured warm-up pass of the baseline.
 *
 * Knobs: BENCH_EVENTS (200), BENCH_REPEATS (3), BENCH_SPACING_MS (50),
 * BENCH_STORED_EVENTS (10000000), BENCH_RULES (1000), BENCH_CYCLES (3),
 * BENCH_CYCLE_TIMEOUT_S (60), BENCH_RUN_TIMEOUT_S (900).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { uuidv7 } from "@vigil/plugin-sdk";
import { collectorConfigSchema, createApp, createLogger, startCollector, type RunningCollector } from "../../collector/dist/index.js";
import { evaluateRule } from "../../collector/dist/alerts/evaluate.js";
import type { Rule } from "../../collector/dist/alerts/rule.js";
import type { Database } from "../../collector/dist/storage/database.js";
import type { TenantScope } from "../../collector/dist/storage/tenant-scope.js";
import { callApi, startCollectorProcess, tempDir, TEST_TOKEN, type CollectorProcess } from "../support/collector-process.js";
import { startWebhookReceiver, type WebhookReceiver } from "../support/webhook-receiver.js";
import { formatCount, load, median, ms, printFigures, progress, spread, type Figure } from "./support/figures.js";
import { envInt } from "./support/knobs.js";
import { percentile } from "./support/latency.js";
import { inParallel } from "./support/parallel.js";
import { beforeDeadline, checkDeadline, onExit, stopWithin } from "./support/run-guard.js";

const BENCH = "alerts";
const TENANT = "default";
const EVENTS = envInt("BENCH_EVENTS", 200);
const REPEATS = envInt("BENCH_REPEATS", 3);
const SPACING_MS = envInt("BENCH_SPACING_MS", 50);
const STORED_EVENTS = envInt("BENCH_STORED_EVENTS", 10_000_000);
const RULES = envInt("BENCH_RULES", 1000);
const CYCLES = envInt("BENCH_CYCLES", 3);
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 900) * 1000;
const WARMUP_PAIRS = 20;
/** Every threshold rule's interval: a cycle must fit in it, using under half a core. */
const INTERVAL_S = 30;
/** The engine's evaluations at once (its default), and the baseline's. */
const CONCURRENCY = 4;
const API_CONCURRENCY = 8;
const DELIVERY_WAIT_MS = 60_000;
/** A cycle not done after this is stopped and reported as incomplete. */
const CYCLE_TIMEOUT_MS = envInt("BENCH_CYCLE_TIMEOUT_S", 2 * 30) * 1000;
const POLL_MS = 100;
/** Stored events span 24 h ending this far after the insert, so every window stays full while the cycles run. */
const LEAD_MS = 15 * 60_000;
const SPAN_MS = 24 * 3_600_000;
const IDLE_S = 5;
const STOP_GRACE_MS = 30_000;

// ---------------------------------------------------------------------------------------
// (a) event rules: ingest → webhook
// ---------------------------------------------------------------------------------------

interface EventRound {
  /** receiver arrival − POST sent, ms, per matching event */
  fromSent: number[];
  /** receiver arrival − POST answered 202, ms (negative: the notification beat the answer) */
  fromAnswered: number[];
  /** matching events' own ingest round trip, ms */
  matchingRtt: number[];
  /** baseline: plain events' ingest round trip (sent → 202), ms */
  plainRtt: number[];
}

async function api(collector: CollectorProcess, method: string, path: string, body?: unknown): Promise<any> {
  const { status, json } = await callApi(collector, method, path, body);
  if (status < 200 || status >= 300) throw new Error(`${method} ${path} answered ${status}: ${JSON.stringify(json).slice(0, 500)}`);
  return json;
}

/** Posts one event; returns when it was sent and answered (Date.now(), ms). */
async function postEvent(collector: CollectorProcess, type: string, seq: string): Promise<{ sentAt: number; answeredAt: number }> {
  const ts = Date.now();
  const event = { id: uuidv7(ts), ts, source: "bench", type, severity: "error", attrs: { state: "down", seq, server: "sms-gw-1" }, body: `sms gateway sms-gw-1 is down (${seq})` };
  const body = JSON.stringify([event]);
  const sentAt = Date.now();
  const response = await fetch(`${collector.url}/v1/events`, { method: "POST", headers: { authorization: `Bearer ${collector.token}`, "content-type": "application/json" }, body });
  const text = await response.text();
  const answeredAt = Date.now();
  if (response.status !== 202) throw new Error(`POST /v1/events answered ${response.status}: ${text.slice(0, 300)}`);
  return { sentAt, answeredAt };
}

/** seq → first arrival of a notification naming it; reads the receiver's requests from `from` on. */
function arrivals(hook: WebhookReceiver, seen: Map<string, number>, from: number): number {
  const requests = hook.requests;
  for (let i = from; i < requests.length; i++) {
    const request = requests[i]!;
    let body: { alerts?: { labels?: Record<string, string> }[] };
    try {
      body = JSON.parse(request.rawBody) as typeof body;
    } catch {
      continue;
    }
    for (const alert of body.alerts ?? []) {
      const seq = alert.labels?.seq;
      if (seq !== undefined && !seen.has(seq)) seen.set(seq, request.at);
    }
  }
  return requests.length;
}

async function eventRound(collector: CollectorProcess, hook: WebhookReceiver, round: string, pairs: number, deadline: number): Promise<EventRound> {
  const sent = new Map<string, { sentAt: number; answeredAt: number }>();
  const plainRtt: number[] = [];
  const half = SPACING_MS / 2;
  for (let i = 0; i < pairs; i++) {
    checkDeadline(deadline, `event round ${round}`);
    const seq = `${round}-${i}`;
    const a = await beforeDeadline(postEvent(collector, "bench.alert", seq), deadline, "POST /v1/events");
    sent.set(seq, a);
    await sleep(Math.max(0, half - (Date.now() - a.sentAt)));
    const b = await beforeDeadline(postEvent(collector, "bench.plain", `${seq}-plain`), deadline, "POST /v1/events");
    plainRtt.push(b.answeredAt - b.sentAt);
    await sleep(Math.max(0, half - (Date.now() - b.sentAt)));
  }
  const seen = new Map<string, number>();
  let read = 0;
  const until = Math.min(deadline, Date.now() + DELIVERY_WAIT_MS);
  for (;;) {
    read = arrivals(hook, seen, 0);
    if ([...sent.keys()].every((seq) => seen.has(seq))) break;
    if (Date.now() > until) {
      const missing = [...sent.keys()].filter((seq) => !seen.has(seq));
      throw new Error(`round ${round}: ${missing.length} of ${pairs} notifications never arrived (e.g. ${missing.slice(0, 5).join(", ")}); the receiver got ${read} requests`);
    }
    await sleep(POLL_MS);
  }
  const result: EventRound = { fromSent: [], fromAnswered: [], matchingRtt: [], plainRtt };
  for (const [seq, { sentAt, answeredAt }] of sent) {
    const at = seen.get(seq)!;
    result.fromSent.push(at - sentAt);
    result.fromAnswered.push(at - answeredAt);
    result.matchingRtt.push(answeredAt - sentAt);
  }
  return result;
}

function describePercentiles(samples: readonly number[]): string {
  return `p50 ${percentile(samples, 50)} ms, p99 ${percentile(samples, 99)} ms, max ${Math.max(...samples)} ms`;
}

async function eventRulePart(): Promise<EventRound[]> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  const data = tempDir("vigil-bench-alerts-a-");
  const forgetDir = onExit(data.remove);
  let collector: CollectorProcess | undefined;
  let hook: WebhookReceiver | undefined;
  const forgetKill = onExit(() => collector?.child.kill("SIGKILL"));
  try {
    hook = await startWebhookReceiver();
    collector = await startCollectorProcess({ dataDir: data.path });
    const channel = await api(collector, "POST", "/api/alerts/channels", { name: "bench receiver", kind: "webhook", config: { url: `${hook.url}/hook` } });
    await api(collector, "POST", "/api/alerts/routes", {
      name: "bench events",
      matchers: [{ label: "bench", value: "event" }],
      channels: [channel.id],
      group_by: ["seq"],
      group_wait: "0s",
    });
    await api(collector, "POST", "/api/alerts/rules", {
      kind: "event",
      name: "SMS gateway down",
      source: "bench",
      type: "bench.alert",
      where: [{ attr: "state", value: "down" }],
      group_by: ["seq"],
      labels: { bench: "event", severity: "critical" },
      // Each event is an alert of its own until then; short, so thousands of events never hit the per-rule cap.
      keep_firing_for: "1m",
    });
    progress(`(a) collector ${collector.url}, webhook receiver ${hook.url}; ${WARMUP_PAIRS} warm-up pairs, then ${REPEATS} rounds of ${EVENTS} matching + ${EVENTS} plain events, one every ${SPACING_MS / 2} ms`);
    await eventRound(collector, hook, "warmup", WARMUP_PAIRS, deadline);
    const rounds: EventRound[] = [];
    for (let round = 1; round <= REPEATS; round++) {
      const result = await eventRound(collector, hook, `r${round}`, EVENTS, deadline);
      rounds.push(result);
      progress(
        `(a) round ${round}/${REPEATS}: event rule (sent → webhook) ${describePercentiles(result.fromSent)}; ` +
          `from the 202: ${describePercentiles(result.fromAnswered)}; ` +
          `ingest round trip: plain ${describePercentiles(result.plainRtt)}, matching ${describePercentiles(result.matchingRtt)}; load ${load()}`,
      );
    }
    const sent = hook.deliveries().length;
    progress(`(a) the receiver got ${hook.requests.length} requests (${sent} answered 2xx) for ${WARMUP_PAIRS + REPEATS * EVENTS} matching events`);
    await stopWithin(collector, STOP_GRACE_MS, "collector");
    return rounds;
  } catch (error) {
    await collector?.kill();
    const stderr = collector?.stderr() ? `\ncollector stderr:\n${collector.stderr()}` : "";
    throw new Error(`event rule part failed: ${(error as Error).message}${stderr}`, { cause: error });
  } finally {
    await hook?.close();
    forgetKill();
    forgetDir();
    data.remove();
  }
}

// ---------------------------------------------------------------------------------------
// (b) 1,000 threshold rules over 10 million events
// ---------------------------------------------------------------------------------------

const WINDOWS = ["5m", "15m", "30m", "1h"] as const;

/** The rule shapes, each used by a tenth of the rules, in every window, grouped and not. */
const SHAPES: { name: string; body: Record<string, unknown> }[] = [
  { name: "count http 503", body: { source: "http", type: "http.check", aggregation: "count", where: [{ attr: "status_code", value: "503" }], condition: ">", threshold: 50 } },
  { name: "count social.mention", body: { source: "social", type: "social.mention", aggregation: "count", condition: ">", threshold: 5000 } },
  { name: "avg latency http", body: { source: "http", type: "http.check", aggregation: "avg", field: "latency_ms", condition: ">", threshold: 300 } },
  { name: "p95 latency http", body: { source: "http", type: "http.check", aggregation: "p95", field: "latency_ms", condition: ">", threshold: 1000 } },
  { name: "rate sms.status", body: { source: "sms", type: "sms.status", aggregation: "rate", condition: "<", threshold: 0.01 } },
  {
    name: "ratio 503/all http",
    body: { source: "http", type: "http.check", aggregation: "ratio", numerator: { where: [{ attr: "status_code", value: "503" }] }, denominator: {}, condition: ">", threshold: 0.05 },
  },
  { name: "max latency job.run", body: { source: "jobs", type: "job.run", aggregation: "max", field: "latency_ms", condition: ">", threshold: 1500 } },
  { name: "p99 latency http eu-west (any type)", body: { source: "http", where: [{ attr: "region", value: "eu-west" }], aggregation: "p99", field: "latency_ms", condition: ">", threshold: 1500 } },
  { name: "sum latency social.run", body: { source: "social", type: "social.run", aggregation: "sum", field: "latency_ms", condition: ">", threshold: 1e9 } },
  { name: "count any source, check_name in 3", body: { aggregation: "count", where: [{ attr: "check_name", op: "in", value: ["check-1", "check-2", "check-3"] }], condition: ">", threshold: 1e6 } },
];

interface BenchRule {
  id: string;
  shape: string;
  window: string;
  grouped: boolean;
  body: Record<string, unknown>;
}

function benchRules(): BenchRule[] {
  return Array.from({ length: RULES }, (_, i) => {
    const shape = SHAPES[i % SHAPES.length]!;
    const window = WINDOWS[Math.floor(i / SHAPES.length) % WINDOWS.length]!;
    const grouped = Math.floor(i / (SHAPES.length * WINDOWS.length)) % 2 === 1;
    const id = `bench-${String(i).padStart(4, "0")}`;
    return {
      id,
      shape: shape.name,
      window,
      grouped,
      body: {
        id,
        kind: "threshold",
        name: `bench ${i}: ${shape.name}, ${window}${grouped ? ", by check_name" : ""}`,
        interval: `${INTERVAL_S}s`,
        window,
        group_by: grouped ? ["check_name"] : [],
        labels: { team: `team-${i % 7}` },
        ...shape.body,
      },
    };
  });
}

/** Source and type by `hash % 20`: 60 % http checks, 15 % mentions, 10 % social runs, 10 % SMS status, 5 % jobs. */
const MIX = [
  ...Array.from({ length: 12 }, () => ["http", "http.check"]),
  ...Array.from({ length: 3 }, () => ["social", "social.mention"]),
  ...Array.from({ length: 2 }, () => ["social", "social.run"]),
  ...Array.from({ length: 2 }, () => ["sms", "sms.status"]),
  ["jobs", "job.run"],
] as const;

/** `count` events over 24 h ending LEAD_MS from now, generated inside ClickHouse (no rows cross into JavaScript). */
async function fillEvents(db: Database, count: number): Promise<void> {
  const end = Date.now() + LEAD_MS;
  await db.command(
    `INSERT INTO ${db.table("events")} (tenant, id, ts, received_at, source, type, severity, agent, batch_id, attrs, body)
     SELECT {tenant:String}, generateUUIDv4(number), ts, ts, source, type, severity, agent, '', attrs, body
     FROM (
       SELECT number,
         cityHash64(number) AS h,
         h % 20 AS k,
         fromUnixTimestamp64Milli(toInt64({end:Int64}) - toInt64(intDiv(number * {span:UInt64}, {n:UInt64})), 'UTC') AS ts,
         arrayElement({sources:Array(String)}, k + 1) AS source,
         arrayElement({types:Array(String)}, k + 1) AS type,
         if(intDiv(h, 7) % 50 = 0, 'error', 'info') AS severity,
         concat('agent-', toString(intDiv(h, 17) % 8)) AS agent,
         toString(20 + intDiv(h, 20) % 180 + if(intDiv(h, 3600) % 100 < 3, intDiv(h, 360000) % 3000, 0)) AS latency,
         if(intDiv(h, 7) % 50 = 0, '503', '200') AS status,
         concat('check-', toString(intDiv(h, 11) % 50)) AS chk,
         arrayElement(['eu-west', 'us-east', 'ap-south'], intDiv(h, 13) % 3 + 1) AS region,
         map('latency_ms', latency, 'status_code', status, 'check_name', chk, 'region', region) AS attrs,
         concat(type, ' ', chk, ' answered ', status, ' in ', latency, ' ms from ', region) AS body
       FROM numbers({n:UInt64})
     )
     SETTINGS insert_deduplicate = 0`,
    { tenant: TENANT, end, span: SPAN_MS, n: count, sources: MIX.map((m) => m[0]), types: MIX.map((m) => m[1]) },
  );
  // Merged once, so no background merge of the fresh parts runs during the measurements.
  await db.command(`OPTIMIZE TABLE ${db.table("events")} FINAL`);
}

async function countEvents(db: Database): Promise<number> {
  const [row] = await db.query<{ n: number }>(`SELECT count() AS n FROM ${db.table("events")} WHERE tenant = {tenant:String}`, { tenant: TENANT });
  return Number(row?.n ?? 0);
}

/** CPU seconds (user + system) of this whole process, every thread included (chDB's too). */
function cpuSeconds(): number {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
}

async function thresholdEvaluations(collector: RunningCollector): Promise<number> {
  const metric = await collector.services.metrics.alertEvaluations.get();
  return metric.values.filter((v) => v.labels.kind === "threshold").reduce((sum, v) => sum + v.value, 0);
}

/** A collector in this process on `dataDir` (chDB reopens the same directory); alerting off for setup. */
async function openCollector(dataDir: string, alerting: "on" | "off"): Promise<RunningCollector> {
  const config = collectorConfigSchema.parse({ port: 0, host: "127.0.0.1", dataDir, bootstrapToken: TEST_TOKEN, logLevel: "silent", logFormat: "json", alerting });
  return startCollector(config, createLogger({ format: "json", level: "silent" }));
}

interface CycleRun {
  /** Every rule finished an evaluation before CYCLE_TIMEOUT_MS; when not, wall and CPU are of the part that ran. */
  complete: boolean;
  rulesDone: number;
  wallS: number;
  cpuS: number;
  /** Evaluations the engine finished in the span (more than rulesDone: some rules ran twice). */
  evaluations: number;
  /** Evaluations that were still running when the engine was stopped, and how long they took to end. */
  drained: number;
  drainS: number;
  errors: number;
  firstError: string | undefined;
  /** Per rule: its first evaluation's duration as the engine recorded it, ms. */
  durations: Map<string, number>;
}

interface BaselineRun {
  wallS: number;
  cpuS: number;
  durations: Map<string, number>;
}

function inProcessRequest(app: ReturnType<typeof createApp>) {
  return async (method: string, path: string, body?: unknown): Promise<any> => {
    const response = await app.request(path, {
      method,
      headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
    return text ? JSON.parse(text) : undefined;
  };
}

/** Waits until the engine has finished no evaluation for `quietMs` (the ones in flight have ended). */
async function waitQuiet(collector: RunningCollector, quietMs: number, deadline: number): Promise<void> {
  let last = await thresholdEvaluations(collector);
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    checkDeadline(deadline, "waiting for the engine's evaluations in flight to end");
    await sleep(POLL_MS);
    const now = await thresholdEvaluations(collector);
    if (now !== last) {
      last = now;
      since = Date.now();
    }
  }
}

/**
 * One engine cycle on a freshly started collector: its engine loads the 1,000 rules and
 * finds all of them due at its first tick. The span runs from the first evaluation's
 * start until every rule has finished one evaluation (or CYCLE_TIMEOUT_MS passed); then
 * the engine is stopped and what was in flight allowed to end, so nothing of it runs
 * during the baseline.
 */
async function engineCycle(collector: RunningCollector, rules: readonly BenchRule[], openedAt: number, samples: { at: number; cpu: number }[], deadline: number): Promise<CycleRun> {
  const { alerts } = collector.services;
  const until = Math.min(deadline, openedAt + CYCLE_TIMEOUT_MS + 1_000);
  /** rule → its first evaluation: start, duration, error */
  const first = new Map<string, { at: number; durationMs: number; error: string | null }>();
  let cpuEnd: number;
  let endAt: number;
  for (;;) {
    const cpuNow = cpuSeconds();
    const polledAt = Date.now();
    samples.push({ at: polledAt, cpu: cpuNow });
    for (const rule of rules) {
      if (first.has(rule.id)) continue;
      const status = alerts.statusOf(TENANT, rule.id);
      if (status?.last_eval_at != null && status.last_eval_at >= openedAt) first.set(rule.id, { at: status.last_eval_at, durationMs: status.last_duration_ms ?? 0, error: status.last_error });
    }
    if (first.size === rules.length || polledAt >= until) {
      cpuEnd = cpuNow;
      endAt = polledAt;
      break;
    }
    await sleep(POLL_MS);
  }
  const evaluations = await thresholdEvaluations(collector);
  const stopping = performance.now();
  await alerts.stop();
  await waitQuiet(collector, 1_000, deadline);
  const drainS = (performance.now() - stopping) / 1000 - 1;
  const drained = (await thresholdEvaluations(collector)) - evaluations;
  if (first.size === 0) throw new Error(`the engine evaluated none of ${rules.length} rules in ${CYCLE_TIMEOUT_MS / 1000} s`);
  const complete = first.size === rules.length;
  const starts = [...first.values()].map((f) => f.at);
  const ends = [...first.values()].map((f) => f.at + f.durationMs);
  const firstStart = Math.min(...starts);
  const wallS = ((complete ? Math.max(...ends) : endAt) - firstStart) / 1000;
  // From the last poll before the first evaluation started to the poll that saw every rule done.
  const cpuStart = (samples.filter((s) => s.at <= firstStart).at(-1) ?? samples[0]!).cpu;
  const errors = [...first.values()].filter((f) => f.error !== null);
  return {
    complete,
    rulesDone: first.size,
    wallS,
    cpuS: cpuEnd - cpuStart,
    evaluations,
    drained,
    drainS,
    errors: errors.length,
    firstError: errors[0]?.error ?? undefined,
    durations: new Map([...first.entries()].map(([id, f]) => [id, f.durationMs])),
  };
}

/** The rules' SQL as the engine's evaluate functions build it at `now`, captured by a scope that runs nothing. */
function capturedQueries(db: Database, rules: readonly { id: string; rule: Rule }[], now: number): Promise<{ id: string; sql: string; params: Record<string, unknown> }[]> {
  return Promise.all(
    rules.map(async ({ id, rule }) => {
      let captured: { sql: string; params: Record<string, unknown> } | undefined;
      const scope: TenantScope = {
        tenant: TENANT,
        table: db.table,
        async query<T>(sql: string, params: Record<string, unknown> = {}): Promise<T[]> {
          captured = { sql, params: { ...params, tenant: TENANT } };
          return [];
        },
        async insert() {
          throw new Error("the baseline inserts nothing");
        },
      };
      await evaluateRule(scope, rule, now);
      if (!captured) throw new Error(`rule ${id} ran no query`);
      return { id, ...captured };
    }),
  );
}

/** The baseline: the same SQL straight through the database handle, CONCURRENCY at a time. */
async function directQueries(collector: RunningCollector, rules: readonly BenchRule[]): Promise<BaselineRun> {
  const { db, alerts } = collector.services;
  const parsed = rules.map((r) => {
    const stored = alerts.rules.get(TENANT, r.id);
    if (!stored) throw new Error(`rule ${r.id} is not loaded`);
    return { id: r.id, rule: stored.spec.rule };
  });
  const queries = await capturedQueries(db, parsed, Date.now());
  const durations = new Map<string, number>();
  const cpuBefore = cpuSeconds();
  const started = performance.now();
  await inParallel(queries, CONCURRENCY, async ({ id, sql, params }) => {
    const t0 = performance.now();
    await db.query(sql, params);
    durations.set(id, performance.now() - t0);
  });
  return { wallS: (performance.now() - started) / 1000, cpuS: cpuSeconds() - cpuBefore, durations };
}

/** Where the time goes: per shape, window and grouping, each rule's median duration and the share of the total. */
function breakdown(rules: readonly BenchRule[], engine: readonly Map<string, number>[], direct: readonly Map<string, number>[]): string[] {
  const lines: string[] = [];
  /** A rule's median over the runs that have it (an incomplete cycle lacks some rules). */
  const perRule = (runs: readonly Map<string, number>[], id: string): number | undefined => {
    const values = runs.map((r) => r.get(id)).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  const total = (runs: readonly Map<string, number>[], members: readonly BenchRule[]) => members.reduce((s, r) => s + (perRule(runs, r.id) ?? 0), 0);
  const engineTotal = total(engine, rules);
  const directTotal = total(direct, rules);
  const med = (values: (number | undefined)[]) => {
    const known = values.filter((v): v is number => v !== undefined);
    return known.length ? median(known).toFixed(1) : "-";
  };
  const by = (label: string, key: (r: BenchRule) => string) => {
    const groups = new Map<string, BenchRule[]>();
    for (const r of rules) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
    const rows = [...groups.entries()].map(([name, members]) => ({
      name,
      n: members.length,
      done: members.filter((r) => perRule(engine, r.id) !== undefined).length,
      eMed: med(members.map((r) => perRule(engine, r.id))),
      dMed: med(members.map((r) => perRule(direct, r.id))),
      eShare: total(engine, members) / engineTotal,
      dShare: total(direct, members) / directTotal,
    }));
    rows.sort((a, b) => b.dShare - a.dShare);
    lines.push(`(b) by ${label}: rules (evaluated by the engine), engine median ms per evaluation (share of evaluation time), direct SQL median ms per query (share)`);
    for (const row of rows) {
      lines.push(
        `      ${row.name.padEnd(36)} ${String(row.n).padStart(4)} (${String(row.done).padStart(4)})  engine ${row.eMed.padStart(8)} ms (${(row.eShare * 100).toFixed(1).padStart(4)} %)  direct ${row.dMed.padStart(7)} ms (${(row.dShare * 100).toFixed(1).padStart(4)} %)`,
      );
    }
  };
  by("shape", (r) => r.shape);
  by("window", (r) => r.window);
  by("group_by", (r) => (r.grouped ? "by check_name" : "ungrouped"));
  return lines;
}

interface CyclePartResult {
  cycles: CycleRun[];
  baselines: BaselineRun[];
  idleCpuPerS: number;
}

function describeCycle(cycle: CycleRun, rules: number): string {
  const span = cycle.complete ? `${cycle.wallS.toFixed(1)} s wall` : `NOT COMPLETE: ${cycle.rulesDone} of ${rules} rules evaluated in ${cycle.wallS.toFixed(1)} s`;
  return (
    `engine ${span}, ${cycle.cpuS.toFixed(1)} s CPU (${((cycle.cpuS / INTERVAL_S) * 100).toFixed(0)} % of a core over ${INTERVAL_S} s), ` +
    `${cycle.evaluations} evaluations finished in the span for ${cycle.rulesDone} rules, ${cycle.drained} more ended ${cycle.drainS.toFixed(1)} s after the stop; ` +
    `${cycle.errors} errors${cycle.firstError ? ` (${cycle.firstError})` : ""}`
  );
}

async function cyclePart(): Promise<CyclePartResult> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  const dir = tempDir("vigil-bench-alerts-b-");
  const forgetDir = onExit(dir.remove);
  let collector: RunningCollector | undefined;
  try {
    // Setup on a collector that evaluates nothing (VIGIL_ALERTING=off): data, rules, a warm-up pass.
    collector = await openCollector(dir.path, "off");
    const { db } = collector.services;
    progress(`(b) inserting ${formatCount(STORED_EVENTS)} events with SQL inside ClickHouse (24 h, 4 sources, 5 types), then OPTIMIZE … FINAL`);
    const fillStarted = performance.now();
    await beforeDeadline(fillEvents(db, STORED_EVENTS), deadline, "inserting the events");
    const stored = await countEvents(db);
    if (stored !== STORED_EVENTS) throw new Error(`stored ${stored} events, expected ${STORED_EVENTS}`);
    progress(`(b) ${formatCount(stored)} events stored in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s; load ${load()}`);

    const rules = benchRules();
    const request = inProcessRequest(createApp(collector.services));
    const created = performance.now();
    await inParallel(rules, API_CONCURRENCY, async (rule) => {
      await beforeDeadline(request("POST", "/api/alerts/rules", rule.body), deadline, `creating rule ${rule.id}`);
    });
    progress(`(b) ${rules.length} threshold rules created through POST /api/alerts/rules in ${((performance.now() - created) / 1000).toFixed(1)} s`);

    const idleBefore = cpuSeconds();
    const idleStarted = performance.now();
    await sleep(IDLE_S * 1000);
    const idleCpuPerS = (cpuSeconds() - idleBefore) / ((performance.now() - idleStarted) / 1000);
    const warm = await directQueries(collector, rules);
    progress(`(b) idle CPU (no engine): ${(idleCpuPerS * 100).toFixed(1)} % of a core; warm-up direct SQL pass: ${warm.wallS.toFixed(1)} s wall, ${warm.cpuS.toFixed(1)} s CPU`);
    await collector.close();
    collector = undefined;

    const cycles: CycleRun[] = [];
    const baselines: BaselineRun[] = [];
    for (let k = 1; k <= CYCLES; k++) {
      const samples = [{ at: Date.now(), cpu: cpuSeconds() }];
      const openedAt = Date.now();
      collector = await openCollector(dir.path, "on");
      const cycle = await engineCycle(collector, rules, openedAt, samples, deadline);
      progress(`(b) cycle ${k}/${CYCLES}: ${describeCycle(cycle, rules.length)}; load ${load()}`);
      // The baseline in the same process and data, with the engine stopped.
      const base = await directQueries(collector, rules);
      progress(`(b) cycle ${k}/${CYCLES}: direct SQL ${base.wallS.toFixed(1)} s wall, ${base.cpuS.toFixed(1)} s CPU; load ${load()}`);
      await collector.close();
      collector = undefined;
      cycles.push(cycle);
      baselines.push(base);
    }
    for (const line of breakdown(
      rules,
      cycles.map((c) => c.durations),
      baselines.map((b) => b.durations),
    ))
      progress(line);
    return { cycles, baselines, idleCpuPerS };
  } catch (error) {
    throw new Error(`threshold cycle part failed: ${(error as Error).message}`, { cause: error });
  } finally {
    await collector?.close().catch(() => undefined);
    forgetDir();
    dir.remove();
  }
}

// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  progress(
    `alerts: (a) ${REPEATS} × ${EVENTS} event-rule events against a collector process; (b) ${formatCount(RULES)} threshold rules every ${INTERVAL_S} s over ${formatCount(STORED_EVENTS)} events, ` +
      `${CYCLES} cycles; load ${load()}`,
  );
  const rounds = await eventRulePart();
  const part = await cyclePart();

  const figures: Figure[] = [];
  const eventFigure = (metric: string, p: number): Figure => {
    const alert = spread(rounds.map((r) => percentile(r.fromSent, p)));
    const plain = spread(rounds.map((r) => percentile(r.plainRtt, p)));
    const answered = median(rounds.map((r) => percentile(r.fromAnswered, p)));
    return {
      bench: BENCH,
      metric,
      value: ms(alert.value),
      unit: "ms",
      min: ms(alert.min),
      max: ms(alert.max),
      from: "request_sent",
      baseline: ms(plain.value),
      baseline_min: ms(plain.min),
      baseline_max: ms(plain.max),
      baseline_is: "ingest_round_trip",
      ratio: plain.value > 0 ? ms(alert.value / plain.value) : 0,
      from_answered_ms: ms(answered),
      runs: REPEATS,
      events: EVENTS,
    };
  };
  figures.push(eventFigure("event_rule_p50_ms", 50), eventFigure("event_rule_p99_ms", 99));

  const cpu = spread(part.cycles.map((c) => c.cpuS));
  const wall = spread(part.cycles.map((c) => c.wallS));
  const baseCpu = spread(part.baselines.map((b) => b.cpuS));
  const baseWall = spread(part.baselines.map((b) => b.wallS));
  const complete = part.cycles.filter((c) => c.complete).length;
  const common = {
    rules: RULES,
    stored_events: STORED_EVENTS,
    interval_s: INTERVAL_S,
    runs: part.cycles.length,
    complete_cycles: complete,
    rules_evaluated: median(part.cycles.map((c) => c.rulesDone)),
  };
  // An unfinished cycle's figures cover only the part that ran: lower bounds, and said so.
  const incompleteNote: Record<string, string> =
    complete < part.cycles.length ? { note: `${part.cycles.length - complete} of ${part.cycles.length} cycles did not finish in ${CYCLE_TIMEOUT_MS / 1000} s: their wall and CPU cover the part that ran (lower bounds)` } : {};
  figures.push(
    {
      bench: BENCH,
      metric: "cycle_cpu_s",
      value: ms(cpu.value),
      unit: "s",
      min: ms(cpu.min),
      max: ms(cpu.max),
      baseline: ms(baseCpu.value),
      baseline_min: ms(baseCpu.min),
      baseline_max: ms(baseCpu.max),
      baseline_is: "same_sql_direct",
      ...(complete === part.cycles.length && baseCpu.value > 0 ? { ratio: ms(cpu.value / baseCpu.value) } : {}),
      core_share: Number((cpu.value / INTERVAL_S).toFixed(3)),
      idle_core_share: Number(part.idleCpuPerS.toFixed(3)),
      evaluations: median(part.cycles.map((c) => c.evaluations)),
      cpu_per_evaluation_ms: ms(median(part.cycles.map((c) => (c.cpuS / c.evaluations) * 1000))),
      baseline_cpu_per_query_ms: ms(median(part.baselines.map((b) => (b.cpuS / RULES) * 1000))),
      ...common,
      ...incompleteNote,
    },
    {
      bench: BENCH,
      metric: "cycle_wall_s",
      value: ms(wall.value),
      unit: "s",
      min: ms(wall.min),
      max: ms(wall.max),
      baseline: ms(baseWall.value),
      baseline_min: ms(baseWall.min),
      baseline_max: ms(baseWall.max),
      baseline_is: "same_sql_direct",
      ...(complete === part.cycles.length && baseWall.value > 0 ? { ratio: ms(wall.value / baseWall.value) } : {}),
      ...common,
      ...incompleteNote,
    },
  );
  const p99 = figures[1]!.value;
  progress(
    `targets: event_rule_p99_ms ${p99} ≤ 1000: ${p99 <= 1000 ? "met" : "MISSED"}; ` +
      `cycle_wall_s ${ms(wall.value)}${complete < part.cycles.length ? ` (${part.cycles.length - complete} of ${part.cycles.length} cycles did not finish in ${CYCLE_TIMEOUT_MS / 1000} s)` : ""} ≤ ${INTERVAL_S}: ${complete === part.cycles.length && wall.value <= INTERVAL_S ? "met" : "MISSED"}; ` +
      `cycle CPU ${(cpu.value / INTERVAL_S).toFixed(2)} of a core < 0.5: ${cpu.value / INTERVAL_S < 0.5 ? "met" : "MISSED"}`,
  );
  printFigures(figures);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`alerts bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
