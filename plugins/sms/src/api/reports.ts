import { z } from "zod";
import { parseRequest, type PluginRoute, type TenantStorage } from "@vigil/plugin-sdk";
import { CATEGORIES, type ErrorCategory, type Severity } from "../errors.js";
import { campaignBreakdown, campaignIdsOfUser, campaignStats, notFound, readCampaigns, recentCampaignIds, type BreakdownBucket, type CampaignStats } from "./campaigns.js";
import { carrierStats, type CarrierStats } from "./carriers.js";
import { DAY_MS, checkWindow, idSchema, iso, ratio, windowFields } from "./common.js";
import type { MessageCounts } from "./counts.js";
import { errorAnalysis, type ErrorAnalysis } from "./error-analysis.js";
import { serverStates, serverStats, type ServerState, type ServerStats } from "./servers.js";

/** Campaigns a user summary lists (the newest); its totals cover up to MAX_USER_CAMPAIGNS. */
const CAMPAIGNS_LISTED = 100;
const MAX_USER_CAMPAIGNS = 1000;
/** A campaign the app never announced counts as active while messages arrive within this long. */
const ACTIVE_SILENCE_MS = 5 * 60_000;
/** Error categories a summary shows. */
const TOP_CATEGORIES = 5;

export interface CampaignReport {
  campaign: CampaignStats;
  carriers: CarrierStats[];
  servers: ServerStats[];
  errors: ErrorAnalysis;
  hourly: BreakdownBucket[];
}

/** Everything about one campaign in one answer, or null when the tenant has no such campaign. */
export async function campaignReport(storage: TenantStorage, campaignId: string, options: { now?: number } = {}): Promise<CampaignReport | null> {
  const now = options.now ?? Date.now();
  const campaign = await campaignStats(storage, campaignId, { now });
  if (!campaign) return null;
  const [carriers, servers, errors, hourly] = await Promise.all([
    carrierStats(storage, { campaignId, now }),
    serverStats(storage, { campaignId, now }),
    errorAnalysis(storage, { campaignId, now }),
    campaignBreakdown(storage, campaignId, "hour"),
  ]);
  return { campaign, carriers: carriers.carriers, servers: servers.servers, errors, hourly: hourly.buckets };
}

export interface Totals {
  messages: number;
  queued: number;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  failed_total: number;
  final: number;
  dispatched: number;
  delivery_rate: number | null;
  failure_rate: number | null;
  /** Messages that left the queue in the minute before `as_of`. */
  throughput_last_minute: number;
}

function totalsOf(counts: MessageCounts): Totals {
  const failedTotal = counts.failed + counts.undelivered;
  const final = counts.delivered + failedTotal;
  return {
    messages: counts.messages,
    queued: counts.queued,
    sent: counts.sent,
    delivered: counts.delivered,
    undelivered: counts.undelivered,
    failed: counts.failed,
    failed_total: failedTotal,
    final,
    dispatched: counts.dispatched,
    delivery_rate: ratio(counts.delivered, final),
    failure_rate: ratio(failedTotal, final),
    throughput_last_minute: counts.dispatchedLastMinute,
  };
}

export interface CategoryShare {
  category: ErrorCategory;
  count: number;
  share: number | null;
  severity: Severity;
  recommendation: string;
}

function topCategories(byCategory: Map<ErrorCategory, number>): CategoryShare[] {
  const failed = [...byCategory.values()].reduce((sum, n) => sum + n, 0);
  return [...byCategory]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, TOP_CATEGORIES)
    .map(([category, count]) => ({ category, count, share: ratio(count, failed), severity: CATEGORIES[category].severity, recommendation: CATEGORIES[category].recommendation }));
}

const isActive = (campaign: CampaignStats, now: number) =>
  campaign.status === "started" || (campaign.status === null && campaign.last_activity_at !== null && now - Date.parse(campaign.last_activity_at) <= ACTIVE_SILENCE_MS);

export interface UserSummary {
  user: string;
  since: string | null;
  until: string | null;
  /** The user's campaigns counted (created in the window); at most MAX_USER_CAMPAIGNS, the newest. */
  campaigns_total: number;
  truncated: boolean;
  active_campaigns: number;
  /** Over every message of those campaigns. */
  totals: Totals;
  top_error_categories: CategoryShare[];
  /** The newest campaigns, each with its statistics. */
  campaigns: CampaignStats[];
  as_of: string;
}

