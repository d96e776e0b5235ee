import { z } from "zod";

/**
 * The collector's `GET /api/cache-monitor` answer, read leniently: a field that is missing
 * or of the wrong type becomes `undefined` (shown as "—"), an entry that is not an object
 * is skipped, and numbers sent as strings (ClickHouse quotes 64-bit integers) are read as
 * numbers. A terminal view should show what it can, not fail on a newer or older collector.
 */

function numeric(value: unknown): unknown {
  return typeof value === "string" && value.trim() !== "" ? Number(value) : value;
}

const num = z.preprocess(numeric, z.number().finite()).optional().catch(undefined);
const text = z.string().optional().catch(undefined);
/** Epoch ms, or an RFC 3339 string. */
const time = z.union([z.number().finite(), z.string()]).optional().catch(undefined);

/** A list whose bad entries are dropped one by one, never the whole list. */
function listOf<T extends z.ZodType>(item: T) {
  return z
    .array(z.unknown())
    .catch([])
    .transform((entries) =>
      entries.flatMap((entry) => {
        const parsed = item.safeParse(entry);
        return parsed.success ? [parsed.data as z.output<T>] : [];
      }),
    );
}

const quantilesSchema = z.object({ p50: num, p95: num, p99: num });

const summarySchema = z.object({
  window_s: num,
  ops: num,
  hits: num,
  misses: num,
  partial_hits: num,
  /** 0..1, or null when there were no cache reads. */
  hit_rate: num,
  cache_writes: num,
  db_reads: num,
  db_writes: num,
  hybrid_queries: num,
  latency_ms: z
    .record(z.string(), z.unknown())
    .catch({})
    .transform((byOp) =>
      Object.fromEntries(
        Object.entries(byOp).flatMap(([op, value]) => {
          const parsed = quantilesSchema.safeParse(value);
          return parsed.success ? [[op, parsed.data]] : [];
        }),
      ),
    ),
});

const EMPTY_SUMMARY = summarySchema.parse({});

const keyLabelSchema = z.object({ key_label: z.string(), ops: num, hit_rate: num });

const recentSchema = z.object({
  ts: time,
  op: text,
  key_label: text,
  result: text,
  count: num,
  duration_ms: num,
  sample_rate: num,
  mode: text,
});

const appSchema = z.object({
  app: z.string(),
  mode: text,
  /** false: the app's settings switch it off (it may not have reported the switch yet). */
  enabled: z.boolean().optional().catch(undefined),
  ops_per_s: num,
  last_seen: time,
  dropped_events: num,
  summary: summarySchema.catch(EMPTY_SUMMARY),
  key_labels: listOf(keyLabelSchema),
  recent: listOf(recentSchema),
});

const answerSchema = z.object({ apps: listOf(appSchema), settings: z.unknown().optional() });

export type LatencyQuantiles = z.output<typeof quantilesSchema>;
export type AppSummary = z.output<typeof summarySchema>;
export type KeyLabelView = z.output<typeof keyLabelSchema>;
export type RecentOp = z.output<typeof recentSchema>;
export type AppView = z.output<typeof appSchema>;
export type MonitorAnswer = z.output<typeof answerSchema>;

/** The answer, or undefined when the body is not a cache monitor answer at all (no `apps` list). */
export function readAnswer(body: unknown): MonitorAnswer | undefined {
  if (typeof body !== "object" || body === null || !Array.isArray((body as { apps?: unknown }).apps)) return undefined;
  const parsed = answerSchema.safeParse(body);
  return parsed.success ? parsed.data : undefined;
}

/** Epoch ms of a `ts` or `last_seen` value, or undefined. */
export function timeMs(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "number") return value;
  const trimmed = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed);
  // ClickHouse's DateTime64 text ("2026-11-27 12:03:04.123") is UTC without saying so.
  else if (/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(trimmed)) ms = Date.parse(`${trimmed.replace(" ", "T")}Z`);
  else ms = Date.parse(trimmed);
  return Number.isFinite(ms) ? ms : undefined;
}
