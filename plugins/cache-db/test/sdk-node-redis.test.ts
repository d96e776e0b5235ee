import { randomBytes } from "node:crypto";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMonitor } from "../src/sdk.js";

/** Against the Redis on 127.0.0.1:6379; keys carry a run id so parallel runs do not meet. */
const run = randomBytes(4).toString("hex");
const key = (label: string, name: string) => `${label}:${run}:${name}`;
const url = "redis://127.0.0.1:6379";
let plain: ReturnType<typeof createClient>;

beforeAll(async () => {
  plain = await createClient({ url }).connect();
});
afterAll(async () => {
  const keys = await plain.keys(`*:${run}:*`);
  if (keys.length) await plain.del(keys);
  plain.destroy();
});

async function instrumented(settings = {}) {
  const monitor = createMonitor({ app: "node-redis-test", ship: false, settings: { buffer_size: 1000, ...settings } });
  const client = monitor.instrumentNodeRedis(createClient({ url }));
  await client.connect();
  return { monitor, client, [Symbol.asyncDispose]: async () => void client.destroy() };
}

describe("instrumentNodeRedis (node-redis v5)", () => {
  it("records hits, misses, partial hits and writes from the camelCase methods, once each", async () => {
    await using t = await instrumented();
    const { monitor, client } = t;
    expect(monitor.totals().ops, "the connection handshake is not a cache op").toBe(0);
    expect(await client.set(key("user", "1"), "alice")).toBe("OK");
    expect(await client.get(key("user", "1"))).toBe("alice");
    expect(await client.GET(key("user", "missing"))).toBeNull();
    expect(await client.mGet([key("user", "1"), key("user", "2"), key("user", "3")])).toEqual(["alice", null, null]);
    await client.mSet({ [key("user", "2")]: "bob", [key("user", "3")]: "carol" });
    expect(await client.mGet([key("user", "1"), key("user", "2"), key("user", "3")])).toEqual(["alice", "bob", "carol"]);
    expect(await client.mGet([key("user", "x"), key("user", "y")])).toEqual([null, null]);
    await client.hSet(key("profile", "1"), { name: "alice", city: "Oslo" });
    expect({ ...(await client.hGetAll(key("profile", "1"))) }).toEqual({ name: "alice", city: "Oslo" });
    expect({ ...(await client.hGetAll(key("profile", "none"))) }).toEqual({});
    expect(await client.hGet(key("profile", "1"), "name")).toBe("alice");
    expect(await client.hmGet(key("profile", "1"), ["name", "age"])).toEqual(["alice", null]);
    expect(await client.exists([key("user", "1"), key("user", "nope")])).toBe(1);
    expect(await client.incr(key("counter", "hits"))).toBe(1);
    expect(await client.expire(key("counter", "hits"), 60)).toBe(1);
    expect(await client.del([key("user", "2"), key("user", "3")])).toBe(2);
    expect(await client.sendCommand(["GET", key("user", "1")])).toBe("alice");
    expect(await client.sendCommand(["get", key("user", "none")])).toBeNull();

    const ops = monitor.recent().map((e) => [e.attrs.op, e.attrs.key_label, e.attrs.result, e.attrs.count]);
    expect(ops).toEqual([
      ["cache_write", "user", undefined, 1],
      ["cache_read", "user", "hit", 1],
      ["cache_read", "user", "miss", 1],
      ["cache_read", "user", "partial", 3],
      ["cache_write", "user", undefined, 2],
      ["cache_read", "user", "hit", 3],
      ["cache_read", "user", "miss", 2],
      ["cache_write", "profile", undefined, 2],
      ["cache_read", "profile", "hit", 1],
      ["cache_read", "profile", "miss", 1],
      ["cache_read", "profile", "hit", 1],
      ["cache_read", "profile", "partial", 2],
      ["cache_read", "user", "partial", 2],
      ["cache_write", "counter", undefined, 1],
      ["cache_write", "counter", undefined, 1],
      ["cache_write", "user", undefined, 2],
      ["cache_read", "user", "hit", 1],
      ["cache_read", "user", "miss", 1],
    ]);
    for (const event of monitor.recent()) expect(event.attrs).toMatchObject({ origin: "redis", app: "node-redis-test" });
    expect(monitor.totals()).toEqual({ hits: 5, misses: 4, partial_hits: 3, cache_writes: 6, db_reads: 0, db_writes: 0, hybrid_queries: 0, ops: 18 });
  });

  it("behaves like the client it wraps: same results and errors; MULTI and pipelines pass through", async () => {
    await using t = await instrumented();
    const { monitor, client } = t;
    await plain.set(key("text", "1"), "v");
    const error = await client.hGet(key("text", "1"), "f").catch((e: Error) => e);
    const direct = await plain.hGet(key("text", "1"), "f").catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).constructor).toBe((direct as Error).constructor);
    expect((error as Error).message).toBe((direct as Error).message);
    expect(await client.ping()).toBe("PONG");
    expect(await client.multi().get(key("text", "1")).set(key("text", "2"), "w").exec()).toEqual(["v", "OK"]);
    expect(await client.withTypeMapping({}).get(key("text", "1"))).toBe("v");

    expect(monitor.recent().map((e) => [e.attrs.op, e.attrs.result, e.attrs.error])).toEqual([
      ["cache_read", "miss", true],
      ["cache_read", "hit", undefined],
    ]);
  });

  it("passes every call straight through while disabled, and is instrumented once however often it is asked", async () => {
    await using t = await instrumented({ enabled: false });
    const { monitor, client } = t;
    expect(monitor.instrumentNodeRedis(client)).toBe(client);
    await client.set(key("user", "d"), "1");
    expect(await client.get(key("user", "d"))).toBe("1");
    expect(monitor.totals().ops).toBe(0);
    monitor.applySettings({ ...monitor.settings(), enabled: true });
    expect(await client.get(key("user", "d"))).toBe("1");
    expect(monitor.totals()).toMatchObject({ hits: 1, ops: 1 });
  });

  it("refuses what is not a node-redis client", () => {
    const monitor = createMonitor({ app: "node-redis-test", ship: false });
    expect(() => monitor.instrumentNodeRedis({ get() {} })).toThrow(/expects a node-redis v4 or v5 client/);
  });
});