/** A user's campaigns together (those created in the window, default all). For the live topic `sms.user`. */
export async function userSummary(storage: TenantStorage, user: string, options: { since?: number | null; until?: number | null; now?: number } = {}): Promise<UserSummary> {
  const now = options.now ?? Date.now();
  const since = options.since ?? null;
  const until = options.until ?? null;
  const ids = await campaignIdsOfUser(storage, user, { since, until, limit: MAX_USER_CAMPAIGNS + 1 });
  const counted = ids.slice(0, MAX_USER_CAMPAIGNS);
  const { stats, counts } = await readCampaigns(storage, counted, { now, categories: true });
  return {
    user,
    since: iso(since),
    until: iso(until),
    campaigns_total: counted.length,
    truncated: ids.length > MAX_USER_CAMPAIGNS,
    active_campaigns: stats.filter((campaign) => isActive(campaign, now)).length,
    totals: totalsOf(counts.recent),
    top_error_categories: topCategories(counts.failuresByCategory),
    campaigns: stats.slice(0, CAMPAIGNS_LISTED),
    as_of: new Date(now).toISOString(),
  };
}

export interface SystemView {
  since: string;
  as_of: string;
  /** Messages whose current status was reported in the last 24 hours, over all campaigns. */
  totals: Totals;
  campaigns: {
    /** Campaigns with any activity in the last 24 hours, or still started. */
    seen: number;
    active: number;
    /** The active ones, each with its statistics. */
    active_list: CampaignStats[];
  };
  servers: {
    total: number;
    up: number;
    degraded: number;
    down: number;
    /** Servers not up, with since when and their last error. */
    not_up: ServerState[];
  };
  top_error_categories: CategoryShare[];
  /** Messages of the last 24 hours known only from receipts that named no campaign (add campaign_id to the callback URL). */
  receipts_without_campaign: number;
}

/** The tenant at a glance, over the last 24 hours. For the live topic `sms.system`. */
export async function systemView(storage: TenantStorage, options: { now?: number } = {}): Promise<SystemView> {
  const now = options.now ?? Date.now();
  const since = now - DAY_MS;
  const [campaignIds, servers] = await Promise.all([recentCampaignIds(storage, since), serverStates(storage, { now })]);
  // The campaign "" holds receipts that named no campaign.
  const { stats, counts } = await readCampaigns(storage, [...campaignIds, ""], { now, recentSince: since, categories: true });
  const active = stats.filter((campaign) => isActive(campaign, now));
  return {
    since: new Date(since).toISOString(),
    as_of: new Date(now).toISOString(),
    totals: totalsOf(counts.recent),
    campaigns: { seen: campaignIds.length, active: active.length, active_list: active },
    servers: {
      total: servers.length,
      up: servers.filter((s) => s.status === "up").length,
      degraded: servers.filter((s) => s.status === "degraded").length,
      down: servers.filter((s) => s.status === "down").length,
      not_up: servers.filter((s) => s.status === "degraded" || s.status === "down"),
    },
    top_error_categories: topCategories(counts.failuresByCategory),
    receipts_without_campaign: counts.recentByCampaign.get("")?.messages ?? 0,
  };
}

const reportParams = z.object({ id: idSchema("id") });
const userParams = z.object({ user: idSchema("user") });
const noQuery = z.object({}).strict();
const userQuery = z.object({ ...windowFields }).strict();

export const reportRoutes: PluginRoute[] = [
  {
    method: "GET",
    path: "/api/sms/campaigns/:id/report",
    scope: "read",
    async handler(request) {
      parseRequest(noQuery, request.query);
      const { id } = parseRequest(reportParams, request.params);
      const report = await campaignReport(request.storage, id);
      if (!report) throw notFound(`campaign ${JSON.stringify(id)}`);
      return { body: report };
    },
  },
  {
    method: "GET",
    path: "/api/sms/users/:user/summary",
    scope: "read",
    async handler(request) {
      const { user } = parseRequest(userParams, request.params);
      const window = checkWindow(parseRequest(userQuery, request.query));
      return { body: await userSummary(request.storage, user, window) };
    },
  },
  {
    method: "GET",
    path: "/api/sms/system",
    scope: "read",
    async handler(request) {
      parseRequest(noQuery, request.query);
      return { body: await systemView(request.storage) };
    },
  },
];
