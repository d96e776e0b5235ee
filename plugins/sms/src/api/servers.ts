import { z } from "zod";
import { decodeCursor, encodeCursor, limitParamSchema, parseRequest, type PluginRoute, type TenantStorage } from "@vigil/plugin-sdk";
import { SERVER_KINDS, type ServerKind, type ServerStatus } from "../contract.js";
import { DEFAULT_WINDOW_MS, checkWindow, idSchema, iso, messageWhere, percentiles, ratio, windowFields, type Window } from "./common.js";
import { campaignSpan, notFound } from "./campaigns.js";
import { CODE, STATUS_SQL } from "./tables.js";

/** How far back a server's newest sample is looked for (its status changes are kept for the whole retention). */
const SAMPLE_LOOKBACK_MS = 24 * 3_600_000;
/** Status changes read per server to find when the current status began. */
const CHANGES_PER_SERVER = 50;

export interface ServerState {
  server_kind: string;
  server_id: string;
  /** The newest status reported (sample or change); null when the server has only carried messages. */
  status: ServerStatus | null;
  /** When the server entered that status (the start of the run of reports with it). */
  since: string | null;
  /** Newest sample or change. */
  last_report_at: string | null;
  last_error: { error: string; at: string } | null;
}

interface ChangeRow {
  server_kind: string;
  server_id: string;
  ts_ms: number;
  status: string;
  error: string;
}

interface SampleHead {
  server_kind: string;
  server_id: string;
  status: string;
  ts_ms: number;
  last_error: string;
  last_error_ms: number | null;
}

const keyOf = (kind: string, id: string) => `${kind}\u0000${id}`;

/**
 * The current status of every server of the tenant (or of the ones named): the newest of
 * its last status change and its last sample (of the past day), since when it holds, and
 * its last error.
 */
export async function serverStates(storage: TenantStorage, options: { now?: number } = {}): Promise<ServerState[]> {
  const now = options.now ?? Date.now();
  const [changes, heads] = await Promise.all([
    storage.query<ChangeRow>(
      `SELECT server_kind, server_id, toUnixTimestamp64Milli(ts) AS ts_ms, status, error
       FROM ${storage.table("server_changes")} WHERE tenant = {tenant:String}
       ORDER BY server_kind, server_id, ts DESC LIMIT ${CHANGES_PER_SERVER} BY server_kind, server_id`,
    ),
    storage.query<SampleHead>(
      `SELECT server_kind, server_id, argMax(status, ts) AS status, toUnixTimestamp64Milli(max(ts)) AS ts_ms,
              argMaxIf(error, ts, error != '') AS last_error, toUnixTimestamp64Milli(maxIf(ts, error != '')) AS last_error_ms
       FROM ${storage.table("server_samples")}
       WHERE tenant = {tenant:String} AND ts >= fromUnixTimestamp64Milli({since:Int64})
       GROUP BY server_kind, server_id`,
      { since: now - SAMPLE_LOOKBACK_MS },
    ),
  ]);
  const changesOf = new Map<string, ChangeRow[]>();
  for (const row of changes) {
    const key = keyOf(row.server_kind, row.server_id);
    changesOf.set(key, [...(changesOf.get(key) ?? []), row]);
  }
  const headOf = new Map(heads.map((row) => [keyOf(row.server_kind, row.server_id), row]));
  const states: ServerState[] = [];
  const needStreak: { state: ServerState; after: number }[] = [];
  for (const key of new Set([...changesOf.keys(), ...headOf.keys()])) {
    const newestFirst = changesOf.get(key) ?? [];
    const head = headOf.get(key);
    const lastChange = newestFirst[0];
    const [kind, id] = key.split("\u0000") as [string, string];
    const state: ServerState = { server_kind: kind, server_id: id, status: null, since: null, last_report_at: null, last_error: null };
    // A repeated change to the same status (an app restarted: "unknown" → up) continues the run.
    let runStart = lastChange;
    for (const change of newestFirst) {
      if (change.status !== lastChange?.status) break;
      runStart = change;
    }
    if (head && (!lastChange || Number(head.ts_ms) > Number(lastChange.ts_ms))) {
      state.status = head.status as ServerStatus;
      state.last_report_at = iso(Number(head.ts_ms));
      if (lastChange && lastChange.status === head.status) state.since = iso(Number(runStart!.ts_ms));
      // The samples disagree with the last change (its event was lost, or another app
      // reports this server): the run starts after the newest sample of another status.
      else needStreak.push({ state, after: lastChange ? Number(lastChange.ts_ms) : 0 });
    } else if (lastChange) {
      state.status = lastChange.status as ServerStatus;
      state.since = iso(Number(runStart!.ts_ms));
      state.last_report_at = iso(Number(lastChange.ts_ms));
    }
    const changeError = newestFirst.find((change) => change.error !== "");
    const sampleErrorMs = head?.last_error ? Number(head.last_error_ms) : null;
    if (changeError && (sampleErrorMs === null || Number(changeError.ts_ms) >= sampleErrorMs)) state.last_error = { error: changeError.error, at: iso(Number(changeError.ts_ms))! };
    else if (head?.last_error && sampleErrorMs !== null) state.last_error = { error: head.last_error, at: iso(sampleErrorMs)! };
    states.push(state);
  }
  await Promise.all(needStreak.map(({ state, after }) => fillStreakStart(storage, state, after)));
  return states.sort((a, b) => a.server_kind.localeCompare(b.server_kind) || a.server_id.localeCompare(b.server_id));
}

