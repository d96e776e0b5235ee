import { z } from "zod";
import { PluginApiError, parseRequest, timeParamSchema, type PluginRoute } from "@vigil/plugin-sdk";
import { hitRate, quantileMs, round } from "./latency.js";
import { SUM_COLUMNS, appParam, bucketsOf, keyLabelParam, opParam, rollupFilters } from "./rollup.js";

const STEP_MS = { minute: 60_000, hour: 3_600_000 } as const;
/** Points of one series at most: a day of minutes, two months of hours. */
const MAX_POINTS = 1500;

const seriesQuery = z
  .object({
    app: appParam.optional(),
    key_label: keyLabelParam.optional(),
    op: opParam.optional(),
    since: timeParamSchema("since").optional().describe("Default: an hour (step minute) or a day (step hour) before until."),
    until: timeParamSchema("until").optional().describe("Default: now."),
    step: z.enum(["minute", "hour"], { error: 'step is "minute" or "hour"' }).default("minute"),
  })
  .strict();

/** What `GET /api/cache-monitor/series` answers. */
export interface SeriesAnswer {
  step: "minute" | "hour";
  since: string;
  until: string;
  filters: { app: string | null; key_label: string | null; op: string | null };
  points: { t: string; ops: number; ops_per_s: number; hit_rate: number | null; p95_ms: number | null }[];
}

/**
 * `GET /api/cache-monitor/series`: ops, ops/s, hit rate and p95 latency per minute or hour
 * from the rollup, for charts. Every step between since and until has a point (zero ops,
 * null rate and latency when idle); the filters narrow it to an app, key label or op.
 */
export const seriesRoute: PluginRoute = {
  method: "GET",
  path: "/api/cache-monitor/series",
  scope: "read",
  async handler(request) {
    const query = parseRequest(seriesQuery, request.query);
    const step = STEP_MS[query.step];
    const until = query.until ?? Date.now();
    const since = query.since ?? until - (query.step === "minute" ? 60 : 24) * step;
    if (since >= until) throw new PluginApiError("invalid_argument", "since must be before until", [{ path: "since", message: "must be before until" }]);
    const first = Math.floor(since / step) * step;
    const points = Math.ceil((until - first) / step);
    if (points > MAX_POINTS) {
      throw new PluginApiError("invalid_argument", `at most ${MAX_POINTS} points: narrow since..until or use step=hour`, [{ path: "since", message: `${points} ${query.step}s asked` }]);
    }
    const params: Record<string, unknown> = { since: Math.floor(first / 1000), until: Math.ceil(until / 1000) };
    const filters = rollupFilters(query, params);
    const rows = await request.storage.query<Record<string, number> & { t: number }>(
      `SELECT toUnixTimestamp(toStartOfInterval(minute, INTERVAL 1 ${query.step === "minute" ? "MINUTE" : "HOUR"})) AS t, ${SUM_COLUMNS}
       FROM ${request.storage.table("minutes")}
       WHERE tenant = {tenant:String} AND minute >= toDateTime({since:UInt32}) AND minute < toDateTime({until:UInt32})${filters}
       GROUP BY t ORDER BY t`,
      params,
    );
    const byStart = new Map(rows.map((row) => [Number(row.t) * 1000, row]));
    const series = Array.from({ length: points }, (_, i) => {
      const start = first + i * step;
      const row = byStart.get(start);
      const ops = Number(row?.ops ?? 0);
      return {
        t: new Date(start).toISOString(),
        ops,
        ops_per_s: round((ops * 1000) / step, 3),
        hit_rate: row ? hitRate(Number(row.hits), Number(row.misses), Number(row.partial_hits)) : null,
        p95_ms: row ? quantileMs(bucketsOf(row), 0.95) : null,
      };
    });
    return {
      body: {
        step: query.step,
        since: new Date(first).toISOString(),
        until: new Date(until).toISOString(),
        filters: { app: query.app ?? null, key_label: query.key_label ?? null, op: query.op ?? null },
        points: series,
      } satisfies SeriesAnswer,
    };
  },
};
