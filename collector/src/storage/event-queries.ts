import { z } from "zod";
import { UUID_PATTERN } from "@vigil/plugin-sdk";
import { invalidInput, parseInput } from "../validate.js";
import type { TenantScope } from "./tenant-scope.js";

const MAX_PAGE = 1000;

const instant = z
  .string()
  .transform((value, ctx) => {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: "custom", message: `"${value}" is not a time: use RFC 3339 (2026-11-27T10:00:00Z) or epoch milliseconds` });
      return z.NEVER;
    }
    return ms;
  });

interface Cursor {
  ts: number;
  id: string;
}

function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.ts, cursor.id])).toString("base64url");
}

const cursorSchema = z.string().transform((value, ctx) => {
  try {
    const [ts, id] = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as [unknown, unknown];
    if (typeof ts === "number" && Number.isSafeInteger(ts) && typeof id === "string" && UUID_PATTERN.test(id)) return { ts, id } satisfies Cursor;
  } catch {
    // fall through to the issue below
  }
  ctx.addIssue({ code: "custom", message: "cursor is not valid: pass the next_cursor of the previous page unchanged" });
  return z.NEVER;
});

const listEventsParamsSchema = z.object({
  source: z.string().max(64).optional(),
  type: z.string().max(128).optional(),
  since: instant.optional(),
  until: instant.optional(),
  q: z.string().min(1).max(256, "q is limited to 256 characters").optional(),
  limit: z.coerce
    .number({ error: "limit must be a number" })
    .int("limit must be a whole number")
    .min(1, "limit must be at least 1")
    .max(MAX_PAGE, `limit must be at most ${MAX_PAGE}`)
    .default(100),
  cursor: cursorSchema.optional(),
  attrs: z.array(z.object({ key: z.string(), value: z.string() })).max(16, "at most 16 attr.<key> filters"),
});

const KNOWN_PARAMS = ["source", "type", "since", "until", "q", "limit", "cursor"];

/**
 * Query string of `GET /v1/events` (every key as a list, from `c.req.queries()`).
 * Throws a 400 ApiError naming each unknown or malformed parameter.
 */
export function parseListEventsQuery(raw: Record<string, string[]>) {
  const issues: { path: string[]; message: string }[] = [];
  const attrs: { key: string; value: string }[] = [];
  const single: Record<string, string | undefined> = {};
  for (const [name, values] of Object.entries(raw)) {
    if (name.startsWith("attr.")) {
      const key = name.slice(5);
      if (!/^[a-z][a-z0-9_.]*$/.test(key)) {
        issues.push({ path: [name], message: "attribute filters are attr.<snake_case_key>=<value>" });
      }
      for (const value of values) attrs.push({ key, value });
    } else if (KNOWN_PARAMS.includes(name)) {
      single[name] = values.at(-1);
    } else {
      issues.push({ path: [name], message: `unknown parameter "${name}": use source, type, since, until, attr.<key>, q, limit or cursor` });
    }
  }
  if (issues.length > 0) throw invalidInput(issues);
  return parseInput(listEventsParamsSchema, { ...single, attrs });
}

export type ListEventsQuery = z.output<typeof listEventsParamsSchema>;

export interface StoredEvent {
  id: string;
  ts: string;
  received_at: string;
  source: string;
  type: string;
  severity: string;
  agent: string;
  attrs: Record<string, string>;
  body: string;
}