/** Sets `since` to the first sample of the trailing run of samples with the server's current status. */
async function fillStreakStart(storage: TenantStorage, state: ServerState, after: number): Promise<void> {
  const rows = await storage.query<{ since_ms: number | null }>(
    `SELECT toUnixTimestamp64Milli(minOrNull(ts)) AS since_ms FROM ${storage.table("server_samples")}
     WHERE tenant = {tenant:String} AND server_kind = {kind:String} AND server_id = {id:String} AND status = {status:String}
       AND ts > fromUnixTimestamp64Milli({after:Int64})
       AND ts > (SELECT coalesce(max(ts), toDateTime64(0, 3, 'UTC')) FROM ${storage.table("server_samples")}
                 WHERE tenant = {tenant:String} AND server_kind = {kind:String} AND server_id = {id:String} AND status != {status:String}
                   AND ts > fromUnixTimestamp64Milli({after:Int64}))`,
    { kind: state.server_kind, id: state.server_id, status: state.status, after },
  );
  state.since = iso(rows[0]?.since_ms ?? null);
}

export interface ServerStats extends ServerState {
  /** Messages sent through it (in the window, or of the campaign). */
  messages: number;
  delivered: number;
  undelivered: number;
  failed: number;
  /** Messages in a final status. */
  final: number;
  /** delivered ÷ final. */
  success_rate: number | null;
  /** The app's send times (ms it took the server to accept a message), over messages that reported one. */
  send_ms: { p50: number | null; p95: number | null };
  /** Health samples in the window, and the probe latency they reported (samples with a latency). */
  samples: number;
  latency_ms: { p50: number | null; p95: number | null };
  /** Samples in the window per status. */
  sample_statuses: Record<ServerStatus, number>;
}

interface MessageRow {
  server_kind: string;
  server_id: string;
  messages: number;
  delivered: number;
  undelivered: number;
  failed: number;
  send_q: unknown[];
  send_n: number;
}

interface SampleRow {
  server_kind: string;
  server_id: string;
  samples: number;
  up: number;
  degraded: number;
  down: number;
  latency_q: unknown[];
  latency_n: number;
}

export interface ServerStatsOptions {
  campaignId?: string | undefined;
  /** Default: the whole campaign when one is named, else the last 24 hours. */
  window?: Window | undefined;
  now?: number;
}

/** The span health samples are summarised over: the window, else the campaign's messages, else the last 24 hours. */
async function sampleWindow(storage: TenantStorage, options: ServerStatsOptions, now: number): Promise<{ since: number; until: number }> {
  if (options.window) return { since: options.window.since ?? 0, until: options.window.until ?? now + 1 };
  if (options.campaignId === undefined) return { since: now - DEFAULT_WINDOW_MS, until: now + 1 };
  const span = await campaignSpan(storage, options.campaignId);
  return { since: span?.first ?? now, until: span?.last === undefined || span.last === null ? now + 1 : span.last + 1 };
}

