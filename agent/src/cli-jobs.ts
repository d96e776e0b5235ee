import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { defaultPluginId, importPlugin, loadAgentConfig, validatePluginConfigs } from "./config/load.js";
import { ConfigError, formatProblems } from "./config/problems.js";
import type { AgentConfig } from "./config/schema.js";
import { startAgent, type RunningAgent } from "./agent.js";
import { stopOnSignals } from "./cli-signals.js";
import { createAgentLogger } from "./log.js";

/**
 * `vigil-agent jobs …`: the scheduled jobs of a job-running plugin (the social plugin by
 * default). `list` reads what the running agent's plugin publishes at the local intake
 * (`GET /v1/plugins/<id>/jobs`); `run` starts the agent with only that plugin, standalone:
 * `--once` runs every due job once, waits until the events reached the collector and
 * exits; without it, the plugin looks for due jobs every `--interval` seconds until stopped.
 * The plugin takes part through two config fields of its own: `run_due_once` (it reports
 * `run_once: "done"`, `run_once_failed` and `run_once_error` in its status details) and
 * `due_check_interval`.
 */

interface JobRow {
  id: string;
  name: string;
  platform: string;
  schedule: string;
  status: string;
  running?: boolean;
  last_run_at: string | null;
  last_status: string | null;
  next_run_at: string | null;
}

const STATUS_POLL_MS = 200;

export async function jobsList(url: string, plugin: string): Promise<number> {
  let body: { jobs: JobRow[]; updated_at?: string };
  try {
    const response = await fetch(new URL(`/v1/plugins/${encodeURIComponent(plugin)}/jobs`, url), { signal: AbortSignal.timeout(5000) });
    if (response.status === 404) {
      process.stderr.write(`the agent at ${url} has no job list from a plugin "${plugin}": is that plugin running there (see --plugin)?\n`);
      return 1;
    }
    if (!response.ok) throw new Error(`answered ${response.status}`);
    body = (await response.json()) as typeof body;
  } catch (error) {
    process.stderr.write(`cannot read the jobs at ${url}: ${(error as Error).message}. Is the agent running, with its intake enabled?\n`);
    return 1;
  }
  process.stdout.write(renderJobs(body.jobs));
  return 0;
}

function when(value: string | null): string {
  if (!value) return "-";
  return value.replace("T", " ").replace(/\.\d{3}Z$/, "Z");
}

export function renderJobs(jobs: readonly JobRow[]): string {
  if (jobs.length === 0) return "no jobs\n";
  const rows = [
    ["ID", "NAME", "PLATFORM", "SCHEDULE", "STATUS", "LAST RUN", "NEXT RUN"],
    ...jobs.map((job) => [
      job.id,
      job.name.length > 40 ? `${job.name.slice(0, 39)}…` : job.name,
      job.platform,
      job.schedule,
      job.running ? `${job.status}, running` : job.status,
      job.last_run_at ? `${when(job.last_run_at)}${job.last_status ? ` ${job.last_status}` : ""}` : "-",
      when(job.next_run_at),
    ]),
  ];
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return `${rows.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join("  ")).join("\n")}\n`;
}

/** The plugin entries `--plugin` names: by instance id, or else by plugin name. */
async function selectPlugins(config: AgentConfig, plugin: string, baseDir: string): Promise<AgentConfig["plugins"]> {
  const byId = config.plugins.filter((entry) => (entry.id ?? defaultPluginId(entry.use)) === plugin);
  if (byId.length > 0) return byId;
  const byName: AgentConfig["plugins"] = [];
  for (const entry of config.plugins) {
    try {
      if ((await importPlugin(entry.use, baseDir)).name === plugin) byName.push(entry);
    } catch {
      // validatePluginConfigs reports it if it is selected; here it is simply not the plugin asked for
    }
  }
  return byName;
}

export interface JobsRunOptions {
  file: string;
  plugin: string;
  once: boolean;
  intervalSeconds: number;
  timeoutSeconds: number;
}

