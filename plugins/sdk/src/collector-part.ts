import { z as zod, type z } from "zod";
import type { EventInput } from "./event.js";

/**
 * The contract of a plugin's collector part (DESIGN.md: "its tables, rollups, REST
 * routes"). A plugin package exports it as `<package>/collector`, default-exporting
 * `defineCollectorPart(...)`; the collector loads the parts named in its configuration
 * (`VIGIL_COLLECTOR_PLUGINS`), runs their migrations and mounts their routes. Adding a
 * source never means editing the collector.
 */

/** A tenant-bound view of storage, the only one a plugin's route gets. */
export interface TenantStorage {
  readonly tenant: string;
  /** `<database>.<plugin>_<name>` for the plugin's own tables; `events` for the shared one. */
  table(name: string): string;
  /** Every query must filter on `tenant = {tenant:String}`; the value is filled in. */
  query<T>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /** Every row gets this tenant, whatever it said. */
  insert(table: string, rows: readonly object[]): Promise<void>;
}

export interface PluginMigration {
  /** 1, 2, 3 … within this plugin; never edit a released one, add a new number. */
  version: number;
  name: string;
  /** Idempotent statements (`IF NOT EXISTS`). `table("x")` names the plugin's table x. */
  statements(ctx: { table(name: string): string; retentionDays: number; /** The shared events table, e.g. for a materialized view over the plugin's events. */ events: string }): string[];
}

/**
 * The migration that gives a plugin's materialized-view targets a de-duplication window
 * like the events table's. A retried events insert (same de-duplication token: stored,
 * but its answer was lost) reaches the views again; their targets drop that second copy
 * only with a window of their own (the writer asks for it with
 * deduplicate_blocks_in_dependent_materialized_views). Cluster mode renders the setting
 * as replicated_deduplication_window.
 */
export function viewTargetDedupMigration(version: number, targets: readonly string[]): PluginMigration {
  return {
    version,
    name: "de-duplication window on the view targets",
    statements: ({ table }) => targets.map((name) => `ALTER TABLE ${table(name)} MODIFY SETTING non_replicated_deduplication_window = 10000`),
  };
}

/** `read` sees data, `write` changes configuration (and reads), `admin` everything, `ingest` is the agents'. */
export type RouteScope = "read" | "ingest" | "write" | "admin";

export interface PluginRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  /** The parsed JSON body (`{}` when empty), for POST, PUT and PATCH. */
  body: unknown;
  storage: TenantStorage;
  /**
   * Stores events in this tenant as if an agent had sent them (agent "collector"), so
   * alert rules and the events API see what the collector part noticed (e.g. a run it
   * marked stuck). Resolves once they are stored.
   */
  emit(events: readonly EventInput[]): Promise<void>;
  key: { id: string; scopes: readonly string[] };
  /** The tenant's agents connected to this collector. */
  agents: {
    /**
     * Pushes a command at once to every connected agent of the tenant (their plugins'
     * `onCommand`), e.g. "keywords changed"; returns how many streams it reached. Not
     * queued: pair it with state the agents also fetch on their own.
     */
    broadcast(command: { name: string; plugin?: string; args?: Record<string, unknown> }): number;
    /** Every agent of the tenant that ever reported, with its plugins' last reported status. */
    list(): Promise<AgentView[]>;
  };
}

/** An agent as its last heartbeat showed it. */
export interface AgentView {
  id: string;
  name: string | null;
  online: boolean;
  last_heartbeat: string | null;
  /** Whether the agent holds a push connection to this collector now. */
  push_connected: boolean;
  plugins: { id: string; use: string; state: string; message?: string; details?: Record<string, string | number | boolean> }[];
}

export interface PluginResponse {
  status?: number;
  body?: unknown;
}

export interface PluginRoute {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** An absolute path under /api (`/api/keywords`, `/api/keywords/:id`). */
  path: string;
  scope: RouteScope;
  handler(request: PluginRequest): Promise<PluginResponse>;
}

/**
 * A Prometheus metric the collector serves on its `/metrics`, computed from the plugin's
 * tables at scrape time (the result is cached for a few seconds, and a failing or slow
 * query only leaves this metric out of that scrape).
 *
 * Cross-tenant by design: `/metrics` belongs to the operator's Prometheus, so the query
 * reads every tenant's rows and each series carries a `tenant` label (a tenant id, never
 * user text). Keep the label count bounded in the query itself (e.g. the top N key labels
 * per app, the rest as "other"); the collector also caps the series of each metric at
 * `maxSeries`.
 */
