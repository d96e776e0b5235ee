/**
 * SMS benchmark (issue 7), two parts.
 *
 * `events_per_s`: message events per second through SDK → agent → collector, sustained.
 * A collector with the SMS plugin's collector part (its materialized views fill the
 * `sms_*` tables on every insert) and an agent (its local intake, disk queue and shipper
 * at their defaults) run as real processes, each fresh per run. The SDK (`createSmsTracker`)
 * runs in this process and is offered BENCH_EVENTS `trackMessage` calls at a fixed rate
 * (BENCH_OFFER_RATE, well above what the pipeline takes, so the pipeline sets the pace):
 * a "sent" report then a final one per message (90 % delivered, the rest failed or
 * undelivered with provider codes), over campaigns of 10,000 messages, 4 servers and
 * 5 carriers, each number hashed. Its backlog is sized to hold every event so nothing is
 * dropped while the pipeline catches up; its peak says how far behind the pipeline fell,
 * and `dropped()` is reported. Timed from the first call until the collector's
 * `vigil_ingest_events_total{source="sms",type="sms.message"}` counts every event.
 * Baseline, in the same run: the same events (built with the SDK's own event builder),
 * as gzip NDJSON batches of 1,000 (what the agent's shipper sends) posted straight to a
 * fresh collector by 4 concurrent clients (the shipper's default concurrency): what the
 * collector alone takes, so the ratio is the cost of the SDK → agent hop. Runs alternate
 * A B A B.
 *
 * `stats_p95_ms`, `errors_p95_ms`: client-side latency of `GET /api/sms/campaigns/:id` and
 * `GET /api/sms/errors?campaign_id=` with 1,000,000 messages stored (BENCH_CAMPAIGNS
 * campaigns of BENCH_CAMPAIGN_MESSAGES: carriers, servers, statuses, error codes,
 * retries, out-of-order and duplicate receipts; about 2.1 million events), loaded by
 * `support/sms-load.ts` with INSERT … SELECT into the events table of a stopped collector
 * (the plugin's views fill its tables as ingest would, the app's reports and the receipts
 * in separate parts as during a live campaign); then the collector is started on it and
 * BENCH_REQUESTS requests per endpoint are made one at a time, alternating the two
 * endpoints and cycling over the campaigns, after one untimed pass over every campaign.
 *
 * Knobs: BENCH_EVENTS (300000), BENCH_ROUNDS (3), BENCH_OFFER_RATE (50000 events/s),
 * BENCH_SHIPPER_BATCH (1000, the agent's default shipper.batch_max_events; the baseline's
 * batch size follows it), BENCH_CAMPAIGNS (10), BENCH_CAMPAIGN_MESSAGES (100000),
 * BENCH_REQUESTS (200), BENCH_RUN_TIMEOUT_S (300, per run). VIGIL_* collector settings in
 * the environment reach every collector.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { uuidv7 } from "@vigil/plugin-sdk";
import { createSmsTracker, hashPhoneNumber, type MessageReport, type SmsTracker } from "@vigil/plugin-sms/sdk";
import { messageEvent } from "../../plugins/sms/src/sdk/events.js";
import { startAgentProcess, writeAgentConfig, type AgentProcess } from "../support/agent-process.js";
import { REPO_ROOT, startCollectorProcess, type CollectorProcess } from "../support/collector-process.js";
import { gzipNdjson } from "../support/events.js";
import { seededRandom } from "../support/random.js";
import { waitForPush } from "./support/agent-wait.js";
import type { PreparedBatch } from "./support/batch-file.js";
import { postUntilStored } from "./support/collector-client.js";
import { withCollector } from "./support/collector-run.js";
import { formatCount, load, ms, printFigures, progress, spread, type Figure, versusBaseline } from "./support/figures.js";
import { ingestedEvents } from "./support/ingest-metrics.js";
import { envInt } from "./support/knobs.js";
import { percentile } from "./support/latency.js";
import { inParallel } from "./support/parallel.js";
import { procCpuSeconds } from "./support/proc-stats.js";
import { beforeDeadline, checkDeadline, onExit, processDetails, stopWithin } from "./support/run-guard.js";
import { smsLoadPlan, type SmsLoadPlan } from "./support/sms-plan.js";

const BENCH = "sms";
const EVENTS = envInt("BENCH_EVENTS", 300_000);
const ROUNDS = envInt("BENCH_ROUNDS", 3);
const OFFER_RATE = envInt("BENCH_OFFER_RATE", 50_000);
const CAMPAIGNS = envInt("BENCH_CAMPAIGNS", 10);
const CAMPAIGN_MESSAGES = envInt("BENCH_CAMPAIGN_MESSAGES", 100_000);
const REQUESTS = envInt("BENCH_REQUESTS", 200);
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 300) * 1000;

const TARGET_EVENTS_PER_S = 10_000;
const TARGET_P95_MS = 200;
/** The agent shipper's batch_max_events (its default unless BENCH_SHIPPER_BATCH says otherwise); the baseline sends batches of the same size. */
const AGENT_DEFAULT_BATCH = 1_000;
const BATCH_SIZE = envInt("BENCH_SHIPPER_BATCH", AGENT_DEFAULT_BATCH);
/** The agent shipper's default concurrency: the baseline keeps as many batches in flight. */
const BASELINE_CLIENTS = 4;
const SMS_COLLECTOR = ["--plugin", join(REPO_ROOT, "plugins/sms/dist/collector.js")];
const LOAD_SCRIPT = join(REPO_ROOT, "test/bench/support/sms-load.ts");
const STORED_POLL_MS = 50;
/** The offer loop hands this many calls at most to the tracker per turn of the event loop, so its posts get turns too. */
const OFFER_CHUNK = 2_000;
const OFFER_TICK_MS = 2;
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;
const HASH_SALT = "bench-sms-salt";
const STORED_MESSAGES = { source: "sms", type: "sms.message" };

