import type { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { agentCommandSchema, type AgentView, type CollectorPart, type PluginRoute, type TenantStorage } from "@vigil/plugin-sdk";
import { parseInput } from "../validate.js";
import type { AppEnv, Services } from "../app-env.js";
import { authenticate, requireScope } from "../auth/middleware.js";
import { ApiError } from "../errors.js";
import { readJson } from "../routes/keys.js";
import type { TenantScope } from "../storage/tenant-scope.js";
import type { AgentCursor } from "../agents/store.js";
import { emitFromPart } from "./emit.js";
import { pluginTableName } from "./load.js";

const PLUGIN_BODY_BYTES = 1024 * 1024;

/** The storage a plugin's route gets: its tenant's scope, with table names in the plugin's namespace. */
export function pluginStorage(part: CollectorPart, scope: TenantScope): TenantStorage {
  return {
    tenant: scope.tenant,
    table: (name) => scope.table(pluginTableName(part, name)),
    query: (sql, params) => scope.query(sql, params),
    insert: (table, rows) => {
      if (table === "events") throw new Error(`plugin ${part.name} must send events through ingest, not insert them`);
      return scope.insert(pluginTableName(part, table), rows);
    },
  };
}

const AGENT_PAGE = 500;

/** Every agent of the tenant, as a plugin route sees it (its last heartbeat, and whether it is pushed to from here). */
async function listAgentViews(services: Services, scope: TenantScope): Promise<AgentView[]> {
  const views: AgentView[] = [];
  let cursor: AgentCursor | undefined;
  do {
    const page = await services.agents.listAgents(scope, { limit: AGENT_PAGE, cursor });
    for (const agent of page.agents) {
      views.push({
        id: agent.id,
        name: agent.name,
        online: agent.online,
        last_heartbeat: agent.last_heartbeat,
        push_connected: services.agentHub.isConnected(scope.tenant, agent.id),
        plugins: agent.plugins,
      });
    }
    cursor = page.next ?? undefined;
  } while (cursor);
  return views;
}

/**
 * Mounts every plugin route on the app, behind the same authentication and scope
 * checks as the core routes. A path that another route already answers stops the
 * start with an error naming both.
 */
export function mountPluginRoutes(app: Hono<AppEnv>, services: Services, parts: readonly CollectorPart[]): void {
  const taken = new Map<string, string>(app.routes.filter((r) => r.method !== "ALL").map((r) => [`${r.method} ${r.path}`, "the collector"]));
  for (const part of parts) {
    for (const route of part.routes) {
      const id = `${route.method} ${route.path}`;
      const owner = taken.get(id);
      if (owner) throw new Error(`plugin ${part.name} declares ${id}, which ${owner} already answers`);
      taken.set(id, `plugin ${part.name}`);
      mount(app, services, part, route);
    }
  }
}

function mount(app: Hono<AppEnv>, services: Services, part: CollectorPart, route: PluginRoute): void {
  app.on(
    route.method,
    route.path,
    authenticate(services),
    requireScope(route.scope, services),
    bodyLimit({
      maxSize: PLUGIN_BODY_BYTES,
      onError: () => {
        throw new ApiError("payload_too_large", `the body is larger than ${PLUGIN_BODY_BYTES} bytes`);
      },
    }),
    async (c) => {
      const body = route.method === "POST" || route.method === "PUT" || route.method === "PATCH" ? await readJson(c.req.raw) : {};
      const key = c.get("key");
      const response = await route.handler({
        params: c.req.param() as Record<string, string>,
        query: c.req.query(),
        body,
        storage: pluginStorage(part, c.get("scope")),
        emit: (events) => emitFromPart(services.writer, part.name, c.get("scope").tenant, events),
        key: { id: key.id, scopes: key.scopes },
        agents: {
          broadcast: (command) => services.push.publish(key.tenant, { kind: "broadcast", agent_id: "", data: parseInput(agentCommandSchema, command) }),
          list: () => listAgentViews(services, c.get("scope")),
        },
      });
      const status = response.status ?? 200;
      if (status === 204 || response.body === undefined) return c.body(null, status as 200);
      return c.json(response.body, status as 200);
    },
  );
}
