import { z } from "zod";
import { PluginApiError, decodeCursor, encodeCursor, limitParamSchema, parseRequest, type PluginRoute, type TenantStorage } from "@vigil/plugin-sdk";
import { CAMPAIGN_STATUSES, type CampaignStatus } from "../contract.js";
import { idSchema, iso, msOrNull, ratio, round } from "./common.js";
import { countMessages, emptyCounts, type CountsResult, type MessageCounts } from "./counts.js";
import { CODE, REPORT_MS_SQL, STATUS_SQL } from "./tables.js";

const MINUTE_MS = 60_000;

/** A campaign's statistics (see docs/collector.md, "Statistics"). */
export interface CampaignStats {
  campaign_id: string;
  name: string | null;
  user: string | null;
  /** The latest lifecycle status the app reported; null for a campaign known only from its messages. */
  status: CampaignStatus | null;
  /** The total the app announced; the messages seen when it announced none. */
  total: number;
  /** Messages reported so far, in any status. */
  messages: number;
  /** Of `total`, how many no report has named yet. */
  not_reported: number;
  queued: number;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  /** failed + undelivered. */
  failed_total: number;
  /** delivered + undelivered + failed: messages in a final status. */
  final: number;
  /** total − final, never below 0. */
  pending: number;
  /** Messages that left the queue (first sent or final report). */
  dispatched: number;
  /** final ÷ total × 100 (0–100). */
  progress_pct: number;
  /** delivered ÷ final. */
  delivery_rate: number | null;
  /** (failed + undelivered) ÷ final. */
  failure_rate: number | null;
  throughput: {
    /** Messages that left the queue in the minute before `as_of`. */
    last_minute: number;
    /** dispatched ÷ minutes from the start to the end (completion, or `as_of`). */
    avg_per_minute: number | null;
  };
  created_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  last_activity_at: string | null;
  /** From the start to the completion, or to `as_of` while not completed. */
  duration_s: number | null;
  /** When the last message should have left the queue at the last minute's rate; null when unknown or completed. */
  eta: string | null;
  eta_s: number | null;
  as_of: string;
}

interface MetaRow {
  campaign_id: string;
  status_name: string;
  campaign_name: string;
  declared_total: number;
  user_name: string;
  created_ms: number;
  started_ms: number | null;
  completed_ms: number | null;
  updated_ms: number;
}

const META_COLUMNS = `campaign_id, tupleElement(status, 3) AS status_name, tupleElement(name, 2) AS campaign_name,
  tupleElement(total, 2) AS declared_total, tupleElement(user, 2) AS user_name, toUnixTimestamp64Milli(created_at) AS created_ms,
  toUnixTimestamp64Milli(started_at) AS started_ms, toUnixTimestamp64Milli(completed_at) AS completed_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms`;

/** The campaigns table's rows matching `where` (which must hold the tenant filter). */
async function readMeta(storage: TenantStorage, where: string, params: Record<string, unknown>, tail = ""): Promise<MetaRow[]> {
  return storage.query<MetaRow>(`SELECT ${META_COLUMNS} FROM ${storage.table("campaigns")} FINAL WHERE ${where} ${tail}`, params);
}

const isCampaignStatus = (value: string): value is CampaignStatus => (CAMPAIGN_STATUSES as readonly string[]).includes(value);

