/**
 * Cache/DB monitor overhead benchmark: the CPU time the in-app SDK adds to each operation
 * of an ioredis client against the local Redis (GET and SET alternating) and of a pg
 * client against the local PostgreSQL (a SELECT and an UPDATE by primary key,
 * alternating), in each of its modes (pinned by settings: detailed, sampled at 10 %,
 * aggregated, disabled), beside the OpenTelemetry instrumentation of the same client
 * (`@opentelemetry/instrumentation-ioredis` / `-pg`, NodeTracerProvider, batch span
 * processor), all in one run; and the memory a monitor holds with its 1,000-event ring
 * buffer full.
 *
 * Every variant runs in its own process (fixtures/cache-overhead-worker.ts). In it, an
 * uninstrumented and an instrumented connection take turns, BENCH_OPS operations each in
 * blocks of 500 (A B, B A, …), each operation awaited before the next; CPU (user +
 * system) is summed per side. The baseline is thus measured in the same run and at the
 * same moments: `baseline` is the uninstrumented side's CPU per operation,
 * `<variant>_us_per_op_<client>` the instrumented side's minus it, and `ratio` the
 * instrumented side's over the uninstrumented's (contender over baseline, as in the other
 * benches). Medians of BENCH_REPEATS runs, with min and max; the variants' order is
 * reversed every other repeat.
 *
 * A Redis or PostgreSQL call costs this process some 30–60 µs of CPU, so 1 µs is near the
 * noise of a shared machine: beside it, `in_process_us_per_op` is the wrapper's cost
 * against a stub transport that answers at once (client library and wrapper only),
 * paired the same way, for Vigil's modes. Neither side's export is counted: the monitor
 * runs with `ship: false`, OpenTelemetry's exporter discards.
 *
 * `monitor_memory_kb`: what a monitor holds in the heap (`heap_kb`) and in typed arrays
 * (`external_kb`), after a full GC, from its creation until it has processed 20,000
 * operations in detailed mode (its ring buffer full), median over the detailed workers.
 * Apart, `code_kb`: what the first monitor of a process leaves behind once gone (V8's
 * compiled code for the SDK, its module state), paid once per process.
 *
 * Needs Redis on 127.0.0.1:6379 and PostgreSQL on 127.0.0.1:5432 (user postgres, trust).
 * Knobs: BENCH_OPS (20000), BENCH_WARMUP (2000), BENCH_REPEATS (3),
 * BENCH_IN_PROCESS_OPS (200000), BENCH_RUN_TIMEOUT_S (120, per worker),
 * BENCH_SKIP_OTEL=1 (leave OpenTelemetry out, e.g. before its packages are installed).
 */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { REPO_ROOT } from "../support/collector-process.js";
import { CLIENTS, SAMPLED_RATE, VARIANTS, type Client, type Variant, type WorkerResult } from "./fixtures/cache-overhead-worker.js";
import { formatCount, median, printFigures, progress, spread, type Figure, load } from "./support/figures.js";
import { envInt } from "./support/knobs.js";
import { beforeDeadline, onExit } from "./support/run-guard.js";

const BENCH = "cache-overhead";
const OPS = envInt("BENCH_OPS", 20_000);
const WARMUP = envInt("BENCH_WARMUP", 2_000);
const REPEATS = envInt("BENCH_REPEATS", 3);
const IN_PROCESS_OPS = envInt("BENCH_IN_PROCESS_OPS", 200_000);
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 120) * 1000;
const SKIP_OTEL = process.env.BENCH_SKIP_OTEL === "1";
const WORKER = join(REPO_ROOT, "test/bench/fixtures/cache-overhead-worker.ts");
const OTEL_PACKAGES = ["@opentelemetry/sdk-node", "@opentelemetry/instrumentation", "@opentelemetry/instrumentation-ioredis", "@opentelemetry/instrumentation-pg"];
/** The issue's targets, µs of CPU added per operation. */
const TARGET_US: Partial<Record<Variant, number>> = { detailed: 5, aggregated: 1 };
const TARGET_MEMORY_KB = 300;

