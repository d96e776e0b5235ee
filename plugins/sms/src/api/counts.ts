import type { TenantStorage } from "@vigil/plugin-sdk";
import { ERROR_CATEGORIES, diagnose, type ErrorCategory } from "../errors.js";
import { CODE, FAILURE_CATEGORY_SQL, REPORT_MS_SQL, STATUS_SQL } from "./tables.js";

/** How many of a set of messages are in each status, and when they left the queue. */
export interface MessageCounts {
  messages: number;
  queued: number;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  /** Messages that left the queue (a sent or final report). */
  dispatched: number;
  /** Of those, how many first left it in the minute before `now`. */
  dispatchedLastMinute: number;
  firstDispatchMs: number | null;
  lastDispatchMs: number | null;
  firstReportMs: number | null;
  lastReportMs: number | null;
}

export const emptyCounts = (): MessageCounts => ({
  messages: 0,
  queued: 0,
  sent: 0,
  delivered: 0,
  undelivered: 0,
  failed: 0,
  dispatched: 0,
  dispatchedLastMinute: 0,
  firstDispatchMs: null,
  lastDispatchMs: null,
  firstReportMs: null,
  lastReportMs: null,
});

const STATUS_BY_CODE = ["queued", "sent", "delivered", "undelivered", "failed"] as const;

const minOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.min(a, b));
const maxOf = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

function add(into: MessageCounts, row: CountRow): void {
  const n = Number(row.n);
  into.messages += n;
  into[STATUS_BY_CODE[Number(row.code)] ?? "queued"] += n;
  into.dispatched += Number(row.dispatched);
  into.dispatchedLastMinute += Number(row.last_minute);
  into.firstDispatchMs = minOf(into.firstDispatchMs, row.first_dispatch_ms === null ? null : Number(row.first_dispatch_ms));
  into.lastDispatchMs = maxOf(into.lastDispatchMs, row.last_dispatch_ms === null ? null : Number(row.last_dispatch_ms));
  into.firstReportMs = minOf(into.firstReportMs, row.first_ms === null ? null : Number(row.first_ms));
  into.lastReportMs = maxOf(into.lastReportMs, row.last_ms === null ? null : Number(row.last_ms));
}

interface CountRow {
  campaign_id: string;
  code: number;
  recent: number;
  /** 1 + the index in ERROR_CATEGORIES of a failed message's category; 0 when not asked, not failed, or not stamped. */
  category: number;
  n: number;
  dispatched: number;
  last_minute: number;
  first_dispatch_ms: number | null;
  last_dispatch_ms: number | null;
  first_ms: number | null;
  last_ms: number | null;
}

export interface CountsResult {
  /** Every message of each campaign asked for (the campaign "" holds receipts that named none). */
  byCampaign: Map<string, MessageCounts>;
  /** Over all the campaigns asked for, the messages whose current status was reported since `recentSince` (all when not given). */
  recent: MessageCounts;
  /** The same, per campaign. */
  recentByCampaign: Map<string, MessageCounts>;
  /** Failed and undelivered messages among `recent`, per category (only when asked for). */
  failuresByCategory: Map<ErrorCategory, number>;
}

/** A failure's category: the one stamped on its report, else what the error table makes of its code. */
export function categoryOf(stamped: string, code: string, reporter: string, serverKind: string, text = ""): ErrorCategory {
  if ((ERROR_CATEGORIES as readonly string[]).includes(stamped)) return stamped as ErrorCategory;
  return diagnose({ reporter, serverKind, code, text }).category;
}

/**
 * Counts the messages of these campaigns by status in one pass over `messages FINAL` on the
 * key prefix. `recentSince` also totals the messages reported since then; `categories`
 * also counts their failures per category.
 */
export async function countMessages(
  storage: TenantStorage,
  campaignIds: readonly string[],
  options: { now: number; recentSince?: number; categories?: boolean },
): Promise<CountsResult> {
  const result: CountsResult = { byCampaign: new Map(), recent: emptyCounts(), recentByCampaign: new Map(), failuresByCategory: new Map() };
  if (campaignIds.length === 0) return result;
  const params: Record<string, unknown> = { campaign_ids: campaignIds, now: options.now, minute_ago: options.now - 60_000 };
  const recent = options.recentSince === undefined ? "1" : `${REPORT_MS_SQL} >= {recent_since:UInt64}`;
  if (options.recentSince !== undefined) params.recent_since = options.recentSince;
  // The category index, not the error tuple: merging that tuple would cost more than the rest.
  const category = options.categories ? `if(code >= ${CODE.undelivered}, ${FAILURE_CATEGORY_SQL}, 0)` : "0";
  const rows = await storage.query<CountRow>(
    `SELECT campaign_id, ${STATUS_SQL} AS code, ${recent} AS recent, ${category} AS category,
            count() AS n,
            countIf(dispatched_ts IS NOT NULL) AS dispatched,
            countIf(dispatched_ts > fromUnixTimestamp64Milli({minute_ago:Int64}) AND dispatched_ts <= fromUnixTimestamp64Milli({now:Int64})) AS last_minute,
            toUnixTimestamp64Milli(min(dispatched_ts)) AS first_dispatch_ms, toUnixTimestamp64Milli(max(dispatched_ts)) AS last_dispatch_ms,
            toUnixTimestamp64Milli(min(first_ts)) AS first_ms, toUnixTimestamp64Milli(max(last_ts)) AS last_ms
     FROM ${storage.table("messages")} FINAL
     WHERE tenant = {tenant:String} AND campaign_id IN {campaign_ids:Array(String)}
     GROUP BY campaign_id, code, recent, category`,
    params,
  );
  const of = (map: Map<string, MessageCounts>, id: string) => {
    let counts = map.get(id);
    if (!counts) map.set(id, (counts = emptyCounts()));
    return counts;
  };
  for (const row of rows) {
    add(of(result.byCampaign, row.campaign_id), row);
    if (Number(row.recent) !== 1) continue;
    add(result.recent, row);
    add(of(result.recentByCampaign, row.campaign_id), row);
    if (options.categories && Number(row.code) >= CODE.undelivered) {
      // A failure whose report named no category (not the SDK's or the receipts') counts as unknown.
      const name = ERROR_CATEGORIES[Number(row.category) - 1] ?? "unknown";
      result.failuresByCategory.set(name, (result.failuresByCategory.get(name) ?? 0) + Number(row.n));
    }
  }
  return result;
}
