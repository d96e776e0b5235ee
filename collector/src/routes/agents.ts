import { Hono, type Context } from "hono";
import { z } from "zod";
import { AGENT_ID_PATTERN, agentCommandSchema, remoteConfigSchema } from "@vigil/plugin-sdk";
import type { AppEnv, Services } from "../app-env.js";
import type { AgentCursor } from "../agents/store.js";
import { authenticate, requireScope } from "../auth/middleware.js";
import { hasScope } from "../auth/tokens.js";
import { ApiError } from "../errors.js";
import { invalidInput, parseInput } from "../validate.js";
import { agentBodyLimit } from "./agent-protocol.js";
import { readJson } from "./keys.js";
import { pageQuerySchema } from "./paginate.js";

const putConfigSchema = z.object({ config: remoteConfigSchema }).strict();

const cursorSchema = z.string().transform((value, ctx) => {
  try {
    const [heartbeatMs, id] = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as [unknown, unknown];
    if (typeof heartbeatMs === "number" && Number.isInteger(heartbeatMs) && typeof id === "string") return { heartbeatMs, id } satisfies AgentCursor;
  } catch {
    // fall through to the issue below
  }
  ctx.addIssue({ code: "custom", message: "cursor is not valid: pass the next_cursor of the previous page unchanged" });
  return z.NEVER;
});

const listQuerySchema = pageQuerySchema.extend({ cursor: cursorSchema.optional() });

function encodeCursor(cursor: AgentCursor): string {
  return Buffer.from(JSON.stringify([cursor.heartbeatMs, cursor.id])).toString("base64url");
}

function agentIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  if (!AGENT_ID_PATTERN.test(id)) {
    throw invalidInput([{ path: ["id"], message: `"${id.slice(0, 80)}" is not an agent id: agent ids are 8–64 characters of letters, digits, '.', '_', ':' or '-'` }]);
  }
  return id;
}

/**
 * `/api/agents` — the tenant's agents (scope read) and their remote configuration and
 * commands (scope admin). A config or command goes at once to the agent's streams
 * open on this collector; commands are not queued for agents that are not connected.
 */
export function agentRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use("*", authenticate(services));

  app.get("/", requireScope("read", services), async (c) => {
    const query = parseInput(listQuerySchema, c.req.query());
    const { agents, next } = await services.agents.listAgents(c.get("scope"), query);
    return c.json({ agents, next_cursor: next ? encodeCursor(next) : null });
  });

  app.get("/:id", requireScope("read", services), async (c) => {
    const id = agentIdParam(c);
    const agent = await services.agents.getAgent(c.get("scope"), id);
    if (!agent) throw new ApiError("not_found", `no agent "${id}" in this tenant: it never sent a heartbeat and has no remote config`);
    // Plugin configs can hold credentials: only admins see their content.
    if (!hasScope(c.get("key").scopes, "admin")) {
      const { config: _hidden, ...meta } = agent.remote_config;
      return c.json({ ...agent, remote_config: { ...meta, config: null, config_hidden: "the remote config's content needs a key with the admin scope" } });
    }
    return c.json(agent);
  });

  app.put("/:id/config", requireScope("admin", services), agentBodyLimit(), async (c) => {
    const id = agentIdParam(c);
    const { config } = parseInput(putConfigSchema, await readJson(c.req.raw));
    const scope = c.get("scope");
    const stored = await services.agents.setConfig(scope, id, config);
    const pushed = services.push.publish(scope.tenant, { kind: "config", agent_id: id, data: { version: stored.version, config: stored.config } });
    services.log.info({ tenant: scope.tenant, agent_id: id, config_version: stored.version, streams: pushed }, "agent remote config pushed");
    return c.json({ version: stored.version });
  });

  app.post("/:id/commands", requireScope("admin", services), agentBodyLimit(), async (c) => {
    const id = agentIdParam(c);
    const command = parseInput(agentCommandSchema, await readJson(c.req.raw));
    const scope = c.get("scope");
    const delivered = services.push.publish(scope.tenant, { kind: "command", agent_id: id, data: command });
    services.log.info({ tenant: scope.tenant, agent_id: id, command: command.name, plugin: command.plugin, delivered }, "agent command sent");
    return c.json({ delivered }, 202);
  });

  return app;
}
