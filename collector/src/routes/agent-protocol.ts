import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { streamSSE } from "hono/streaming";
import { AGENT_ID_HEADER, AGENT_ID_PATTERN, AGENT_NAME_HEADER, heartbeatSchema } from "@vigil/plugin-sdk";
import type { AppEnv, Services } from "../app-env.js";
import { authenticate, requireScope } from "../auth/middleware.js";
import { ApiError } from "../errors.js";
import { parseInput } from "../validate.js";
import { readJson } from "./keys.js";

/** A comment this often keeps proxies and load balancers from closing an idle stream. */
export const STREAM_PING_MS = 15_000;
export const MAX_AGENT_BODY_BYTES = 1024 * 1024;

const AGENT_ID_RULE = "8–64 characters of letters, digits, '.', '_', ':' or '-'";

export function agentBodyLimit() {
  return bodyLimit({
    maxSize: MAX_AGENT_BODY_BYTES,
    onError: () => {
      throw new ApiError("payload_too_large", `the body is larger than ${MAX_AGENT_BODY_BYTES} bytes`, [{ max: MAX_AGENT_BODY_BYTES }]);
    },
  });
}

/** The agent id of a /v1/agents request, from the `vigil-agent-id` header. */
function agentIdHeader(c: Context<AppEnv>, required: boolean): string | undefined {
  const id = c.req.header(AGENT_ID_HEADER);
  if (id === undefined || id === "") {
    if (!required) return undefined;
    throw new ApiError("invalid_argument", `missing the ${AGENT_ID_HEADER} header: send the agent's id (${AGENT_ID_RULE})`);
  }
  if (!AGENT_ID_PATTERN.test(id)) throw new ApiError("invalid_argument", `the ${AGENT_ID_HEADER} header must be ${AGENT_ID_RULE}`);
  return id;
}

/**
 * `/v1/agents/*` — the control half of the agent protocol, for keys with scope ingest:
 *
 * - `GET /stream`: Server-Sent Events. First `event: config` with the agent's current
 *   remote config (`{"version":0,"config":{"plugins":{}}}` when none), then a new
 *   `event: config` whenever an admin sets one, `event: command` for commands, and a
 *   `: ping` comment every 15 s.
 * - `GET /config`: the same `{version, config}`, for the agent's backup poll.
 * - `POST /heartbeat`: the agent's status; answers the config version it should run.
 */
export function agentProtocolRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use("*", authenticate(services), requireScope("ingest", services));

  app.get("/stream", async (c) => {
    const agentId = agentIdHeader(c, true)!;
    const scope = c.get("scope");
    // Registered before the config is read, so a change made meanwhile is not missed.
    const connection = services.agentHub.open(scope.tenant, agentId);
    let initial;
    try {
      initial = await services.agents.currentConfig(scope, agentId);
    } catch (error) {
      connection.end();
      throw error;
    }
    services.log.debug({ tenant: scope.tenant, agent_id: agentId, agent_name: c.req.header(AGENT_NAME_HEADER) }, "agent stream connected");
    c.header("X-Accel-Buffering", "no");
    const response = streamSSE(c, async function pushToAgent(stream) {
      stream.onAbort(() => connection.end());
      const ping = setInterval(() => void stream.write(": ping\n\n"), STREAM_PING_MS);
      try {
        connection.start((chunk) => void stream.write(chunk), { version: initial.version, config: initial.config });
        await connection.ended;
      } finally {
        clearInterval(ping);
        connection.end();
      }
    });
    // The socket goes with the stream: an idle keep-alive socket left behind by a stream
    // the collector ended would hold shutdown until the client's keep-alive timeout.
    response.headers.set("Connection", "close");
    return response;
  });

  app.get("/config", async (c) => {
    const agentId = agentIdHeader(c, true)!;
    const { version, config } = await services.agents.currentConfig(c.get("scope"), agentId);
    return c.json({ version, config });
  });

  app.post("/heartbeat", agentBodyLimit(), async (c) => {
    const heartbeat = parseInput(heartbeatSchema, await readJson(c.req.raw));
    const fromHeader = agentIdHeader(c, false);
    if (fromHeader !== undefined && fromHeader !== heartbeat.id) {
      throw new ApiError("invalid_argument", `the ${AGENT_ID_HEADER} header ("${fromHeader}") and the body's id ("${heartbeat.id}") differ: send the same id`);
    }
    const scope = c.get("scope");
    await services.agents.recordHeartbeat(scope, c.get("key").id, heartbeat);
    const current = await services.agents.currentConfig(scope, heartbeat.id);
    return c.json({ config_version: current.version });
  });

  return app;
}
