import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Server } from "node:http";
import { serve } from "@hono/node-server";
import type { ClickHouseClient } from "@clickhouse/client";
import type { Logger } from "pino";
import { createPushHub } from "./agents/push-hub.js";
import { createPushRelay } from "./agents/push-relay.js";
import { createAgentStore } from "./agents/store.js";
import type { Services } from "./app-env.js";
import { createApp } from "./app.js";
import { createKeyStore } from "./auth/key-store.js";
import { bootstrapFirstKey, bootstrapFirstUser } from "./bootstrap.js";
import { createLoginLimiter } from "./auth/login-limiter.js";
import { createUserStore } from "./auth/user-store.js";
import type { CollectorConfig } from "./config.js";
import { createEventWriter, describeStorageError } from "./ingest/writer.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { ASYNC_INSERT_SETTINGS, createStorageClient, describeTarget, type StorageTarget } from "./storage/client.js";
import { ClusterModeError } from "./storage/cluster.js";
import { openDatabase, type Database } from "./storage/database.js";
import { DEFAULT_RETRY_POLICY, retryingDatabase } from "./storage/retry.js";
import { runMigrations } from "./storage/migrations.js";
import { VERSION } from "./version.js";
import { loadCollectorParts } from "./plugins/load.js";
import { runPluginMigrations } from "./plugins/migrations.js";
import { startPluginTasks } from "./plugins/tasks.js";
import { createAlertEngine } from "./alerts/engine.js";
import { createLease } from "./cluster/lease.js";
import { applyAlertFiles, readAlertFiles } from "./alerts/files.js";
import { openSecretBox } from "./alerts/secrets.js";
import { collectTemplates } from "./alerts/templates.js";
import { createLiveHub } from "./live/hub.js";
import { principalOf } from "./auth/middleware.js";
import { alertsTopic, eventsTopic } from "./live/core-topics.js";
import { pluginStorage } from "./plugins/routes.js";
import { scopeToTenant } from "./storage/tenant-scope.js";

const STORAGE_PROBE_MS = 2_000;
const SHUTDOWN_GRACE_MS = 10_000;
const PROBE_CACHE_MS = 1_000;
const PROBE_TIMEOUT_MS = 3_000;

export interface RunningCollector {
  url: string;
  port: number;
  /** Set on the first start only, when the first admin key was generated. */
  bootstrapToken?: string;
  /** Set on the first start only: the first dashboard admin (with the password when it was generated). */
  bootstrapAdmin?: { email: string; password?: string };
  services: Services;
  /** Stops accepting, answers every queued batch, closes storage. Safe to call twice. */
  close(): Promise<void>;
}

export function storageTargetFrom(config: CollectorConfig): StorageTarget {
  return config.clickhouseUrl
    ? {
        kind: "server",
        url: config.clickhouseUrl,
        user: config.clickhouseUser,
        password: config.clickhousePassword,
        database: config.clickhouseDatabase,
        keepAliveMs: config.clickhouseKeepAliveMs,
        ...(config.clickhouseCaCert === undefined ? {} : { caCertPath: config.clickhouseCaCert }),
      }
    : { kind: "embedded", dataDir: config.dataDir, database: config.clickhouseDatabase };
}

/**
 * A ClickHouse server is across a network: its transient failures are retried (see
 * storage/retry.ts for what is safe to retry) and CLICKHOUSE_ASYNC_INSERT applies. The
 * embedded engine is used as it is.
 */
function overNetwork(db: Database, config: CollectorConfig, metrics: Metrics, log: Logger): Database {
  if (config.clickhouseUrl === undefined) return db;
  return retryingDatabase(db, {
    policy: { ...DEFAULT_RETRY_POLICY, retries: config.clickhouseRetries },
    insertSettings: config.clickhouseAsyncInsert === "1" ? ASYNC_INSERT_SETTINGS : {},
    onRetry: ({ operation, attempt, delayMs, error }) => {
      metrics.storageRetries.inc({ operation });
      log.warn({ operation, attempt, delay_ms: delayMs, err: describeStorageError(error) }, "ClickHouse request failed transiently; retrying");
    },
  });
}

/**
 * Starts a collector. When storage cannot be reached the HTTP server still starts:
 * `/health` says why, ingest answers 503 with Retry-After, and storage is retried every
 * few seconds until migrations run.
 */
