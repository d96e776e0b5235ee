import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { startInProcess } from "../../test/support/in-process.js";
import { openAgentStream } from "./support/agent-stream.js";
import { eventually } from "../../test/support/eventually.js";
import { scopeToTenant, UnscopedQueryError } from "../src/storage/tenant-scope.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
let a: { token: string; keyId: string };
let b: { token: string; keyId: string };
let aExtraKeyId: string;
let aUserId: string;
const A_USER = { email: "a-user@example.com", password: "tenant a password" };
/** Tenant A's alerting entities, which B must never see or change. */
const aAlerts = { channel: "", route: "", rule: "", silence: "" };
/** An agent id both tenants use: each tenant must only ever see its own. */
const SHARED_AGENT = "agent-shared-0001";
const aAgentConfig = { plugins: { reddit: { config: { keywords: ["a-only-keyword"] } } } };
const aHeartbeat = { id: SHARED_AGENT, name: "a-host", version: "1.0.0", uptime_s: 5, config_version: 1, queue: { bytes: 0, records: 0 }, plugins: [] };

const eventFor = (who: string) => ({ id: uuidv7(), ts: Date.now(), source: "http", type: "http.check", attrs: { owner: who }, body: `secret of ${who}` });

beforeAll(async () => {
  env = await startInProcess();
  const ta = await env.request("POST", "/api/tenants", { body: { id: "tenant-a", name: "Tenant A" } });
  const tb = await env.request("POST", "/api/tenants", { body: { id: "tenant-b", name: "Tenant B" } });
  expect([ta.status, tb.status]).toEqual([201, 201]);
  a = { token: ta.json.token, keyId: ta.json.key.id };
  b = { token: tb.json.token, keyId: tb.json.key.id };
  const stored = await env.request("POST", "/v1/events", { token: a.token, body: [eventFor("a"), eventFor("a")], headers: { "vigil-batch-id": "tenant-a-batch-1" } });
  expect(stored.status).toBe(202);
  const user = await env.request("POST", "/api/users", { token: a.token, body: { ...A_USER, name: "A", role: "editor" } });
  expect(user.status).toBe(201);
  aUserId = user.json.user.id;
  const extra = await env.request("POST", "/api/keys", { token: a.token, body: { name: "a reader", scopes: ["read"] } });
  aExtraKeyId = extra.json.key.id;
  const hb = await env.request("POST", "/v1/agents/heartbeat", { token: a.token, body: aHeartbeat });
  const config = await env.request("PUT", `/api/agents/${SHARED_AGENT}/config`, { token: a.token, body: { config: aAgentConfig } });
  const preconfigured = await env.request("PUT", "/api/agents/agent-a-preconfigured/config", { token: a.token, body: { config: aAgentConfig } });
  expect([hb.status, config.status, preconfigured.status]).toEqual([200, 200, 200]);
  const channel = await env.request("POST", "/api/alerts/channels", { token: a.token, body: { name: "a hook", kind: "webhook", config: { url: "http://127.0.0.1:9/a-secret-hook-token" } } });
  const route = await env.request("POST", "/api/alerts/routes", { token: a.token, body: { name: "a route", channels: [channel.json.id] } });
  const rule = await env.request("POST", "/api/alerts/rules", { token: a.token, body: { kind: "threshold", name: "a rule", source: "http", aggregation: "count", group_by: ["owner"], condition: ">", threshold: 0, interval: "5s" } });
  const silence = await env.request("POST", "/api/alerts/silences", { token: a.token, body: { matchers: [{ label: "owner", value: "a" }], ends_at: Date.now() + 3_600_000, comment: "a's silence" } });
  expect([channel.status, route.status, rule.status, silence.status]).toEqual([201, 201, 201, 201]);
  Object.assign(aAlerts, { channel: channel.json.id, route: route.json.id, rule: rule.json.id, silence: silence.json.id });
});