/** Newest first; `next_cursor` is null on the last page. */
export async function listEvents(scope: TenantScope, query: ListEventsQuery): Promise<{ events: StoredEvent[]; next_cursor: string | null }> {
  const where = ["tenant = {tenant:String}"];
  const params: Record<string, unknown> = { limit: query.limit };
  if (query.source) (where.push("source = {source:String}"), (params.source = query.source));
  if (query.type) (where.push("type = {type:String}"), (params.type = query.type));
  if (query.since !== undefined) (where.push("ts >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')"), (params.since = query.since));
  if (query.until !== undefined) (where.push("ts < fromUnixTimestamp64Milli({until:Int64}, 'UTC')"), (params.until = query.until));
  if (query.q) (where.push("positionCaseInsensitiveUTF8(body, {q:String}) > 0"), (params.q = query.q));
  query.attrs.forEach(({ key, value }, i) => {
    where.push(`attrs[{attr_key_${i}:String}] = {attr_value_${i}:String}`);
    params[`attr_key_${i}`] = key;
    params[`attr_value_${i}`] = value;
  });
  if (query.cursor) {
    where.push("(ts, id) < (fromUnixTimestamp64Milli({cursor_ts:Int64}, 'UTC'), toUUID({cursor_id:String}))");
    params.cursor_ts = query.cursor.ts;
    params.cursor_id = query.cursor.id;
  }
  type Row = Pick<StoredEvent, "source" | "type" | "agent" | "attrs" | "body"> & {
    event_id: string;
    ts_ms: number;
    received_ms: number;
    severity_name: string;
  };
  const rows = await scope.query<Row>(
    `SELECT toString(id) AS event_id, toUnixTimestamp64Milli(ts) AS ts_ms, toUnixTimestamp64Milli(received_at) AS received_ms,
            source, type, toString(severity) AS severity_name, agent, attrs, body
     FROM ${scope.table("events")}
     WHERE ${where.join(" AND ")}
     ORDER BY ts DESC, id DESC
     LIMIT {limit:UInt32}`,
    params,
  );
  const last = rows.at(-1);
  const events: StoredEvent[] = rows.map((row) => ({
    id: row.event_id,
    ts: new Date(Number(row.ts_ms)).toISOString(),
    received_at: new Date(Number(row.received_ms)).toISOString(),
    source: row.source,
    type: row.type,
    severity: row.severity_name,
    agent: row.agent,
    attrs: row.attrs,
    body: row.body,
  }));
  return { events, next_cursor: rows.length === query.limit && last ? encodeCursor({ ts: Number(last.ts_ms), id: last.event_id }) : null };
}

export interface Stats {
  window_hours: number;
  total_events: number;
  by_source: { source: string; events: number }[];
  by_type: { source: string; type: string; events: number }[];
  ingest_rate_per_s: number;
  /** Events received per second, averaged per minute, over the last hour (oldest first; minutes with none are 0). */
  rate_per_minute: { minute: string; events_per_s: number }[];
  generated_at: string;
}

const RATE_WINDOW_S = 60;
const RATE_SERIES_MINUTES = 60;

/** Counts of the last 24 h by source and type, the ingest rate of the last minute, and per minute over the last hour. */
export async function eventStats(scope: TenantScope): Promise<Stats> {
  const byType = await scope.query<{ source: string; type: string; events: number }>(
    `SELECT source, type, count() AS events
     FROM ${scope.table("events")}
     WHERE tenant = {tenant:String} AND ts >= now64(3) - INTERVAL 1 DAY
     GROUP BY source, type
     ORDER BY events DESC, source, type`,
  );
  const [recent] = await scope.query<{ events: number }>(
    `SELECT count() AS events
     FROM ${scope.table("events")}
     WHERE tenant = {tenant:String} AND ts >= now64(3) - INTERVAL 1 DAY
       AND received_at >= now64(3) - INTERVAL ${RATE_WINDOW_S} SECOND`,
  );
  const perMinute = await scope.query<{ minute: number; events: number }>(
    `SELECT toUnixTimestamp(toStartOfMinute(received_at)) AS minute, count() AS events
     FROM ${scope.table("events")}
     WHERE tenant = {tenant:String} AND ts >= now64(3) - INTERVAL 1 DAY
       AND received_at >= toStartOfMinute(now64(3) - INTERVAL ${RATE_SERIES_MINUTES - 1} MINUTE)
     GROUP BY minute`,
  );
  const counted = new Map(perMinute.map((row) => [Number(row.minute), Number(row.events)]));
  const thisMinute = Math.floor(Date.now() / 60_000) * 60;
  const rateSeries = Array.from({ length: RATE_SERIES_MINUTES }, (_, i) => {
    const minute = thisMinute - (RATE_SERIES_MINUTES - 1 - i) * 60;
    // The current minute has only run for part of its 60 s.
    const seconds = minute === thisMinute ? Math.max(1, (Date.now() / 1000) - minute) : 60;
    return { minute: new Date(minute * 1000).toISOString(), events_per_s: Math.round(((counted.get(minute) ?? 0) / seconds) * 100) / 100 };
  });
  const bySource = new Map<string, number>();
  for (const row of byType) bySource.set(row.source, (bySource.get(row.source) ?? 0) + Number(row.events));
  return {
    window_hours: 24,
    total_events: byType.reduce((sum, row) => sum + Number(row.events), 0),
    by_source: [...bySource].map(([source, events]) => ({ source, events })).sort((a, b) => b.events - a.events),
    by_type: byType.map((row) => ({ ...row, events: Number(row.events) })),
    ingest_rate_per_s: Math.round((Number(recent?.events ?? 0) / RATE_WINDOW_S) * 100) / 100,
    rate_per_minute: rateSeries,
    generated_at: new Date().toISOString(),
  };
}
