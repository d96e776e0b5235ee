export { startCollector, type RunningCollector } from "./server.js";
export { createApp } from "./app.js";
export { collectorConfigSchema, type CollectorConfig, type CollectorConfigInput } from "./config.js";
export { createLogger } from "./log.js";
