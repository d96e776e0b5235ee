/**
 * Agent throughput benchmark: a plugin (fixtures/firehose.js) emits BENCH_EVENTS realistic
 * events (8 attrs, ~200-byte body) as fast as one agent takes them, with 256 emits in
 * flight; the agent puts each on its disk queue (fsync'ed) and its shipper sends them to a
 * collector in gzip batches of 1,000, one batch in flight. Timed from the plugin's first
 * emit (its own "firehose started" log, 1 s after "agent running" so start-up is not in
 * the figures) until the collector's `/api/stats` counts every event. Also: the agent's
 * peak RSS (VmHWM) and its CPU seconds (utime + stime) per 100k events over that span.
 *
 * Baseline, in the same run: the same number of events posted straight to a fresh
 * collector as pre-built gzip NDJSON batches of 1,000 by one sequential client (what the
 * agent's shipper does), timed from the first request until `/api/stats` counts them all.
 * The ratio is the agent's overhead over the wire protocol. Runs alternate A B A B.
 *
 * Knobs: BENCH_EVENTS (200000), BENCH_REPEATS (2), BENCH_EMIT_CONCURRENCY (256),
 * BENCH_RUN_TIMEOUT_S (600). VIGIL_* collector settings in the environment reach both
 * collectors.
 */
import { join } from "node:path";
import { REPO_ROOT, type CollectorProcess } from "../support/collector-process.js";
import { startAgentProcess, writeAgentConfig, type AgentProcess } from "../support/agent-process.js";
import type { PreparedBatch } from "./support/batch-file.js";
import { postUntilStored, prepareBatches, waitForStored } from "./support/collector-client.js";
import { formatCount, printFigures, progress, spread, load, versusBaseline } from "./support/figures.js";
import { envInt } from "./support/knobs.js";
import { procCpuSeconds, sampleRss } from "./support/proc-stats.js";
import { withCollector } from "./support/collector-run.js";
import { beforeDeadline, stopWithin } from "./support/run-guard.js";

const BENCH = "agent";
/** The agent's default shipper.batch_max_events, so the baseline sends batches of the same size. */
const BATCH_SIZE = 1_000;
const EVENTS = envInt("BENCH_EVENTS", 200_000);
const REPEATS = envInt("BENCH_REPEATS", 2);
const CONCURRENCY = envInt("BENCH_EMIT_CONCURRENCY", 256);
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 600) * 1000;
const FIREHOSE = join(REPO_ROOT, "test/bench/fixtures/firehose.js");
/** The firehose waits this long after start, so the agent's start-up is over before the clock and the CPU count start. */
const START_DELAY_MS = 1_000;
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;

interface AgentRun {
  eventsPerS: number;
  seconds: number;
  /** From the first emit until the last emit resolved (all on disk). */
  acceptSeconds: number;
  peakRssMb: number;
  cpuSeconds: number;
}

interface BaselineRun {
  eventsPerS: number;
  seconds: number;
  sheds: number;
}


function agentConfig(dir: string, collector: CollectorProcess): Record<string, unknown> {
  return {
    collector: { url: collector.url, api_key: collector.token },
    agent: { name: "bench-agent", data_dir: join(dir, "agent-data") },
    intake: { address: "127.0.0.1:0" },
    log: { format: "json", level: "info" },
    plugins: [{ use: FIREHOSE, id: "firehose", config: { total: EVENTS, concurrency: CONCURRENCY, start_delay: START_DELAY_MS } }],
  };
}

/** Throws when the agent or its firehose has failed, so the run stops instead of waiting out its deadline. */
function agentAlive(agent: AgentProcess): () => void {
  return () => {
    if (agent.child.exitCode !== null || agent.child.signalCode !== null) {
      throw new Error(`the agent exited (${agent.child.exitCode ?? agent.child.signalCode}); stderr:\n${agent.stderr()}`);
    }
    const failed = agent.logs.find((record) => record.msg === "firehose failed" || record.msg === "plugin failed; restarting it with backoff");
    if (failed) throw new Error(`the firehose failed: ${JSON.stringify(failed)}`);
  };
}

