/**
 * Job scheduler benchmark: BENCH_JOBS (1,000) social monitoring jobs with mixed schedules
 * (second-level crons every minute at each second, every 10 s at ten offsets, every 15 s
 * and every 30 s in bursts, and custom every-minute intervals) on one agent, against the
 * fake YouTube (fast: a feed of three videos per channel, 100 channels). Jobs are made
 * through the collector's API before the agent starts; the agent reads them at start.
 *
 * - Lateness: for every scheduled run that starts in a BENCH_MEASURE_S (60) window, after
 *   BENCH_WARMUP_S (10) of running, its `social.run` start_time minus the slot it was for
 *   (`scheduled_at`, both on the agent's clock), read back from the collector; p50 and p99.
 * - Baseline, in the same window and on the same machine: a bare scheduler in this process,
 *   one setTimeout chain per job firing the same slots (the same schedule arithmetic,
 *   jobs-protocol's nextRunAt), with its own lateness: what a timer alone gives, so the
 *   figure shows what the agent adds (queueing behind max_concurrent_runs, the adapter's
 *   request, the run's durable start event).
 * - Idle CPU: every job is then changed to a daily schedule hours away (PUT, pushed to the
 *   agent), and the agent process's CPU time (utime + stime from /proc) is read over
 *   BENCH_IDLE_S (30) with nothing due: the cost of holding 1,000 schedules between runs,
 *   plus the agent's own heartbeat and shipper timers. Its baseline: the same agent after
 *   every job was deleted.
 *
 * Each run has a fresh fake, collector and agent; runs repeat (median, min, max).
 * Knobs: BENCH_JOBS (1000), BENCH_REPEATS (2), BENCH_WARMUP_S (10), BENCH_MEASURE_S (60),
 * BENCH_IDLE_S (30), BENCH_RUN_TIMEOUT_S (900), BENCH_MAX_CONCURRENT_RUNS (the plugin's
 * default when unset).
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { nextRunAt, type Schedule } from "../../plugins/social/dist/jobs-protocol.js";
import { makeChannelId, startFakeYouTube, type FakeYouTube } from "../fakes/social/youtube.js";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess } from "../support/collector-process.js";
import { startAgentProcess, writeAgentConfig, type AgentProcess } from "../support/agent-process.js";
import { median, printFigures, progress, spread, load, ms } from "./support/figures.js";
import { envInt } from "./support/knobs.js";
import { percentile } from "./support/latency.js";
import { procCpuSeconds } from "./support/proc-stats.js";
import { beforeDeadline, checkDeadline, onExit, stopWithin, processDetails } from "./support/run-guard.js";

const BENCH = "scheduler";
const JOBS = envInt("BENCH_JOBS", 1000);
const REPEATS = envInt("BENCH_REPEATS", 2);
const WARMUP_MS = envInt("BENCH_WARMUP_S", 10) * 1000;
const MEASURE_MS = envInt("BENCH_MEASURE_S", 60) * 1000;
const IDLE_MS = envInt("BENCH_IDLE_S", 30) * 1000;
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 900) * 1000;
const AGENT_PART = join(REPO_ROOT, "plugins/social/dist/agent.js");
const COLLECTOR_PART = join(REPO_ROOT, "plugins/social/dist/collector.js");
const CHANNELS = 100;
const VIDEOS_PER_CHANNEL = 3;
const API_CONCURRENCY = 16;
/** After the window, time for the last runs' events to reach the collector. */
const SHIP_GRACE_MS = 5_000;
/**
 * Before an idle measurement: the re-reads of the job list that 1,000 changes pushed, their
 * last events' shipping, and the garbage collections V8 runs once allocation stops, end.
 */
const SETTLE_MS = 20_000;
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;

interface JobFields {
  cron: string | null;
  interval_minutes: number | null;
}

