/**
 * The shapes the cache/DB monitor's API answers with, for clients written in TypeScript
 * (the dashboard): types only, nothing to load ("@vigil/plugin-cache-db/api-types").
 */
export type { AppMonitor, Latency, MonitorAnswer, RecentOp, Summary } from "./api/monitor.js";
export type { SeriesAnswer } from "./api/series.js";
export type { PutSettingsAnswer } from "./api/settings.js";
export type { Mode, Op, Settings } from "./contract.js";