/**
 * Per sending server: the messages it carried (the campaign's, or those reported in the
 * window) with their success rate and send times, its health samples over the same span,
 * and its current status. With a campaign, only the servers that carried its messages.
 */
export async function serverStats(storage: TenantStorage, options: ServerStatsOptions = {}): Promise<{ since: string | null; until: string | null; servers: ServerStats[] }> {
  const now = options.now ?? Date.now();
  const window = options.window ?? { since: options.campaignId === undefined ? now - DEFAULT_WINDOW_MS : null, until: null };
  const params: Record<string, unknown> = {};
  const [messages, samples, states] = await Promise.all([
    storage.query<MessageRow>(
      `SELECT server_kind, server_id, count() AS messages, countIf(${STATUS_SQL} = ${CODE.delivered}) AS delivered,
              countIf(${STATUS_SQL} = ${CODE.undelivered}) AS undelivered, countIf(${STATUS_SQL} = ${CODE.failed}) AS failed,
              quantilesExactIf(0.5, 0.95)(send_ms, send_ms > 0) AS send_q, countIf(send_ms > 0) AS send_n
       FROM ${storage.table("messages")} FINAL
       WHERE ${messageWhere(storage, { campaignId: options.campaignId, window }, params)} AND server_id != ''
       GROUP BY server_kind, server_id`,
      params,
    ),
    sampleWindow(storage, options, now).then((span) =>
      storage.query<SampleRow>(
        `SELECT server_kind, server_id, count() AS samples, countIf(status = 'up') AS up, countIf(status = 'degraded') AS degraded,
                countIf(status = 'down') AS down, quantilesExactIf(0.5, 0.95)(latency_ms, latency_ms > 0) AS latency_q, countIf(latency_ms > 0) AS latency_n
         FROM ${storage.table("server_samples")}
         WHERE tenant = {tenant:String} AND ts >= fromUnixTimestamp64Milli({since:Int64}) AND ts < fromUnixTimestamp64Milli({until:Int64})
         GROUP BY server_kind, server_id`,
        span,
      ),
    ),
    serverStates(storage, { now }),
  ]);
  const messagesOf = new Map(messages.map((row) => [keyOf(row.server_kind, row.server_id), row]));
  const samplesOf = new Map(samples.map((row) => [keyOf(row.server_kind, row.server_id), row]));
  const stateOf = new Map(states.map((state) => [keyOf(state.server_kind, state.server_id), state]));
  const keys = options.campaignId !== undefined ? [...messagesOf.keys()] : [...new Set([...messagesOf.keys(), ...samplesOf.keys(), ...stateOf.keys()])];
  const servers = keys.map((key): ServerStats => {
    const [kind, id] = key.split("\u0000") as [string, string];
    const m = messagesOf.get(key);
    const s = samplesOf.get(key);
    const final = Number(m?.delivered ?? 0) + Number(m?.undelivered ?? 0) + Number(m?.failed ?? 0);
    return {
      ...(stateOf.get(key) ?? { server_kind: kind, server_id: id, status: null, since: null, last_report_at: null, last_error: null }),
      messages: Number(m?.messages ?? 0),
      delivered: Number(m?.delivered ?? 0),
      undelivered: Number(m?.undelivered ?? 0),
      failed: Number(m?.failed ?? 0),
      final,
      success_rate: ratio(Number(m?.delivered ?? 0), final),
      send_ms: percentiles(m?.send_q, m?.send_n),
      samples: Number(s?.samples ?? 0),
      latency_ms: percentiles(s?.latency_q, s?.latency_n),
      sample_statuses: { up: Number(s?.up ?? 0), degraded: Number(s?.degraded ?? 0), down: Number(s?.down ?? 0) },
    };
  });
  servers.sort((a, b) => a.server_kind.localeCompare(b.server_kind) || a.server_id.localeCompare(b.server_id));
  return { since: iso(window.since), until: iso(window.until), servers };
}

export interface StatusChange {
  id: string;
  at: string;
  status: ServerStatus;
  previous_status: ServerStatus | "unknown";
  error: string | null;
}

