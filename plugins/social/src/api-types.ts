/**
 * The shapes the social plugin's API answers with, for clients written in TypeScript (the
 * dashboard): types only, nothing to load ("@vigil/plugin-social/api-types").
 */
export type { ExecuteAnswer, JobView } from "./api/jobs.js";
export type { RunView } from "./api/runs.js";
export type { JobStatus, RunStatus } from "./jobs-protocol.js";