const variants: readonly Variant[] = SKIP_OTEL ? VARIANTS.filter((variant) => variant !== "otel") : VARIANTS;

function checkOpenTelemetry(): void {
  if (SKIP_OTEL) return;
  const require = createRequire(import.meta.url);
  const missing = OTEL_PACKAGES.filter((name) => {
    try {
      require.resolve(name);
      return false;
    } catch {
      return true;
    }
  });
  if (missing.length > 0) throw new Error(`not installed: ${missing.join(", ")} (root devDependencies): run pnpm install, or BENCH_SKIP_OTEL=1 to leave OpenTelemetry out`);
}

/** One worker process; `--import tsx` keeps it one process, so killing it leaves no grandchild. */
async function runWorker(client: Client, variant: Variant): Promise<WorkerResult> {
  const child = spawn(process.execPath, ["--expose-gc", "--import", "tsx", WORKER, client, variant, String(OPS), String(WARMUP), String(IN_PROCESS_OPS)], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  const kill = () => child.kill("SIGKILL");
  const forgetKill = onExit(kill);
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  try {
    const code = await beforeDeadline(new Promise<number | null>((resolve) => child.once("exit", resolve)), Date.now() + RUN_TIMEOUT_MS, `${client} ${variant} worker`);
    if (code !== 0) throw new Error(`the ${client} ${variant} worker exited with ${code}`);
  } catch (error) {
    kill();
    throw error;
  } finally {
    forgetKill();
  }
  return JSON.parse(stdout.trim().split("\n").at(-1) ?? "") as WorkerResult;
}

const us = (value: number) => Number(value.toFixed(3));
const added = (paired: { plain_us_per_op: number; instrumented_us_per_op: number }) => paired.instrumented_us_per_op - paired.plain_us_per_op;

function describeRun(run: WorkerResult): string {
  const e2e = run.end_to_end;
  const sign = (value: number) => `${value >= 0 ? "+" : ""}${value.toFixed(2)}`;
  const stub = run.in_process ? `; in process ${sign(added(run.in_process))} µs over ${run.in_process.plain_us_per_op.toFixed(2)}` : "";
  const memory = run.memory
    ? `; a monitor holds ${(run.memory.heap_kb + run.memory.external_kb).toFixed(0)} KB (${run.memory.ring_events} events in the ring), its first use left ${run.memory.code_kb.toFixed(0)} KB`
    : "";
  const spans = run.spans !== undefined ? `; ${formatCount(run.spans)} spans exported` : "";
  return `${sign(added(e2e))} µs CPU/op over ${e2e.plain_us_per_op.toFixed(2)} (wall ${e2e.wall_us_per_op.toFixed(0)} µs/op)${stub}${memory}${spans}`;
}


/** runs[client][variant]: one result per repeat. */
type Runs = Record<Client, Partial<Record<Variant, WorkerResult[]>>>;

function figuresOf(runs: Runs): Figure[] {
  const figures: Figure[] = [];
  for (const client of CLIENTS) {
    for (const variant of variants) {
      const own = runs[client][variant]!;
      const cost = spread(own.map((run) => added(run.end_to_end)));
      const baseline = spread(own.map((run) => run.end_to_end.plain_us_per_op));
      const stub = own.flatMap((run) => (run.in_process ? [run.in_process] : []));
      const target = TARGET_US[variant];
      figures.push({
        bench: BENCH,
        metric: `${variant}_us_per_op_${client}`,
        value: us(cost.value),
        unit: "us",
        min: us(cost.min),
        max: us(cost.max),
        baseline: us(baseline.value),
        baseline_min: us(baseline.min),
        baseline_max: us(baseline.max),
        ratio: Number(median(own.map((run) => run.end_to_end.instrumented_us_per_op / run.end_to_end.plain_us_per_op)).toFixed(3)),
        ...(stub.length > 0
          ? {
              in_process_us_per_op: us(median(stub.map(added))),
              in_process_min: us(Math.min(...stub.map(added))),
              in_process_max: us(Math.max(...stub.map(added))),
              in_process_baseline_us_per_op: us(median(stub.map((s) => s.plain_us_per_op))),
              in_process_ops: stub[0]!.ops,
            }
          : {}),
        ...(variant === "sampled" ? { sample_rate: SAMPLED_RATE } : {}),
        ...(target !== undefined ? { target_us: target } : {}),
        ops: OPS,
        runs: own.length,
      });
    }
  }
  const memory = CLIENTS.flatMap((client) => (runs[client].detailed ?? []).flatMap((run) => (run.memory ? [run.memory] : [])));
  const held = spread(memory.map((m) => m.heap_kb + m.external_kb));
  figures.push({
    bench: BENCH,
    metric: "monitor_memory_kb",
    value: Math.round(held.value),
    unit: "KB",
    min: Math.round(held.min),
    max: Math.round(held.max),
    heap_kb: Math.round(median(memory.map((m) => m.heap_kb))),
    external_kb: Math.round(median(memory.map((m) => m.external_kb))),
    code_kb: Math.round(median(memory.map((m) => m.code_kb))),
    buffer_size: 1000,
    ring_events: Math.min(...memory.map((m) => m.ring_events)),
    ops_processed: memory[0]!.ops,
    target_kb: TARGET_MEMORY_KB,
    runs: memory.length,
  });
  return figures;
}

/** For people: each target and whether this run met it. */
function verdicts(figures: readonly Figure[]): void {
  const figure = (metric: string) => figures.find((f) => f.metric === metric);
  for (const client of CLIENTS) {
    const otel = figure(`otel_us_per_op_${client}`)?.value;
    for (const variant of variants) {
      if (variant === "otel") continue;
      const own = figure(`${variant}_us_per_op_${client}`)!;
      const target = TARGET_US[variant];
      const inProcess = Number(own.in_process_us_per_op);
      const meets = (value: number, limit: number) => (value <= limit ? "met" : "MISSED");
      const checks = [
        target !== undefined ? `target ≤ ${target} µs: end to end ${meets(own.value, target)}, in process ${meets(inProcess, target)}` : "",
        otel !== undefined ? `less than OpenTelemetry (${otel} µs): ${own.value < otel ? "yes" : "NO"}` : "",
      ].filter(Boolean);
      progress(`${client} ${variant}: adds ${own.value} µs/op end to end (${own.in_process_us_per_op} µs in process)${checks.length > 0 ? `; ${checks.join("; ")}` : ""}`);
    }
  }
  const memory = figure("monitor_memory_kb")!;
  progress(`a monitor with its 1,000-event buffer full holds ${memory.value} KB (target ≤ ${TARGET_MEMORY_KB} KB: ${memory.value <= TARGET_MEMORY_KB ? "met" : "MISSED"}); the SDK's first use leaves ${memory.code_kb} KB more, once per process`);
}

async function main(): Promise<void> {
  checkOpenTelemetry();
  progress(
    `cache-overhead: ${formatCount(OPS)} operations per side after ${formatCount(WARMUP)} of warm-up (${formatCount(IN_PROCESS_OPS)} in process), ` +
      `variants ${variants.join(", ")}, each against an uninstrumented connection in turns; ${REPEATS} repeats; load ${load()}`,
  );
  const runs: Runs = { redis: {}, pg: {} };
  for (let repeat = 0; repeat < REPEATS; repeat++) {
    const order = repeat % 2 === 0 ? variants : [...variants].reverse();
    for (const client of CLIENTS) {
      for (const variant of order) {
        const result = await runWorker(client, variant);
        (runs[client][variant] ??= []).push(result);
        progress(`run ${repeat + 1}/${REPEATS} ${client} ${variant.padEnd(10)} ${describeRun(result)}; load ${load()}`);
      }
    }
  }
  const figures = figuresOf(runs);
  verdicts(figures);
  printFigures(figures);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`cache-overhead bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
