import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UUID_PATTERN, checkEvent } from "@vigil/plugin-sdk";
import { DEFAULT_SETTINGS } from "../src/contract.js";
import { createMonitor, type MonitorOptions } from "../src/sdk.js";

/** An in-process monitor on a clock the test moves: 20 ms per op keeps it in detailed mode. */
function monitor(options: Partial<MonitorOptions> = {}) {
  const clock = { t: 1_000 };
  const m = createMonitor({ app: "core-test", ship: false, now: () => (clock.t += 20), ...options });
  return Object.assign(m, { clock });
}

describe("createMonitor", () => {
  it("refuses an app name the collector would refuse, and invalid options, saying what is wrong", () => {
    expect(() => createMonitor({ app: "", ship: false })).toThrow(/app must be 1–64 letters/);
    expect(() => createMonitor({ app: "my app", ship: false })).toThrow(/got "my app"/);
    expect(() => createMonitor({ app: "x".repeat(65), ship: false })).toThrow(/app must be/);
    expect(() => createMonitor({ app: "ok", ship: false, settings: { buffer_size: 5 } })).toThrow(/buffer_size: .*10/);
    expect(() => createMonitor({ app: "ok", ship: false, settings: { sampled: [{ below: 50, rate: 0.5 }] } })).toThrow(/sampled\.0\.below: tiers must ascend/);
    expect(() => createMonitor({ app: "ok", ship: false, maxBacklog: 0 })).toThrow(/maxBacklog must be a positive integer/);
    expect(() => createMonitor({ app: "ok", ship: false, flushIntervalMs: Number.NaN })).toThrow(/flushIntervalMs/);
    expect(createMonitor({ app: "billing-api.v2_eu", ship: false }).settings()).toEqual(DEFAULT_SETTINGS);
  });

  it("starts with the settings given, completed by the defaults", () => {
    const m = monitor({ settings: { buffer_size: 50, detailed_below: 20 } });
    expect(m.settings()).toEqual({ ...DEFAULT_SETTINGS, buffer_size: 50, detailed_below: 20 });
    expect(m.mode()).toBe("detailed");
  });
});

describe("log calls", () => {
  it("count every kind of op exactly and log each one as a valid cache.op event", () => {
    const m = monitor();
    m.logCacheRead("user:1", { hit: true, durationMs: 0.4, source: "redis" });
    m.logCacheRead("user:2", { hit: false, durationMs: 0.2 });
    m.logCacheRead("user:3", { hit: true, partial: true, count: 5, durationMs: 1.5 });
    m.logCacheRead("user:4", { durationMs: 0.1 });
    m.logCacheWrite("session:9", { durationMs: 0.3, count: 2 });
    m.logDbRead("orders", { count: 12, durationMs: 4 });
    m.logDbWrite("orders", { durationMs: 6 });
    m.logHybridQuery("cart:7", { cacheCount: 3, dbCount: 1, cacheMs: 0.5, dbMs: 3.25 });
    expect(m.totals()).toEqual({ hits: 1, misses: 2, partial_hits: 1, cache_writes: 1, db_reads: 1, db_writes: 1, hybrid_queries: 1, ops: 8 });

    const events = m.recent();
    expect(events).toHaveLength(8);
    for (const event of events) {
      const checked = checkEvent(event);
      expect(checked.ok, JSON.stringify(checked)).toBe(true);
      expect(event).toMatchObject({ source: "cache", type: "cache.op", severity: "info" });
      expect(event.id).toMatch(UUID_PATTERN);
      expect(event.id[14]).toBe("7");
      expect(Math.abs(event.ts - Date.now())).toBeLessThan(60_000);
    }
    expect(events.map((e) => [e.attrs.op, e.attrs.key_label, e.attrs.result, e.attrs.count])).toEqual([
      ["cache_read", "user", "hit", 1],
      ["cache_read", "user", "miss", 1],
      ["cache_read", "user", "partial", 5],
      ["cache_read", "user", "miss", 1],
      ["cache_write", "session", undefined, 2],
      ["db_read", "orders", undefined, 12],
      ["db_write", "orders", undefined, 1],
      ["hybrid", "cart", undefined, 4],
    ]);
    expect(events[0]!.attrs).toEqual({ app: "core-test", op: "cache_read", key_label: "user", result: "hit", count: 1, duration_ms: 0.4, origin: "redis", sample_rate: 1, mode: "detailed" });
    expect(events[7]!.attrs).toMatchObject({ cache_count: 3, db_count: 1, cache_ms: 0.5, db_ms: 3.25, duration_ms: 3.75, sample_rate: 1 });
  });

  it("turn numbers an event could not carry (NaN, negative, infinite) into the defaults", () => {
    const m = monitor();
    m.logCacheRead("k:1", { hit: true, durationMs: Number.NaN, count: -3 });
    m.logDbRead("t", { durationMs: Number.POSITIVE_INFINITY, count: Number.NaN });
    for (const event of m.recent()) {
      expect(checkEvent(event).ok).toBe(true);
      expect(event.attrs).toMatchObject({ duration_ms: 0, count: 1 });
    }
  });

  it("recent() filters by label and op and gives each op the same id every time", () => {
    const m = monitor();
    for (let i = 0; i < 10; i++) m.logCacheRead(`${i % 2 ? "user" : "cart"}:${i}`, { hit: i % 3 === 0, durationMs: 1 });
    m.logCacheWrite("user:1", { durationMs: 1 });
    expect(m.recent({ keyLabel: "user" })).toHaveLength(6);
    expect(m.recent({ keyLabel: "user", op: "cache_read" })).toHaveLength(5);
    expect(m.recent({ op: "cache_write" })).toHaveLength(1);
    expect(m.recent({ keyLabel: "nothing" })).toEqual([]);
    const ids = m.recent().map((e) => e.id);
    expect(new Set(ids).size).toBe(11);
    expect(m.recent().map((e) => e.id)).toEqual(ids);
  });
});

