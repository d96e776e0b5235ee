import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, startAgentProcess, testAgentConfig, writeAgentConfig, type AgentProcess } from "../../../test/support/agent-process.js";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess } from "../../../test/support/collector-process.js";
import { seededRandom } from "../../../test/support/random.js";
import { DEFAULT_SETTINGS, LATENCY_BUCKETS_MS, bucketKey } from "../src/contract.js";
import { createMonitor, type CacheMonitor, type MonitorOptions } from "../src/sdk.js";

/**
 * The SDK with the real chain around it: a collector (embedded ClickHouse, with the
 * cache-db collector part) and agents as child processes (with the cache-db agent part,
 * which relays the collector's settings to apps).
 */
const PLUGIN_DIR = join(REPO_ROOT, "plugins/cache-db");
let collector: CollectorProcess;
const dirs: { remove(): void }[] = [];
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  const dir = tempDir("vigil-sdk-e2e-");
  dirs.push(dir);
  collector = await startCollectorProcess({ dataDir: join(dir.path, "collector"), args: ["--plugin", join(PLUGIN_DIR, "dist/collector.js")] });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  await collector?.kill();
  for (const dir of dirs) dir.remove();
});

async function agent(port?: number): Promise<AgentProcess> {
  const dir = tempDir("vigil-sdk-agent-");
  dirs.push(dir);
  const config = testAgentConfig(collector, join(dir.path, "data"), { name: "sdk-test-agent", ...(port !== undefined ? { intakePort: port } : {}), plugins: [{ use: join(PLUGIN_DIR, "dist/agent.js"), id: "cache-db" }] });

  const proc = await startAgentProcess(writeAgentConfig(dir.path, config));
  cleanups.push(() => proc.kill());
  return proc;
}

function monitor(options: MonitorOptions): CacheMonitor {
  const m = createMonitor(options);
  cleanups.push(() => m.close());
  return m;
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${collector.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${collector.token}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, json: res.status === 204 ? undefined : await res.json() };
}

interface Stored {
  type: string;
  attrs: Record<string, string>;
}

/** Every event of an app stored by the collector (attrs come back as strings). */
async function storedEvents(app: string): Promise<Stored[]> {
  const out: Stored[] = [];
  let cursor: string | null = null;
  do {
    const page: any = (await api("GET", `/v1/events?source=cache&attr.app=${app}&limit=1000${cursor ? `&cursor=${cursor}` : ""}`)).json;
    out.push(...page.events);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

async function eventually<T>(probe: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    value = await probe();
  }
  return value;
}

describe("settings from the collector", () => {
  it("reach the app through the agent within 5 s: thresholds, buffer size, the switch; disabled, nothing is sent", async () => {
    const a = await agent();
    await eventually(() => fetch(`${a.intakeUrl}/v1/plugins/cache-db/settings`).then((r) => r.status), (status) => status === 200);
    const app = "e2e-settings";
    const m = monitor({ app, agentUrl: a.intakeUrl, flushIntervalMs: 200 });

    let started = Date.now();
    const changed = await api("PUT", "/api/cache-monitor/settings", { app, settings: { buffer_size: 321, detailed_below: 50, sampled: [{ below: 300, rate: 0.2 }], aggregated_at: 300 } });
    expect(changed.status, JSON.stringify(changed.json)).toBe(200);
    const applied = await eventually(() => m.settings(), (s) => s.buffer_size === 321, 5_000);
    expect(applied).toEqual({ enabled: true, buffer_size: 321, detailed_below: 50, sampled: [{ below: 300, rate: 0.2 }], aggregated_at: 300 });
    expect(Date.now() - started).toBeLessThanOrEqual(5_000);

    started = Date.now();
    expect((await api("PUT", "/api/cache-monitor/settings", { app, settings: { enabled: false } })).status).toBe(200);
    expect(await eventually(() => m.mode(), (mode) => mode === "disabled", 5_000)).toBe("disabled");
    expect(Date.now() - started).toBeLessThanOrEqual(5_000);
    for (let i = 0; i < 500; i++) {
      m.logCacheRead(`user:${i}`, { hit: true, durationMs: 0.3 });
      m.logDbWrite("orders", { durationMs: 2 });
    }
    await m.flush();
    const modeEvents = await eventually(() => storedEvents(app), (events) => events.length >= 1);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await storedEvents(app)).map((e) => [e.type, e.attrs.from, e.attrs.to])).toEqual([["cache.mode", "detailed", "disabled"]]);
    expect(modeEvents[0]!.attrs.app).toBe(app);
    expect(m.totals().ops).toBe(0);

    // Without its own settings the app follows "*" again: the built-in defaults here.
    started = Date.now();
    expect((await api("DELETE", `/api/cache-monitor/settings/${app}`)).status).toBe(204);
    expect(await eventually(() => m.settings(), (s) => s.enabled, 5_000)).toEqual(DEFAULT_SETTINGS);
    expect(Date.now() - started).toBeLessThanOrEqual(5_000);
    expect(m.mode()).toBe("detailed");
  });
});