/** The mix: a fifth of the jobs in each kind of schedule, spread over offsets so most slots hold a few runs and some hold bursts. */
function scheduleFields(i: number): JobFields {
  switch (Math.floor((i * 5) / JOBS)) {
    case 0:
    case 1:
      return { cron: `${i % 60} * * * * *`, interval_minutes: null };
    case 2:
      return { cron: `${i % 10}-59/10 * * * * *`, interval_minutes: null };
    case 3:
      return { cron: i % 2 === 0 ? "*/15 * * * * *" : "*/30 * * * * *", interval_minutes: null };
    default:
      return { cron: null, interval_minutes: 1 };
  }
}

function scheduleOf(fields: JobFields): Schedule {
  return fields.cron ? { kind: "cron", cron: fields.cron, timezone: "UTC" } : { kind: "interval", every_ms: fields.interval_minutes! * 60_000 };
}

interface Run {
  /** Agent: start_time − scheduled_at of each scheduled run started in the window, ms. */
  lateness: number[];
  /** Bare setTimeout chains: fire time − slot, ms. */
  baseline: number[];
  failedRuns: number;
  idleCpuPct: number;
  /** The same agent after every job was deleted. */
  emptyCpuPct: number;
}

async function api(collector: CollectorProcess, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${collector.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${collector.token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 500)}`);
  return text ? JSON.parse(text) : undefined;
}

/** Runs `work` over `items`, `concurrency` at a time. */
async function inParallel<T>(items: readonly T[], concurrency: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const index = next++;
        await work(items[index]!, index);
      }
    }),
  );
}

/**
 * The baseline: one setTimeout chain per job, each firing at its slots and taking the next
 * slot from the fire time, as a minimal scheduler would; records lateness of slots in [from, to).
 */
function bareTimers(schedules: readonly Schedule[], from: number, to: number): { lateness: number[]; stop(): void } {
  const lateness: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  function arm(schedule: Schedule, last: Date | null): void {
    const next = nextRunAt(schedule, new Date(), last);
    if (!next || stopped) return;
    const slot = next.getTime();
    const timer = setTimeout(() => {
      timers.delete(timer);
      const firedAt = Date.now();
      if (slot >= from && slot < to) lateness.push(firedAt - slot);
      arm(schedule, new Date(firedAt));
    }, Math.max(0, slot - Date.now()));
    timers.add(timer);
  }
  for (const schedule of schedules) arm(schedule, null);
  return {
    lateness,
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
    },
  };
}

/** The attrs of every `social.run` event of `status` in [from, to) (by event time), from the collector. */
async function runEvents(collector: CollectorProcess, status: string, from: number, to: number): Promise<Record<string, string>[]> {
  const found: Record<string, string>[] = [];
  let cursor: string | null = null;
  do {
    const page: { events: { attrs: Record<string, string> }[]; next_cursor: string | null } = await api(
      collector,
      "GET",
      `/v1/events?type=social.run&attr.status=${status}&attr.trigger=schedule&since=${from}&until=${to}&limit=1000${cursor ? `&cursor=${cursor}` : ""}`,
    );
    found.push(...page.events.map((event) => event.attrs));
    cursor = page.next_cursor;
  } while (cursor);
  return found;
}

async function pluginDetails(agent: AgentProcess): Promise<Record<string, string | number>> {
  const status = await agent.status();
  return status.plugins.find((p: { id: string }) => p.id === "social")?.details ?? {};
}

async function waitForDetails(agent: AgentProcess, ok: (d: Record<string, string | number>) => boolean, deadline: number, what: string): Promise<Record<string, string | number>> {
  for (;;) {
    const details = await beforeDeadline(pluginDetails(agent), deadline, "agent /status");
    if (ok(details)) return details;
    checkDeadline(deadline, what);
    await sleep(200);
  }
}

/** The CPU a process uses over `ms`, in percent of one core. */
async function cpuPercent(pid: number, ms: number): Promise<number> {
  const cpuBefore = procCpuSeconds(pid);
  const wallBefore = performance.now();
  await sleep(ms);
  return ((procCpuSeconds(pid) - cpuBefore) / ((performance.now() - wallBefore) / 1000)) * 100;
}

async function runOnce(run: number): Promise<Run> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  const dir = tempDir("vigil-bench-scheduler-");
  const forgetDir = onExit(dir.remove);
  let fake: FakeYouTube | undefined;
  let collector: CollectorProcess | undefined;
  let agent: AgentProcess | undefined;
  try {
    fake = await startFakeYouTube();
    const channels = Array.from({ length: CHANNELS }, () => makeChannelId());
    for (const channel of channels) for (let v = 0; v < VIDEOS_PER_CHANNEL; v++) fake.addVideo(channel, { title: `Video ${v}` });
    collector = await startCollectorProcess({ dataDir: join(dir.path, "collector"), args: ["--plugin", COLLECTOR_PART], timeoutMs: START_TIMEOUT_MS });
    const ingestKey: string = (await api(collector, "POST", "/api/keys", { name: "bench-agent", scopes: ["ingest"] })).token;

    const fields = Array.from({ length: JOBS }, (_, i) => scheduleFields(i));
    const ids: string[] = new Array(JOBS);
    const created = performance.now();
    await inParallel(fields, API_CONCURRENCY, async (schedule, i) => {
      const job = await beforeDeadline(
        api(collector!, "POST", "/api/monitoring/jobs", {
          name: `bench job ${i}`,
          platform: "youtube",
          target_type: "channel",
          target_url: `https://www.youtube.com/channel/${channels[i % CHANNELS]}`,
          frequency: "custom",
          max_items_per_run: 15,
          ...schedule,
        }),
        deadline,
        `creating job ${i}`,
      );
      ids[i] = job.id;
    });
    progress(`run ${run}: ${JOBS} jobs created in ${((performance.now() - created) / 1000).toFixed(1)} s`);

    agent = await startAgentProcess(
      writeAgentConfig(dir.path, {
        collector: { url: collector.url, api_key: ingestKey },
        agent: { name: "bench-scheduler", data_dir: join(dir.path, "agent-data") },
        intake: { address: "127.0.0.1:0" },
        log: { format: "json", level: "info" },
        plugins: [{ id: "social", use: AGENT_PART, config: { base_urls: { youtube: fake.url }, ...(process.env.BENCH_MAX_CONCURRENT_RUNS ? { max_concurrent_runs: Number(process.env.BENCH_MAX_CONCURRENT_RUNS) } : {}) } }],
      }),
      { timeoutMs: START_TIMEOUT_MS },
    );
    await waitForDetails(agent, (d) => d.jobs_active === JOBS, deadline, `the agent holding ${JOBS} jobs`);

    const from = Date.now() + WARMUP_MS;
    const to = from + MEASURE_MS;
    const baseline = bareTimers(fields.map(scheduleOf), from, to);
    await sleep(from - Date.now());
    const busyCpuBefore = procCpuSeconds(agent.child.pid!);
    await sleep(to - Date.now());
    const busyCpuPct = ((procCpuSeconds(agent.child.pid!) - busyCpuBefore) / (MEASURE_MS / 1000)) * 100;
    await sleep(SHIP_GRACE_MS);
    baseline.stop();
    const starts = await runEvents(collector, "in_progress", from, to);
    const lateness = starts.map((attrs) => Number(attrs.start_time) - Number(attrs.scheduled_at));
    const durations = (await runEvents(collector, "completed", from, to)).map((attrs) => Number(attrs.end_time) - Number(attrs.start_time));
    const details = await pluginDetails(agent);
    progress(
      `run ${run}: ${starts.length} scheduled runs started in the ${MEASURE_MS / 1000} s window (bare timers: ${baseline.lateness.length}); ` +
        `agent p50 ${percentile(lateness, 50)} ms, p99 ${percentile(lateness, 99)} ms, max ${Math.max(...lateness)} ms; ` +
        `bare timers p50 ${percentile(baseline.lateness, 50)} ms, p99 ${percentile(baseline.lateness, 99)} ms; ` +
        `run duration p50 ${percentile(durations, 50)} ms, p99 ${percentile(durations, 99)} ms; ` +
        `runs completed ${details.runs_completed}, failed ${details.runs_failed}; agent CPU ${busyCpuPct.toFixed(1)} % in the window; load ${load()}`,
    );

    // Idle: every job moves to a daily time hours away; nothing is due during the measurement.
    const hour = new Date().getUTCHours();
    await inParallel(ids, API_CONCURRENCY, async (id, i) => {
      await beforeDeadline(api(collector!, "PUT", `/api/monitoring/jobs/${id}`, { cron: `${i % 60} ${(hour + 3 + (i % 18)) % 24} * * *`, interval_minutes: null }), deadline, `changing job ${i}`);
    });
    const soon = Date.now() + IDLE_MS + 60_000;
    await waitForDetails(
      agent,
      (d) => d.runs_in_progress === 0 && d.runs_waiting === 0 && d.next_run_at !== "" && Date.parse(String(d.next_run_at)) > soon,
      deadline,
      "the agent on the daily schedules",
    );
    await sleep(SETTLE_MS);
    const idleCpuPct = await cpuPercent(agent.child.pid!, IDLE_MS);
    const idleDetails = await pluginDetails(agent);

    // The same agent without any job: what holding the schedules adds to the agent's own idle work.
    await inParallel(ids, API_CONCURRENCY, async (id, i) => {
      await beforeDeadline(api(collector!, "DELETE", `/api/monitoring/jobs/${id}`), deadline, `deleting job ${i}`);
    });
    await waitForDetails(agent, (d) => d.jobs_active === 0 && d.jobs_paused === 0, deadline, "the agent without jobs");
    await sleep(SETTLE_MS);
    const emptyCpuPct = await cpuPercent(agent.child.pid!, IDLE_MS);
    progress(`run ${run}: idle CPU ${idleCpuPct.toFixed(2)} % with ${JOBS} jobs (next run at ${idleDetails.next_run_at}), ${emptyCpuPct.toFixed(2)} % without jobs, over ${IDLE_MS / 1000} s each`);

    await stopWithin(agent, STOP_GRACE_MS, "agent");
    await stopWithin(collector, STOP_GRACE_MS, "collector");
    return { lateness, baseline: baseline.lateness, failedRuns: Number(details.runs_failed), idleCpuPct, emptyCpuPct };
  } catch (error) {
    await agent?.kill();
    await collector?.kill();
    throw new Error(`scheduler run ${run} failed: ${(error as Error).message}${processDetails(agent)}`, { cause: error });
  } finally {
    await fake?.close();
    forgetDir();
    dir.remove();
  }
}



