/**
 * Config push latency benchmark: BENCH_CHANGES (200) configuration changes made one after
 * another through the collector API (`PUT /api/agents/:id/config`), each timed from the
 * moment the PUT's answer is read until the plugin's `onConfig` fires. The plugin
 * (fixtures/config-probe.js) stamps the wall clock (performance.timeOrigin +
 * performance.now(), sub-millisecond) first thing in onConfig and posts it with the
 * change's label to a small HTTP server of this bench, on the same clock. A latency can be
 * negative: the collector pushes the change before it answers the PUT, so the agent may
 * apply it before the bench has read the answer; the figures keep it as measured and also
 * give the latency from the moment the PUT was sent. The next change waits for the previous one's report (bounded).
 *
 * The agent's backup poll is set to 3600 s so the push channel is what gets measured;
 * its heartbeat can still notice a newer version and poll for it, so the figures say how
 * many changes arrived by push. Each run has a fresh collector and agent; runs repeat.
 *
 * Knobs: BENCH_CHANGES (200), BENCH_REPEATS (2), BENCH_CHANGE_TIMEOUT_S (10),
 * BENCH_RUN_TIMEOUT_S (300).
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess } from "../support/collector-process.js";
import { startAgentProcess, writeAgentConfig, type AgentProcess } from "../support/agent-process.js";
import { median, printFigures, progress, spread, load, ms } from "./support/figures.js";
import { envInt } from "./support/knobs.js";
import { percentile } from "./support/latency.js";
import { beforeDeadline, onExit, stopWithin, processDetails } from "./support/run-guard.js";
import { waitForPush } from "./support/agent-wait.js";

const BENCH = "config-push";
const CHANGES = envInt("BENCH_CHANGES", 200);
const REPEATS = envInt("BENCH_REPEATS", 2);
const CHANGE_TIMEOUT_MS = envInt("BENCH_CHANGE_TIMEOUT_S", 10) * 1000;
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 300) * 1000;
const PROBE = join(REPO_ROOT, "test/bench/fixtures/config-probe.js");
const PLUGIN_ID = "probe";
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;

/**
 * Wall-clock time with sub-millisecond resolution, the same in every process on this
 * machine (the probe plugin stamps onConfig the same way). Date.now() would round every
 * latency, most of which are a few ms, to whole milliseconds.
 */
function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

interface Run {
  /** onConfig time − PUT answered time, ms, one per change */
  latencies: number[];
  /** onConfig time − the time the PUT was sent, ms */
  fromSent: number[];
  /** report received by the bench − PUT answered time, ms (includes the report's own trip) */
  reported: number[];
  viaPush: number;
  viaPoll: number;
}

