import { z } from "zod";
import { APP_NAME, OPS, type Op } from "../contract.js";
import { BUCKET_COLUMNS } from "./tables.js";

/** What the routes over the minute rollup share: their filter parameters and the sums they read. */

export const appParam = z.string().regex(APP_NAME, 'app is a name of letters, digits, ".", "_" and "-" (at most 64)');
export const keyLabelParam = z.string().min(1).max(200);
export const opParam = z.enum(OPS, { error: `an op kind: one of ${OPS.join(", ")}` });

/** Rows of the minute rollup summed over a group, histogram included. */
export interface RollupSums {
  ops: number;
  items: number;
  hits: number;
  misses: number;
  partial_hits: number;
  sum_ms: number;
  [bucket: `le_${string}`]: number;
}

export const SUM_COLUMNS = ["ops", "items", "hits", "misses", "partial_hits", "sum_ms", ...BUCKET_COLUMNS].map((c) => `sum(${c}) AS ${c}`).join(", ");

/** The histogram of summed rollup rows, as `quantileMs` takes it. */
export const bucketsOf = (row: object): number[] => BUCKET_COLUMNS.map((c) => Number((row as Record<string, unknown>)[c] ?? 0));

/** Filters on the rollup (and their values) that a query's parameters ask for. */
export function rollupFilters(query: { app?: string; key_label?: string; op?: Op }, params: Record<string, unknown>): string {
  const where: string[] = [];
  if (query.app !== undefined) (where.push("app = {app:String}"), (params.app = query.app));
  if (query.key_label !== undefined) (where.push("key_label = {key_label:String}"), (params.key_label = query.key_label));
  if (query.op !== undefined) (where.push("op = {op:String}"), (params.op = query.op));
  return where.map((w) => ` AND ${w}`).join("");
}