interface HistoryCursor {
  t: number;
  id: string;
}
const isHistoryCursor = (value: unknown): value is HistoryCursor => {
  const c = value as HistoryCursor;
  return typeof c === "object" && c !== null && Number.isFinite(c.t) && typeof c.id === "string" && /^[0-9a-f-]{36}$/.test(c.id);
};

/** A server's status changes, newest first; null when the tenant never reported that server. */
export async function serverHistory(
  storage: TenantStorage,
  kind: ServerKind,
  id: string,
  query: { limit: number; cursor?: string | undefined; window: Window },
): Promise<{ server_kind: ServerKind; server_id: string; changes: StatusChange[]; next_cursor: string | null } | null> {
  const params: Record<string, unknown> = { kind, id, limit: query.limit + 1 };
  const where = ["tenant = {tenant:String}", "server_kind = {kind:String}", "server_id = {id:String}"];
  if (query.window.since !== null) (where.push("ts >= fromUnixTimestamp64Milli({since:Int64})"), (params.since = query.window.since));
  if (query.window.until !== null) (where.push("ts < fromUnixTimestamp64Milli({until:Int64})"), (params.until = query.window.until));
  if (query.cursor !== undefined) {
    const cursor = decodeCursor(query.cursor, isHistoryCursor);
    where.push("(ts, id) < (fromUnixTimestamp64Milli({c_t:Int64}), toUUID({c_id:String}))");
    Object.assign(params, { c_t: cursor.t, c_id: cursor.id });
  }
  const [rows, known] = await Promise.all([
    storage.query<{ ts_ms: number; change_id: string; status: string; previous_status: string; error: string }>(
      `SELECT toUnixTimestamp64Milli(ts) AS ts_ms, toString(id) AS change_id, status, previous_status, error
       FROM ${storage.table("server_changes")} WHERE ${where.join(" AND ")}
       ORDER BY ts DESC, id DESC LIMIT {limit:UInt32}`,
      params,
    ),
    storage.query<{ n: number }>(
      `SELECT (SELECT count() FROM ${storage.table("server_changes")} WHERE tenant = {tenant:String} AND server_kind = {kind:String} AND server_id = {id:String})
            + (SELECT count() FROM ${storage.table("server_samples")} WHERE tenant = {tenant:String} AND server_kind = {kind:String} AND server_id = {id:String}) AS n`,
      { kind, id },
    ),
  ]);
  if (Number(known[0]?.n ?? 0) === 0) return null;
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    server_kind: kind,
    server_id: id,
    changes: page.map((row) => ({
      id: row.change_id,
      at: iso(Number(row.ts_ms))!,
      status: row.status as ServerStatus,
      previous_status: (row.previous_status || "unknown") as ServerStatus | "unknown",
      error: row.error || null,
    })),
    next_cursor: rows.length > query.limit && last ? encodeCursor({ t: Number(last.ts_ms), id: last.change_id }) : null,
  };
}

const serversQuery = z
  .object({
    campaign_id: idSchema("campaign_id").optional().describe("Only the servers that carried this campaign's messages, with its messages only."),
    ...windowFields,
  })
  .strict();

const historyParams = z.object({
  kind: z.enum(SERVER_KINDS, { error: `kind is one of ${SERVER_KINDS.join(", ")}` }),
  id: idSchema("id"),
});

const historyQuery = z
  .object({
    limit: limitParamSchema(50),
    cursor: z.string().optional(),
    ...windowFields,
  })
  .strict();

export const serverRoutes: PluginRoute[] = [
  {
    method: "GET",
    path: "/api/sms/servers",
    scope: "read",
    async handler(request) {
      const query = parseRequest(serversQuery, request.query);
      const window = query.since !== undefined || query.until !== undefined ? checkWindow(query) : undefined;
      return { body: await serverStats(request.storage, { campaignId: query.campaign_id, window }) };
    },
  },
  {
    method: "GET",
    path: "/api/sms/servers/:kind/:id/history",
    scope: "read",
    async handler(request) {
      const { kind, id } = parseRequest(historyParams, request.params);
      const query = parseRequest(historyQuery, request.query);
      const history = await serverHistory(request.storage, kind, id, { limit: query.limit, cursor: query.cursor, window: checkWindow(query) });
      if (!history) throw notFound(`server ${kind}/${id}`);
      return { body: history };
    },
  },
];
