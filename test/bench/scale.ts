/**
 * Scale-out benchmark: collector processes sharing one ClickHouse over its HTTP interface.
 *
 * The storage is the fake ClickHouse of test/fakes/clickhouse in a process of its own: a real
 * HTTP server speaking ClickHouse's HTTP interface with chDB running every statement — not a
 * ClickHouse server (none can be installed here). One engine in one process serves every
 * collector, and on this 2-core machine the collectors, that engine and this driver share the
 * same two cores: the figures say how the collector side scales when storage is one busy
 * process, not how a ClickHouse cluster scales. The JSON lines say so in `storage` and `cores`.
 *
 * - events_per_s_1: BENCH_EVENTS realistic events in gzip batches of 1,000 posted by
 *   BENCH_CLIENTS concurrent clients to one collector process, from the first request until
 *   every batch is answered 202 and /api/stats counts them all.
 * - events_per_s_2: the same batches split over two collector processes on the same storage
 *   (batch i to replica i mod 2), against events_per_s_1 as the baseline. Runs alternate
 *   1 2 1 2 …, each on a fresh fake ClickHouse process; median, min and max of the runs.
 * - takeover_p50_ms / takeover_p99_ms: BENCH_TAKEOVERS take-overs of each kind, alternated:
 *   the replica holding the alert lease is stopped — `stop: "sigkill"` (nothing handed back:
 *   the other waits for the lease to run out) or `stop: "graceful"` (SIGTERM: the lease is
 *   released) — at a random moment of the replicas' cycles, and the time is from the signal
 *   until the other replica's /health says `leader` (polled every 10 ms). The stopped one is
 *   replaced before the next. The lease period (BENCH_LEASE_SECONDS, renewed every quarter
 *   of it) is printed with the figures.
 * - propagation_p99_ms: BENCH_CHANGES config changes PUT through replica A, each timed from
 *   sending the PUT until an agent stream connected to replica B receives it (relayed
 *   through the push log in ClickHouse); alternated with the same change made through B for
 *   a stream on B (`same_replica_p99_ms`, the push without the relay). Target: 2 s.
 *
 * Knobs: BENCH_EVENTS (200000), BENCH_CLIENTS (8), BENCH_REPEATS (3), BENCH_TAKEOVERS (20),
 * BENCH_LEASE_SECONDS (2), BENCH_CHANGES (200), BENCH_RUN_TIMEOUT_S (600).
 */
import { join } from "node:path";
import { AGENT_ID_HEADER, AGENT_NAME_HEADER } from "@vigil/plugin-sdk";
import { startFakeClickHouseProcess, type FakeClickHouseProcess } from "../support/clickhouse-process.js";
import { callApi, startCollectorProcess, tempDir, type CollectorProcess } from "../support/collector-process.js";
import { postUntilStored, prepareBatches, waitForStored } from "./support/collector-client.js";
import type { PreparedBatch } from "./support/batch-file.js";
import { formatCount, load, ms, printFigures, progress, spread, versusBaseline, type Figure } from "./support/figures.js";
import { envInt } from "./support/knobs.js";
import { percentile } from "./support/latency.js";
import { beforeDeadline, checkDeadline, onExit, stopWithin } from "./support/run-guard.js";

const BENCH = "scale";
const EVENTS = envInt("BENCH_EVENTS", 200_000);
const CLIENTS = envInt("BENCH_CLIENTS", 8);
const REPEATS = envInt("BENCH_REPEATS", 3);
const TAKEOVERS = envInt("BENCH_TAKEOVERS", 20);
const LEASE_SECONDS = envInt("BENCH_LEASE_SECONDS", 2);
const CHANGES = envInt("BENCH_CHANGES", 200);
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 600) * 1000;
const BATCH_SIZE = 1_000;
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;
const HEALTH_POLL_MS = 10;
const STORAGE = "fake ClickHouse HTTP interface (test/fakes/clickhouse) over chDB, one process";
const CORES = "collectors, the storage process and this driver share 2 cores";

