/**
 * The shapes the SMS plugin's API and live topics answer with, for clients written in
 * TypeScript (the dashboard): types only, nothing to load ("@vigil/plugin-sms/api-types").
 */
export type { CampaignStatus, ServerStatus } from "./contract.js";
export type { ErrorCategory, Severity } from "./errors.js";
export type { BreakdownBucket, CampaignStats } from "./api/campaigns.js";
export type { CarrierStats } from "./api/carriers.js";
export type { AttemptStats, CategoryStats, CodeStats, ErrorAnalysis, RetryByCategory } from "./api/error-analysis.js";
export type { LiveCampaign, LiveSystem } from "./api/live.js";
export type { CampaignReport, CategoryShare, SystemView, Totals } from "./api/reports.js";
export type { ServerState, ServerStats } from "./api/servers.js";