/** Statistics from a campaign's row (absent for one known only from messages) and its message counts. */
function composeStats(campaignId: string, meta: MetaRow | undefined, counts: MessageCounts, now: number): CampaignStats {
  const status = meta && isCampaignStatus(meta.status_name) ? meta.status_name : null;
  const declared = meta ? Number(meta.declared_total) : 0;
  const total = declared > 0 ? declared : counts.messages;
  const final = counts.delivered + counts.undelivered + counts.failed;
  const startedMs = msOrNull(meta?.started_ms) ?? counts.firstDispatchMs;
  const completedMs = status === "completed" ? msOrNull(meta?.completed_ms) : null;
  const endMs = completedMs ?? now;
  const spanMs = startedMs === null ? null : endMs - startedMs;
  const left = Math.max(0, total - counts.dispatched);
  let etaS: number | null = null;
  if (status !== "completed") {
    if (left === 0) etaS = 0;
    else if (counts.dispatchedLastMinute > 0) etaS = Math.round((left / counts.dispatchedLastMinute) * 60);
  }
  const lastActivity = Math.max(meta ? Number(meta.updated_ms) : 0, counts.lastReportMs ?? 0);
  return {
    campaign_id: campaignId,
    name: meta?.campaign_name || null,
    user: meta?.user_name || null,
    status,
    total,
    messages: counts.messages,
    not_reported: Math.max(0, total - counts.messages),
    queued: counts.queued,
    sent: counts.sent,
    delivered: counts.delivered,
    undelivered: counts.undelivered,
    failed: counts.failed,
    failed_total: counts.failed + counts.undelivered,
    final,
    pending: Math.max(0, total - final),
    dispatched: counts.dispatched,
    progress_pct: total > 0 ? round(Math.min(100, (final / total) * 100), 2) : 0,
    delivery_rate: ratio(counts.delivered, final),
    failure_rate: ratio(counts.failed + counts.undelivered, final),
    throughput: {
      last_minute: counts.dispatchedLastMinute,
      avg_per_minute: spanMs !== null && spanMs > 0 ? round((counts.dispatched / spanMs) * MINUTE_MS, 2) : null,
    },
    created_at: iso(meta ? Number(meta.created_ms) : counts.firstReportMs),
    started_at: iso(startedMs),
    completed_at: iso(completedMs),
    last_activity_at: iso(lastActivity > 0 ? lastActivity : null),
    duration_s: spanMs !== null ? round(Math.max(0, spanMs) / 1000, 3) : null,
    eta: etaS === null ? null : iso(now + etaS * 1000),
    eta_s: etaS,
    as_of: new Date(now).toISOString(),
  };
}

/**
 * The statistics of each of these campaigns that exists (in the order asked), and the
 * message counts they came from (see `countMessages` for `recentSince` and `categories`):
 * two queries whatever the number of campaigns. The campaign "" (receipts that named no
 * campaign) is counted when asked for, never listed.
 */
export async function readCampaigns(
  storage: TenantStorage,
  campaignIds: readonly string[],
  options: { now: number; recentSince?: number; categories?: boolean },
): Promise<{ stats: CampaignStats[]; counts: CountsResult }> {
  const [meta, counts] = await Promise.all([
    campaignIds.length === 0 ? Promise.resolve([]) : readMeta(storage, "tenant = {tenant:String} AND campaign_id IN {campaign_ids:Array(String)}", { campaign_ids: campaignIds }),
    countMessages(storage, campaignIds, options),
  ]);
  const metaOf = new Map(meta.map((row) => [row.campaign_id, row]));
  const stats = campaignIds
    .filter((id) => id !== "" && (metaOf.has(id) || counts.byCampaign.has(id)))
    .map((id) => composeStats(id, metaOf.get(id), counts.byCampaign.get(id) ?? emptyCounts(), options.now));
  return { stats, counts };
}

/** The statistics of each of these campaigns that exists, in the order asked. */
export async function campaignsStats(storage: TenantStorage, campaignIds: readonly string[], options: { now?: number } = {}): Promise<CampaignStats[]> {
  return (await readCampaigns(storage, campaignIds, { now: options.now ?? Date.now() })).stats;
}

/** One campaign's statistics, or null when the tenant has no campaign or message of that id. For the live topic `sms.campaign`. */
export async function campaignStats(storage: TenantStorage, campaignId: string, options: { now?: number } = {}): Promise<CampaignStats | null> {
  const [stats] = await campaignsStats(storage, [campaignId], options);
  return stats ?? null;
}

export interface CampaignListQuery {
  limit: number;
  cursor?: string | undefined;
  user?: string | undefined;
  status?: CampaignStatus | undefined;
}

interface ListCursor {
  t: number;
  id: string;
}
const isListCursor = (value: unknown): value is ListCursor => {
  const c = value as ListCursor;
  return typeof c === "object" && c !== null && Number.isFinite(c.t) && typeof c.id === "string";
};

/** A page of the tenant's campaigns, newest (by creation) first, each with its statistics. */
export async function listCampaigns(storage: TenantStorage, query: CampaignListQuery, options: { now?: number } = {}): Promise<{ campaigns: CampaignStats[]; next_cursor: string | null }> {
  const now = options.now ?? Date.now();
  const where = ["tenant = {tenant:String}"];
  const params: Record<string, unknown> = { limit: query.limit + 1 };
  if (query.user !== undefined) (where.push("tupleElement(user, 2) = {user:String}"), (params.user = query.user));
  if (query.status !== undefined) (where.push("tupleElement(status, 3) = {status:String}"), (params.status = query.status));
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor, isListCursor);
    where.push("(created_at, campaign_id) < (fromUnixTimestamp64Milli({c_t:Int64}), {c_id:String})");
    Object.assign(params, { c_t: cursor.t, c_id: cursor.id });
  }
  const rows = await readMeta(storage, where.join(" AND "), params, "ORDER BY created_at DESC, campaign_id DESC LIMIT {limit:UInt32}");
  const page = rows.slice(0, query.limit);
  const counts = await countMessages(
    storage,
    page.map((row) => row.campaign_id),
    { now },
  );
  const last = page[page.length - 1];
  return {
    campaigns: page.map((row) => composeStats(row.campaign_id, row, counts.byCampaign.get(row.campaign_id) ?? emptyCounts(), now)),
    next_cursor: rows.length > query.limit && last ? encodeCursor({ t: Number(last.created_ms), id: last.campaign_id }) : null,
  };
}