/** A fresh fake ClickHouse process and the collector processes started on it; all undone however the run ends. */
async function withStorage<T>(prefix: string, body: (start: (name: string, env?: Record<string, string>) => Promise<CollectorProcess>) => Promise<T>): Promise<T> {
  const dir = tempDir(prefix);
  const forgetDir = onExit(dir.remove);
  // A child still running at exit is SIGKILLed by run-guard before the dir goes.
  const collectors: CollectorProcess[] = [];
  let clickhouse: FakeClickHouseProcess | undefined;
  try {
    clickhouse = await startFakeClickHouseProcess({ dataDir: join(dir.path, "clickhouse"), timeoutMs: START_TIMEOUT_MS });
    const url = clickhouse.url;
    const start = async (name: string, env: Record<string, string> = {}) => {
      const collector = await startCollectorProcess({
        dataDir: join(dir.path, name),
        env: { CLICKHOUSE_URL: url, VIGIL_SECRET_KEY: "bench-scale-secret-key-0123456789", VIGIL_ADMIN_PASSWORD: "bench scale admin", ...env },
        timeoutMs: START_TIMEOUT_MS,
      });
      collectors.push(collector);
      return collector;
    };
    const result = await body(start);
    for (const collector of collectors) await stopWithin(collector, STOP_GRACE_MS, "collector");
    await stopWithin(clickhouse, STOP_GRACE_MS, "fake ClickHouse");
    return result;
  } catch (error) {
    for (const collector of collectors) await collector.kill();
    await clickhouse?.kill();
    const stderr = collectors.map((c, i) => (c.stderr() ? `\ncollector ${i} stderr:\n${c.stderr()}` : "")).join("") + (clickhouse?.stderr() ? `\nfake ClickHouse stderr:\n${clickhouse.stderr()}` : "");
    throw new Error(`${(error as Error).message}${stderr}`, { cause: error });
  } finally {
    forgetDir();
    dir.remove();
  }
}

/** Every batch posted (batch i to replica i mod n) by BENCH_CLIENTS concurrent clients, then counted as stored; events/s. */
async function ingestRun(replicas: number, batches: readonly PreparedBatch[]): Promise<{ eventsPerS: number; sheds: number }> {
  return withStorage("vigil-bench-scale-ingest-", async (start) => {
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    const collectors: CollectorProcess[] = [];
    // One after the other: the first runs the migrations.
    for (let i = 0; i < replicas; i++) collectors.push(await start(`collector-${i}`));
    let next = 0;
    let sheds = 0;
    let failed = false;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (!failed && next < batches.length) {
          const index = next++;
          try {
            sheds += await postUntilStored(collectors[index % replicas]!, batches[index]!, deadline);
          } catch (error) {
            failed = true;
            throw error;
          }
        }
      }),
    );
    await waitForStored(collectors[0]!, EVENTS, deadline, { pollMs: 50 });
    return { eventsPerS: EVENTS / ((performance.now() - started) / 1000), sheds };
  });
}

async function alertingOf(collector: CollectorProcess): Promise<string> {
  const res = await fetch(`${collector.url}/health`);
  return ((await res.json()) as { alerting: string }).alerting;
}