export async function startCollector(
  config: CollectorConfig,
  log: Logger,
  options: {
    onBootstrapToken?: (token: string) => void;
    onBootstrapAdmin?: (admin: { email: string; password?: string }) => void;
    /**
     * Storage shared with other collectors in this process (replicas in one test
     * process: chDB binds a data directory to one process, so they share its client).
     * It is not closed by this collector.
     */
    client?: ClickHouseClient;
  } = {},
): Promise<RunningCollector> {
  // Plugins first: a missing or broken one stops the start before anything is opened.
  const parts = await loadCollectorParts(config.plugins);
  const alertTemplates = collectTemplates(parts);
  const secrets = await openSecretBox({ secretKey: config.secretKey, dataDir: config.dataDir });
  // A broken rule file stops the start here, with the file and field named.
  const alertFiles = readAlertFiles(config.alertFiles, secrets);
  const target = storageTargetFrom(config);
  const client = options.client ?? createStorageClient(target, log);
  const closeClient = () => (options.client ? Promise.resolve() : client.close());
  const metrics = createMetrics();
  const db = overNetwork(openDatabase(client, target.database, config.clickhouseCluster === undefined ? {} : { cluster: config.clickhouseCluster }), config, metrics, log);
  const keys = createKeyStore(db, log);
  const users = createUserStore(db, log);
  const writer = createEventWriter(db, config.writer, metrics, log);
  const agents = createAgentStore(db, log);
  const agentHub = createPushHub(log);
  // This process among the collector replicas sharing the storage (several may share a host, or a process in tests).
  const thisProcess = `${hostname()}:${process.pid}`;
  const replica = `${thisProcess}:${randomBytes(3).toString("hex")}`;
  const push = createPushRelay(db, agentHub, log.child({ component: "push-relay" }), { replica });
  let relayStarted = false;
  const alerting = config.alerting === "on";
  let notReady: string | undefined = "starting";
  let bootstrapToken: string | undefined;
  let bootstrapAdmin: { email: string; password?: string } | undefined;

  let lastProbe: { at: number; answer: Promise<string | undefined> } | undefined;
  /** A live ping, shared by callers within a second so /health cannot hammer ClickHouse. */
  function probeStorage(): Promise<string | undefined> {
    if (lastProbe && Date.now() - lastProbe.at < PROBE_CACHE_MS) return lastProbe.answer;
    const answer = withTimeout(client.ping(), PROBE_TIMEOUT_MS).then(
      (result) => (result.success ? undefined : describeStorageError(result.error)),
      (error: unknown) => describeStorageError(error),
    );
    lastProbe = { at: Date.now(), answer };
    return answer;
  }

  /** A real one-row insert: what "storage is back" must mean for ingest (a full disk still answers pings). */
  async function probeWrite(): Promise<string | undefined> {
    try {
      await withTimeout(db.insert("storage_probe", [{ at: Date.now(), replica: thisProcess }]), PROBE_TIMEOUT_MS);
      return undefined;
    } catch (error) {
      return describeStorageError(error);
    }
  }

  let stopTasks: (() => Promise<void>) | undefined;
  // Of the replicas sharing the storage, the one holding this lease evaluates rules, sends
  // notifications and runs the plugins' collector tasks; the others follow.
  const alertLease = createLease({
    db,
    name: "alerting",
    holder: replica,
    periodMs: config.alertLease.seconds * 1000,
    renewEveryMs: config.alertLease.renewSeconds * 1000,
    log: log.child({ component: "alert-lease" }),
    metrics: { holding: metrics.alertLeader, changes: metrics.alertLeaseChanges },
    // Only one process can open an embedded data directory: a lease held by another one is
    // left over from a crash, so a restart need not wait for it to run out.
    ...(target.kind === "embedded" ? { isLeftover: (holder: string) => !holder.startsWith(`${thisProcess}:`) } : {}),
    async onGained() {
      await alerts.lead();
      stopTasks = startPluginTasks(parts, { db, writer, log });
    },
    async onLost() {
      await stopTasks?.();
      stopTasks = undefined;
      await alerts.follow();
    },
  });
  const alerts = createAlertEngine({
    db,
    metrics,
    log: log.child({ component: "alerts" }),
    secrets,
    storageProblem: () => notReady ?? writer.storageProblem(),
    probeStorage: () => probeStorage(),
    holdsLease: () => alertLease.held(),
    externalUrl: config.externalUrl,
  });
  // Every replica matches event rules against what it stores; only the leader fires, the others relay.
  writer.onStored((rows) => alerts.onStored(rows));
  const live = createLiveHub({
    topics: [
      { topic: eventsTopic, storage: (tenant) => scopeToTenant(db, tenant) },
      { topic: alertsTopic(alerts), storage: (tenant) => scopeToTenant(db, tenant) },
      ...parts.flatMap((part) => (part.liveTopics ?? []).map((topic) => ({ topic, storage: (tenant: string) => pluginStorage(part, scopeToTenant(db, tenant)) }))),
    ],
    authenticate: (token) => keys.authenticate(token),
    authenticateSession: async (token) => {
      const user = await users.sessionUser(token);
      return user ? principalOf(user) : undefined;
    },
    storageProblem: () => notReady,
    metrics,
    log: log.child({ component: "live" }),
  });
  writer.onStored((rows) => live.onStored(rows));

  const services: Services = {
    db,
    writer,
    keys,
    users,
    loginLimiter: createLoginLimiter(),
    trustProxyHops: config.trustProxyHops,
    dashboardDir: config.dashboardDir,
    agents,
    agentHub,
    push,
    replica,
    parts,
    metrics,
    alerts,
    alerting,
    secrets,
    alertTemplates,
    externalUrl: config.externalUrl,
    log,
    version: VERSION,
    startedAt: Date.now(),
    storageProblem: () => notReady,
    probeStorage,
  };

  let alertsWatching = false;
  let leaseStarted = false;
  let preparing = false;
  let listening = false;
  async function prepareStorage(): Promise<boolean> {
    // One attempt at a time: overlapping attempts could bootstrap two admin keys.
    if (preparing) return false;
    preparing = true;
    try {
      await runMigrations(db, { retentionDays: config.retentionDays, log });
      await runPluginMigrations(db, parts, { retentionDays: config.retentionDays, log });
      const created = await bootstrapFirstKey(db, keys, log, config.bootstrapToken);
      if (created?.generated) {
        bootstrapToken = created.token;
        // Made after start-up (storage came late): show it now, it is never shown again.
        if (listening) options.onBootstrapToken?.(created.token);
      }
      const admin = await bootstrapFirstUser(db, users, log, { email: config.adminEmail, password: config.adminPassword });
      if (admin) {
        bootstrapAdmin = admin;
        if (listening) options.onBootstrapAdmin?.(admin);
      }
      await keys.reload();
      await users.reload();
      // Rule files are applied on every start, so the files stay the truth (GitOps).
      await applyAlertFiles(alertFiles, alerts, log);
      if (!relayStarted) {
        await push.start();
        relayStarted = true;
      }
      notReady = undefined;
      if (!alertsWatching) {
        await alerts.keepFresh();
        alertsWatching = true;
      }
      if (alerting && !leaseStarted) {
        leaseStarted = true;
        await alertLease.start();
      }
      log.info({ storage: describeTarget(target) }, "storage ready");
      return true;
    } catch (error) {
      // A cluster-mode problem (a database made without it, a statement it cannot render) is the operator's to fix: say it as is.
      notReady = error instanceof ClusterModeError ? error.message : describeStorageError(error);
      log.error({ err: notReady, storage: describeTarget(target) }, "storage is not reachable; retrying");
      return false;
    } finally {
      preparing = false;
    }
  }

  // A first attempt before listening, so a healthy start answers requests at once.
  await prepareStorage();
  const probe = setInterval(async () => {
    if (notReady !== undefined) {
      await prepareStorage();
    } else if (writer.storageProblem() !== undefined && (await probeWrite()) === undefined) {
      writer.storageRecovered();
      log.info("storage takes writes again; ingest resumed");
    }
  }, STORAGE_PROBE_MS);
  probe.unref();

  let app: ReturnType<typeof createApp>;
  try {
    app = createApp(services);
  } catch (error) {
    // Two routes for one path (a plugin clash): undo what was started, then report.
    clearInterval(probe);
    await alertLease.stop();
    await alerts.stop();
    await push.stop();
    await closeClient();
    throw error;
  }
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => resolve(s as Server));
    (s as Server).once("error", reject);
  });
  live.attach(server);
  const port = (server.address() as AddressInfo).port;
  const url = `http://${config.host === "0.0.0.0" || config.host === "::" ? "127.0.0.1" : config.host}:${port}`;
  listening = true;
  log.info({ url, port, version: VERSION, storage: describeTarget(target) }, "collector listening");

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= (async () => {
      clearInterval(probe);
      log.info("shutting down: no new requests, flushing queued batches");
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections turn idle as their last answer goes out: close them as they do.
      server.closeIdleConnections();
      const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
      // Agent push streams never end by themselves: end them, or shutdown waits the grace period.
      agentHub.close();
      await push.stop();
      live.close();
      // The lease goes first, handed back once this replica stopped evaluating, so another takes over at once.
      await alertLease.stop();
      // Queued events are stored before the engine stops: their event rule matches go to the new leader.
      await writer.close();
      await alerts.stop();
      await Promise.race([serverClosed, delay(SHUTDOWN_GRACE_MS)]);
      clearInterval(idleSweep);
      server.closeAllConnections();
      await closeClient();
      log.info("collector stopped");
    })();
    return closing;
  }

  return { url, port, ...(bootstrapToken ? { bootstrapToken } : {}), ...(bootstrapAdmin ? { bootstrapAdmin } : {}), services, close };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, delay(ms).then(() => Promise.reject(new Error("ClickHouse did not answer in time (timeout)")))]);
}
