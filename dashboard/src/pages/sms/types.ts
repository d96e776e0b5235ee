import type { CampaignStats } from "@vigil/plugin-sms/api-types";

/**
 * The SMS plugin's API answers, as these pages read them: the plugin's own types
 * (plugins/sms/src/api-types.ts; docs/collector.md describes every field).
 */

export type {
  CampaignReport,
  CampaignStats,
  CampaignStatus,
  CarrierStats,
  ErrorAnalysis,
  LiveCampaign,
  LiveSystem,
  ServerStats,
  ServerStatus,
  Severity,
  SystemView,
} from "@vigil/plugin-sms/api-types";

/** `GET /api/sms/campaigns`. */
export interface CampaignsPage {
  campaigns: CampaignStats[];
  next_cursor: string | null;
}
