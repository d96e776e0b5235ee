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
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NDJSON_CONTENT_TYPE, uuidv7 } from "@vigil/plugin-sdk";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess } from "../support/collector-process.js";
import { gzipNdjson, postBatch, realisticEvent } from "../support/events.js";
import { writeBatchFile, type PreparedBatch } from "./support/batch-file.js";
import { formatCount, printFigures, progress, spread } from "./support/figures.js";
import { envInt } from "./support/knobs.js";

const BENCH = "ingest";
const BATCH_SIZE = 1_000;
const EVENTS = envInt("BENCH_EVENTS", 500_000);
const CLIENTS = envInt("BENCH_CLIENTS", 8);
const REPEATS = envInt("BENCH_REPEATS", 2);
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 600) * 1000;
const BASELINE_SCRIPT = join(REPO_ROOT, "test/bench/support/ingest-baseline.ts");
const RSS_SAMPLE_MS = 100;
const STATS_POLL_MS = 100;
const STOP_GRACE_MS = 30_000;
/** /proc/<pid>/stat counts CPU time in clock ticks; USER_HZ is 100 on every Linux we run on. */
const CLOCK_TICKS_PER_S = 100;

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

/** Undone on any exit, so a failed or interrupted bench leaves no collector or data dir behind. */
const cleanups = new Set<() => void>();
process.on("exit", () => {
  for (const cleanup of cleanups) cleanup();
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => process.exit(130));

/** Fails with a clear message instead of hanging when `promise` outlives the deadline. */
async function beforeDeadline<T>(promise: Promise<T>, deadline: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: deadline passed`)), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

function checkDeadline(deadline: number, what: string): void {
  if (Date.now() > deadline) throw new Error(`${what}: deadline passed`);
}

/**
 * The request bodies, compressed before any clock starts (an agent compresses in its
 * own process). Each run gets a fresh collector and data dir, so the same batch ids
 * can be sent every run without being answered as duplicates.
 */
function prepareBatches(): PreparedBatch[] {
  const now = Date.now();
  const batches: PreparedBatch[] = [];
  for (let first = 0; first < EVENTS; first += BATCH_SIZE) {
    const events = [];
    for (let i = first; i < Math.min(first + BATCH_SIZE, EVENTS); i++) events.push(realisticEvent(i, now));
    batches.push({ id: uuidv7(), body: gzipNdjson(events) });
  }
  return batches;
}

/** How long a Retry-After header (seconds or an HTTP date) asks to wait, in ms; 1 s when absent. */
function retryAfterMs(header: string | null): number {
  if (header === null) return 1_000;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 1_000;
}

/**
 * Posts one batch until the collector stores it. 429 and 503 are the collector asking
 * for patience: wait as Retry-After says and resend the same batch id, as an agent does.
 * Returns how many times it was told to wait.
 */
async function postUntilStored(collector: CollectorProcess, batch: PreparedBatch, deadline: number): Promise<number> {
  for (let sheds = 0; ; sheds++) {
    checkDeadline(deadline, `batch ${batch.id}`);
    const response = await beforeDeadline(
      postBatch(collector.url, collector.token, batch.body, { batchId: batch.id, gzip: true, contentType: NDJSON_CONTENT_TYPE }),
      deadline,
      `batch ${batch.id}`,
    );
    const text = await response.text();
    if (response.status === 202) return sheds;
    if (response.status !== 429 && response.status !== 503) throw new Error(`batch ${batch.id} answered ${response.status}: ${text}`);
    await sleep(Math.min(retryAfterMs(response.headers.get("retry-after")), Math.max(0, deadline - Date.now())));
  }
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

async function storedEvents(collector: CollectorProcess): Promise<number> {
  const response = await fetch(`${collector.url}/api/stats`, { headers: { authorization: `Bearer ${collector.token}` } });
  if (!response.ok) throw new Error(`GET /api/stats answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { total_events: number }).total_events;
}

/** Every 202 already means "in ClickHouse"; this checks the events are also queryable. */
async function waitUntilQueryable(collector: CollectorProcess, expected: number, deadline: number): Promise<void> {
  for (;;) {
    const stored = await beforeDeadline(storedEvents(collector), deadline, "GET /api/stats");
    if (stored === expected) return;
    if (stored > expected) throw new Error(`the collector counts ${stored} events, ${stored - expected} more than were sent`);
    checkDeadline(deadline, `waiting for ${expected} events (${stored} queryable)`);
    await sleep(STATS_POLL_MS);
  }
}

function procStatusKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return match ? Number(match[1]) : 0;
}

/** User + system CPU seconds the process has used so far. */
function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
}

/**
 * Samples the collector's resident memory while it works. VmHWM (the kernel's own
 * high-water mark) catches peaks between samples; the samples are a check on it.
 */
function sampleRss(pid: number): { peakMb(): number; stop(): void } {
  let peakKb = 0;
  const timer = setInterval(() => {
    try {
      peakKb = Math.max(peakKb, procStatusKb(pid, "VmRSS"));
    } catch {
      // The collector is gone; the run fails on its next request and says why.
    }
  }, RSS_SAMPLE_MS);
  return {
    peakMb: () => Math.max(peakKb, procStatusKb(pid, "VmHWM")) / 1024,
    stop: () => clearInterval(timer),
  };
}

async function stopCollector(collector: CollectorProcess): Promise<void> {
  try {
    await beforeDeadline(collector.stop(), Date.now() + STOP_GRACE_MS, "collector shutdown");
  } catch {
    await collector.kill();
  }
}

/** From the first request until every event is answered and queryable. */
async function measureIngest(collector: CollectorProcess, batches: readonly PreparedBatch[], deadline: number): Promise<CollectorRun> {
  const pid = collector.child.pid!;
  const rss = sampleRss(pid);
  try {
    const cpuBefore = procCpuSeconds(pid);
    const started = performance.now();
    const sheds = await postAll(collector, batches, deadline);
    await waitUntilQueryable(collector, EVENTS, deadline);
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
  const killCollector = () => collector?.child.kill("SIGKILL");
  cleanups.add(data.remove);
  cleanups.add(killCollector);
  try {
    collector = await startCollectorProcess({ dataDir: data.path });
    const run = await measureIngest(collector, batches, deadline);
    await stopCollector(collector);
    return run;
  } catch (error) {
    await collector?.kill();
    const stderr = collector ? `\ncollector stderr:\n${collector.stderr()}` : "";
    throw new Error(`collector run failed: ${(error as Error).message}${stderr}`, { cause: error });
  } finally {
    cleanups.delete(killCollector);
    cleanups.delete(data.remove);
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
  cleanups.add(kill);
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  try {
    const code = await beforeDeadline(exitOf(child), deadline, "baseline");
    if (code !== 0) throw new Error(`baseline exited with ${code}`);
  } catch (error) {
    kill();
    throw error;
  } finally {
    cleanups.delete(kill);
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
  cleanups.add(work.remove);
  progress(`ingest: ${formatCount(EVENTS)} events in gzip batches of ${formatCount(BATCH_SIZE)}, ${CLIENTS} clients, ${REPEATS} runs each, ${collectorOverrides()}`);
  const batches = prepareBatches();
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
      value: Math.round(throughput.value),
      unit: "events/s",
      min: Math.round(throughput.min),
      max: Math.round(throughput.max),
      baseline: Math.round(baseline.value),
      baseline_min: Math.round(baseline.min),
      baseline_max: Math.round(baseline.max),
      ratio: Number((throughput.value / baseline.value).toFixed(3)),
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