export interface PluginMetric {
  /** `vigil_<part name>_<what>_<unit>`; a counter's name ends in `_total`, a gauge's does not. */
  name: string;
  help: string;
  type: "gauge" | "counter";
  /** Label columns the query selects besides `tenant`, which every series gets first. */
  labelNames: readonly string[];
  /**
   * Most series served (default 1000). Beyond it, the lowest-valued series are folded into
   * one whose `overflowLabel` is "other" per remaining label set (counters add up; gauges,
   * which cannot be added, are left out), and the collector logs that it happened.
   */
  maxSeries?: number;
  /** The label that takes the value "other" when series are folded (a counter's only). */
  overflowLabel?: string;
  /** SQL selecting `tenant`, each of `labelNames` and a numeric `value`, one row per series. */
  query(ctx: { table(name: string): string; events: string }): string;
}

/**
 * A ready-made alert rule for this source's events (the collector validates it at start
 * and offers it at `GET /api/alerts/templates`). `rule` is a rule as the alerts API takes
 * it (see the collector README, "Alert rules").
 */
export interface AlertTemplate {
  /** Unique over all plugins, e.g. "social-job-failure-rate". */
  id: string;
  title: string;
  description: string;
  rule: Record<string, unknown>;
}

/** What a collector part's periodic task may do. */
export interface CollectorTaskContext {
  /** Tenants that have rows in the part's tables or events (every tenant the collector knows). */
  tenants(): Promise<string[]>;
  /** Tenant-bound storage, as a route gets it. */
  storage(tenant: string): TenantStorage;
  /**
   * Stores events as if an agent had sent them (agent "collector"), so alert rules and the
   * events API see what the collector itself noticed (e.g. a run it marked stuck).
   * Resolves once they are in storage.
   */
  emit(tenant: string, events: readonly EventInput[]): Promise<void>;
  log: { info(fields: object, message: string): void; warn(fields: object, message: string): void };
}

/**
 * Work a collector part does on its own, every `every` ms (e.g. the stuck-run check).
 * With several collector replicas only the one holding the alerting lease runs it.
 */
export interface CollectorTask {
  name: string;
  every: number;
  run(ctx: CollectorTaskContext): Promise<void>;
}

/** A stored event as live topics see it (attribute values are text, as stored). */
export interface LiveEvent {
  source: string;
  type: string;
  /** Epoch ms. */
  ts: number;
  agent: string;
  attrs: Record<string, string>;
  body: string;
}

/**
 * A live topic clients subscribe to on the collector's WebSocket (`/api/live`), within
 * their key's tenant. A topic is fed by polling (`poll`: re-read while anyone listens,
 * sent when it changed), by stored events (`onEvents`: called with each stored batch of
 * the subscriber's tenant), or both.
 */
export interface LiveTopic<Params = unknown> {
  /** `<part name>.<what>`, e.g. "sms.campaign". */
  name: string;
  description: string;
  /** Validates a subscription's params; its error messages go back to the client. */
  params: z.ZodType<Params>;
  poll?: {
    /** ms between reads (at least 250). */
    every: number;
    read(storage: TenantStorage, params: Params): Promise<unknown>;
  };
  /** The message to send for these newly stored events, or undefined to send nothing. */
  onEvents?(events: readonly LiveEvent[], params: Params): unknown;
}

export interface CollectorPart {
  name: string;
  migrations: PluginMigration[];
  routes: PluginRoute[];
  /** Served on the collector's `/metrics` (see PluginMetric). */
  metrics?: PluginMetric[];
  /** Alert rule templates for this source's events. */
  alertTemplates?: AlertTemplate[];
  /** Periodic work (see CollectorTask). */
  tasks?: CollectorTask[];
  /** Topics of the live WebSocket (see LiveTopic). */
  liveTopics?: LiveTopic<any>[];
}

const METRIC_LABEL = /^[a-z_][a-z0-9_]*$/;

export function defineCollectorPart(part: CollectorPart): CollectorPart {
  if (!/^[a-z][a-z0-9_]*$/.test(part.name)) throw new Error(`collector part name "${part.name}" must be lower-case letters, digits and '_' (it prefixes table names)`);
  for (const route of part.routes) {
    if (!route.path.startsWith("/api/")) throw new Error(`route ${route.method} ${route.path} of ${part.name} must live under /api/`);
  }
  for (const metric of part.metrics ?? []) checkMetric(part.name, metric);
  for (const topic of part.liveTopics ?? []) {
    if (!new RegExp(`^${part.name}\\.[a-z0-9_.-]+$`).test(topic.name)) throw new Error(`live topic ${topic.name} of ${part.name} must be named ${part.name}.<what> (lower-case letters, digits, '_', '.', '-')`);
    if (!topic.poll && !topic.onEvents) throw new Error(`live topic ${topic.name} of ${part.name} needs poll, onEvents or both`);
    if (topic.poll && !(topic.poll.every >= 250)) throw new Error(`live topic ${topic.name} of ${part.name}: poll.every is at least 250 ms`);
  }
  return part;
}

