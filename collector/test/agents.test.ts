import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_ID_HEADER, type Heartbeat } from "@vigil/plugin-sdk";
import { startInProcess } from "../../test/support/in-process.js";
import { SHUTDOWN_NOTE } from "../src/agents/push-hub.js";
import { openAgentStream } from "./support/agent-stream.js";
import { scopeToTenant } from "../src/storage/tenant-scope.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
/** What an agent would hold: a key with scope ingest only. */
let ingest: { token: string; id: string };
let reader: { token: string; id: string };

beforeAll(async () => {
  env = await startInProcess();
  const made = await env.request("POST", "/api/keys", { body: { name: "agent web-1", scopes: ["ingest"] } });
  const readOnly = await env.request("POST", "/api/keys", { body: { name: "dashboard", scopes: ["read"] } });
  expect([made.status, readOnly.status]).toEqual([201, 201]);
  ingest = { token: made.json.token, id: made.json.key.id };
  reader = { token: readOnly.json.token, id: readOnly.json.key.id };
});
afterAll(async () => {
  await env?.close();
});

const heartbeat = (overrides: Partial<Heartbeat> = {}): Heartbeat => ({
  id: "agent-web-1",
  name: "web-1",
  version: "0.1.0",
  uptime_s: 120.5,
  config_version: 0,
  queue: { bytes: 2048, records: 3 },
  plugins: [
    { id: "http", use: "@vigil/plugin-http-check", state: "ok", restarts: 0 },
    { id: "reddit", use: "@vigil/plugin-reddit", state: "degraded", message: "rate limited", restarts: 2 },
  ],
  ...overrides,
});

function sendHeartbeat(body: unknown, headers: Record<string, string> = {}) {
  return env.request("POST", "/v1/agents/heartbeat", { token: ingest.token, body, headers });
}

function openStream(agentId: string, token = ingest.token) {
  return openAgentStream(env.collector.url, token, agentId);
}

describe("POST /v1/agents/heartbeat", () => {
  it("stores the heartbeat and lists the agent as online", async () => {
    const res = await sendHeartbeat(heartbeat(), { [AGENT_ID_HEADER]: "agent-web-1" });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ config_version: 0 });

    const list = await env.request("GET", "/api/agents", { token: reader.token });
    expect(list.status).toBe(200);
    const agent = list.json.agents.find((a: { id: string }) => a.id === "agent-web-1");
    expect(agent).toMatchObject({
      id: "agent-web-1",
      name: "web-1",
      version: "0.1.0",
      key_id: ingest.id,
      online: true,
      uptime_s: 120.5,
      config_version: 0,
      desired_config_version: 0,
      config_error: null,
      rejected_config_version: null,
      queue: { bytes: 2048, records: 3 },
      plugins: [
        { id: "http", use: "@vigil/plugin-http-check", state: "ok", restarts: 0 },
        { id: "reddit", use: "@vigil/plugin-reddit", state: "degraded", message: "rate limited", restarts: 2 },
      ],
    });
    expect(Date.now() - Date.parse(agent.last_heartbeat)).toBeLessThan(60_000);
    expect(list.json.next_cursor).toBeNull();
  });

  it("keeps only the newest heartbeat of an agent", async () => {
    await sendHeartbeat(heartbeat({ id: "agent-replaced", uptime_s: 1 }));
    await sendHeartbeat(heartbeat({ id: "agent-replaced", uptime_s: 2, config_error: "plugin x: use is missing", rejected_config_version: 4 }));
    const one = await env.request("GET", "/api/agents/agent-replaced", { token: reader.token });
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ uptime_s: 2, config_error: "plugin x: use is missing", rejected_config_version: 4 });
    const list = await env.request("GET", "/api/agents?limit=1000", { token: reader.token });
    expect(list.json.agents.filter((a: { id: string }) => a.id === "agent-replaced")).toHaveLength(1);
  });

  it("refuses a bad heartbeat, naming every path", async () => {
    const res = await sendHeartbeat({ ...heartbeat({ id: "short" }), queue: { bytes: -1, records: 0 }, extra: true });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_argument");
    const paths = res.json.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(["id", "queue.bytes", ""]));
    expect(res.json.error.message).toMatch(/^id: agent id is 8–64 characters/);

    const plugin = await sendHeartbeat(heartbeat({ plugins: [{ id: "http", use: "x", state: "sleeping" as never }] }));
    expect(plugin.status).toBe(400);
    expect(plugin.json.error.details[0].path).toBe("plugins.0.state");

    const mismatch = await sendHeartbeat(heartbeat(), { [AGENT_ID_HEADER]: "agent-someone-else" });
    expect(mismatch.status).toBe(400);
    expect(mismatch.json.error.message).toContain("differ");
  });

  it("shows an agent whose last heartbeat is older than 60 s as offline", async () => {
    const scope = scopeToTenant(env.collector.services.db, "default");
    await scope.insert("agents", [
      {
        id: "agent-gone-quiet",
        name: "old",
        agent_version: "0.0.9",
        key_id: ingest.id,
        last_heartbeat: Date.now() - 5 * 60_000,
        uptime_s: 10,
        config_version: 0,
        config_error: null,
        rejected_config_version: null,
        queue_bytes: 0,
        queue_records: 0,
        plugins: "[]",
        version: 1,
        is_deleted: 0,
      },
    ]);
    const one = await env.request("GET", "/api/agents/agent-gone-quiet", { token: reader.token });
    expect(one.json).toMatchObject({ online: false, name: "old" });
  });
});

