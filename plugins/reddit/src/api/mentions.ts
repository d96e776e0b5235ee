import { z } from "zod";
import { PluginApiError, decodeCursor, encodeCursor, limitParamSchema, parseRequest, timeParamSchema, type PluginRequest, type PluginRoute } from "@vigil/plugin-sdk";
import { subredditNameSchema } from "../listing.js";
import { listKeywords } from "./keywords.js";

const time = (name: string) => timeParamSchema(name).optional();

const mentionsQuery = z
  .object({
    keyword_id: z.string().min(1).max(64).optional(),
    keyword: z.string().min(1).max(200).optional().describe("The keyword's text, compared case-insensitively."),
    subreddit: subredditNameSchema().optional(),
    kind: z.enum(["post", "comment"], { error: 'kind is "post" or "comment"' }).optional(),
    since: time("since"),
    until: time("until"),
    limit: limitParamSchema(50),
    cursor: z.string().optional(),
  })
  .strict();

const countsQuery = z
  .object({
    keyword_id: z.string().min(1).max(64).optional(),
    interval: z.enum(["hour", "day"], { error: 'interval is "hour" or "day"' }).default("hour"),
    since: time("since"),
    until: time("until"),
  })
  .strict();

/** One mention as `GET /api/mentions` lists it: a keyword found in a post or comment. */
export interface MentionView {
  keyword_id: string;
  keyword: string;
  fullname: string;
  subreddit: string;
  /** "post" or "comment". */
  kind: string;
  permalink: string;
  author: string;
  created_at: string;
  snippet: string;
  agent: string;
  received_at: string;
}

/** `GET /api/mentions/counts`: mentions per keyword per hour or day. */
export interface MentionCounts {
  interval: "hour" | "day";
  since: string;
  until: string;
  keywords: {
    keyword_id: string;
    /** null once the keyword was deleted. */
    keyword: string | null;
    total: number;
    buckets: { start: string; mentions: number }[];
  }[];
}

interface MentionRow {
  keyword_id: string;
  fullname: string;
  keyword: string;
  subreddit: string;
  kind: string;
  permalink: string;
  author: string;
  created_ms: number;
  snippet: string;
  agent: string;
  received_ms: number;
}

interface Cursor {
  t: number;
  f: string;
  k: string;
}

const cursorOf = (row: MentionRow): Cursor => ({ t: Number(row.created_ms), f: row.fullname, k: row.keyword_id });

const isCursor = (value: unknown): value is Cursor => {
  const c = value as Cursor;
  return typeof c === "object" && c !== null && typeof c.t === "number" && typeof c.f === "string" && typeof c.k === "string";
};

const DAY_MS = 86_400_000;

