import type { z } from "zod";

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

export type RouteScope = "read" | "ingest" | "admin";

export interface PluginRequest {
  params: Record<string, string>;
  query: Record<string, string>;
  /** The parsed JSON body (`{}` when empty), for POST, PUT and PATCH. */
  body: unknown;
  storage: TenantStorage;
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

export interface CollectorPart {
  name: string;
  migrations: PluginMigration[];
  routes: PluginRoute[];
}

export function defineCollectorPart(part: CollectorPart): CollectorPart {
  if (!/^[a-z][a-z0-9_]*$/.test(part.name)) throw new Error(`collector part name "${part.name}" must be lower-case letters, digits and '_' (it prefixes table names)`);
  for (const route of part.routes) {
    if (!route.path.startsWith("/api/")) throw new Error(`route ${route.method} ${route.path} of ${part.name} must live under /api/`);
  }
  return part;
}

export type ApiErrorCode = "invalid_argument" | "permission_denied" | "not_found" | "resource_exhausted" | "unavailable";

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