/** B aiming at one of A's alerting entities: not found, and A's entity unchanged. */
async function bGetsNotFound(method: string, path: string, body?: unknown): Promise<void> {
  const res = await env.request(method, path, { token: b.token, ...(body !== undefined ? { body } : {}) });
  expect(res.status, res.text).toBe(404);
  expect(res.text).not.toMatch(/a-secret-hook|a rule|a route|a's silence/);
}

async function aAlertsIntact(): Promise<void> {
  for (const [kind, id] of [["channels", aAlerts.channel], ["routes", aAlerts.route], ["rules", aAlerts.rule], ["silences", aAlerts.silence]] as const) {
    const res = await env.request("GET", `/api/alerts/${kind}/${id}`, { token: a.token });
    expect(res.status, `${kind} ${res.text}`).toBe(200);
  }
}

/** B's list of an alerting entity holds none of A's. */
async function bListExcludes(kind: "channels" | "routes" | "rules" | "silences", id: string): Promise<void> {
  const res = await env.request("GET", `/api/alerts/${kind}`, { token: b.token });
  expect(res.status).toBe(200);
  expect(res.json[kind].map((e: { id: string }) => e.id)).not.toContain(id);
  expect(res.text).not.toMatch(/a-secret-hook|a rule|a route|a's silence/);
}

async function aAgentIntact(): Promise<void> {
  const res = await env.request("GET", `/api/agents/${SHARED_AGENT}`, { token: a.token });
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ name: "a-host", remote_config: { version: 1, config: aAgentConfig } });
  const poll = await env.request("GET", "/v1/agents/config", { token: a.token, headers: { "vigil-agent-id": SHARED_AGENT } });
  expect(poll.json).toEqual({ version: 1, config: aAgentConfig });
}
afterAll(async () => {
  await env?.close();
});

/**
 * Every route, called with tenant B's admin key, aimed at tenant A's data. The list is
 * checked against the app's route table below, so a new route without an isolation
 * check fails this file.
 */
