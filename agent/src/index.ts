export { startAgent, type RunningAgent, type AgentStatus } from "./agent.js";
export { parseAgentConfig, loadAgentConfig } from "./config/load.js";
export { agentConfigSchema, type AgentConfig } from "./config/schema.js";