describe("events through the agent", () => {
  it("carry every mode change, exact per-label counters in every mode, and sampled ops with their rate", async () => {
    const a = await agent();
    const app = "e2e-modes";
    const clock = { t: 0 };
    const m = monitor({ app, agentUrl: a.intakeUrl, flushIntervalMs: 3_600_000, now: () => clock.t, random: seededRandom(3) });
    // The first poll applies the published defaults; let it land before the load starts.
    await new Promise((resolve) => setTimeout(resolve, 500));

    const truth = new Map<string, { ops: number; items: number; hits: number; misses: number; partial_hits: number }>();
    const count = (label: string, op: string, items: number, result?: "hits" | "misses" | "partial_hits") => {
      const key = `${label}/${op}`;
      const entry = truth.get(key) ?? { ops: 0, items: 0, hits: 0, misses: 0, partial_hits: 0 };
      entry.ops++;
      entry.items += items;
      if (result) entry[result]++;
      truth.set(key, entry);
    };
    const pick = seededRandom(5);
    let durations = 0;
    const one = () => {
      const r = pick();
      const durationMs = (durations++ % 40) * 0.7;
      if (r < 0.4) (m.logCacheRead("user:1", { hit: true, durationMs }), count("user", "cache_read", 1, "hits"));
      else if (r < 0.6) (m.logCacheRead("user:2", { hit: false, durationMs }), count("user", "cache_read", 1, "misses"));
      else if (r < 0.7) (m.logCacheRead("cart:1", { partial: true, count: 3, durationMs }), count("cart", "cache_read", 3, "partial_hits"));
      else if (r < 0.85) (m.logCacheWrite("cart:1", { durationMs }), count("cart", "cache_write", 1));
      else (m.logDbRead("orders", { count: 2, durationMs }), count("orders", "db_read", 2));
    };
    for (const [opsPerSecond, seconds] of [[50, 3], [150, 3], [1500, 3], [50, 3]] as const) {
      for (let i = 0; i < opsPerSecond * seconds; i++) {
        clock.t += 1000 / opsPerSecond;
        one();
      }
      await m.flush();
    }
    expect(m.dropped()).toBe(0);
    const totalOps = [...truth.values()].reduce((sum, e) => sum + e.ops, 0);
    expect(m.totals().ops).toBe(totalOps);

    const events = await eventually(() => storedEvents(app), (stored) => stored.filter((e) => e.type === "cache.mode").length >= 4 && stored.some((e) => e.type === "cache.stats"));
    const modes = events.filter((e) => e.type === "cache.mode").map((e) => `${e.attrs.from}>${e.attrs.to}`);
    expect(modes.sort()).toEqual(["aggregated>sampled", "detailed>sampled", "sampled>aggregated", "sampled>detailed"]);

    await eventually(() => storedEvents(app), (stored) => sumStats(stored).get("user/cache_read")?.ops === truth.get("user/cache_read")!.ops);
    const stats = sumStats(await storedEvents(app));
    expect(Object.fromEntries(stats)).toEqual(Object.fromEntries(truth));

    const ops = (await storedEvents(app)).filter((e) => e.type === "cache.op");
    // Load ramping from 150 to 1500 ops/s (and back) passes through the 5 % and 1 % tiers on its way.
    const rates = new Set(ops.map((e) => Number(e.attrs.sample_rate)));
    expect([...rates].every((rate) => [1, 0.1, 0.05, 0.01].includes(rate))).toBe(true);
    expect(rates.has(1) && rates.has(0.1)).toBe(true);
    expect(ops.every((e) => e.attrs.mode === (e.attrs.sample_rate === "1" ? "detailed" : "sampled"))).toBe(true);
  });
});

