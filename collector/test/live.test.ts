import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { startInProcess } from "../../test/support/in-process.js";
import { connectLive, type LiveClient } from "../../test/support/live-client.js";
import { TEST_TOKEN } from "../../test/support/collector-process.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
let b: string;
let ingestOnly: string;
const clients: LiveClient[] = [];

const event = (attrs: Record<string, string>, body = "hello") => ({ id: uuidv7(), ts: Date.now(), source: "http", type: "http.check", attrs, body });

async function live(token = TEST_TOKEN, via?: "header" | "subprotocol"): Promise<LiveClient> {
  const client = await connectLive(env.collector.url, token, via ? { via } : {});
  clients.push(client);
  return client;
}

beforeAll(async () => {
  env = await startInProcess();
  b = (await env.request("POST", "/api/tenants", { body: { id: "tenant-b", name: "B" } })).json.token;
  ingestOnly = (await env.request("POST", "/api/keys", { body: { name: "agent", scopes: ["ingest"] } })).json.token;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await env?.close();
});

describe("the live WebSocket (/api/live)", () => {
  it("refuses connections without a valid read key, saying why", async () => {
    await expect(connectLive(env.collector.url, "vgl_not_a_key")).rejects.toMatchObject({ status: 401 });
    await expect(connectLive(env.collector.url, ingestOnly)).rejects.toMatchObject({ status: 403, body: expect.stringContaining("the live API needs") });
  });

  it("greets with the topics, by header or by the browsers' subprotocol", async () => {
    for (const via of ["header", "subprotocol"] as const) {
      const client = await live(TEST_TOKEN, via);
      const hello = await client.next((m) => m.type === "hello");
      expect(hello.tenant).toBe("default");
      expect(hello.topics.map((t: { name: string }) => t.name)).toEqual(expect.arrayContaining(["events", "alerts"]));
    }
  });

  it("streams stored events to the tail, filtered, and only the subscriber's tenant's", async () => {
    const a = await live();
    const other = await live(b);
    a.send({ type: "subscribe", id: "tail", topic: "events", params: { source: "http", q: "needle" } });
    other.send({ type: "subscribe", id: "tail", topic: "events", params: {} });
    await a.next((m) => m.type === "subscribed" && m.id === "tail");
    await other.next((m) => m.type === "subscribed" && m.id === "tail");
    const posted = await env.request("POST", "/v1/events", { body: [event({ n: "1" }, "hay"), event({ n: "2" }, "a NEEDLE here")] });
    expect(posted.status).toBe(202);
    const data = await a.next((m) => m.type === "data" && m.id === "tail");
    expect(data.data.events.map((e: { attrs: { n: string } }) => e.attrs.n)).toEqual(["2"]);
    // B posts its own; B's client sees only that, never A's.
    await env.request("POST", "/v1/events", { token: b, body: [event({ n: "b" }, "b's")] });
    const bData = await other.next((m) => m.type === "data");
    expect(bData.data.events.map((e: { attrs: { n: string } }) => e.attrs.n)).toEqual(["b"]);
    expect(JSON.stringify(other.messages)).not.toContain("NEEDLE");
  });

  it("sends what fires now, and again when it changes", async () => {
    const client = await live();
    client.send({ type: "subscribe", id: "fire", topic: "alerts" });
    const first = await client.next((m) => m.type === "data" && m.id === "fire");
    expect(first.data).toEqual([]);
    const rule = await env.request("POST", "/api/alerts/rules", { body: { kind: "event", name: "Live check", source: "http", type: "http.state" } });
    expect(rule.status).toBe(201);
    await env.request("POST", "/v1/events", { body: [{ ...event({ state: "down" }, "api is down"), type: "http.state" }] });
    const second = await client.next((m) => m.type === "data" && m.id === "fire" && m.data.length > 0);
    expect(second.data[0]).toMatchObject({ rule_name: "Live check", state: "firing" });
    // Tenant B's alerts topic stays empty.
    const other = await live(b);
    other.send({ type: "subscribe", id: "fire", topic: "alerts" });
    expect((await other.next((m) => m.type === "data")).data).toEqual([]);
  });

  it("answers bad messages with an error naming the problem, and keeps the connection", async () => {
    const client = await live();
    client.sendRaw("not json");
    expect((await client.next((m) => m.type === "error")).message).toMatch(/one JSON object/);
    client.send({ type: "subscribe", id: "x", topic: "nope" });
    expect(await client.next((m) => m.type === "error" && m.id === "x")).toMatchObject({ code: "not_found", message: expect.stringContaining("events") });
    client.send({ type: "subscribe", id: "y", topic: "events", params: { colour: "red" } });
    expect(await client.next((m) => m.type === "error" && m.id === "y")).toMatchObject({ code: "invalid_argument" });
    client.send({ type: "dance" });
    expect((await client.next((m) => m.type === "error" && m.message.includes("type"))).code).toBe("invalid_argument");
    client.send({ type: "unsubscribe", id: "never" });
    expect(await client.next((m) => m.type === "error" && m.id === "never")).toMatchObject({ code: "not_found" });
    client.send({ type: "subscribe", id: "ok", topic: "alerts" });
    expect(await client.next((m) => m.type === "subscribed" && m.id === "ok")).toBeTruthy();
    client.send({ type: "unsubscribe", id: "ok" });
    expect(await client.next((m) => m.type === "unsubscribed" && m.id === "ok")).toBeTruthy();
  });
});
