/**
 * Ingest benchmark: 500,000 realistic events (8 attrs, ~200-byte body) posted by
 * concurrent clients in gzip batches of 1,000 to a collector on the embedded store,
 * timed from the first request until every batch is answered 202 and `/api/stats`
 * counts them all. Baseline, measured in the same run: one process inserting the same
 * rows straight into chDB (`support/ingest-baseline.ts`). Runs alternate A B A B.
 *
 * Knobs: BENCH_CLIENTS (8), BENCH_REPEATS (2), BENCH_EVENTS (500000, for smoke runs),
 * BENCH_RUN_TIMEOUT_S (600). VIGIL_* collector settings in the environment reach the
 * collector (and VIGIL_FLUSH_ROWS the baseline's insert size).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess } from "../support/collector-process.js";
import { writeBatchFile, type PreparedBatch } from "./support/batch-file.js";
import { postUntilStored, prepareBatches, waitForStored } from "./support/collector-client.js";
import { procCpuSeconds, sampleRss } from "./support/proc-stats.js";
import { beforeDeadline, onExit, stopWithin } from "./support/run-guard.js";
import { formatCount, printFigures, progress, spread, versusBaseline } from "./support/figures.js";
import { envInt } from "./support/knobs.js";

const BENCH = "ingest";
const BATCH_SIZE = 1_000;
const EVENTS = envInt("BENCH_EVENTS", 500_000);
const CLIENTS = envInt("BENCH_CLIENTS", 8);
const REPEATS = envInt("BENCH_REPEATS", 2);
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 600) * 1000;
const BASELINE_SCRIPT = join(REPO_ROOT, "test/bench/support/ingest-baseline.ts");
const STATS_POLL_MS = 100;
const STOP_GRACE_MS = 30_000;

interface CollectorRun {
  eventsPerS: number;
  peakRssMb: number;
  sheds: number;
  cpuSeconds: number;
  seconds: number;
}

interface BaselineRun {
  eventsPerS: number;
  peakRssMb: number;
  seconds: number;
}

/** CLIENTS concurrent senders share one list of batches; the first failure stops them all. */
async function postAll(collector: CollectorProcess, batches: readonly PreparedBatch[], deadline: number): Promise<number> {
  let next = 0;
  let sheds = 0;
  let failed = false;
  async function sender(): Promise<void> {
    while (!failed && next < batches.length) {
      const batch = batches[next++]!;
      try {
        sheds += await postUntilStored(collector, batch, deadline);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, sender));
  return sheds;
}

/** From the first request until every event is answered and queryable. */
async function measureIngest(collector: CollectorProcess, batches: readonly PreparedBatch[], deadline: number): Promise<CollectorRun> {
  const pid = collector.child.pid!;
  const rss = sampleRss(pid);
  try {
    const cpuBefore = procCpuSeconds(pid);
    const started = performance.now();
    const sheds = await postAll(collector, batches, deadline);
    await waitForStored(collector, EVENTS, deadline, { pollMs: STATS_POLL_MS });
    const seconds = (performance.now() - started) / 1000;
    return { eventsPerS: EVENTS / seconds, peakRssMb: rss.peakMb(), sheds, cpuSeconds: procCpuSeconds(pid) - cpuBefore, seconds };
  } finally {
    rss.stop();
  }
}

/** One contender run on a fresh data dir and a fresh collector process. */
async function runCollector(batches: readonly PreparedBatch[]): Promise<CollectorRun> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  const data = tempDir("vigil-bench-ingest-");
  let collector: CollectorProcess | undefined;
  const forgetKill = onExit(() => collector?.child.kill("SIGKILL"));
  const forgetDir = onExit(data.remove);
  try {
    collector = await startCollectorProcess({ dataDir: data.path });
    const run = await measureIngest(collector, batches, deadline);
    await stopWithin(collector, STOP_GRACE_MS, "collector");
    return run;
  } catch (error) {
    await collector?.kill();
    const stderr = collector ? `\ncollector stderr:\n${collector.stderr()}` : "";
    throw new Error(`collector run failed: ${(error as Error).message}${stderr}`, { cause: error });
  } finally {
    forgetKill();
    forgetDir();
    data.remove();
  }
}