const walk: { method: string; path: string; check: () => Promise<void> }[] = [
  {
    method: "GET",
    path: "/v1/events",
    check: async () => {
      const res = await env.request("GET", "/v1/events?limit=1000", { token: b.token });
      expect(res.status).toBe(200);
      expect(res.json.events).toEqual([]);
      const filtered = await env.request("GET", "/v1/events?attr.owner=a&q=secret", { token: b.token });
      expect(filtered.json.events).toEqual([]);
    },
  },
  {
    method: "GET",
    path: "/api/events",
    check: async () => {
      const res = await env.request("GET", "/api/events?limit=1000&attr.owner=a", { token: b.token });
      expect(res.status).toBe(200);
      expect(res.json.events).toEqual([]);
      expect((await env.request("GET", "/api/events?attr.owner=a", { token: a.token })).json.events).toHaveLength(2);
    },
  },
  {
    method: "POST",
    path: "/v1/events",
    check: async () => {
      // B reusing A's batch id stores B's events in B: batch ids are per tenant.
      const res = await env.request("POST", "/v1/events", { token: b.token, body: [eventFor("b")], headers: { "vigil-batch-id": "tenant-a-batch-1" } });
      expect(res.status).toBe(202);
      expect(res.json).toMatchObject({ stored: 1, duplicate: false });
      const mine = await env.request("GET", "/v1/events", { token: b.token });
      expect(mine.json.events.map((e: { attrs: { owner: string } }) => e.attrs.owner)).toEqual(["b"]);
    },
  },
  {
    method: "POST",
    path: "/v1/logs",
    check: async () => {
      const res = await env.request("POST", "/v1/logs", {
        token: b.token,
        body: { resourceLogs: [{ resource: { attributes: [{ key: "service.name", value: { stringValue: "billing" } }] }, scopeLogs: [{ logRecords: [{ body: { stringValue: "b log" } }] }] }] },
      });
      expect(res.status).toBe(200);
      const aSide = await env.request("GET", "/v1/events?source=billing", { token: a.token });
      expect(aSide.json.events).toEqual([]);
    },
  },
  {
    method: "GET",
    path: "/api/stats",
    check: async () => {
      const res = await env.request("GET", "/api/stats", { token: b.token });
      expect(res.status).toBe(200);
      expect(res.json.by_source).not.toContainEqual(expect.objectContaining({ source: "http", events: 3 }));
      expect(res.text).not.toContain("tenant-a");
    },
  },
  {
    method: "GET",
    path: "/api/keys",
    check: async () => {
      const res = await env.request("GET", "/api/keys", { token: b.token });
      expect(res.status).toBe(200);
      const ids = res.json.keys.map((k: { id: string }) => k.id);
      expect(ids).toContain(b.keyId);
      expect(ids).not.toContain(a.keyId);
      expect(ids).not.toContain(aExtraKeyId);
      expect(res.json.keys.every((k: { tenant: string }) => k.tenant === "tenant-b")).toBe(true);
    },
  },
  {
    method: "POST",
    path: "/api/keys",
    check: async () => {
      const res = await env.request("POST", "/api/keys", { token: b.token, body: { name: "b ingest", scopes: ["ingest"] } });
      expect(res.status).toBe(201);
      expect(res.json.key.tenant).toBe("tenant-b");
      const aKeys = await env.request("GET", "/api/keys", { token: a.token });
      expect(aKeys.json.keys.map((k: { id: string }) => k.id)).not.toContain(res.json.key.id);
    },
  },
  {
    method: "DELETE",
    path: "/api/keys/:id",
    check: async () => {
      const res = await env.request("DELETE", `/api/keys/${aExtraKeyId}`, { token: b.token });
      expect(res.status).toBe(404);
      const aKeys = await env.request("GET", "/api/keys", { token: a.token });
      expect(aKeys.json.keys.map((k: { id: string }) => k.id)).toContain(aExtraKeyId);
    },
  },
  {
    method: "POST",
    path: "/api/tenants",
    check: async () => {
      const res = await env.request("POST", "/api/tenants", { token: b.token, body: { name: "sneaky" } });
      expect(res.status).toBe(403);
      expect(res.json.error.message).toContain("operator tenant");
    },
  },
  {
    method: "GET",
    path: "/v1/agents/stream",
    check: async () => {
      const bStream = await openAgentStream(env.collector.url, b.token, SHARED_AGENT);
      const aStream = await openAgentStream(env.collector.url, a.token, SHARED_AGENT);
      try {
        expect(await bStream.next()).toEqual({ event: "config", data: { version: 0, config: { plugins: {} } } });
        expect((await aStream.next()).data.version).toBe(1);
        // B's command reaches B's stream only; A's stream sees its own command next.
        const bCommand = await env.request("POST", `/api/agents/${SHARED_AGENT}/commands`, { token: b.token, body: { name: "from-b" } });
        expect(bCommand.json).toEqual({ delivered: 1 });
        expect(await bStream.next()).toEqual({ event: "command", data: { name: "from-b", args: {} } });
        await env.request("POST", `/api/agents/${SHARED_AGENT}/commands`, { token: a.token, body: { name: "from-a" } });
        expect(await aStream.next()).toEqual({ event: "command", data: { name: "from-a", args: {} } });
      } finally {
        bStream.close();
        aStream.close();
      }
    },
  },
  {
    method: "GET",
    path: "/v1/agents/config",
    check: async () => {
      const res = await env.request("GET", "/v1/agents/config", { token: b.token, headers: { "vigil-agent-id": SHARED_AGENT } });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ version: 0, config: { plugins: {} } });
      expect(res.text).not.toContain("a-only-keyword");
    },
  },
  {
    method: "POST",
    path: "/v1/agents/heartbeat",
    check: async () => {
      const res = await env.request("POST", "/v1/agents/heartbeat", { token: b.token, body: { ...aHeartbeat, name: "b-host", config_version: 0 } });
      expect(res.status).toBe(200);
      expect(res.json).toEqual({ config_version: 0 });
      await aAgentIntact();
    },
  },
  {
    method: "GET",
    path: "/api/agents",
    check: async () => {
      const res = await env.request("GET", "/api/agents?limit=1000", { token: b.token });
      expect(res.status).toBe(200);
      expect(res.json.agents.map((x: { id: string; name: string }) => `${x.id} ${x.name}`)).toEqual([`${SHARED_AGENT} b-host`]);
      expect(res.json.agents[0].desired_config_version).toBe(0);
      expect(res.text).not.toMatch(/a-host|a-only-keyword|agent-a-preconfigured/);
    },
  },
  {
    method: "GET",
    path: "/api/agents/:id",
    check: async () => {
      const res = await env.request("GET", "/api/agents/agent-a-preconfigured", { token: b.token });
      expect(res.status).toBe(404);
      const shared = await env.request("GET", `/api/agents/${SHARED_AGENT}`, { token: b.token });
      expect(shared.json).toMatchObject({ name: "b-host", remote_config: { version: 0, config: { plugins: {} } } });
      expect(shared.text).not.toMatch(/a-host|a-only-keyword/);
    },
  },
  {
    method: "PUT",
    path: "/api/agents/:id/config",
    check: async () => {
      const aStream = await openAgentStream(env.collector.url, a.token, SHARED_AGENT);
      try {
        expect((await aStream.next()).data.version).toBe(1);
        const res = await env.request("PUT", `/api/agents/${SHARED_AGENT}/config`, { token: b.token, body: { config: { plugins: { http: { enabled: false } } } } });
        expect(res.status).toBe(200);
        expect(res.json).toEqual({ version: 1 });
        await aAgentIntact();
        // A's stream did not get B's config: the next thing it sees is A's own command.
        await env.request("POST", `/api/agents/${SHARED_AGENT}/commands`, { token: a.token, body: { name: "after-b-put" } });
        expect(await aStream.next()).toEqual({ event: "command", data: { name: "after-b-put", args: {} } });
      } finally {
        aStream.close();
      }
    },
  },
  {
    method: "POST",
    path: "/api/agents/:id/commands",
    check: async () => {
      const aStream = await openAgentStream(env.collector.url, a.token, "agent-a-preconfigured");
      try {
        expect((await aStream.next()).event).toBe("config");
        const res = await env.request("POST", "/api/agents/agent-a-preconfigured/commands", { token: b.token, body: { name: "run-job", args: { job: "x" } } });
        expect(res.status).toBe(202);
        expect(res.json).toEqual({ delivered: 0 });
        await env.request("POST", "/api/agents/agent-a-preconfigured/commands", { token: a.token, body: { name: "mine" } });
        expect(await aStream.next()).toEqual({ event: "command", data: { name: "mine", args: {} } });
      } finally {
        aStream.close();
      }
    },
  },
  { method: "GET", path: "/api/alerts/channels", check: () => bListExcludes("channels", aAlerts.channel) },
  { method: "GET", path: "/api/alerts/routes", check: () => bListExcludes("routes", aAlerts.route) },
  { method: "GET", path: "/api/alerts/rules", check: () => bListExcludes("rules", aAlerts.rule) },
  { method: "GET", path: "/api/alerts/silences", check: () => bListExcludes("silences", aAlerts.silence) },
  { method: "GET", path: "/api/alerts/channels/:id", check: () => bGetsNotFound("GET", `/api/alerts/channels/${aAlerts.channel}`) },
  { method: "GET", path: "/api/alerts/routes/:id", check: () => bGetsNotFound("GET", `/api/alerts/routes/${aAlerts.route}`) },
  { method: "GET", path: "/api/alerts/rules/:id", check: () => bGetsNotFound("GET", `/api/alerts/rules/${aAlerts.rule}`) },
  { method: "GET", path: "/api/alerts/silences/:id", check: () => bGetsNotFound("GET", `/api/alerts/silences/${aAlerts.silence}`) },
  {
    method: "PUT",
    path: "/api/alerts/channels/:id",
    check: async () => {
      await bGetsNotFound("PUT", `/api/alerts/channels/${aAlerts.channel}`, { name: "b took it", kind: "webhook", config: { url: "http://127.0.0.1:9/b" } });
      await aAlertsIntact();
    },
  },
  {
    method: "PUT",
    path: "/api/alerts/routes/:id",
    check: async () => {
      await bGetsNotFound("PUT", `/api/alerts/routes/${aAlerts.route}`, { name: "b took it", channels: [aAlerts.channel] });
      await aAlertsIntact();
    },
  },
  {
    method: "PUT",
    path: "/api/alerts/rules/:id",
    check: async () => {
      await bGetsNotFound("PUT", `/api/alerts/rules/${aAlerts.rule}`, { kind: "event", name: "b took it" });
      await aAlertsIntact();
    },
  },
  {
    method: "PUT",
    path: "/api/alerts/silences/:id",
    check: async () => {
      await bGetsNotFound("PUT", `/api/alerts/silences/${aAlerts.silence}`, { matchers: [{ label: "x", value: "y" }], ends_at: Date.now() + 60_000, comment: "b" });
      await aAlertsIntact();
    },
  },
  {
    method: "POST",
    path: "/api/alerts/channels/:id/test",
    check: async () => {
      await bGetsNotFound("POST", `/api/alerts/channels/${aAlerts.channel}/test`);
    },
  },
  {
    method: "DELETE",
    path: "/api/alerts/channels/:id",
    check: async () => {
      await bGetsNotFound("DELETE", `/api/alerts/channels/${aAlerts.channel}`);
      await aAlertsIntact();
    },
  },
  {
    method: "DELETE",
    path: "/api/alerts/routes/:id",
    check: async () => {
      await bGetsNotFound("DELETE", `/api/alerts/routes/${aAlerts.route}`);
      await aAlertsIntact();
    },
  },
  {
    method: "DELETE",
    path: "/api/alerts/rules/:id",
    check: async () => {
      await bGetsNotFound("DELETE", `/api/alerts/rules/${aAlerts.rule}`);
      await aAlertsIntact();
    },
  },
  {
    method: "DELETE",
    path: "/api/alerts/silences/:id",
    check: async () => {
      await bGetsNotFound("DELETE", `/api/alerts/silences/${aAlerts.silence}`);
      await aAlertsIntact();
    },
  },
  {
    method: "POST",
    path: "/api/alerts/channels",
    check: async () => {
      // B may use the same id as A's channel: ids are per tenant.
      const res = await env.request("POST", "/api/alerts/channels", { token: b.token, body: { id: aAlerts.channel, name: "b hook", kind: "webhook", config: { url: "http://127.0.0.1:9/b" } } });
      expect(res.status, res.text).toBe(201);
      const aSide = await env.request("GET", `/api/alerts/channels/${aAlerts.channel}`, { token: a.token });
      expect(aSide.json.name).toBe("a hook");
    },
  },
  {
    method: "POST",
    path: "/api/alerts/routes",
    check: async () => {
      // A's channel id means B's own channel of that id (made above), never A's.
      const res = await env.request("POST", "/api/alerts/routes", { token: b.token, body: { id: aAlerts.route, name: "b route", channels: [aAlerts.channel] } });
      expect(res.status, res.text).toBe(201);
      expect((await env.request("GET", `/api/alerts/routes/${aAlerts.route}`, { token: a.token })).json.name).toBe("a route");
    },
  },
  {
    method: "POST",
    path: "/api/alerts/rules",
    check: async () => {
      const res = await env.request("POST", "/api/alerts/rules", { token: b.token, body: { id: aAlerts.rule, kind: "event", name: "b rule", source: "http" } });
      expect(res.status, res.text).toBe(201);
      expect((await env.request("GET", `/api/alerts/rules/${aAlerts.rule}`, { token: a.token })).json.name).toBe("a rule");
    },
  },
  {
    method: "POST",
    path: "/api/alerts/silences",
    check: async () => {
      const res = await env.request("POST", "/api/alerts/silences", { token: b.token, body: { matchers: [{ label: "owner", value: "a" }], ends_at: Date.now() + 60_000, comment: "b" } });
      expect(res.status, res.text).toBe(201);
      // A's firing alert is not B's to count.
      expect(res.json.matches_now).toBe(0);
    },
  },
  {
    method: "POST",
    path: "/api/alerts/rules/preview",
    check: async () => {
      const res = await env.request("POST", "/api/alerts/rules/preview", { token: b.token, body: { kind: "threshold", name: "p", source: "http", aggregation: "count", group_by: ["owner"], condition: ">", threshold: 0 } });
      expect(res.status, res.text).toBe(200);
      expect(res.json.samples.map((s: { labels: { owner: string } }) => s.labels.owner)).not.toContain("a");
    },
  },
  {
    method: "GET",
    path: "/api/alerts",
    check: async () => {
      // A's rule fires on A's events (count > 0); B sees none of it.
      await eventually(async () => (await env.request("GET", "/api/alerts", { token: a.token })).json.alerts.length, (n) => n > 0, 20_000, "A's alert firing");
      const res = await env.request("GET", "/api/alerts", { token: b.token });
      expect(res.status).toBe(200);
      expect(res.json.alerts.map((x: { rule_id: string; labels: { owner?: string } }) => x.labels.owner)).not.toContain("a");
      expect(res.text).not.toContain("a rule");
    },
  },
  {
    method: "GET",
    path: "/api/alerts/notifications",
    check: async () => {
      const res = await env.request("GET", "/api/alerts/notifications?limit=1000", { token: b.token });
      expect(res.status).toBe(200);
      expect(res.text).not.toMatch(/a hook|a rule|a-secret-hook/);
    },
  },
  {
    method: "GET",
    path: "/api/alerts/templates",
    check: async () => {
      const res = await env.request("GET", "/api/alerts/templates", { token: b.token });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain("tenant-a");
    },
  },
  {
    method: "POST",
    path: "/api/alerts/templates/:id/install",
    check: async () => {
      const res = await env.request("POST", "/api/alerts/templates/agent-silent/install", { token: b.token, body: { id: aAlerts.rule + "-b" } });
      expect(res.status, res.text).toBe(201);
      expect((await env.request("GET", `/api/alerts/rules/${aAlerts.rule}-b`, { token: a.token })).status).toBe(404);
    },
  },
  {
    method: "GET",
    path: "/health",
    check: async () => {
      const res = await env.request("GET", "/health", { token: b.token });
      expect(res.status).toBe(200);
      expect(res.text).not.toContain("tenant-a");
    },
  },
  {
    method: "GET",
    path: "/api/users",
    check: async () => {
      const res = await env.request("GET", "/api/users", { token: b.token });
      expect(res.status).toBe(200);
      expect(JSON.stringify(res.json)).not.toContain(A_USER.email);
    },
  },
  {
    method: "POST",
    path: "/api/users",
    check: async () => {
      const res = await env.request("POST", "/api/users", { token: b.token, body: { email: "b-user@example.com", name: "B", role: "admin", password: "tenant b password" } });
      expect(res.status).toBe(201);
      expect(res.json.user.tenant).toBe("tenant-b");
      expect(JSON.stringify((await env.request("GET", "/api/users", { token: a.token })).json)).not.toContain("b-user@example.com");
    },
  },
  {
    method: "PUT",
    path: "/api/users/:id",
    check: async () => {
      expect((await env.request("PUT", `/api/users/${aUserId}`, { token: b.token, body: { role: "admin", password: "taken over by b" } })).status).toBe(404);
      const users = (await env.request("GET", "/api/users", { token: a.token })).json.users;
      expect(users.find((u: { id: string }) => u.id === aUserId).role).toBe("editor");
    },
  },
  {
    method: "DELETE",
    path: "/api/users/:id",
    check: async () => {
      expect((await env.request("DELETE", `/api/users/${aUserId}`, { token: b.token })).status).toBe(404);
      expect((await env.request("GET", "/api/users", { token: a.token })).json.users.map((u: { id: string }) => u.id)).toContain(aUserId);
    },
  },
  {
    method: "POST",
    path: "/api/session",
    check: async () => {
      // A session belongs to its user's tenant, whatever else the request carries.
      const res = await env.request("POST", "/api/session", { token: b.token, body: A_USER });
      expect(res.status).toBe(200);
      expect(res.json.user.tenant).toBe("tenant-a");
      expect((await env.request("POST", "/api/session", { token: null, body: { ...A_USER, password: "tenant b password" } })).status).toBe(401);
    },
  },
  {
    method: "GET",
    path: "/api/session",
    check: async () => {
      const res = await env.request("GET", "/api/session", { token: b.token });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toContain("API key");
    },
  },
  {
    method: "DELETE",
    path: "/api/session",
    check: async () => {
      expect((await env.request("DELETE", "/api/session", { token: b.token })).status).toBe(204);
    },
  },
  {
    method: "GET",
    path: "/*",
    check: async () => {
      // The dashboard's files (or the "not built" page) hold no tenant's data.
      const res = await env.request("GET", "/agents", { token: b.token });
      expect([200, 503]).toContain(res.status);
      expect(res.text).not.toMatch(/tenant-a|a-user@example.com/);
    },
  },
  {
    method: "GET",
    path: "/health/live",
    check: async () => {
      const res = await env.request("GET", "/health/live", { token: b.token });
      expect(res.status).toBe(200);
      expect(Object.keys(res.json).sort()).toEqual(["status", "uptime_s", "version"]);
    },
  },
  {
    method: "GET",
    path: "/metrics",
    check: async () => {
      const res = await env.request("GET", "/metrics", { token: b.token });
      expect(res.status).toBe(200);
      expect(res.text).not.toMatch(/tenant-a|secret of/);
    },
  },
];

