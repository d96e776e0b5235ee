import { dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { loadAgentConfig, validatePluginConfigs } from "./config/load.js";
import { ConfigError, formatProblems } from "./config/problems.js";
import { startAgent, type AgentStatus } from "./agent.js";
import { jobsList, jobsRun } from "./cli-jobs.js";
import { stopOnSignals } from "./cli-signals.js";
import { createAgentLogger } from "./log.js";
import { VERSION } from "./version.js";

const HELP = `vigil-agent — runs Vigil source plugins and ships their events to the collector

Usage:
  vigil-agent run --config FILE        run the agent
  vigil-agent validate --config FILE   check a configuration file; exit 0, or 2 listing every problem by path
  vigil-agent status [--watch] [--url URL]
                                       print the running agent's status (from its local intake,
                                       default http://127.0.0.1:4601); --watch refreshes in place
  vigil-agent jobs list [--url URL] [--plugin ID]
                                       list the scheduled jobs the running agent's plugin runs
                                       (id, name, platform, schedule, status, last run, next run)
  vigil-agent jobs run --once --config FILE [--plugin ID] [--timeout SECONDS]
                                       run every due job once with only that plugin, wait until
                                       the events reached the collector, and exit: 0 when every
                                       run completed, 1 when one failed or events stay queued
  vigil-agent jobs run --config FILE [--plugin ID] [--interval SECONDS]
                                       run only that plugin's jobs, looking for due jobs every
                                       --interval seconds (default 60), until stopped
  vigil-agent --help | --version

Options:
  -c, --config FILE   YAML configuration (\${ENV} and \${ENV:-default} are interpolated)
  -w, --watch         with status: refresh every 2 s until Ctrl-C
  --url URL           with status and jobs list: the agent's intake URL
  --interval SECONDS  with status --watch: refresh interval (default 2); with jobs run: the
                      due-check cadence of the standalone loop (default 60)
  --plugin ID         with jobs: the plugin instance id, or the plugin name (default "social")
  --once              with jobs run: run the due jobs once and exit
  --timeout SECONDS   with jobs run --once: give up waiting after this long (default 900)

Exit codes: 0 ok, 1 runtime failure, 2 invalid configuration or usage.
Signals: SIGTERM or SIGINT stops plugins, finishes the batch in flight and exits 0; queued
events stay on disk and are sent at the next start. A second signal exits at once.
`;

export async function main(argv: string[] = process.argv.slice(2)): Promise<number | undefined> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: "string", short: "c" },
        watch: { type: "boolean", short: "w" },
        url: { type: "string" },
        interval: { type: "string" },
        plugin: { type: "string" },
        once: { type: "boolean" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
    });
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\nRun "vigil-agent --help" for the options.\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (values.version) {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const command = positionals[0];
  if (command === "status") return status(values.url ?? "http://127.0.0.1:4601", values.watch ?? false, Number(values.interval ?? 2));
  if (command === "jobs") return jobs(positionals[1], values);
  if (command !== "run" && command !== "validate") {
    process.stderr.write(`${command ? `unknown command "${command}"` : "no command given"}: use run, validate, status or jobs.\nRun "vigil-agent --help" for the options.\n`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write(`vigil-agent ${command} needs --config FILE.\n`);
    return 2;
  }
  const file = resolve(values.config);
  let config;
  try {
    config = await loadAgentConfig(file);
    const problems = await validatePluginConfigs(config, dirname(file));
    if (problems.length > 0) throw new ConfigError(problems);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${file}: invalid configuration\n${formatProblems(error.problems).replace(/^/gm, "  ")}\n`);
    return 2;
  }
  if (command === "validate") {
    process.stdout.write(`${file}: valid (${config.plugins.length} plugin${config.plugins.length === 1 ? "" : "s"})\n`);
    return 0;
  }
  const log = createAgentLogger({ format: config.log.format, level: config.log.level });
  const agent = await startAgent(config, { configFile: file, log });
  stopOnSignals(agent, log);
  return undefined;
}

async function jobs(sub: string | undefined, values: { config?: string; url?: string; plugin?: string; once?: boolean; interval?: string; timeout?: string }): Promise<number | undefined> {
  const plugin = values.plugin ?? "social";
  if (sub === "list") return jobsList(values.url ?? "http://127.0.0.1:4601", plugin);
  if (sub !== "run") {
    process.stderr.write(`${sub ? `unknown jobs command "${sub}"` : "jobs needs a command"}: use jobs list or jobs run.\nRun "vigil-agent --help" for the options.\n`);
    return 2;
  }
  if (!values.config) {
    process.stderr.write("vigil-agent jobs run needs --config FILE.\n");
    return 2;
  }
  const seconds = (raw: string | undefined, fallback: number, flag: string) => {
    const value = Number(raw ?? fallback);
    if (!Number.isFinite(value) || value <= 0) throw new RangeError(`${flag} must be a positive number of seconds, got "${raw}"`);
    return value;
  };
  let intervalSeconds: number;
  let timeoutSeconds: number;
  try {
    intervalSeconds = seconds(values.interval, 60, "--interval");
    timeoutSeconds = seconds(values.timeout, 900, "--timeout");
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  return jobsRun({ file: resolve(values.config), plugin, once: values.once ?? false, intervalSeconds, timeoutSeconds });
}

async function status(url: string, watch: boolean, intervalSeconds: number): Promise<number> {
  const show = async (): Promise<boolean> => {
    try {
      const response = await fetch(new URL("/status", url), { signal: AbortSignal.timeout(5000) });
      const body = (await response.json()) as AgentStatus;
      const text = renderStatus(body);
      process.stdout.write(watch && process.stdout.isTTY ? `\x1b[H\x1b[2J${text}` : text);
      return true;
    } catch (error) {
      process.stderr.write(`cannot read the agent's status at ${url}: ${(error as Error).message}. Is the agent running, with its intake enabled?\n`);
      return false;
    }
  };
  const ok = await show();
  if (!watch) return ok ? 0 : 1;
  const every = Number.isFinite(intervalSeconds) && intervalSeconds > 0 ? intervalSeconds : 2;
  await new Promise<void>((resolveWatch) => {
    const timer = setInterval(() => void show(), every * 1000);
    process.once("SIGINT", () => {
      clearInterval(timer);
      resolveWatch();
    });
  });
  return 0;
}

export function renderStatus(s: AgentStatus): string {
  const lines = [
    `agent     ${s.name} (${s.id}) v${s.version}, up ${s.uptime_s}s`,
    `collector ${s.collector}  push ${s.channel.push_connected ? "connected" : "disconnected"}  config v${s.config_version}${s.config_error ? `  REFUSED: ${s.config_error.split("\n")[0]}` : ""}`,
    `queue     ${s.queue.records} events, ${(s.queue.bytes / 1024).toFixed(1)} KiB${s.queue.dropped ? `, ${s.queue.dropped} dropped` : ""}${s.queue.corrupt ? `, ${s.queue.corrupt} corrupt skipped` : ""}`,
    `shipping  ${s.shipper.last_error ? `failing: ${s.shipper.last_error}` : `ok${s.shipper.last_success_at ? ` (last ${s.shipper.last_success_at})` : ""}`}`,
    "plugins",
    ...s.plugins.flatMap((p) => [
      `  ${p.id.padEnd(20)} ${p.state.padEnd(9)} ${p.restarts ? `restarts ${p.restarts}  ` : ""}${p.message ?? ""}`,
      ...Object.entries(p.details ?? {}).map(([key, value]) => `    ${key.padEnd(30)} ${value}`),
    ]),
  ];
  return `${lines.join("\n")}\n`;
}