async function untilRoles(pair: readonly CollectorProcess[], deadline: number): Promise<[leader: CollectorProcess, follower: CollectorProcess]> {
  for (;;) {
    const roles = await Promise.all(pair.map(alertingOf));
    if (roles[0] === "leader" && roles[1] === "follower") return [pair[0]!, pair[1]!];
    if (roles[1] === "leader" && roles[0] === "follower") return [pair[1]!, pair[0]!];
    checkDeadline(deadline, `one leader and one follower (roles: ${roles.join(", ")})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Take-overs, SIGKILL and graceful alternately: ms from the signal until the other says `leader`. */
async function takeovers(): Promise<{ sigkill: number[]; graceful: number[] }> {
  const env = { CLICKHOUSE_DATABASE: "bench_takeover", VIGIL_LEASE_SECONDS: String(LEASE_SECONDS), VIGIL_LEASE_RENEW_SECONDS: String(LEASE_SECONDS / 4) };
  return withStorage("vigil-bench-scale-takeover-", async (start) => {
    const samples = { sigkill: [] as number[], graceful: [] as number[] };
    let pair = [await start("replica-0", env), await start("replica-1", env)];
    for (let i = 0; i < 2 * TAKEOVERS; i++) {
      const deadline = Date.now() + RUN_TIMEOUT_MS;
      const kind = i % 2 === 0 ? "sigkill" : "graceful";
      const [leader, follower] = await untilRoles(pair, deadline);
      // At a random moment of the replicas' look and renew cycles: right after the new
      // replica's first look, every graceful take-over would wait a whole look interval.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * LEASE_SECONDS * 1000));
      const signalled = performance.now();
      const gone = kind === "sigkill" ? leader.kill() : leader.stop();
      while ((await beforeDeadline(alertingOf(follower), deadline, "the follower's /health")) !== "leader") {
        checkDeadline(deadline, `take-over ${i + 1} (${kind})`);
        await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
      }
      const took = performance.now() - signalled;
      samples[kind].push(took);
      await gone;
      progress(`take-over ${i + 1}/${2 * TAKEOVERS} (${kind}): ${ms(took)} ms; load ${load()}`);
      pair = [follower, await start(`replica-${i + 2}`, env)];
    }
    return samples;
  });
}

/** An agent's push stream (SSE) read as it arrives: `waitFor(version)` resolves at the moment that config version is parsed. */
async function configStream(url: string, token: string, agentId: string) {
  const abort = new AbortController();
  const response = await fetch(`${url}/v1/agents/stream`, {
    headers: { authorization: `Bearer ${token}`, [AGENT_ID_HEADER]: agentId, [AGENT_NAME_HEADER]: "bench-scale", accept: "text/event-stream" },
    signal: abort.signal,
  });
  if (!response.ok) throw new Error(`stream on ${url} answered ${response.status}: ${await response.text()}`);
  const arrived = new Map<number, number>();
  const waiting = new Map<number, (at: number) => void>();
  let buffer = "";
  void (async () => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        const at = performance.now();
        buffer += value;
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut).split("\n");
          buffer = buffer.slice(cut + 2);
          if (!frame.includes("event: config")) continue;
          const data = JSON.parse(frame.filter((line) => line.startsWith("data: ")).map((line) => line.slice(6)).join("\n")) as { version: number };
          const resolve = waiting.get(data.version);
          if (resolve) {
            waiting.delete(data.version);
            resolve(at);
          } else arrived.set(data.version, at);
        }
      }
    } catch {
      // closed by abort
    }
  })();
  return {
    waitFor(version: number): Promise<number> {
      const at = arrived.get(version);
      if (at !== undefined) return Promise.resolve(at);
      return new Promise((resolve) => waiting.set(version, resolve));
    },
    close: () => abort.abort(),
  };
}

/** Config changes through A to a stream on B, alternated with changes through B to a stream on B. */
async function propagation(): Promise<{ relayed: number[]; sameReplica: number[] }> {
  return withStorage("vigil-bench-scale-propagation-", async (start) => {
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    const a = await start("replica-a", { CLICKHOUSE_DATABASE: "bench_propagation" });
    const b = await start("replica-b", { CLICKHOUSE_DATABASE: "bench_propagation" });
    const key = await callApi(a, "POST", "/api/keys", { name: "bench agents", scopes: ["ingest"] });
    if (key.status !== 201) throw new Error(`POST /api/keys answered ${key.status}`);
    const relayedStream = await configStream(b.url, key.json.token, "agent-relayed");
    const localStream = await configStream(b.url, key.json.token, "agent-local");
    const relayed: number[] = [];
    const sameReplica: number[] = [];
    try {
      for (let i = 1; i <= CHANGES; i++) {
        for (const [via, agentId, stream, samples] of [
          [a, "agent-relayed", relayedStream, relayed],
          [b, "agent-local", localStream, sameReplica],
        ] as const) {
          const sent = performance.now();
          const put = await callApi(via, "PUT", `/api/agents/${agentId}/config`, { config: { plugins: { probe: { use: "@vigil/plugin-http-check", config: { targets: [{ url: `http://127.0.0.1:1/${i}` }] } } } } });
          if (put.status !== 200) throw new Error(`PUT config answered ${put.status}: ${JSON.stringify(put.json)}`);
          const received = await beforeDeadline(stream.waitFor(put.json.version as number), Math.min(deadline, Date.now() + 30_000), `change ${i} on ${agentId}`);
          samples.push(received - sent);
        }
        if (i % 50 === 0) progress(`propagation: ${i}/${CHANGES} changes; relayed p99 so far ${ms(percentile(relayed, 99))} ms; load ${load()}`);
      }
    } finally {
      relayedStream.close();
      localStream.close();
    }
    return { relayed, sameReplica };
  });
}