/** Contender: plugin → agent (disk queue, shipper) → collector. */
async function runAgent(): Promise<AgentRun> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  return withCollector("vigil-bench-agent-", [], async (collector, dir) => {
    const agent = await startAgentProcess(writeAgentConfig(dir, agentConfig(dir, collector)), { timeoutMs: START_TIMEOUT_MS });
    const pid = agent.child.pid!;
    const rss = sampleRss(pid);
    try {
      const cpuBefore = procCpuSeconds(pid);
      const started = await agent.waitForLog((record) => record.msg === "firehose started", START_DELAY_MS + START_TIMEOUT_MS);
      const startedAt = Number(started.started_at);
      await waitForStored(collector, EVENTS, deadline, { check: agentAlive(agent) });
      const seconds = (Date.now() - startedAt) / 1000;
      const cpuSeconds = procCpuSeconds(pid) - cpuBefore;
      const peakRssMb = rss.peakMb();
      const done = await agent.waitForLog((record) => record.msg === "firehose done", Math.max(0, deadline - Date.now()));
      await stopWithin(agent, STOP_GRACE_MS, "agent");
      return { eventsPerS: EVENTS / seconds, seconds, acceptSeconds: Number(done.seconds), peakRssMb, cpuSeconds };
    } catch (error) {
      await agent.kill();
      throw new Error(`agent run failed: ${(error as Error).message}\nagent stderr:\n${agent.stderr()}`, { cause: error });
    } finally {
      rss.stop();
    }
  });
}

/** Baseline: the same events, pre-built batches posted one at a time straight to the collector. */
async function runBaseline(batches: readonly PreparedBatch[]): Promise<BaselineRun> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  return withCollector("vigil-bench-agent-baseline-", [], async (collector) => {
    const started = performance.now();
    let sheds = 0;
    for (const batch of batches) sheds += await postUntilStored(collector, batch, deadline);
    await beforeDeadline(waitForStored(collector, EVENTS, deadline), deadline, "baseline");
    const seconds = (performance.now() - started) / 1000;
    return { eventsPerS: EVENTS / seconds, seconds, sheds };
  });
}


function describeAgentRun(run: AgentRun): string {
  return (
    `${formatCount(run.eventsPerS)} events/s (${run.seconds.toFixed(1)} s; all on disk after ${run.acceptSeconds.toFixed(1)} s = ` +
    `${formatCount(EVENTS / run.acceptSeconds)} events/s accepted; agent peak RSS ${run.peakRssMb.toFixed(1)} MB, ` +
    `CPU ${run.cpuSeconds.toFixed(2)} s) load ${load()}`
  );
}

function describeBaselineRun(run: BaselineRun): string {
  return `${formatCount(run.eventsPerS)} events/s (${run.seconds.toFixed(1)} s, ${run.sheds} batches told to retry) load ${load()}`;
}

async function main(): Promise<void> {
  progress(
    `agent: ${formatCount(EVENTS)} events from one plugin (${CONCURRENCY} emits in flight) through one agent; ` +
      `baseline: the same in gzip batches of ${formatCount(BATCH_SIZE)} from one sequential client; ${REPEATS} runs each; load ${load()}`,
  );
  const batches = prepareBatches(EVENTS, BATCH_SIZE);
  progress(`prepared ${batches.length} baseline batches, ${formatCount(batches.reduce((sum, b) => sum + b.body.length, 0) / batches.length)} gzip bytes each`);

  const agentRuns: AgentRun[] = [];
  const baselineRuns: BaselineRun[] = [];
  for (let run = 1; run <= REPEATS; run++) {
    const contender = await runAgent();
    agentRuns.push(contender);
    progress(`run ${run}/${REPEATS} agent:    ${describeAgentRun(contender)}`);
    const baseline = await runBaseline(batches);
    baselineRuns.push(baseline);
    progress(`run ${run}/${REPEATS} baseline: ${describeBaselineRun(baseline)}`);
  }

  const throughput = spread(agentRuns.map((run) => run.eventsPerS));
  const baseline = spread(baselineRuns.map((run) => run.eventsPerS));
  const rss = spread(agentRuns.map((run) => run.peakRssMb));
  const cpu = spread(agentRuns.map((run) => (run.cpuSeconds / EVENTS) * 100_000));
  printFigures([
    {
      bench: BENCH,
      metric: "events_per_s",
      ...versusBaseline(throughput, baseline),
      unit: "events/s",
      runs: REPEATS,
      events: EVENTS,
    },
    { bench: BENCH, metric: "agent_peak_rss_mb", value: Number(rss.value.toFixed(1)), unit: "MB", min: Number(rss.min.toFixed(1)), max: Number(rss.max.toFixed(1)) },
    { bench: BENCH, metric: "cpu_s_per_100k", value: Number(cpu.value.toFixed(2)), unit: "s", min: Number(cpu.min.toFixed(2)), max: Number(cpu.max.toFixed(2)) },
  ]);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`agent bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
