import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BATCH_ID_HEADER, BATCH_ID_PATTERN, checkEvent } from "@vigil/plugin-sdk";
import { freePort } from "../../../test/support/agent-process.js";
import { createMonitor, type MonitorOptions } from "../src/sdk.js";

/**
 * The pure backlog and drop-counting behaviour, against a stand-in for the agent's intake
 * whose answers the test sets (the real agent, down and back, is in sdk-agent.test.ts).
 */
interface Post {
  headers: IncomingHttpHeaders;
  events: { id: string; type: string; attrs: Record<string, unknown> }[];
}

async function standIn(port = 0) {
  const posts: Post[] = [];
  const state = { status: 202 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method === "POST" && req.url === "/v1/events") {
        posts.push({ headers: req.headers, events: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Post["events"] });
        res.writeHead(state.status, { "content-type": "application/json" }).end(JSON.stringify(state.status === 202 ? { accepted: posts.at(-1)!.events.length } : { error: { code: "unavailable", message: "stand-in" } }));
      } else res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"not_found","message":"nothing"}}');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, posts, state, events: () => posts.flatMap((p) => p.events) };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Ships only when the test calls flush() (timers far away); 20 ms per op keeps it in detailed mode. */
function monitor(agentUrl: string, options: Partial<MonitorOptions> = {}) {
  const clock = { t: 0 };
  const m = createMonitor({ app: "shipping-test", agentUrl, flushIntervalMs: 3_600_000, settingsPollMs: 3_600_000, now: () => (clock.t += 20), ...options });
  cleanups.push(() => m.close());
  return m;
}

function writes(m: ReturnType<typeof monitor>, from: number, to: number): void {
  for (let i = from; i < to; i++) m.logCacheWrite("order:1", { count: i, durationMs: 0.5 });
}

describe("shipping to the agent's intake", () => {
  it("posts JSON arrays of at most 1000 valid events, each POST named by a batch id", async () => {
    const agent = await standIn();
    const m = monitor(agent.url, { settings: { buffer_size: 5000 } });
    writes(m, 0, 2500);
    await m.flush();
    expect(agent.posts.map((p) => p.events.length)).toEqual([1000, 1000, 501]);
    for (const post of agent.posts) {
      expect(post.headers["content-type"]).toBe("application/json");
      expect(post.headers[BATCH_ID_HEADER]).toMatch(BATCH_ID_PATTERN);
      for (const event of post.events) expect(checkEvent(event).ok).toBe(true);
    }
    const events = agent.events();
    expect(new Set(events.map((e) => e.id)).size).toBe(2501);
    expect(events.filter((e) => e.type === "cache.op").map((e) => e.attrs.count)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
    const stats = events.filter((e) => e.type === "cache.stats");
    expect(stats).toHaveLength(1);
    expect(stats[0]!.attrs).toMatchObject({ app: "shipping-test", key_label: "order", op: "cache_write", ops: 2500, dropped_events: 0 });
    expect(m.dropped()).toBe(0);
    await m.flush();
    expect(agent.posts, "nothing new, nothing posted").toHaveLength(3);
  });

  it("keeps the newest maxBacklog events while the agent fails, counts the rest, and delivers them once it answers", async () => {
    const agent = await standIn();
    agent.state.status = 503;
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    cleanups.push(() => void process.off("warning", onWarning));
    const m = monitor(agent.url, { maxBacklog: 600 });
    writes(m, 0, 1000);
    await m.flush();
    expect(m.dropped()).toBe(1001 - 600);
    // Said too, once (at most once a minute), not only counted.
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.filter((w) => w.includes("backlog (600 events) is full"))).toHaveLength(1);
    await m.flush();
    expect(agent.posts).toHaveLength(2);
    expect(agent.posts[1]!.headers[BATCH_ID_HEADER], "a retried batch keeps its id").toBe(agent.posts[0]!.headers[BATCH_ID_HEADER]);
    writes(m, 1000, 1100);
    await m.flush();
    expect(m.dropped()).toBe(401 + 101);
    expect(agent.posts.at(-1)!.events).toHaveLength(600);

    agent.state.status = 202;
    const failedPosts = agent.posts.length;
    await m.flush();
    const delivered = agent.posts.slice(failedPosts).flatMap((p) => p.events);
    expect(delivered).toHaveLength(600);
    const ops = delivered.filter((e) => e.type === "cache.op").map((e) => e.attrs.count as number);
    expect(ops.at(-1), "the newest op is delivered").toBe(1099);
    expect(ops).toEqual([...ops].sort((a, b) => a - b));
    expect(delivered.filter((e) => e.type === "cache.stats").map((e) => e.attrs.ops)).toEqual([1000, 100]);
    expect(m.dropped(), "delivery does not change what was lost").toBe(502);
    await m.flush();
    expect(agent.posts.length - failedPosts, "delivered once").toBe(1);
  });

  it("with nothing listening, calls stay synchronous, flush() settles, and the backlog stays bounded", async () => {
    const port = await freePort();
    const m = monitor(`http://127.0.0.1:${port}`, { maxBacklog: 100 });
    for (let round = 1; round <= 3; round++) {
      for (let i = 0; i < 500; i++) expect(m.logCacheRead(`user:${i}`, { hit: i % 2 === 0, durationMs: 0.2 })).toBeUndefined();
      await m.flush();
      expect(m.dropped()).toBe(round * 501 - 100);
    }
    expect(m.totals()).toMatchObject({ hits: 750, misses: 750, ops: 1500 });
    const agent = await standIn(port);
    await m.flush();
    expect(agent.events()).toHaveLength(100);
    expect(m.dropped()).toBe(3 * 501 - 100);
  });

  it("counts ops overwritten in the ring before they could be shipped", async () => {
    const agent = await standIn();
    const m = monitor(agent.url, { settings: { buffer_size: 10 } });
    writes(m, 0, 100);
    await m.flush();
    expect(agent.events().filter((e) => e.type === "cache.op").map((e) => e.attrs.count)).toEqual(Array.from({ length: 10 }, (_, i) => 90 + i));
    expect(m.dropped()).toBe(90);
  });

  it("ships a ring that fills between flushes before it overwrites anything", async () => {
    const agent = await standIn();
    const m = monitor(agent.url, { settings: { buffer_size: 100 } });
    for (let round = 0; round < 5; round++) {
      writes(m, round * 60, round * 60 + 60);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await m.flush();
    expect(agent.events().filter((e) => e.type === "cache.op")).toHaveLength(300);
    expect(m.dropped()).toBe(0);
  });

  it("drops and counts a batch the agent refuses as invalid (400) instead of retrying it forever", async () => {
    const agent = await standIn();
    agent.state.status = 400;
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on("warning", onWarning);
    cleanups.push(() => void process.off("warning", onWarning));
    const m = monitor(agent.url);
    writes(m, 0, 10);
    await m.flush();
    expect(m.dropped()).toBe(11);
    agent.state.status = 202;
    await m.flush();
    expect(agent.posts).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings.some((w) => w.includes("refused 11 cache events (400)"))).toBe(true);
  });

  it("close() ships what is left and stops the timers", async () => {
    const agent = await standIn();
    const m = createMonitor({ app: "shipping-test", agentUrl: agent.url, flushIntervalMs: 50, settingsPollMs: 50 });
    m.logDbRead("orders", { count: 3, durationMs: 2 });
    await m.close();
    await m.close();
    const shipped = agent.events().length;
    expect(shipped).toBe(2);
    m.logDbRead("orders", { count: 3, durationMs: 2 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(agent.events()).toHaveLength(shipped);
  });
});
