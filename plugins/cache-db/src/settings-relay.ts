import type { PluginContext, PluginInstance, PluginStatus, ScheduledJob } from "@vigil/plugin-sdk";
import { PUBLISHED_SETTINGS_NAME, SETTINGS_CHANGED, SYNC_PATH, publishedSettingsSchema, type PublishedSettings } from "./contract.js";

/** The agent part's configuration, once validated. */
export interface RelayConfig {
  /** Backup sync interval, ms. */
  sync_interval: number;
}

/** The plugin's status details (`vigil-agent status`, heartbeats, the collector's agent list). */
export interface RelayDetails {
  /** The version of the settings published to apps; "" before any. */
  settings_version: string;
  /** Apps with settings of their own (besides the default "*"). */
  apps_configured: number;
  /** The default's switch; apps without their own settings follow it. */
  enabled_default: boolean;
  /** Last successful sync with the collector, ISO 8601; "" before the first. */
  last_sync: string;
  sync_interval_seconds: number;
}

/** The name apps read at `GET <intake>/v1/plugins/<instance id>/settings`. */
export const PUBLISHED_NAME = PUBLISHED_SETTINGS_NAME;
const LAST_SETTINGS_KEY = "last-settings";
const SYNC_RETRY_MIN_MS = 1_000;
const SYNC_RETRY_MAX_MS = 30_000;

type SyncTrigger = "start" | "push" | "poll";

/**
 * The agent part: relays the tenant's cache-monitor settings from the collector to the
 * apps on this host. It publishes the last known settings at start (kept in its state, so
 * apps get them even while the collector is away), reads them from the collector at start
 * (retried with backoff until it answers), at once on every pushed change, and on a
 * backup timer that heals a missed push. Apps poll the intake every few seconds, so a
 * change reaches them within a push plus one poll.
 */
