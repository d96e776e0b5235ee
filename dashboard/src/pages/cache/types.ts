import type { Settings } from "@vigil/plugin-cache-db/api-types";

/**
 * The cache/DB monitor's API answers, as this page reads them: the plugin's own types
 * (plugins/cache-db/src/api-types.ts).
 */

export type { AppMonitor, Latency, Mode, MonitorAnswer, Op, PutSettingsAnswer, RecentOp, SeriesAnswer, Summary } from "@vigil/plugin-cache-db/api-types";

/** The runtime settings of an app (`"*"`: of every app without its own). */
export type CacheSettings = Settings;