// ------------------------------------------------------------------ the message stream

const CAMPAIGN_SIZE = 10_000;
const SERVERS: MessageReport["server"][] = [
  { kind: "api", id: "twilio-1" },
  { kind: "api", id: "vonage-1" },
  { kind: "smtp", id: "gw-1" },
  { kind: "proxy", id: "px-1" },
];
const CARRIERS = ["verizon", "att", "tmobile", "vodafone", "orange"];
const FAILURE_CODES: Record<string, string[]> = { api: ["30003", "30005", "30007", "21610", "30008"], smtp: ["421", "550", "554"], proxy: ["ECONNRESET", "ETIMEDOUT", "502"] };

/**
 * Event `index` of the stream: message index/2's "sent" report, then its final one. Calls
 * in index order with a fresh `random` of the same seed make the same stream every time.
 */
function messageReport(index: number, random: () => number): MessageReport {
  const message = index >> 1;
  const server = SERVERS[message % SERVERS.length]!;
  const base = {
    campaignId: `bench-${Math.floor(message / CAMPAIGN_SIZE)}`,
    messageId: `SM${message.toString(16).padStart(12, "0")}`,
    to: `+1555${String(message).padStart(7, "0")}`,
    carrier: CARRIERS[(message * 7) % CARRIERS.length]!,
    server,
    queuedMs: 5 + (message % 900),
    sendMs: 40 + (message % 400),
  };
  const draw = random();
  if (index % 2 === 0) return { ...base, status: "sent" };
  if (draw < 0.9) return { ...base, status: "delivered" };
  const codes = FAILURE_CODES[server.kind]!;
  const errorCode = codes[Math.floor(random() * codes.length)]!;
  return { ...base, status: draw < 0.95 ? "failed" : "undelivered", errorCode, errorText: `provider said ${errorCode}` };
}