export function createSettingsRelay(ctx: PluginContext<RelayConfig>): PluginInstance {
  let config = ctx.config;
  const syncs = ctx.metrics.counter({ name: "vigil_cache_settings_syncs_total", help: "Settings syncs with the collector, by trigger and result.", labelNames: ["trigger", "result"] });
  let current = readStored();
  let lastSyncAt: number | undefined;
  let lastSyncError: string | undefined;
  let syncing: Promise<void> | undefined;
  let syncAgain: SyncTrigger | undefined;
  let backup: ScheduledJob | undefined;

  function readStored(): PublishedSettings | undefined {
    const parsed = publishedSettingsSchema.safeParse(ctx.state.get(LAST_SETTINGS_KEY));
    return parsed.success ? parsed.data : undefined;
  }

  function publish(settings: PublishedSettings): void {
    current = settings;
    ctx.publish(PUBLISHED_NAME, settings);
  }

  async function fetchSettings(): Promise<PublishedSettings> {
    const response = await ctx.collector.request(SYNC_PATH, { signal: ctx.signal, retries: 1 });
    if (response.status === 404) {
      throw new Error("the collector has no cache monitor API: start it with --plugin @vigil/plugin-cache-db (or VIGIL_COLLECTOR_PLUGINS=@vigil/plugin-cache-db)");
    }
    if (response.status !== 200) throw new Error(`the collector answered ${response.status} to the settings sync: ${response.text.slice(0, 200)}`);
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      throw new Error("the collector's settings answer is not JSON");
    }
    const parsed = publishedSettingsSchema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`the collector's settings answer is not understood (${issue.path.join(".")}: ${issue.message}); is the collector's cache-db plugin older than this agent's?`);
    }
    return parsed.data;
  }

  async function syncOnce(trigger: SyncTrigger): Promise<void> {
    try {
      const next = await fetchSettings();
      lastSyncAt = Date.now();
      lastSyncError = undefined;
      const changed = next.version !== current?.version;
      syncs.inc({ trigger, result: changed ? "changed" : "unchanged" });
      if (!changed) return;
      await ctx.state.set(LAST_SETTINGS_KEY, next);
      const before = current;
      publish(next);
      ctx.log.info(
        { trigger, settings_version: next.version, previous_version: before?.version ?? null, apps_configured: appsConfigured(next), enabled_default: next.apps["*"]?.enabled ?? null },
        "cache monitor settings published to apps",
      );
    } catch (error) {
      if (ctx.signal.aborted) return;
      lastSyncError = (error as Error).message;
      syncs.inc({ trigger, result: "error" });
      throw error;
    }
  }

  /** One sync at a time; a push that arrives during one runs one more after it. */
  function sync(trigger: SyncTrigger): Promise<void> {
    if (syncing) {
      syncAgain = trigger;
      return syncing;
    }
    syncing = (async () => {
      let next: SyncTrigger | undefined = trigger;
      try {
        while (next && !ctx.signal.aborted) {
          syncAgain = undefined;
          await syncOnce(next);
          next = syncAgain;
        }
      } finally {
        syncing = undefined;
      }
    })();
    return syncing;
  }

  /** Until the first sync succeeds (the collector may start later), retry with backoff. */
  async function firstSync(): Promise<void> {
    let delay = SYNC_RETRY_MIN_MS;
    while (!ctx.signal.aborted && lastSyncAt === undefined) {
      try {
        await sync("start");
        return;
      } catch (error) {
        ctx.log.warn({ err: (error as Error).message, retry_in_ms: delay }, current ? "settings sync failed; apps keep the last known settings" : "settings sync failed; retrying");
      }
      await sleep(delay, ctx.signal);
      delay = Math.min(SYNC_RETRY_MAX_MS, delay * 2);
    }
  }

  function scheduleBackup(): ScheduledJob {
    return ctx.scheduler.schedule("settings-sync", { every: config.sync_interval }, async () => {
      if (lastSyncAt === undefined) return; // firstSync is still trying
      await sync("poll").catch((error: unknown) => ctx.log.warn({ err: (error as Error).message }, "backup settings sync failed"));
    });
  }

  ctx.onCommand(SETTINGS_CHANGED, () => {
    sync("push").catch((error: unknown) => ctx.log.warn({ err: (error as Error).message }, "settings sync after a push failed; the backup sync will retry"));
  });
  ctx.onConfig((next) => {
    const previous = config;
    config = next;
    if (next.sync_interval !== previous.sync_interval && backup) {
      backup.stop();
      backup = scheduleBackup();
    }
  });

  function details(): RelayDetails {
    return {
      settings_version: current?.version ?? "",
      apps_configured: current ? appsConfigured(current) : 0,
      enabled_default: current?.apps["*"]?.enabled ?? true,
      last_sync: lastSyncAt ? new Date(lastSyncAt).toISOString() : "",
      sync_interval_seconds: Math.round(config.sync_interval / 1000),
    };
  }

  return {
    async start() {
      // Apps get the last known settings at once; the collector's answer replaces them.
      if (current) publish(current);
      void firstSync();
      backup = scheduleBackup();
    },
    async stop() {
      // The scheduler and the in-flight request end with ctx.signal; wait for a sync in flight.
      backup?.stop();
      await syncing?.catch(() => undefined);
    },
    status(): PluginStatus {
      const d = details();
      if (!current) {
        return lastSyncError
          ? { state: "failing", message: `no settings for apps yet: ${lastSyncError}`, details: { ...d } }
          : { state: "starting", message: "reading the settings from the collector", details: { ...d } };
      }
      if (lastSyncError) return { state: "degraded", message: `settings sync failing (apps keep version ${current.version}): ${lastSyncError}`, details: { ...d } };
      const overrides = d.apps_configured === 1 ? "1 app has its own settings" : `${d.apps_configured} apps have their own settings`;
      return { state: "ok", message: `settings ${current.version} published; monitoring ${d.enabled_default ? "enabled" : "disabled"} by default, ${overrides}`, details: { ...d } };
    },
  };
}

const appsConfigured = (settings: PublishedSettings): number => Object.keys(settings.apps).filter((app) => app !== "*").length;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
