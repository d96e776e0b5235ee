export * from "./limits.js";
export * from "./uuid.js";
export * from "./event.js";
export * from "./batch.js";
export * from "./plugin.js";
export * from "./agent-protocol.js";
export * from "./collector-part.js";
export * from "./collector-sync.js";