async function main(): Promise<void> {
  progress(`scale: storage is the ${STORAGE}; ${CORES}. Load ${load()}`);
  progress(`ingest: ${formatCount(EVENTS)} events in gzip batches of ${formatCount(BATCH_SIZE)}, ${CLIENTS} clients, runs 1 2 1 2 … x${REPEATS}`);
  const batches = prepareBatches(EVENTS, BATCH_SIZE);
  const one: number[] = [];
  const two: number[] = [];
  for (let run = 1; run <= REPEATS; run++) {
    const single = await ingestRun(1, batches);
    one.push(single.eventsPerS);
    progress(`run ${run}/${REPEATS}, one collector:  ${formatCount(single.eventsPerS)} events/s (${single.sheds} batches told to retry); load ${load()}`);
    const pair = await ingestRun(2, batches);
    two.push(pair.eventsPerS);
    progress(`run ${run}/${REPEATS}, two collectors: ${formatCount(pair.eventsPerS)} events/s (${pair.sheds} batches told to retry); load ${load()}`);
  }

  progress(`take-overs: ${TAKEOVERS} after SIGKILL and ${TAKEOVERS} after SIGTERM, alternated; lease ${LEASE_SECONDS} s renewed every ${LEASE_SECONDS / 4} s`);
  const took = await takeovers();

  progress(`propagation: ${CHANGES} changes through A to a stream on B, alternated with ${CHANGES} through B to a stream on B`);
  const pushed = await propagation();

  const context = { storage: STORAGE, cores: CORES };
  const single = spread(one);
  const pair = spread(two);
  const takeoverFigures = (["sigkill", "graceful"] as const).flatMap((stop): Figure[] =>
    [50, 99].map((p) => ({
      bench: BENCH,
      metric: `takeover_p${p}_ms`,
      value: ms(percentile(took[stop], p)),
      unit: "ms",
      stop,
      min: ms(Math.min(...took[stop])),
      max: ms(Math.max(...took[stop])),
      takeovers: took[stop].length,
      lease_seconds: LEASE_SECONDS,
      renew_seconds: LEASE_SECONDS / 4,
      ...context,
    })),
  );
  printFigures([
    { bench: BENCH, metric: "events_per_s_1", value: Math.round(single.value), min: Math.round(single.min), max: Math.round(single.max), unit: "events/s", runs: REPEATS, events: EVENTS, clients: CLIENTS, ...context },
    { bench: BENCH, metric: "events_per_s_2", ...versusBaseline(pair, single), unit: "events/s", runs: REPEATS, events: EVENTS, clients: CLIENTS, ...context },
    ...takeoverFigures,
    {
      bench: BENCH,
      metric: "propagation_p99_ms",
      value: ms(percentile(pushed.relayed, 99)),
      unit: "ms",
      p50_ms: ms(percentile(pushed.relayed, 50)),
      max_ms: ms(Math.max(...pushed.relayed)),
      same_replica_p99_ms: ms(percentile(pushed.sameReplica, 99)),
      same_replica_p50_ms: ms(percentile(pushed.sameReplica, 50)),
      changes: CHANGES,
      target_ms: 2000,
      ...context,
    },
  ]);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`scale bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
