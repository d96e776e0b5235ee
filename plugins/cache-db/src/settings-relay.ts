import { createCollectorSync, type PluginContext, type PluginInstance, type PluginStatus } from "@vigil/plugin-sdk";
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
  const settings = createCollectorSync<PublishedSettings>({
    ctx,
    what: "settings",
    path: SYNC_PATH,
    schema: publishedSettingsSchema,
    commands: [SETTINGS_CHANGED],
    intervalMs: config.sync_interval,
    stateKey: LAST_SETTINGS_KEY,
    missingPartHint: "start the collector with --plugin @vigil/plugin-cache-db (or VIGIL_COLLECTOR_PLUGINS=@vigil/plugin-cache-db)",
    // The collector versions the settings by their content.
    fingerprint: (published) => published.version,
    describeChange: (before, after) => ({ previous_version: before?.version ?? null, settings_version: after.version }),
    onRead: (trigger, result) => syncs.inc({ trigger, result }),
    apply(next, trigger) {
      // Apps read it at GET <intake>/v1/plugins/<id>/settings within their next poll.
      ctx.publish(PUBLISHED_NAME, next);
      ctx.log.info(
        { trigger, settings_version: next.version, apps_configured: appsConfigured(next), enabled_default: next.apps["*"]?.enabled ?? null },
        "cache monitor settings published to apps",
      );
    },
  });

  ctx.onConfig((next) => {
    config = next;
    settings.setInterval(next.sync_interval);
  });

  function details(): RelayDetails {
    const current = settings.current();
    const lastSyncAt = settings.lastSyncAt();
    return {
      settings_version: current?.version ?? "",
      apps_configured: current ? appsConfigured(current) : 0,
      enabled_default: current?.apps["*"]?.enabled ?? true,
      last_sync: lastSyncAt ? new Date(lastSyncAt).toISOString() : "",
      sync_interval_seconds: Math.round(config.sync_interval / 1000),
    };
  }

  return {
    // Apps get the last known settings at once; the collector's answer replaces them.
    start: () => settings.start(),
    stop: () => settings.stop(),
    status(): PluginStatus {
      const d = details();
      const current = settings.current();
      const lastSyncError = settings.lastError();
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