/** The baseline's requests: the same events the SDK makes, in the agent shipper's batches, built before any clock starts. */
function prepareBaselineBatches(): PreparedBatch[] {
  const random = seededRandom(7);
  const now = Date.now();
  const batches: PreparedBatch[] = [];
  for (let first = 0; first < EVENTS; first += BATCH_SIZE) {
    const events = [];
    for (let i = first; i < Math.min(first + BATCH_SIZE, EVENTS); i++) {
      const report = messageReport(i, random);
      events.push(messageEvent(report, hashPhoneNumber(report.to, HASH_SALT), now));
    }
    batches.push({ id: uuidv7(), body: gzipNdjson(events) });
  }
  return batches;
}

// ------------------------------------------------------------------ part 1: events per second

interface PipelineRun {
  eventsPerS: number;
  seconds: number;
  /** From the first call until the tracker had handed every event to the agent's intake. */
  handedOverSeconds: number;
  peakBacklog: number;
  dropped: number;
  agentCpuSeconds: number;
}

interface BaselineRun {
  eventsPerS: number;
  seconds: number;
  sheds: number;
}

/** Polls the collector's ingest counter until it reaches `expected`; resolves with when it did (performance.now()). */
async function waitForStoredMessages(collector: CollectorProcess, expected: number, deadline: number, check: () => void): Promise<number> {
  for (;;) {
    check();
    const stored = await beforeDeadline(ingestedEvents(collector, STORED_MESSAGES), deadline, "GET /metrics");
    const at = performance.now();
    if (stored === expected) return at;
    if (stored > expected) throw new Error(`the collector stored ${stored} message events, ${stored - expected} more than were sent`);
    checkDeadline(deadline, `waiting for ${formatCount(expected)} stored message events (${formatCount(stored)} so far)`);
    await sleep(STORED_POLL_MS);
  }
}

/**
 * Offers every event to the tracker at OFFER_RATE calls per second (in chunks, yielding
 * between them), noting the largest backlog; resolves once all were offered.
 */
async function offer(tracker: SmsTracker, started: number, peak: { backlog: number }): Promise<void> {
  const random = seededRandom(7);
  let offered = 0;
  while (offered < EVENTS) {
    const due = Math.min(EVENTS, Math.floor(((performance.now() - started) / 1000) * OFFER_RATE), offered + OFFER_CHUNK);
    for (; offered < due; offered++) tracker.trackMessage(messageReport(offered, random));
    peak.backlog = Math.max(peak.backlog, tracker.pending());
    await sleep(OFFER_TICK_MS);
  }
}

function agentConfig(dir: string, collector: CollectorProcess): Record<string, unknown> {
  return {
    collector: { url: collector.url, api_key: collector.token },
    agent: { name: "bench-sms-agent", data_dir: join(dir, "agent-data") },
    intake: { address: "127.0.0.1:0" },
    // Bigger batches need room in bytes too (an SMS event is about 550 bytes).
    ...(BATCH_SIZE !== AGENT_DEFAULT_BATCH ? { shipper: { batch_max_events: BATCH_SIZE, batch_max_bytes: "16MiB" } } : {}),
    log: { format: "json", level: "info" },
  };
}

function alive(agent: AgentProcess): () => void {
  return () => {
    if (agent.child.exitCode !== null || agent.child.signalCode !== null) throw new Error(`the agent exited (${agent.child.exitCode ?? agent.child.signalCode})`);
  };
}

