import { z } from "zod";
import { PluginApiError, timeParamSchema, type TenantStorage } from "@vigil/plugin-sdk";
import { REPORT_MS_SQL } from "./tables.js";

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** The window of the tenant-wide views (no campaign named) when the request gives no `since`. */
export const DEFAULT_WINDOW_MS = DAY_MS;

/** A campaign id, user or server id in a path or query: ids, not documents (the webhooks cap them at 256 too). */
export const idSchema = (name: string) =>
  z.string({ error: `${name} is required` }).min(1, `${name} must not be empty`).max(256, `${name} is at most 256 characters`);

/** `since` and `until` query parameters (RFC 3339 or epoch ms). */
export const windowFields = {
  since: timeParamSchema("since").optional().describe("Start of the window (inclusive): RFC 3339 or epoch ms."),
  until: timeParamSchema("until").optional().describe("End of the window (exclusive): RFC 3339 or epoch ms."),
};

/** A time window in epoch ms; an open end is null. */
export interface Window {
  since: number | null;
  until: number | null;
}

/** Refuses a window that ends before it starts, naming `since`. */
export function checkWindow(window: { since?: number | undefined; until?: number | undefined }): Window {
  const since = window.since ?? null;
  const until = window.until ?? null;
  if (since !== null && until !== null && since >= until) {
    throw new PluginApiError("invalid_argument", "since: must be before until", [{ path: "since", message: "must be before until" }]);
  }
  return { since, until };
}

/**
 * Which messages a query reads: one campaign (the table's key prefix, cheap), a set of
 * campaigns, or every campaign of the tenant; optionally only those whose current status
 * was reported inside a window.
 */
export interface MessageScope {
  campaignId?: string | undefined;
  campaignIds?: readonly string[] | undefined;
  window?: Window | undefined;
}

/**
 * The WHERE clause of a query over `messages FINAL` (conditions on merged rows), adding its
 * params. Without a campaign, a window's start also limits the read to campaigns active
 * since then (and to receipts without a campaign), so old campaigns are skipped on the
 * key instead of merged and filtered.
 */
export function messageWhere(storage: TenantStorage, scope: MessageScope, params: Record<string, unknown>): string {
  const where = ["tenant = {tenant:String}"];
  if (scope.campaignId !== undefined) {
    where.push("campaign_id = {campaign_id:String}");
    params.campaign_id = scope.campaignId;
  } else if (scope.campaignIds !== undefined) {
    where.push("campaign_id IN {campaign_ids:Array(String)}");
    params.campaign_ids = scope.campaignIds;
  } else if (scope.window?.since != null) {
    // updated_at is a max: a campaign active since then has a row saying so, merged or not.
    where.push(
      `(campaign_id = '' OR campaign_id IN (SELECT campaign_id FROM ${storage.table("campaigns")} WHERE tenant = {tenant:String} AND updated_at >= fromUnixTimestamp64Milli({window_since:Int64})))`,
    );
  }
  if (scope.window?.since != null) {
    where.push(`${REPORT_MS_SQL} >= {window_since:Int64}`);
    params.window_since = scope.window.since;
  }
  if (scope.window?.until != null) {
    where.push(`${REPORT_MS_SQL} < {window_until:Int64}`);
    params.window_until = scope.window.until;
  }
  return where.join(" AND ");
}

export const round = (value: number, digits = 4): number => {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/** part ÷ whole as a fraction (4 digits), null when there is no whole. */
export const ratio = (part: number, whole: number): number | null => (whole > 0 ? round(part / whole) : null);

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined || !Number.isFinite(Number(ms)) ? null : new Date(Number(ms)).toISOString());

/** A nullable ms column as read back (`null`, or a number). */
export const msOrNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

/** p50/p95 from `quantilesExact(0.5, 0.95)` over `count` values; null without values (ClickHouse answers 0 then). */
export function percentiles(values: readonly unknown[] | null | undefined, count: unknown): { p50: number | null; p95: number | null } {
  const at = (i: number) => {
    const value = values?.[i];
    return Number(count) > 0 && value !== null && value !== undefined && Number.isFinite(Number(value)) ? round(Number(value), 3) : null;
  };
  return { p50: at(0), p95: at(1) };
}
