/**
 * The shapes the Reddit plugin's API answers with, for clients written in TypeScript (the
 * dashboard): types only, nothing to load ("@vigil/plugin-reddit/api-types").
 */
export type { MonitorAgentStatus, MonitorStatus, MonitorSwitchAnswer } from "./api/auto-monitor.js";
export type { KeywordView } from "./api/keywords.js";
export type { MentionCounts, MentionView } from "./api/mentions.js";