/** Contender: SDK (this process) → agent intake → disk queue → shipper → collector. */
async function runPipeline(): Promise<PipelineRun> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  return withCollector("vigil-bench-sms-", SMS_COLLECTOR, async (collector, dir) => {
    const agent = await startAgentProcess(writeAgentConfig(dir, agentConfig(dir, collector)), { timeoutMs: START_TIMEOUT_MS });
    const tracker = createSmsTracker({ agentUrl: agent.intakeUrl, app: "bench", hashSalt: HASH_SALT, maxBacklog: EVENTS });
    try {
      await waitForPush(agent, deadline);
      const cpuBefore = procCpuSeconds(agent.child.pid!);
      const peak = { backlog: 0 };
      const started = performance.now();
      let handedOverAt = 0;
      const handedOver = offer(tracker, started, peak).then(async () => {
        await tracker.close();
        handedOverAt = performance.now();
      });
      // A failed offer stops the wait at its next poll instead of at the deadline.
      let offerError: unknown;
      handedOver.catch((error: unknown) => (offerError = error));
      const storedAt = await waitForStoredMessages(collector, EVENTS, deadline, () => {
        alive(agent)();
        if (offerError !== undefined) throw offerError;
      });
      await handedOver;
      const seconds = (storedAt - started) / 1000;
      const agentCpuSeconds = procCpuSeconds(agent.child.pid!) - cpuBefore;
      await stopWithin(agent, STOP_GRACE_MS, "agent");
      return { eventsPerS: EVENTS / seconds, seconds, handedOverSeconds: (handedOverAt - started) / 1000, peakBacklog: peak.backlog, dropped: tracker.dropped(), agentCpuSeconds };
    } catch (error) {
      await agent.kill();
      throw new Error(`SDK → agent → collector run failed: ${(error as Error).message}${processDetails(agent)}`, { cause: error });
    } finally {
      await tracker.close();
    }
  });
}

/** Baseline: the same events posted straight to the collector, as the agent's shipper would. */
async function runBaseline(batches: readonly PreparedBatch[]): Promise<BaselineRun> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  return withCollector("vigil-bench-sms-baseline-", SMS_COLLECTOR, async (collector) => {
    let sheds = 0;
    const started = performance.now();
    await inParallel(batches, BASELINE_CLIENTS, async (batch) => {
      sheds += await postUntilStored(collector, batch, deadline);
    });
    // Every batch was answered 202, so its rows are in ClickHouse; the counter says so too.
    const storedAt = await waitForStoredMessages(collector, EVENTS, deadline, () => undefined);
    const seconds = (storedAt - started) / 1000;
    return { eventsPerS: EVENTS / seconds, seconds, sheds };
  });
}

function describePipelineRun(run: PipelineRun): string {
  return (
    `${formatCount(run.eventsPerS)} events/s (${run.seconds.toFixed(1)} s; handed to the agent after ${run.handedOverSeconds.toFixed(1)} s, ` +
    `SDK backlog peak ${formatCount(run.peakBacklog)}, dropped ${run.dropped}; agent CPU ${run.agentCpuSeconds.toFixed(1)} s) load ${load()}`
  );
}

function describeBaselineRun(run: BaselineRun): string {
  return `${formatCount(run.eventsPerS)} events/s (${run.seconds.toFixed(1)} s, ${run.sheds} batches told to retry) load ${load()}`;
}

