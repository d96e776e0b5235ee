import { z } from "zod";
import { parseRequest, type PluginRoute, type TenantStorage } from "@vigil/plugin-sdk";
import { DEFAULT_WINDOW_MS, checkWindow, idSchema, iso, messageWhere, percentiles, ratio, windowFields, type Window } from "./common.js";
import { CODE, STATUS_SQL } from "./tables.js";

export interface CarrierStats {
  /** The carrier the app reported; null for messages only receipts told of. */
  carrier: string | null;
  messages: number;
  /** messages ÷ all messages of the answer. */
  share: number | null;
  queued: number;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  final: number;
  /** delivered ÷ final. */
  success_rate: number | null;
  /** failed + undelivered ÷ final. */
  failure_rate: number | null;
  send_ms: { p50: number | null; p95: number | null };
}

interface CarrierRow {
  carrier: string;
  messages: number;
  queued: number;
  sent: number;
  delivered: number;
  undelivered: number;
  failed: number;
  send_q: unknown[];
  send_n: number;
}

/**
 * Per carrier: volume, statuses, success rate and send times, for one campaign (all of it
 * unless a window is given) or for the tenant's messages reported in the window (default
 * the last 24 hours). Busiest first.
 */
export async function carrierStats(
  storage: TenantStorage,
  options: { campaignId?: string | undefined; window?: Window | undefined; now?: number } = {},
): Promise<{ campaign_id: string | null; since: string | null; until: string | null; carriers: CarrierStats[] }> {
  const now = options.now ?? Date.now();
  const window = options.window ?? { since: options.campaignId === undefined ? now - DEFAULT_WINDOW_MS : null, until: null };
  const params: Record<string, unknown> = {};
  const rows = await storage.query<CarrierRow>(
    `SELECT carrier, count() AS messages,
            countIf(${STATUS_SQL} = ${CODE.queued}) AS queued, countIf(${STATUS_SQL} = ${CODE.sent}) AS sent,
            countIf(${STATUS_SQL} = ${CODE.delivered}) AS delivered, countIf(${STATUS_SQL} = ${CODE.undelivered}) AS undelivered,
            countIf(${STATUS_SQL} = ${CODE.failed}) AS failed,
            quantilesExactIf(0.5, 0.95)(send_ms, send_ms > 0) AS send_q, countIf(send_ms > 0) AS send_n
     FROM ${storage.table("messages")} FINAL
     WHERE ${messageWhere(storage, { campaignId: options.campaignId, window }, params)}
     GROUP BY carrier`,
    params,
  );
  const all = rows.reduce((sum, row) => sum + Number(row.messages), 0);
  const carriers = rows.map((row): CarrierStats => {
    const delivered = Number(row.delivered);
    const failedTotal = Number(row.failed) + Number(row.undelivered);
    const final = delivered + failedTotal;
    return {
      carrier: row.carrier || null,
      messages: Number(row.messages),
      share: ratio(Number(row.messages), all),
      queued: Number(row.queued),
      sent: Number(row.sent),
      delivered,
      undelivered: Number(row.undelivered),
      failed: Number(row.failed),
      final,
      success_rate: ratio(delivered, final),
      failure_rate: ratio(failedTotal, final),
      send_ms: percentiles(row.send_q, row.send_n),
    };
  });
  carriers.sort((a, b) => b.messages - a.messages || (a.carrier ?? "").localeCompare(b.carrier ?? ""));
  return { campaign_id: options.campaignId ?? null, since: iso(window.since), until: iso(window.until), carriers };
}

const carriersQuery = z
  .object({
    campaign_id: idSchema("campaign_id").optional().describe("Only this campaign's messages (all of them unless since/until narrow it)."),
    ...windowFields,
  })
  .strict();

export const carrierRoutes: PluginRoute[] = [
  {
    method: "GET",
    path: "/api/sms/carriers",
    scope: "read",
    async handler(request) {
      const query = parseRequest(carriersQuery, request.query);
      const window = query.since !== undefined || query.until !== undefined ? checkWindow(query) : undefined;
      return { body: await carrierStats(request.storage, { campaignId: query.campaign_id, window }) };
    },
  },
];