describe("remote config", () => {
  it("pushes a new config at once to a connected stream, and serves it to the backup poll", async () => {
    const stream = await openStream("agent-web-1");
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get("content-type")).toContain("text/event-stream");
    expect(await stream.next()).toEqual({ event: "config", data: { version: 0, config: { plugins: {} } } });

    const config = { plugins: { reddit: { config: { keywords: ["vigil"] } }, http: { enabled: false } } };
    const put = await env.request("PUT", "/api/agents/agent-web-1/config", { body: { config } });
    expect(put.status).toBe(200);
    expect(put.json).toEqual({ version: 1 });
    expect(await stream.next()).toEqual({ event: "config", data: { version: 1, config } });

    const poll = await env.request("GET", "/v1/agents/config", { token: ingest.token, headers: { [AGENT_ID_HEADER]: "agent-web-1" } });
    expect(poll.status).toBe(200);
    expect(poll.json).toEqual({ version: 1, config });

    const hb = await sendHeartbeat(heartbeat({ config_version: 0 }));
    expect(hb.json).toEqual({ config_version: 1 });

    const second = await env.request("PUT", "/api/agents/agent-web-1/config", { body: { config: { plugins: {} } } });
    expect(second.json).toEqual({ version: 2 });
    expect(await stream.next()).toEqual({ event: "config", data: { version: 2, config: { plugins: {} } } });

    const one = await env.request("GET", "/api/agents/agent-web-1", { token: reader.token });
    expect(one.json).toMatchObject({ config_version: 0, desired_config_version: 2, remote_config: { version: 2, config: null } });
    expect(one.json.remote_config.config_hidden).toContain("admin scope");
    const asAdmin = await env.request("GET", "/api/agents/agent-web-1");
    expect(asAdmin.json.remote_config).toMatchObject({ version: 2, config: { plugins: {} } });
    expect(Date.parse(one.json.remote_config.updated_at)).toBeGreaterThan(0);
    stream.close();
  });

  it("accepts a config for an agent that never reported, and sends it first when it connects", async () => {
    const config = { plugins: { checks: { use: "@vigil/plugin-http-check", config: { url: "https://example.com" } } } };
    const put = await env.request("PUT", "/api/agents/agent-not-yet-here/config", { body: { config } });
    expect(put.json).toEqual({ version: 1 });

    const one = await env.request("GET", "/api/agents/agent-not-yet-here", { token: reader.token });
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ id: "agent-not-yet-here", name: null, online: false, last_heartbeat: null, queue: null, plugins: [], desired_config_version: 1 });
    expect(one.json.remote_config).toMatchObject({ version: 1, config: null });
    expect((await env.request("GET", "/api/agents/agent-not-yet-here")).json.remote_config).toMatchObject({ version: 1, config });
    const list = await env.request("GET", "/api/agents?limit=1000", { token: reader.token });
    expect(list.json.agents.at(-1)).toMatchObject({ id: "agent-not-yet-here", last_heartbeat: null });

    const stream = await openStream("agent-not-yet-here");
    expect(await stream.next()).toEqual({ event: "config", data: { version: 1, config } });
    stream.close();
  });

  it("refuses an invalid config, naming the paths", async () => {
    const res = await env.request("PUT", "/api/agents/agent-web-1/config", {
      body: { config: { plugins: { x: { use: "" }, "Bad!": {}, y: { colour: "red" } } } },
    });
    expect(res.status).toBe(400);
    const paths = res.json.error.details.map((d: { path: string }) => d.path);
    expect(paths).toEqual(expect.arrayContaining(["config.plugins.x.use", "config.plugins.Bad!", "config.plugins.y"]));
    const missing = await env.request("PUT", "/api/agents/agent-web-1/config", { body: { plugins: {} } });
    expect(missing.status).toBe(400);
    expect(missing.json.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(["config"]));
    const badId = await env.request("PUT", "/api/agents/no/config", { body: { config: { plugins: {} } } });
    expect(badId.status).toBe(400);
    expect(badId.json.error.details[0].path).toBe("id");
    // Nothing of the refused configs was stored.
    const poll = await env.request("GET", "/v1/agents/config", { token: ingest.token, headers: { [AGENT_ID_HEADER]: "agent-web-1" } });
    expect(poll.json.version).toBe(2);
  });

  it("needs the admin scope to set a config", async () => {
    const asAgent = await env.request("PUT", "/api/agents/agent-web-1/config", { token: ingest.token, body: { config: { plugins: {} } } });
    const asReader = await env.request("PUT", "/api/agents/agent-web-1/config", { token: reader.token, body: { config: { plugins: {} } } });
    expect([asAgent.status, asReader.status]).toEqual([403, 403]);
    const readerPoll = await env.request("GET", "/v1/agents/config", { token: reader.token, headers: { [AGENT_ID_HEADER]: "agent-web-1" } });
    expect(readerPoll.status).toBe(403);
  });
});