/** Receives the probe's reports; `expect(label)` resolves with the onConfig time of that label. */
async function startReportServer(): Promise<{ url: string; expect(label: string): Promise<{ at: number; receivedAt: number }>; close(): Promise<void> }> {
  const waiting = new Map<string, (report: { at: number; receivedAt: number }) => void>();
  const early = new Map<string, { at: number; receivedAt: number }>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (body += chunk));
    req.on("end", () => {
      const receivedAt = wallClockMs();
      try {
        const { label, at } = JSON.parse(body) as { label: string; at: number };
        const report = { at: Number(at), receivedAt };
        const resolve = waiting.get(label);
        if (resolve) {
          waiting.delete(label);
          resolve(report);
        } else early.set(label, report);
        res.writeHead(204).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/report`,
    expect(label) {
      const report = early.get(label);
      if (report) {
        early.delete(label);
        return Promise.resolve(report);
      }
      return new Promise((resolve) => waiting.set(label, resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function putConfig(collector: CollectorProcess, agentId: string, label: string, deadline: number): Promise<number> {
  const response = await beforeDeadline(
    fetch(`${collector.url}/api/agents/${agentId}/config`, {
      method: "PUT",
      headers: { authorization: `Bearer ${collector.token}`, "content-type": "application/json" },
      body: JSON.stringify({ config: { plugins: { [PLUGIN_ID]: { config: { label } } } } }),
    }),
    deadline,
    `PUT config ${label}`,
  );
  const text = await response.text();
  if (response.status !== 200) throw new Error(`PUT config ${label} answered ${response.status}: ${text}`);
  return (JSON.parse(text) as { version: number }).version;
}

async function runOnce(run: number): Promise<Run> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  const dir = tempDir("vigil-bench-config-push-");
  const forgetDir = onExit(dir.remove);
  // A child still running at exit is SIGKILLed by run-guard before the dir goes.
  let collector: CollectorProcess | undefined;
  let agent: AgentProcess | undefined;
  const reports = await startReportServer();
  try {
    collector = await startCollectorProcess({ dataDir: join(dir.path, "collector"), timeoutMs: START_TIMEOUT_MS });
    agent = await startAgentProcess(
      writeAgentConfig(dir.path, {
        collector: { url: collector.url, api_key: collector.token },
        agent: { name: "bench-config-push", data_dir: join(dir.path, "agent-data") },
        intake: { address: "127.0.0.1:0" },
        config_channel: { push: true, backup_poll_seconds: 3600 },
        log: { format: "json", level: "info" },
        plugins: [{ use: PROBE, id: PLUGIN_ID, config: { report_url: reports.url } }],
      }),
      { timeoutMs: START_TIMEOUT_MS },
    );
    const agentId = await waitForPush(agent, deadline);

    const latencies: number[] = [];
    const fromSent: number[] = [];
    const reported: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const label = `run-${run}-change-${i}`;
      const report = reports.expect(label);
      const sentAt = wallClockMs();
      await putConfig(collector, agentId, label, deadline);
      const answeredAt = wallClockMs();
      const { at, receivedAt } = await beforeDeadline(report, Math.min(deadline, Date.now() + CHANGE_TIMEOUT_MS), `onConfig of change ${i} (${label})`);
      latencies.push(at - answeredAt);
      fromSent.push(at - sentAt);
      reported.push(receivedAt - answeredAt);
    }
    // After the agent stopped, every log line it wrote has been read.
    await stopWithin(agent, STOP_GRACE_MS, "agent");
    await stopWithin(collector, STOP_GRACE_MS, "collector");
    const received = agent.logs.filter((record) => record.msg === "remote configuration received");
    return {
      latencies,
      fromSent,
      reported,
      viaPush: received.filter((record) => record.via === "push").length,
      viaPoll: received.filter((record) => record.via === "poll").length,
    };
  } catch (error) {
    await agent?.kill();
    await collector?.kill();
    throw new Error(`config-push run ${run} failed: ${(error as Error).message}${processDetails(agent, collector)}`, { cause: error });
  } finally {
    await reports.close();
    forgetDir();
    dir.remove();
  }
}



async function main(): Promise<void> {
  progress(`config-push: ${CHANGES} changes through PUT /api/agents/:id/config, each awaited at the plugin's onConfig; ${REPEATS} runs; load ${load()}`);
  const runs: Run[] = [];
  for (let run = 1; run <= REPEATS; run++) {
    const started = performance.now();
    const result = await runOnce(run);
    runs.push(result);
    progress(
      `run ${run}/${REPEATS}: p50 ${ms(percentile(result.latencies, 50))} ms, p99 ${ms(percentile(result.latencies, 99))} ms, ` +
        `min ${ms(Math.min(...result.latencies))} ms, max ${ms(Math.max(...result.latencies))} ms; ` +
        `from PUT sent p50 ${ms(percentile(result.fromSent, 50))} ms, p99 ${ms(percentile(result.fromSent, 99))} ms; ` +
        `report received p50 ${ms(percentile(result.reported, 50))} ms; ` +
        `${result.viaPush} by push, ${result.viaPoll} by poll; ${((performance.now() - started) / 1000).toFixed(1)} s; load ${load()}`,
    );
  }
  const all = runs.flatMap((run) => run.latencies);
  const p50 = spread(runs.map((run) => percentile(run.latencies, 50)));
  const p99 = spread(runs.map((run) => percentile(run.latencies, 99)));
  const common = {
    runs: REPEATS,
    changes: CHANGES,
    from_put_sent_p50_ms: ms(median(runs.map((run) => percentile(run.fromSent, 50)))),
    from_put_sent_p99_ms: ms(median(runs.map((run) => percentile(run.fromSent, 99)))),
    sample_min_ms: ms(Math.min(...all)),
    sample_max_ms: ms(Math.max(...all)),
    via_push: runs.reduce((sum, run) => sum + run.viaPush, 0),
    via_poll: runs.reduce((sum, run) => sum + run.viaPoll, 0),
  };
  // For people: until the bench had the report (onConfig plus the report's own trip back).
  progress(`report received (onConfig + its POST back), median of runs: ${ms(median(runs.map((run) => percentile(run.reported, 50))))} ms`);
  printFigures([
    { bench: BENCH, metric: "p50_ms", value: ms(p50.value), unit: "ms", min: ms(p50.min), max: ms(p50.max), ...common },
    { bench: BENCH, metric: "p99_ms", value: ms(p99.value), unit: "ms", min: ms(p99.min), max: ms(p99.max), ...common },
  ]);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`config-push bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