export async function jobsRun(options: JobsRunOptions): Promise<number | undefined> {
  let config: AgentConfig;
  try {
    config = await loadAgentConfig(options.file);
    const selected = await selectPlugins(config, options.plugin, dirname(options.file));
    if (selected.length === 0) {
      process.stderr.write(`${options.file}: no plugin "${options.plugin}" (by id or name) to run jobs of; see --plugin\n`);
      return 2;
    }
    const standalone = options.once ? { run_due_once: true } : { due_check_interval: options.intervalSeconds * 1000 };
    config = {
      ...config,
      // A standalone run-once must not clash with the agent service's intake port.
      intake: options.once ? { ...config.intake, enabled: false } : config.intake,
      plugins: selected.map((entry) => ({ ...entry, enabled: true, config: { ...entry.config, ...standalone } })),
    };
    const problems = await validatePluginConfigs(config, dirname(options.file));
    if (problems.length > 0) throw new ConfigError(problems);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${options.file}: invalid configuration\n${formatProblems(error.problems).replace(/^/gm, "  ")}\n`);
    return 2;
  }
  const ids = new Set(config.plugins.map((entry) => entry.id ?? defaultPluginId(entry.use)));
  const log = createAgentLogger({ format: config.log.format, level: config.log.level });
  const agent = await startAgent(config, { configFile: options.file, log });
  if (!options.once) {
    stopOnSignals(agent, log);
    return undefined;
  }
  const interrupted = new AbortController();
  const onSignal = () => interrupted.abort();
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  try {
    const code = await runOnce(agent, ids, Date.now() + options.timeoutSeconds * 1000, interrupted.signal);
    return code;
  } finally {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
    await agent.stop();
    log.flush?.();
  }
}

/** Waits for every selected plugin to report its run-once done, then for the queue to drain to the collector. */
async function runOnce(agent: RunningAgent, ids: ReadonlySet<string>, deadline: number, signal: AbortSignal): Promise<number> {
  const report = (line: string) => process.stdout.write(`${line}\n`);
  for (;;) {
    const plugins = agent.status().plugins.filter((p) => ids.has(p.id));
    if (plugins.length > 0 && plugins.every((p) => p.details?.run_once === "done")) {
      let failed = false;
      for (const p of plugins) {
        const d = p.details!;
        if (d.run_once_error) {
          failed = true;
          report(`${p.id}: ${d.run_once_error}`);
        } else {
          report(`${p.id}: ${d.run_once_runs} due job${d.run_once_runs === 1 ? "" : "s"} run, ${Number(d.run_once_runs) - Number(d.run_once_failed)} completed, ${d.run_once_failed} failed`);
          if (Number(d.run_once_failed) > 0) failed = true;
        }
      }
      const drained = await drain(agent, deadline, signal);
      if (!drained) {
        const queued = agent.status().queue.records;
        report(`${queued} event${queued === 1 ? "" : "s"} not yet delivered to the collector (${agent.status().shipper.last_error ?? "still sending"}); they stay queued and are sent at the agent's next start`);
        return 1;
      }
      return failed ? 1 : 0;
    }
    if (signal.aborted) {
      report("interrupted before the due jobs ended");
      return 1;
    }
    if (Date.now() > deadline) {
      const states = plugins.map((p) => `${p.id}: ${p.state}${p.message ? ` (${p.message})` : ""}`).join("; ");
      report(`the due jobs did not end within --timeout: ${states || "the plugin did not start"}`);
      return 1;
    }
    await sleep(STATUS_POLL_MS);
  }
}

async function drain(agent: RunningAgent, deadline: number, signal: AbortSignal): Promise<boolean> {
  while (agent.status().queue.records > 0) {
    if (Date.now() > deadline || signal.aborted) return false;
    await sleep(STATUS_POLL_MS);
  }
  return true;
}
