import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMonitor } from "../src/sdk.js";

/** Against the Redis on 127.0.0.1:6379; keys carry a run id so parallel runs do not meet. */
const run = randomBytes(4).toString("hex");
const key = (label: string, name: string) => `${label}:${run}:${name}`;
let plain: Redis;

beforeAll(async () => {
  plain = new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true });
  await plain.connect();
});
afterAll(async () => {
  const keys = await plain.keys(`*:${run}:*`);
  if (keys.length) await plain.del(...keys);
  plain.disconnect();
});

function instrumented(settings = {}) {
  const monitor = createMonitor({ app: "ioredis-test", ship: false, settings: { buffer_size: 1000, ...settings } });
  const client = monitor.instrumentIoredis(new Redis({ host: "127.0.0.1", port: 6379 }));
  return { monitor, client, [Symbol.asyncDispose]: async () => void client.disconnect() };
}

describe("instrumentIoredis", () => {
  it("records hits, misses, partial hits and writes with their key label and item count", async () => {
    await using t = instrumented();
    const { monitor, client } = t;
    expect(await client.set(key("user", "1"), "alice")).toBe("OK");
    expect(await client.get(key("user", "1"))).toBe("alice");
    expect(await client.get(key("user", "missing"))).toBeNull();
    expect(await client.mget(key("user", "1"), key("user", "2"), key("user", "3"))).toEqual(["alice", null, null]);
    await client.mset(key("user", "2"), "bob", key("user", "3"), "carol");
    expect(await client.mget(key("user", "1"), key("user", "2"), key("user", "3"))).toEqual(["alice", "bob", "carol"]);
    expect(await client.mget(key("user", "x"), key("user", "y"))).toEqual([null, null]);
    await client.hset(key("profile", "1"), { name: "alice", city: "Oslo" });
    expect(await client.hgetall(key("profile", "1"))).toEqual({ name: "alice", city: "Oslo" });
    expect(await client.hgetall(key("profile", "none"))).toEqual({});
    expect(await client.hmget(key("profile", "1"), "name", "age")).toEqual(["alice", null]);
    expect(await client.exists(key("user", "1"), key("user", "nope"))).toBe(1);
    expect(await client.incr(key("counter", "hits"))).toBe(1);
    expect(await client.expire(key("counter", "hits"), 60)).toBe(1);
    expect(await client.del(key("user", "2"), key("user", "3"))).toBe(2);

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
      ["cache_read", "profile", "partial", 2],
      ["cache_read", "user", "partial", 2],
      ["cache_write", "counter", undefined, 1],
      ["cache_write", "counter", undefined, 1],
      ["cache_write", "user", undefined, 2],
    ]);
    for (const event of monitor.recent()) {
      expect(event.attrs.origin).toBe("redis");
      expect(event.attrs.duration_ms).toBeGreaterThan(0);
    }
    expect(monitor.totals()).toEqual({ hits: 3, misses: 3, partial_hits: 3, cache_writes: 6, db_reads: 0, db_writes: 0, hybrid_queries: 0, ops: 15 });
  });

  it("behaves like the client it wraps: same results, same errors, callbacks, other commands", async () => {
    await using t = instrumented();
    const { monitor, client } = t;
    await plain.set(key("text", "1"), "v");
    const error = await client.hget(key("text", "1"), "field").catch((e: Error) => e);
    const direct = await plain.hget(key("text", "1"), "field").catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toBe((direct as Error).message);
    const viaCallback = await new Promise<[unknown, unknown]>((resolve) => void client.get(key("text", "1"), (err, value) => resolve([err, value])));
    expect(viaCallback).toEqual([null, "v"]);
    expect(await client.call("GET", key("text", "1"))).toBe("v");
    expect(await client.getBuffer(key("text", "1"))).toEqual(Buffer.from("v"));
    expect(await client.ping()).toBe("PONG");
    const piped = await client.pipeline().get(key("text", "1")).set(key("text", "2"), "w").exec();
    expect(piped).toEqual([[null, "v"], [null, "OK"]]);
    expect(await client.multi().get(key("text", "1")).exec()).toEqual([[null, "v"]]);

    const ops = monitor.recent().map((e) => [e.attrs.op, e.attrs.result, e.attrs.error]);
    // The failed HGET is a miss flagged error; PING is not a cache op; pipeline and MULTI pass through.
    expect(ops).toEqual([
      ["cache_read", "miss", true],
      ["cache_read", "hit", undefined],
      ["cache_read", "hit", undefined],
      ["cache_read", "hit", undefined],
    ]);
    expect(monitor.recent()[0]!.severity).toBe("warning");
  });

  it("records a command sent before the connection is ready once, and an instrumented client twice over once", async () => {
    const monitor = createMonitor({ app: "ioredis-test", ship: false });
    const client = monitor.instrumentIoredis(monitor.instrumentIoredis(new Redis({ host: "127.0.0.1", port: 6379, lazyConnect: true })));
    // lazyConnect: the first command connects, waiting in ioredis's offline queue, which sends it again once ready.
    expect(client.status).toBe("wait");
    expect(await client.get(key("user", "early"))).toBeNull();
    expect(monitor.totals()).toMatchObject({ misses: 1, ops: 1 });
    client.disconnect();
  });

  it("passes every call straight through while disabled", async () => {
    await using t = instrumented({ enabled: false });
    const { monitor, client } = t;
    await client.set(key("user", "d"), "1");
    expect(await client.get(key("user", "d"))).toBe("1");
    expect(monitor.totals().ops).toBe(0);
    expect(monitor.recent()).toEqual([]);
  });

  it("refuses what is not an ioredis client", () => {
    const monitor = createMonitor({ app: "ioredis-test", ship: false });
    expect(() => monitor.instrumentIoredis({})).toThrow(/expects an ioredis client/);
  });
});