describe("key labels", () => {
  it("default to the prefix before the first ':' (the whole key without one)", () => {
    const m = monitor();
    for (const key of ["user:1", "user:2:profile", "user", "plain-key", ":leading", "a:b:c"]) m.logCacheWrite(key, { durationMs: 1 });
    expect(m.recent().map((e) => e.attrs.key_label)).toEqual(["user", "user", "user", "plain-key", "", "a"]);
  });

  it("come from the app's function when given; one that throws counts the op under 'other'", () => {
    const m = monitor({
      keyLabel: (key) => {
        if (key.startsWith("bad")) throw new Error("no label");
        return key.split("/")[0]!;
      },
    });
    m.logCacheRead("tenant-a/user/1", { hit: true, durationMs: 1 });
    m.logCacheRead("bad/key", { hit: true, durationMs: 1 });
    expect(m.recent().map((e) => e.attrs.key_label)).toEqual(["tenant-a", "other"]);
    expect(m.totals().hits).toBe(2);
  });

  it("are shipped as the first 12 hex digits of their sha256 with hashLabels", () => {
    const m = monitor({ hashLabels: true });
    m.logCacheRead("customer:42", { hit: true, durationMs: 1 });
    const expected = createHash("sha256").update("customer").digest("hex").slice(0, 12);
    expect(m.recent()[0]!.attrs.key_label).toBe(expected);
    expect(m.recent({ keyLabel: expected })).toHaveLength(1);
  });

  it("stop at 256 distinct labels; later ones count as 'other'", () => {
    const m = monitor({ settings: { buffer_size: 1000 } });
    for (let i = 0; i < 300; i++) m.logCacheWrite(`label${i}:x`, { durationMs: 1 });
    m.logCacheWrite("label0:again", { durationMs: 1 });
    const labels = m.recent().map((e) => e.attrs.key_label);
    expect(new Set(labels).size).toBe(257);
    expect(labels.filter((l) => l === "other")).toHaveLength(44);
    expect(labels.at(-1)).toBe("label0");
    expect(m.totals().cache_writes).toBe(301);
  });

  it("are cut to 128 characters", () => {
    const m = monitor();
    m.logCacheWrite(`${"p".repeat(300)}:1`, { durationMs: 1 });
    expect(m.recent()[0]!.attrs.key_label).toBe("p".repeat(128));
  });
});

describe("ring buffer", () => {
  it("never holds more than buffer_size events: the newest, oldest first", () => {
    const m = monitor({ settings: { buffer_size: 100 } });
    for (let i = 0; i < 5000; i++) {
      m.logCacheWrite(`k:${i}`, { count: i, durationMs: 1 });
      if (i % 500 === 0) expect(m.recent().length).toBeLessThanOrEqual(100);
    }
    const counts = m.recent().map((e) => e.attrs.count);
    expect(counts).toEqual(Array.from({ length: 100 }, (_, i) => 4900 + i));
    expect(m.totals().cache_writes).toBe(5000);
  });

  it("is resized at runtime, keeping the newest events", () => {
    const m = monitor({ settings: { buffer_size: 100 } });
    for (let i = 0; i < 150; i++) m.logCacheWrite("k", { count: i, durationMs: 1 });
    m.applySettings({ ...m.settings(), buffer_size: 30 });
    expect(m.recent().map((e) => e.attrs.count)).toEqual(Array.from({ length: 30 }, (_, i) => 120 + i));
    m.applySettings({ ...m.settings(), buffer_size: 200 });
    expect(m.recent()).toHaveLength(30);
    for (let i = 150; i < 500; i++) m.logCacheWrite("k", { count: i, durationMs: 1 });
    expect(m.recent().map((e) => e.attrs.count)).toEqual(Array.from({ length: 200 }, (_, i) => 300 + i));
  });
});

describe("disabled", () => {
  it("records nothing, and starts afresh when enabled again", () => {
    const m = monitor({ settings: { enabled: false } });
    expect(m.mode()).toBe("disabled");
    for (let i = 0; i < 1000; i++) {
      m.logCacheRead("user:1", { hit: true, durationMs: 1 });
      m.logCacheWrite("user:1", { durationMs: 1 });
      m.logDbRead("t", { durationMs: 1 });
      m.logDbWrite("t", { durationMs: 1 });
      m.logHybridQuery("h", { cacheCount: 1, dbCount: 1, cacheMs: 1, dbMs: 1 });
    }
    expect(m.recent()).toEqual([]);
    expect(m.totals()).toEqual({ hits: 0, misses: 0, partial_hits: 0, cache_writes: 0, db_reads: 0, db_writes: 0, hybrid_queries: 0, ops: 0 });
    expect(m.opsPerSecond()).toBe(0);

    m.applySettings({ ...m.settings(), enabled: true });
    expect(m.mode()).toBe("detailed");
    m.logCacheRead("user:1", { hit: true, durationMs: 1 });
    expect(m.totals().ops).toBe(1);
    expect(m.recent()).toHaveLength(1);
    expect(m.opsPerSecond()).toBe(1);
  });

  it("can be switched on and off while ops flow", () => {
    const m = monitor();
    m.logCacheRead("a:1", { hit: true, durationMs: 1 });
    m.applySettings({ ...m.settings(), enabled: false });
    m.logCacheRead("a:1", { hit: true, durationMs: 1 });
    expect(m.mode()).toBe("disabled");
    expect(m.totals().ops).toBe(1);
    expect(() => m.applySettings({ ...m.settings(), detailed_below: 0 })).toThrow(/applySettings: invalid cache monitor settings: detailed_below/);
  });
});
