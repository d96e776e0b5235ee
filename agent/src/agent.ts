import { hostname } from "node:os";
import { dirname, join, resolve } from "node:path";
import { readFile, rename, writeFile } from "node:fs/promises";
import type { Logger } from "pino";
import { PUSH_CONNECTED_COMMAND, type AgentCommand, type Heartbeat, type RemoteConfig, type VersionedConfig } from "@vigil/plugin-sdk";
import { createConfigChannel } from "./channel/config-channel.js";
import { mergeRemoteConfig } from "./config/merge.js";
import { formatProblems } from "./config/problems.js";
import type { AgentConfig } from "./config/schema.js";
import { loadAgentId } from "./identity.js";
import { startIntake } from "./intake/server.js";
import { createPluginHost } from "./plugins/host.js";
import { openDiskQueue } from "./queue/index.js";
import { createHttpClient } from "./runtime/http-client.js";
import { createCollectorApi } from "./runtime/collector-api.js";
import { createAgentMetrics } from "./runtime/metrics.js";
import { createShipper } from "./shipper/shipper.js";
import { VERSION } from "./version.js";

export interface RunningAgent {
  id: string;
  name: string;
  intakeUrl?: string;
  status(): AgentStatus;
  /** Stops plugins, the shipper and the channel; unsent events stay queued on disk. Safe twice. */
  stop(): Promise<void>;
}

export interface AgentStatus {
  id: string;
  name: string;
  version: string;
  uptime_s: number;
  collector: string;
  config_version: number;
  config_error: string | null;
  queue: { bytes: number; records: number; dropped: number; corrupt: number };
  shipper: { last_error: string | null; last_success_at: string | null };
  channel: { push_connected: boolean; last_push_at: string | null };
  plugins: { id: string; use: string; state: string; message?: string; restarts: number; details?: Record<string, string | number | boolean> }[];
}

/**
 * Starts an agent: the disk queue first (nothing is accepted before it is durable), then
 * plugins with the last good remote configuration merged over the file, the shipper,
 * the local intake and finally the config channel.
 */