describe("tenant B never sees or changes tenant A's data", () => {
  it("the walk covers every route of the app", () => {
    const routes = new Set(env.app.routes.filter((r) => r.method !== "ALL").map((r) => `${r.method} ${r.path.replace(/\/$/, "") || "/"}`));
    const walked = new Set(walk.map((w) => `${w.method} ${w.path}`));
    expect([...routes].sort()).toEqual([...walked].sort());
  });

  for (const step of walk) {
    it(`${step.method} ${step.path}`, step.check);
  }

  it("tenant A's data is intact afterwards", async () => {
    const res = await env.request("GET", "/v1/events", { token: a.token });
    expect(res.json.events.map((e: { attrs: { owner: string } }) => e.attrs.owner)).toEqual(["a", "a"]);
    const stats = await env.request("GET", "/api/stats", { token: a.token });
    expect(stats.json.total_events).toBe(2);
    await aAgentIntact();
  });
});

describe("the storage layer enforces the tenant", () => {
  it("refuses a query without the tenant filter", async () => {
    const scope = scopeToTenant(env.collector.services.db, "tenant-b");
    await expect(scope.query(`SELECT count() FROM ${scope.table("events")}`)).rejects.toBeInstanceOf(UnscopedQueryError);
    await expect(scope.query(`SELECT count() FROM ${scope.table("events")} WHERE tenant = {tenant:String}`, { tenant: "tenant-a" })).rejects.toBeInstanceOf(UnscopedQueryError);
  });

  it("stamps its own tenant on every inserted row", async () => {
    const scope = scopeToTenant(env.collector.services.db, "tenant-b");
    await scope.insert("api_keys", [{ tenant: "tenant-a", id: "key_forged", name: "forged", prefix: "x", hash: "x", scopes: ["admin"], created_at: Date.now(), version: 1, is_deleted: 0 }]);
    const aKeys = await env.request("GET", "/api/keys", { token: a.token });
    expect(aKeys.json.keys.map((k: { id: string }) => k.id)).not.toContain("key_forged");
    const bKeys = await env.request("GET", "/api/keys", { token: b.token });
    expect(bKeys.json.keys.map((k: { id: string }) => k.id)).toContain("key_forged");
  });
});