async function measureThroughput(): Promise<Figure> {
  progress(
    `events_per_s: ${formatCount(EVENTS)} sms.message events offered to the SDK at ${formatCount(OFFER_RATE)}/s → agent → collector (SMS plugin loaded); ` +
      `baseline: the same events in gzip batches of ${formatCount(BATCH_SIZE)} from ${BASELINE_CLIENTS} clients straight to the collector; ${ROUNDS} rounds; load ${load()}`,
  );
  const batches = prepareBaselineBatches();
  progress(`prepared ${batches.length} baseline batches, ${formatCount(batches.reduce((sum, b) => sum + b.body.length, 0) / batches.length)} gzip bytes each`);
  const pipelineRuns: PipelineRun[] = [];
  const baselineRuns: BaselineRun[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const contender = await runPipeline();
    pipelineRuns.push(contender);
    progress(`round ${round}/${ROUNDS} SDK → agent → collector: ${describePipelineRun(contender)}`);
    const baseline = await runBaseline(batches);
    baselineRuns.push(baseline);
    progress(`round ${round}/${ROUNDS} baseline (collector alone): ${describeBaselineRun(baseline)}`);
  }
  const throughput = spread(pipelineRuns.map((run) => run.eventsPerS));
  const baseline = spread(baselineRuns.map((run) => run.eventsPerS));
  const dropped = pipelineRuns.reduce((sum, run) => sum + run.dropped, 0);
  progress(
    `events_per_s: median ${formatCount(throughput.value)}/s (min ${formatCount(throughput.min)}, max ${formatCount(throughput.max)}), ` +
      `target ≥ ${formatCount(TARGET_EVENTS_PER_S)}/s: ${throughput.value >= TARGET_EVENTS_PER_S ? "met" : "MISSED"}; collector alone ${formatCount(baseline.value)}/s; ` +
      `${dropped} events dropped by the SDK`,
  );
  return {
    bench: BENCH,
    metric: "events_per_s",
    ...versusBaseline(throughput, baseline),
    unit: "events/s",
    target: TARGET_EVENTS_PER_S,
    runs: ROUNDS,
    events: EVENTS,
    batch_events: BATCH_SIZE,
    offered_per_s: OFFER_RATE,
    dropped,
    sdk_peak_backlog: Math.max(...pipelineRuns.map((run) => run.peakBacklog)),
  };
}

// ------------------------------------------------------------------ part 2: query latency

function exitOf(child: ReturnType<typeof spawn>): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

interface LoadResult {
  events: number;
  seconds: number;
  messages: Record<string, number>;
  message_parts: number;
}

/** Runs `support/sms-load.ts` on the (stopped) collector's data dir. */
async function loadMessages(dataDir: string, plan: SmsLoadPlan, deadline: number): Promise<LoadResult> {
  // `--import tsx` keeps the loader one process, so killing it leaves no grandchild.
  const child = spawn(process.execPath, ["--import", "tsx", LOAD_SCRIPT, dataDir, JSON.stringify(plan)], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
  const kill = () => child.kill("SIGKILL");
  const forgetKill = onExit(kill);
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  try {
    const code = await beforeDeadline(exitOf(child), deadline, "loading the messages");
    if (code !== 0) throw new Error(`the loader exited with ${code}`);
  } catch (error) {
    kill();
    throw error;
  } finally {
    forgetKill();
  }
  const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as LoadResult;
  for (const campaign of plan.campaigns) {
    if (result.messages[campaign.id] !== plan.messagesPerCampaign) throw new Error(`campaign ${campaign.id} holds ${result.messages[campaign.id] ?? 0} messages, not ${plan.messagesPerCampaign}`);
  }
  return result;
}

/** One GET, timed on the client from the request until the whole body is read; the answer must be 200. */
async function timedGet(collector: CollectorProcess, path: string, check: (body: any) => void): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${collector.url}${path}`, { headers: { authorization: `Bearer ${collector.token}` } });
  const text = await response.text();
  const elapsed = performance.now() - started;
  if (response.status !== 200) throw new Error(`GET ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  check(JSON.parse(text));
  return elapsed;
}

interface Endpoint {
  metric: string;
  label: string;
  path(campaignId: string): string;
  /** A sanity check on each answer: the load must be what is measured. */
  check(body: any, messages: number): void;
  samples: number[];
}

function latencyFigure(endpoint: Endpoint, loaded: LoadResult): Figure {
  const p95 = percentile(endpoint.samples, 95);
  const p50 = percentile(endpoint.samples, 50);
  progress(
    `${endpoint.metric}: ${endpoint.label} p50 ${ms(p50)} ms, p95 ${ms(p95)} ms, max ${ms(Math.max(...endpoint.samples))} ms ` +
      `over ${endpoint.samples.length} requests; target p95 ≤ ${TARGET_P95_MS} ms: ${p95 <= TARGET_P95_MS ? "met" : "MISSED"}`,
  );
  return {
    bench: BENCH,
    metric: endpoint.metric,
    value: ms(p95),
    unit: "ms",
    p50: ms(p50),
    max: ms(Math.max(...endpoint.samples)),
    target: TARGET_P95_MS,
    requests: endpoint.samples.length,
    messages: CAMPAIGNS * CAMPAIGN_MESSAGES,
    events: loaded.events,
  };
}