function checkMetric(partName: string, metric: PluginMetric): void {
  const where = `metric ${metric.name} of ${partName}`;
  if (!new RegExp(`^vigil_${partName}_[a-z0-9_]+$`).test(metric.name)) throw new Error(`${where} must be named vigil_${partName}_<what>_<unit> (lower-case letters, digits and '_')`);
  if (metric.type === "counter" && !metric.name.endsWith("_total")) throw new Error(`${where} is a counter: its name must end in _total`);
  if (metric.type === "gauge" && metric.name.endsWith("_total")) throw new Error(`${where} is a gauge: _total is reserved for counters`);
  const labels = new Set<string>();
  for (const label of metric.labelNames) {
    if (!METRIC_LABEL.test(label) || label.startsWith("__")) throw new Error(`${where}: label "${label}" must be lower-case letters, digits and '_'`);
    if (label === "tenant" || labels.has(label)) throw new Error(`${where}: label "${label}" is given twice (tenant is always added)`);
    labels.add(label);
  }
  if (metric.overflowLabel !== undefined && !labels.has(metric.overflowLabel)) throw new Error(`${where}: overflowLabel "${metric.overflowLabel}" is not one of its labelNames`);
  if (metric.maxSeries !== undefined && (!Number.isInteger(metric.maxSeries) || metric.maxSeries < 1)) throw new Error(`${where}: maxSeries must be a positive whole number`);
}

/** `failed_precondition` (409): the request is well-formed but the entity's state refuses it (e.g. running a deleted job). */
export type ApiErrorCode = "invalid_argument" | "permission_denied" | "not_found" | "failed_precondition" | "resource_exhausted" | "unavailable";

/** Thrown by a plugin's route: answered as the collector's JSON error with the right status. */
export class PluginApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details: unknown[] = [],
  ) {
    super(message);
    this.name = "PluginApiError";
  }
}

/** Validates route input; every problem becomes one 400 naming its path. */
export function parseRequest<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => ({ path: issue.path.map(String).join("."), message: issue.message }));
  const first = details[0]!;
  throw new PluginApiError("invalid_argument", first.path ? `${first.path}: ${first.message}` : first.message, details);
}

/**
 * A query parameter holding a point in time: RFC 3339 text ("2026-11-27T10:00:00Z") or
 * epoch milliseconds, as everywhere in Vigil's API. Yields epoch milliseconds.
 */
export function timeParamSchema(name: string) {
  return zod.string().transform((value, ctx) => {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isFinite(ms)) {
      ctx.addIssue({ code: "custom", message: `${name} is RFC 3339 text like "2026-11-27T10:00:00Z" or epoch milliseconds` });
      return zod.NEVER;
    }
    return ms;
  });
}

/** A list's `limit` query parameter: 1–1000, `fallback` when absent. */
export function limitParamSchema(fallback: number) {
  return zod.coerce
    .number({ error: "limit must be a number" })
    .int()
    .min(1, "limit must be at least 1")
    .max(1000, "limit must be at most 1000")
    .default(fallback);
}

/** A list's opaque `cursor`: the position after the last row of a page, as base64url JSON. */
export function encodeCursor(position: object): string {
  return Buffer.from(JSON.stringify(position)).toString("base64url");
}

/** Reads a cursor `encodeCursor` wrote; anything else is a 400 naming `cursor`. */
export function decodeCursor<T>(text: string, isPosition: (value: unknown) => value is T): T {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (isPosition(value)) return value;
  } catch {
    // reported below
  }
  throw new PluginApiError("invalid_argument", "cursor is not valid: pass the next_cursor of the previous page unchanged", [{ path: "cursor", message: "not a cursor of this list" }]);
}

let lastRowVersion = 0;
/**
 * The `version` of a row in a `ReplacingMergeTree(version, is_deleted)` table: a
 * microsecond clock, strictly increasing within the process, so a later write always
 * wins over an earlier one.
 */
export function nextRowVersion(): number {
  lastRowVersion = Math.max(Date.now() * 1000, lastRowVersion + 1);
  return lastRowVersion;
}