describe("GET /v1/agents/stream and /v1/agents/config", () => {
  it("require a valid vigil-agent-id header", async () => {
    const missing = await env.request("GET", "/v1/agents/stream", { token: ingest.token });
    expect(missing.status).toBe(400);
    expect(missing.json.error.message).toBe("missing the vigil-agent-id header: send the agent's id (8–64 characters of letters, digits, '.', '_', ':' or '-')");
    const bad = await env.request("GET", "/v1/agents/config", { token: ingest.token, headers: { [AGENT_ID_HEADER]: "a b" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toContain("vigil-agent-id header must be 8–64 characters");
    const anonymous = await env.request("GET", "/v1/agents/stream", { token: null, headers: { [AGENT_ID_HEADER]: "agent-web-1" } });
    expect(anonymous.status).toBe(401);
  });

  it("answers version 0 and no plugins for an agent without a config", async () => {
    const poll = await env.request("GET", "/v1/agents/config", { token: ingest.token, headers: { [AGENT_ID_HEADER]: "agent-unconfigured" } });
    expect(poll.json).toEqual({ version: 0, config: { plugins: {} } });
  });
});

describe("POST /api/agents/:id/commands", () => {
  it("delivers a command to every open stream of the agent and says how many", async () => {
    const first = await openStream("agent-cmd-target");
    const second = await openStream("agent-cmd-target");
    const other = await openStream("agent-cmd-other");
    for (const s of [first, second, other]) expect((await s.next()).event).toBe("config");

    const command = { name: "run-job", plugin: "social", args: { job: "daily" } };
    const res = await env.request("POST", "/api/agents/agent-cmd-target/commands", { body: command });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ delivered: 2 });
    expect(await first.next()).toEqual({ event: "command", data: command });
    expect(await second.next()).toEqual({ event: "command", data: command });

    const noArgs = await env.request("POST", "/api/agents/agent-cmd-other/commands", { body: { name: "flush" } });
    expect(noArgs.json).toEqual({ delivered: 1 });
    expect(await other.next()).toEqual({ event: "command", data: { name: "flush", args: {} } });

    // A stream that went away no longer counts.
    second.close();
    const deadline = Date.now() + 10_000;
    let delivered = 2;
    while (delivered !== 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      delivered = (await env.request("POST", "/api/agents/agent-cmd-target/commands", { body: { name: "ping" } })).json.delivered;
    }
    expect(delivered).toBe(1);
    first.close();
    other.close();
  });

  it("answers delivered 0 for an agent that is not connected (commands are not queued)", async () => {
    const res = await env.request("POST", "/api/agents/agent-offline-1/commands", { body: { name: "run-job", args: {} } });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ delivered: 0 });
  });

  it("refuses a bad command and needs the admin scope", async () => {
    const bad = await env.request("POST", "/api/agents/agent-cmd-target/commands", { body: { name: "Run Job", args: [] } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.map((d: { path: string }) => d.path)).toEqual(expect.arrayContaining(["name", "args"]));
    const asAgent = await env.request("POST", "/api/agents/agent-cmd-target/commands", { token: ingest.token, body: { name: "flush" } });
    expect(asAgent.status).toBe(403);
  });
});