/** The ids of a user's campaigns, newest first (at most `limit`), created inside the window when one is given. */
export async function campaignIdsOfUser(storage: TenantStorage, user: string, options: { since: number | null; until: number | null; limit: number }): Promise<string[]> {
  const where = ["tenant = {tenant:String}", "tupleElement(user, 2) = {user:String}"];
  const params: Record<string, unknown> = { user, limit: options.limit };
  if (options.since !== null) (where.push("created_at >= fromUnixTimestamp64Milli({since:Int64})"), (params.since = options.since));
  if (options.until !== null) (where.push("created_at < fromUnixTimestamp64Milli({until:Int64})"), (params.until = options.until));
  const rows = await storage.query<{ campaign_id: string }>(
    `SELECT campaign_id FROM ${storage.table("campaigns")} FINAL WHERE ${where.join(" AND ")} ORDER BY created_at DESC, campaign_id DESC LIMIT {limit:UInt32}`,
    params,
  );
  return rows.map((row) => row.campaign_id);
}

/** The tenant's campaigns with any activity since `since`, and those still running whatever their last activity. */
export async function recentCampaignIds(storage: TenantStorage, since: number): Promise<string[]> {
  const rows = await storage.query<{ campaign_id: string }>(
    `SELECT campaign_id FROM ${storage.table("campaigns")} FINAL
     WHERE tenant = {tenant:String} AND (updated_at >= fromUnixTimestamp64Milli({since:Int64}) OR tupleElement(status, 3) = 'started')
     ORDER BY created_at DESC, campaign_id DESC`,
    { since },
  );
  return rows.map((row) => row.campaign_id);
}

export type BreakdownInterval = "hour" | "day";

export interface BreakdownBucket {
  start: string;
  /** Messages that first left the queue in this bucket. */
  dispatched: number;
  /** Messages whose final status was reported in this bucket, by status. */
  delivered: number;
  undelivered: number;
  failed: number;
  final: number;
  delivery_rate: number | null;
}

/** Most buckets a breakdown fills in (a campaign of 416 days, hourly). */
const MAX_BUCKETS = 10_000;
const DISPATCHED = 9;

/** When a campaign's first and last messages were reported (epoch ms), or null for a campaign the tenant does not have. */
export async function campaignSpan(storage: TenantStorage, campaignId: string): Promise<{ first: number | null; last: number | null } | null> {
  const rows = await storage.query<{ first_ms: number | null; last_ms: number | null }>(
    `SELECT toUnixTimestamp64Milli(first_message_at) AS first_ms, toUnixTimestamp64Milli(last_message_at) AS last_ms
     FROM ${storage.table("campaigns")} FINAL WHERE tenant = {tenant:String} AND campaign_id = {campaign_id:String}`,
    { campaign_id: campaignId },
  );
  const row = rows[0];
  return row ? { first: msOrNull(row.first_ms), last: msOrNull(row.last_ms) } : null;
}

/** Whether the tenant has a campaign of this id (announced, or seen in a message). */
export async function campaignExists(storage: TenantStorage, campaignId: string): Promise<boolean> {
  const rows = await storage.query<{ n: number }>(
    `SELECT count() AS n FROM ${storage.table("campaigns")} WHERE tenant = {tenant:String} AND campaign_id = {campaign_id:String}`,
    { campaign_id: campaignId },
  );
  return Number(rows[0]?.n ?? 0) > 0;
}

/**
 * A campaign's messages per hour or day (UTC): when they left the queue and when they
 * reached their final status. Buckets without any are filled in with zeros between the
 * first and the last.
 */