export const mentionRoutes: PluginRoute[] = [
  {
    method: "GET",
    path: "/api/mentions",
    scope: "read",
    // Newest first (by the post's or comment's creation time); each (keyword, item) once.
    async handler(request: PluginRequest) {
      const query = parseRequest(mentionsQuery, request.query);
      const where = ["tenant = {tenant:String}"];
      const params: Record<string, unknown> = { limit: query.limit + 1 };
      if (query.keyword_id) (where.push("keyword_id = {keyword_id:String}"), (params.keyword_id = query.keyword_id));
      if (query.keyword) (where.push("lower(keyword) = lower({keyword:String})"), (params.keyword = query.keyword));
      if (query.subreddit) (where.push("lower(subreddit) = lower({subreddit:String})"), (params.subreddit = query.subreddit));
      if (query.kind) (where.push("kind = {kind:String}"), (params.kind = query.kind));
      if (query.since !== undefined) (where.push("created_at >= fromUnixTimestamp64Milli({since:Int64})"), (params.since = query.since));
      if (query.until !== undefined) (where.push("created_at < fromUnixTimestamp64Milli({until:Int64})"), (params.until = query.until));
      if (query.cursor) {
        const cursor = decodeCursor(query.cursor, isCursor);
        where.push("(created_at, fullname, keyword_id) < (fromUnixTimestamp64Milli({c_t:Int64}), {c_f:String}, {c_k:String})");
        Object.assign(params, { c_t: cursor.t, c_f: cursor.f, c_k: cursor.k });
      }
      const rows = await request.storage.query<MentionRow>(
        `SELECT keyword_id, fullname, keyword, subreddit, kind, permalink, author, toUnixTimestamp64Milli(created_at) AS created_ms,
                snippet, agent, toUnixTimestamp64Milli(received_at) AS received_ms
         FROM ${request.storage.table("mentions")} FINAL
         WHERE ${where.join(" AND ")}
         ORDER BY created_at DESC, fullname DESC, keyword_id DESC
         LIMIT {limit:UInt32}`,
        params,
      );
      const page = rows.slice(0, query.limit);
      return {
        body: {
          mentions: page.map((row): MentionView => ({
            keyword_id: row.keyword_id,
            keyword: row.keyword,
            fullname: row.fullname,
            subreddit: row.subreddit,
            kind: row.kind,
            permalink: row.permalink,
            author: row.author,
            created_at: new Date(Number(row.created_ms)).toISOString(),
            snippet: row.snippet,
            agent: row.agent,
            received_at: new Date(Number(row.received_ms)).toISOString(),
          })),
          next_cursor: rows.length > query.limit ? encodeCursor(cursorOf(page[page.length - 1]!)) : null,
        },
      };
    },
  },
  {
    method: "GET",
    path: "/api/mentions/counts",
    scope: "read",
    // Mentions per keyword per hour or day, from the rollup (default: the last 24 hours).
    async handler(request: PluginRequest) {
      const query = parseRequest(countsQuery, request.query);
      const until = query.until ?? Date.now();
      const since = query.since ?? until - DAY_MS;
      if (since >= until) throw new PluginApiError("invalid_argument", "since must be before until", [{ path: "since", message: "must be before until" }]);
      const params: Record<string, unknown> = { since: Math.floor(since / 1000), until: Math.ceil(until / 1000) };
      const bucket = query.interval === "hour" ? "hour" : "toStartOfDay(hour)";
      const [rows, keywords] = await Promise.all([
        request.storage.query<{ keyword_id: string; bucket_s: number; mentions: number }>(
          `SELECT keyword_id, toUnixTimestamp(${bucket}) AS bucket_s, uniqExactMerge(items) AS mentions
           FROM ${request.storage.table("mention_counts")}
           WHERE tenant = {tenant:String} AND hour >= toStartOfHour(toDateTime({since:UInt32})) AND hour < toDateTime({until:UInt32})
             ${query.keyword_id ? "AND keyword_id = {keyword_id:String}" : ""}
           GROUP BY keyword_id, bucket_s
           ORDER BY keyword_id, bucket_s`,
          query.keyword_id ? { ...params, keyword_id: query.keyword_id } : params,
        ),
        listKeywords(request),
      ]);
      const texts = new Map(keywords.map((k) => [k.id, k.keyword]));
      const byKeyword = new Map<string, { start: string; mentions: number }[]>();
      for (const row of rows) {
        const list = byKeyword.get(row.keyword_id) ?? [];
        list.push({ start: new Date(Number(row.bucket_s) * 1000).toISOString(), mentions: Number(row.mentions) });
        byKeyword.set(row.keyword_id, list);
      }
      const counts: MentionCounts = {
        interval: query.interval,
        since: new Date(since).toISOString(),
        until: new Date(until).toISOString(),
        keywords: [...byKeyword].map(([id, buckets]) => ({
          keyword_id: id,
          keyword: texts.get(id) ?? null,
          total: buckets.reduce((sum, b) => sum + b.mentions, 0),
          buckets,
        })),
      };
      return { body: counts };
    },
  },
];