describe("GET /api/agents", () => {
  it("pages newest heartbeat first with a cursor", async () => {
    for (const i of [1, 2, 3, 4, 5]) {
      const res = await sendHeartbeat(heartbeat({ id: `agent-page-${i}` }));
      expect(res.status).toBe(200);
    }
    const seen: { id: string; last_heartbeat: string | null }[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await env.request("GET", `/api/agents?limit=2${cursor ? `&cursor=${cursor}` : ""}`, { token: reader.token });
      expect(res.status).toBe(200);
      expect(res.json.agents.length).toBeLessThanOrEqual(2);
      seen.push(...res.json.agents);
      cursor = res.json.next_cursor;
      pages++;
    } while (cursor && pages < 50);
    const all = await env.request("GET", "/api/agents?limit=1000", { token: reader.token });
    expect(seen.map((a) => a.id)).toEqual(all.json.agents.map((a: { id: string }) => a.id));
    expect(new Set(seen.map((a) => a.id)).size).toBe(seen.length);
    const ids = seen.map((a) => a.id);
    expect(ids.indexOf("agent-page-5")).toBeLessThan(ids.indexOf("agent-page-1"));
    const times = seen.map((a) => (a.last_heartbeat ? Date.parse(a.last_heartbeat) : 0));
    expect(times).toEqual([...times].sort((x, y) => y - x));
  });

  it("refuses a bad cursor or an unknown parameter, and answers 404 for an unknown agent", async () => {
    const cursor = await env.request("GET", "/api/agents?cursor=nonsense", { token: reader.token });
    expect(cursor.status).toBe(400);
    expect(cursor.json.error.details[0].path).toBe("cursor");
    const unknown = await env.request("GET", "/api/agents?online=true", { token: reader.token });
    expect(unknown.status).toBe(400);
    const missing = await env.request("GET", "/api/agents/agent-never-seen", { token: reader.token });
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe("not_found");
  });

  it("needs the read scope", async () => {
    const res = await env.request("GET", "/api/agents", { token: ingest.token });
    expect(res.status).toBe(403);
  });
});

describe("shutdown", () => {
  it("closing the collector ends open agent streams at once", async () => {
    const stream = await openStream("agent-at-shutdown");
    expect((await stream.next()).event).toBe("config");
    expect(env.collector.services.agentHub.size()).toBeGreaterThan(0);
    const closing = env.collector.close();
    expect(await stream.ended()).toBe(true);
    // Ended by the collector (its parting comment), not torn down after the grace period.
    expect(stream.comments).toContain(SHUTDOWN_NOTE);
    await closing;
    expect(env.collector.services.agentHub.size()).toBe(0);
  });
});