async function main(): Promise<void> {
  progress(`scheduler: ${JOBS} jobs with mixed schedules on one agent against the fake YouTube; ${MEASURE_MS / 1000} s lateness window, ${IDLE_MS / 1000} s idle; ${REPEATS} runs; load ${load()}`);
  const runs: Run[] = [];
  for (let run = 1; run <= REPEATS; run++) runs.push(await runOnce(run));
  const common = { runs: REPEATS, jobs: JOBS, window_s: MEASURE_MS / 1000, scheduled_runs: median(runs.map((r) => r.lateness.length)), failed_runs: runs.reduce((n, r) => n + r.failedRuns, 0) };
  const figure = (metric: string, p: number) => {
    const agent = spread(runs.map((r) => percentile(r.lateness, p)));
    const bare = median(runs.map((r) => percentile(r.baseline, p)));
    return { bench: BENCH, metric, value: ms(agent.value), unit: "ms", min: ms(agent.min), max: ms(agent.max), baseline: ms(bare), ratio: bare > 0 ? ms(agent.value / bare) : 0, ...common };
  };
  const idle = spread(runs.map((r) => r.idleCpuPct));
  const empty = median(runs.map((r) => r.emptyCpuPct));
  printFigures([
    figure("lateness_p50_ms", 50),
    figure("lateness_p99_ms", 99),
    { bench: BENCH, metric: "idle_cpu_pct", value: ms(idle.value), unit: "%", min: ms(idle.min), max: ms(idle.max), baseline: ms(empty), runs: REPEATS, jobs: JOBS, idle_s: IDLE_MS / 1000 },
  ]);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`scheduler bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