function exitOf(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

async function runBaseline(batchDir: string): Promise<BaselineRun> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  // `--import tsx` keeps the baseline one process, so killing it leaves no grandchild.
  const child = spawn(process.execPath, ["--import", "tsx", BASELINE_SCRIPT, batchDir], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const kill = () => child.kill("SIGKILL");
  const forgetKill = onExit(kill);
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  try {
    const code = await beforeDeadline(exitOf(child), deadline, "baseline");
    if (code !== 0) throw new Error(`baseline exited with ${code}`);
  } catch (error) {
    kill();
    throw error;
  } finally {
    forgetKill();
  }
  const result = JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as { events: number; seconds: number; events_per_s: number; peak_rss_mb: number };
  if (result.events !== EVENTS) throw new Error(`baseline stored ${result.events} events, expected ${EVENTS}`);
  return { eventsPerS: result.events_per_s, peakRssMb: result.peak_rss_mb, seconds: result.seconds };
}

function describeCollectorRun(run: CollectorRun): string {
  return (
    `${formatCount(run.eventsPerS)} events/s (${run.seconds.toFixed(1)} s, peak RSS ${formatCount(run.peakRssMb)} MB, ` +
    `CPU ${run.cpuSeconds.toFixed(1)} s, ${run.sheds} batches told to retry)`
  );
}

function describeBaselineRun(run: BaselineRun): string {
  return `${formatCount(run.eventsPerS)} events/s (${run.seconds.toFixed(1)} s, peak RSS ${formatCount(run.peakRssMb)} MB)`;
}

function collectorOverrides(): string {
  const set = Object.entries(process.env).filter(([name]) => name.startsWith("VIGIL_"));
  return set.length === 0 ? "collector defaults" : set.map(([name, value]) => `${name}=${value}`).join(" ");
}

async function main(): Promise<void> {
  const work = tempDir("vigil-bench-batches-");
  onExit(work.remove);
  progress(`ingest: ${formatCount(EVENTS)} events in gzip batches of ${formatCount(BATCH_SIZE)}, ${CLIENTS} clients, ${REPEATS} runs each, ${collectorOverrides()}`);
  const batches = prepareBatches(EVENTS, BATCH_SIZE);
  writeBatchFile(work.path, batches);
  const bytes = batches.reduce((sum, batch) => sum + batch.body.length, 0);
  progress(`prepared ${batches.length} batches, ${formatCount(bytes / batches.length)} gzip bytes each`);

  const collectorRuns: CollectorRun[] = [];
  const baselineRuns: BaselineRun[] = [];
  for (let run = 1; run <= REPEATS; run++) {
    const contender = await runCollector(batches);
    collectorRuns.push(contender);
    progress(`run ${run}/${REPEATS} collector: ${describeCollectorRun(contender)}`);
    const baseline = await runBaseline(work.path);
    baselineRuns.push(baseline);
    progress(`run ${run}/${REPEATS} baseline:  ${describeBaselineRun(baseline)}`);
  }

  const throughput = spread(collectorRuns.map((run) => run.eventsPerS));
  const baseline = spread(baselineRuns.map((run) => run.eventsPerS));
  const rss = spread(collectorRuns.map((run) => run.peakRssMb));
  printFigures([
    {
      bench: BENCH,
      metric: "events_per_s",
      ...versusBaseline(throughput, baseline),
      unit: "events/s",
      runs: REPEATS,
      clients: CLIENTS,
    },
    { bench: BENCH, metric: "collector_peak_rss_mb", value: Math.round(rss.value), unit: "MB", min: Math.round(rss.min), max: Math.round(rss.max) },
  ]);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`ingest bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