export async function startAgent(config: AgentConfig, options: { configFile: string; log: Logger }): Promise<RunningAgent> {
  const { log } = options;
  const startedAt = Date.now();
  const dataDir = resolve(dirname(options.configFile), config.agent.data_dir);
  const id = await loadAgentId(dataDir);
  const name = config.agent.name ?? hostname();
  const userAgent = config.http.user_agent ?? `vigil-agent/${VERSION}`;
  const metrics = createAgentMetrics();

  const queue = await openDiskQueue({
    dir: join(dataDir, "queue"),
    maxBytes: config.queue.max_bytes,
    policy: config.queue.policy,
    log,
    onDrop: (records, reason) => metrics.eventsDropped.inc({ reason }, records),
  });
  metrics.queueBytes.set(queue.stats().bytes);
  const enqueue = async (records: Buffer[]) => {
    await queue.append(records);
    metrics.queueBytes.set(queue.stats().bytes);
  };

  const host = createPluginHost({
    agent: { id, name, version: VERSION },
    dataDir,
    baseDir: dirname(resolve(options.configFile)),
    log,
    metrics,
    http: createHttpClient({ userAgent, baseUrls: config.http.base_urls }),
    collector: createCollectorApi({
      http: createHttpClient({ userAgent }),
      collectorUrl: config.collector.url,
      apiKey: config.collector.api_key,
      agentId: id,
      agentName: name,
      timeoutMs: config.collector.timeout,
    }),
    enqueue,
  });
  // Errors that escape a plugin's callbacks restart that plugin instead of killing the agent.
  // An exception outside every plugin is a bug of the agent itself: exit (the queue is
  // durable, a supervisor restarts us) rather than run on in an unknown state.
  const onException = (error: unknown) => {
    if (host.handleEscapedError(error)) return;
    log.fatal({ err: (error as Error)?.stack ?? String(error) }, "uncaught exception outside any plugin; exiting");
    process.exit(1);
  };
  const onRejection = (error: unknown) => {
    if (!host.handleEscapedError(error)) log.error({ err: (error as Error)?.stack ?? String(error) }, "unhandled promise rejection outside any plugin");
  };
  process.on("uncaughtException", onException);
  process.on("unhandledRejection", onRejection);

  const remoteFile = join(dataDir, "remote-config.json");
  let remote: VersionedConfig = await readLastGoodRemote(remoteFile);
  let rejected: { version: number; error: string } | undefined;

  const initial = mergeRemoteConfig(config.plugins, remote.config);
  let problems = initial.problems.length > 0 ? initial.problems : await host.apply(initial.plugins);
  if (problems.length > 0 && remote.version > 0) {
    // The stored remote config no longer fits (e.g. a plugin was upgraded): run the file alone.
    log.error({ version: remote.version, problems: formatProblems(problems) }, "stored remote configuration is invalid; running the file's configuration");
    remote = { version: 0, config: { plugins: {} } };
    problems = await host.apply(mergeRemoteConfig(config.plugins, remote.config).plugins);
  }
  if (problems.length > 0) {
    await host.stopAll();
    await queue.close();
    throw new Error(`invalid plugin configuration:\n${formatProblems(problems)}`);
  }
  metrics.configVersion.set(remote.version);

  async function applyRemote(next: VersionedConfig): Promise<void> {
    const merged = mergeRemoteConfig(config.plugins, next.config as RemoteConfig);
    const found = merged.problems.length > 0 ? merged.problems : await host.apply(merged.plugins);
    if (found.length > 0) {
      rejected = { version: next.version, error: formatProblems(found) };
      log.error({ version: next.version, problems: rejected.error }, "remote configuration refused; the previous one stays in force");
    } else {
      remote = next;
      rejected = undefined;
      await writeLastGoodRemote(remoteFile, next);
      metrics.configVersion.set(next.version);
      log.info({ version: next.version }, "remote configuration applied");
    }
    void channel.heartbeatNow();
  }

  const shipper = createShipper({
    collectorUrl: config.collector.url,
    apiKey: config.collector.api_key,
    agentId: id,
    timeoutMs: config.collector.timeout,
    batchMaxEvents: config.shipper.batch_max_events,
    batchMaxBytes: config.shipper.batch_max_bytes,
    concurrency: config.shipper.concurrency,
    flushIntervalMs: config.shipper.flush_interval,
    maxBackoffMs: config.shipper.max_backoff,
    queue,
    metrics,
    log,
    userAgent,
  });

  function status(): AgentStatus {
    const q = queue.stats();
    metrics.queueBytes.set(q.bytes);
    return {
      id,
      name,
      version: VERSION,
      uptime_s: Math.round((Date.now() - startedAt) / 1000),
      collector: config.collector.url,
      config_version: remote.version,
      config_error: rejected?.error ?? null,
      queue: { bytes: q.bytes, records: q.records, dropped: q.droppedRecords, corrupt: q.corruptRecords },
      shipper: shipper.status(),
      channel: channel.status(),
      plugins: host.reports(),
    };
  }

  function heartbeat(): Heartbeat {
    const s = status();
    return {
      id,
      name,
      version: VERSION,
      uptime_s: s.uptime_s,
      config_version: remote.version,
      config_error: rejected?.error.slice(0, 4000) ?? null,
      rejected_config_version: rejected?.version ?? null,
      queue: { bytes: s.queue.bytes, records: s.queue.records },
      plugins: s.plugins.map((p) => ({ id: p.id, use: p.use, state: p.state as never, ...(p.message ? { message: p.message.slice(0, 1000) } : {}), restarts: p.restarts, ...(p.details ? { details: boundedDetails(p.details) } : {}) })),
    };
  }

  const channel = createConfigChannel({
    collectorUrl: config.collector.url,
    apiKey: config.collector.api_key,
    agentId: id,
    agentName: name,
    userAgent,
    push: config.config_channel.push,
    backupPollMs: config.config_channel.backup_poll_seconds * 1000,
    heartbeatMs: config.heartbeat_interval,
    timeoutMs: config.collector.timeout,
    log: log.child({ part: "config-channel" }),
    applyConfig: applyRemote,
    onPushConnected: () => void host.runCommand({ name: PUSH_CONNECTED_COMMAND, args: {} }, { quiet: true }),
    runCommand: async (command: AgentCommand) => {
      await host.runCommand(command);
    },
    heartbeat,
    versions: () => ({ applied: remote.version, rejected: rejected?.version ?? null }),
    refuseConfig: (version, reason) => {
      rejected = { version, error: reason };
      log.error({ version, problems: reason }, "remote configuration refused; the previous one stays in force");
      void channel.heartbeatNow();
    },
  });

  shipper.start();
  const intake = config.intake.enabled
    ? await startIntake({
        host: config.intake.address.host,
        port: config.intake.address.port,
        metrics,
        enqueue,
        status,
        published: host.publishedValue,
        healthy: () => {
          const problem = shipper.problem();
          return problem ? { ok: false, reason: problem } : { ok: true };
        },
      })
    : undefined;
  await channel.start();
  log.info({ agent_id: id, name, collector: config.collector.url, intake: intake?.url ?? null, version: VERSION }, "agent running");

  let stopping: Promise<void> | undefined;
  return {
    id,
    name,
    ...(intake ? { intakeUrl: intake.url } : {}),
    status,
    stop() {
      stopping ??= (async () => {
        log.info("agent stopping");
        await channel.stop();
        await intake?.close();
        await shipper.stop();
        // Closing the queue first answers emits blocked on a full queue (they reject), so
        // a plugin waiting on one can stop; appends already accepted are still written.
        await queue.close();
        await host.stopAll();
        await channel.farewell();
        process.off("uncaughtException", onException);
        process.off("unhandledRejection", onRejection);
        log.info("agent stopped");
      })();
      return stopping;
    },
  };
}

async function readLastGoodRemote(file: string): Promise<VersionedConfig> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as VersionedConfig;
  } catch {
    return { version: 0, config: { plugins: {} } };
  }
}

async function writeLastGoodRemote(file: string, config: VersionedConfig): Promise<void> {
  await writeFile(`${file}.tmp`, JSON.stringify(config));
  await rename(`${file}.tmp`, file);
}

/** Heartbeats carry at most 32 details per plugin, strings cut to 256 characters (the protocol's bounds). */
function boundedDetails(details: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  return Object.fromEntries(
    Object.entries(details)
      .slice(0, 32)
      .map(([key, value]) => [key.slice(0, 64), typeof value === "string" ? value.slice(0, 256) : value]),
  );
}