async function measureLatency(): Promise<Figure[]> {
  const deadline = Date.now() + 4 * RUN_TIMEOUT_MS;
  const plan = smsLoadPlan(CAMPAIGNS, CAMPAIGN_MESSAGES);
  progress(`stats_p95_ms, errors_p95_ms: ${CAMPAIGNS} campaigns × ${formatCount(CAMPAIGN_MESSAGES)} messages, then ${REQUESTS} requests per endpoint; load ${load()}`);
  return withCollector("vigil-bench-sms-latency-", SMS_COLLECTOR, async (first, dir) => {
    // The first collector made the tables (its migrations and the plugin's); the loader needs the data dir to itself.
    await stopWithin(first, STOP_GRACE_MS, "collector");
    const dataDir = join(dir, "collector");
    const loaded = await loadMessages(dataDir, plan, deadline);
    progress(
      `loaded ${formatCount(loaded.events)} events in ${loaded.seconds.toFixed(1)} s (${formatCount(loaded.events / loaded.seconds)} events/s through the views); ` +
        `sms_messages has ${loaded.message_parts} active parts`,
    );
    let collector: CollectorProcess | undefined;
    const forgetKill = onExit(() => collector?.child.kill("SIGKILL"));
    try {
      collector = await startCollectorProcess({ dataDir, args: SMS_COLLECTOR, timeoutMs: START_TIMEOUT_MS });
      const endpoints: Endpoint[] = [
        {
          metric: "stats_p95_ms",
          label: "GET /api/sms/campaigns/:id",
          path: (id) => `/api/sms/campaigns/${encodeURIComponent(id)}`,
          check: (body, messages) => {
            if (body.messages !== messages || body.total !== messages) throw new Error(`campaign ${body.campaign_id}: ${body.messages} messages of ${body.total}, expected ${messages}`);
          },
          samples: [],
        },
        {
          metric: "errors_p95_ms",
          label: "GET /api/sms/errors?campaign_id=",
          path: (id) => `/api/sms/errors?campaign_id=${encodeURIComponent(id)}`,
          check: (body, messages) => {
            if (body.messages !== messages || !(body.categories.length > 0)) throw new Error(`errors of ${body.campaign_id}: ${body.messages} messages, ${body.categories.length} categories`);
          },
          samples: [],
        },
      ];
      // One untimed pass: the first read of each campaign loads its marks and parts from disk.
      for (const campaign of plan.campaigns) for (const endpoint of endpoints) await timedGet(collector, endpoint.path(campaign.id), (body) => endpoint.check(body, CAMPAIGN_MESSAGES));
      for (let i = 0; i < REQUESTS; i++) {
        const campaign = plan.campaigns[i % plan.campaigns.length]!;
        for (const endpoint of endpoints) {
          checkDeadline(deadline, "the latency requests");
          endpoint.samples.push(await timedGet(collector, endpoint.path(campaign.id), (body) => endpoint.check(body, CAMPAIGN_MESSAGES)));
        }
        if ((i + 1) % 50 === 0) progress(`  ${i + 1}/${REQUESTS} requests per endpoint; load ${load()}`);
      }
      await stopWithin(collector, STOP_GRACE_MS, "collector");
      return endpoints.map((endpoint) => latencyFigure(endpoint, loaded));
    } catch (error) {
      await collector?.kill();
      throw new Error(`latency run failed: ${(error as Error).message}${processDetails(undefined, collector)}`, { cause: error });
    } finally {
      forgetKill();
    }
  });
}

async function main(): Promise<void> {
  const throughput = await measureThroughput();
  const latency = await measureLatency();
  printFigures([throughput, ...latency]);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`sms bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