/** cache.stats summed per label/op over all windows; checks each histogram adds up to its ops. */
function sumStats(events: Stored[]) {
  const sums = new Map<string, { ops: number; items: number; hits: number; misses: number; partial_hits: number }>();
  for (const event of events.filter((e) => e.type === "cache.stats")) {
    const a = event.attrs;
    const buckets = [...LATENCY_BUCKETS_MS.map(bucketKey), "le_inf"].reduce((sum, key) => sum + Number(a[key]), 0);
    expect(buckets).toBe(Number(a.ops));
    expect(Number(a.window_end_ms)).toBeGreaterThanOrEqual(Number(a.window_start_ms));
    const key = `${a.key_label}/${a.op}`;
    const entry = sums.get(key) ?? { ops: 0, items: 0, hits: 0, misses: 0, partial_hits: 0 };
    entry.ops += Number(a.ops);
    entry.items += Number(a.items);
    entry.hits += Number(a.hits);
    entry.misses += Number(a.misses);
    entry.partial_hits += Number(a.partial_hits);
    sums.set(key, entry);
  }
  return sums;
}

describe("the agent down, then back", () => {
  it("the app's calls keep working, the backlog stays bounded and counts its drops, and the agent gets the rest when it comes back", async () => {
    const port = await freePort();
    const app = "e2e-backlog";
    const clock = { t: 0 };
    const m = monitor({ app, agentUrl: `http://127.0.0.1:${port}`, maxBacklog: 200, flushIntervalMs: 3_600_000, settingsPollMs: 200, now: () => (clock.t += 20) });

    for (let i = 0; i < 1000; i++) expect(m.logCacheRead(`user:${i}`, { hit: i % 4 !== 0, durationMs: 0.5 })).toBeUndefined();
    await m.flush();
    expect(m.dropped()).toBe(1001 - 200);
    for (let i = 0; i < 300; i++) m.logCacheWrite(`user:${i}`, { durationMs: 0.5 });
    await m.flush();
    expect(m.dropped()).toBe(1001 + 301 - 200);
    expect(m.totals()).toMatchObject({ hits: 750, misses: 250, cache_writes: 300, ops: 1300 });
    expect(m.recent()).toHaveLength(1000);

    await agent(port);
    await m.flush();
    const stored = await eventually(() => storedEvents(app), (events) => events.length >= 200);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await storedEvents(app)).toHaveLength(200);
    // The newest 200: the last 199 writes and the stats of their flush window, which say
    // what was lost by then (the 801 of the first flush, then one per write queued).
    expect(stored.filter((e) => e.type === "cache.stats").map((e) => [e.attrs.op, e.attrs.ops, e.attrs.dropped_events])).toEqual([["cache_write", "300", "1101"]]);
    const ops = stored.filter((e) => e.type === "cache.op");
    expect(ops).toHaveLength(199);
    expect(ops.every((e) => e.attrs.op === "cache_write")).toBe(true);
    expect(m.dropped(), "delivery does not change what was lost").toBe(1102);
  });
});