export async function campaignBreakdown(storage: TenantStorage, campaignId: string, interval: BreakdownInterval): Promise<{ campaign_id: string; interval: BreakdownInterval; buckets: BreakdownBucket[] }> {
  const startOf = interval === "hour" ? "toStartOfHour" : "toStartOfDay";
  const bucketOf = (time: string) => `toUInt32(toUnixTimestamp(${startOf}(${time})))`;
  const rows = await storage.query<{ bucket_s: number; dispatched: number; delivered: number; undelivered: number; failed: number }>(
    `SELECT tupleElement(point, 1) AS bucket_s, countIf(tupleElement(point, 2) = ${DISPATCHED}) AS dispatched,
            countIf(tupleElement(point, 2) = ${CODE.delivered}) AS delivered, countIf(tupleElement(point, 2) = ${CODE.undelivered}) AS undelivered,
            countIf(tupleElement(point, 2) = ${CODE.failed}) AS failed
     FROM (
       SELECT arrayJoin(arrayConcat(
                if(dispatched_ts IS NULL, [], [(${bucketOf("assumeNotNull(dispatched_ts)")}, toUInt8(${DISPATCHED}))]),
                if(${STATUS_SQL} >= ${CODE.delivered}, [(${bucketOf(`fromUnixTimestamp64Milli(toInt64(${REPORT_MS_SQL}), 'UTC')`)}, toUInt8(${STATUS_SQL}))], [])
              )) AS point
       FROM ${storage.table("messages")} FINAL
       WHERE tenant = {tenant:String} AND campaign_id = {campaign_id:String}
     )
     GROUP BY bucket_s ORDER BY bucket_s`,
    { campaign_id: campaignId },
  );
  const byStart = new Map(rows.map((row) => [Number(row.bucket_s) * 1000, row]));
  const starts = [...byStart.keys()].sort((a, b) => a - b);
  const buckets: BreakdownBucket[] = [];
  if (starts.length > 0) {
    const first = starts[0]!;
    const last = starts[starts.length - 1]!;
    const step = interval === "hour" ? 3_600_000 : 86_400_000;
    const filled = (last - first) / step + 1 <= MAX_BUCKETS;
    for (const start of filled ? range(first, last, step) : starts) {
      const row = byStart.get(start);
      const delivered = Number(row?.delivered ?? 0);
      const undelivered = Number(row?.undelivered ?? 0);
      const failed = Number(row?.failed ?? 0);
      const final = delivered + undelivered + failed;
      buckets.push({ start: new Date(start).toISOString(), dispatched: Number(row?.dispatched ?? 0), delivered, undelivered, failed, final, delivery_rate: ratio(delivered, final) });
    }
  }
  return { campaign_id: campaignId, interval, buckets };
}

function range(first: number, last: number, step: number): number[] {
  const out: number[] = [];
  for (let at = first; at <= last; at += step) out.push(at);
  return out;
}

const listQuery = z
  .object({
    limit: limitParamSchema(20),
    cursor: z.string().optional(),
    user: idSchema("user").optional().describe("Only this user's campaigns."),
    status: z.enum(CAMPAIGN_STATUSES, { error: `status is one of ${CAMPAIGN_STATUSES.join(", ")}` }).optional(),
  })
  .strict();

const campaignParams = z.object({ id: idSchema("id") });
const noQuery = z.object({}).strict();

/** Reads `:id`, refusing any query parameter (none is taken). */
function campaignIdOf(request: { params: Record<string, string>; query: Record<string, string> }): string {
  parseRequest(noQuery, request.query);
  return parseRequest(campaignParams, request.params).id;
}

export function notFound(what: string): PluginApiError {
  return new PluginApiError("not_found", `${what} not found`);
}

export const campaignRoutes: PluginRoute[] = [
  {
    method: "GET",
    path: "/api/sms/campaigns",
    scope: "read",
    handler: async (request) => ({ body: await listCampaigns(request.storage, parseRequest(listQuery, request.query)) }),
  },
  {
    method: "GET",
    path: "/api/sms/campaigns/:id",
    scope: "read",
    async handler(request) {
      const id = campaignIdOf(request);
      const stats = await campaignStats(request.storage, id);
      if (!stats) throw notFound(`campaign ${JSON.stringify(id)}`);
      return { body: stats };
    },
  },
  ...(["hour", "day"] as const).map(
    (interval): PluginRoute => ({
      method: "GET",
      path: `/api/sms/campaigns/:id/${interval === "hour" ? "hourly" : "daily"}`,
      scope: "read",
      async handler(request) {
        const id = campaignIdOf(request);
        if (!(await campaignExists(request.storage, id))) throw notFound(`campaign ${JSON.stringify(id)}`);
        return { body: await campaignBreakdown(request.storage, id, interval) };
      },
    }),
  ),
];
