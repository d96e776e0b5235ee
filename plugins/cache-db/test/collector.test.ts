import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { openAgentStream } from "../../../collector/test/support/agent-stream.js";
import { REPO_ROOT, TEST_TOKEN, tempDir } from "../../../test/support/collector-process.js";
import { startInProcess } from "../../../test/support/in-process.js";
import { TOP_KEY_LABELS } from "../src/api/prometheus.js";
import { DEFAULT_SETTINGS, LATENCY_BUCKETS_MS, MODE_EVENT, OP_EVENT, SETTINGS_CHANGED, SOURCE, STATS_EVENT, SYNC_PATH, bucketKey, type Op } from "../src/contract.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
let otherTenant: string;
const scratch = tempDir("vigil-cache-collector-");

beforeAll(async () => {
  env = await startInProcess({ plugins: [join(REPO_ROOT, "plugins/cache-db/dist/collector.js")] });
  otherTenant = (await env.request("POST", "/api/tenants", { body: { id: "tenant-b", name: "B" } })).json.token;
});
afterAll(async () => {
  await env?.close();
  scratch.remove();
});

const BUCKETS = [...LATENCY_BUCKETS_MS.map((b) => bucketKey(b)), "le_inf"];

interface Stats {
  app?: string;
  key_label: string;
  op: Op;
  ops: number;
  hits?: number;
  misses?: number;
  partial_hits?: number;
  /** Ops per bucket, e.g. { le_1: 50 }. */
  buckets: Record<string, number>;
  mode?: string;
  dropped_events?: number;
  window?: [number, number];
  ts?: number;
}

/** A `cache.stats` event as the SDK sends it: exact counters of one window. */
function statsEvent(s: Stats) {
  const ts = s.ts ?? Date.now();
  const [start, end] = s.window ?? [ts - 5000, ts];
  const histogram = Object.fromEntries(BUCKETS.map((b) => [b, s.buckets[b] ?? 0]));
  const sumMs = Object.entries(s.buckets).reduce((sum, [bucket, n]) => sum + n * (bucket === "le_inf" ? 2000 : Number(bucket.slice(3).replace("_", "."))), 0);
  return {
    id: uuidv7(),
    ts,
    source: SOURCE,
    type: STATS_EVENT,
    attrs: {
      app: s.app ?? "shop",
      key_label: s.key_label,
      op: s.op,
      mode: s.mode ?? "sampled",
      window_start_ms: start,
      window_end_ms: end,
      ops: s.ops,
      items: s.ops,
      hits: s.hits ?? 0,
      misses: s.misses ?? 0,
      partial_hits: s.partial_hits ?? 0,
      sum_ms: sumMs,
      dropped_events: s.dropped_events ?? 0,
      ...histogram,
    },
  };
}

function opEvent(o: { app?: string; key_label: string; op: Op; result?: string; duration_ms: number; ts?: number }) {
  return {
    id: uuidv7(),
    ts: o.ts ?? Date.now(),
    source: SOURCE,
    type: OP_EVENT,
    attrs: {
      app: o.app ?? "shop",
      op: o.op,
      key_label: o.key_label,
      ...(o.result ? { result: o.result } : {}),
      count: 1,
      duration_ms: o.duration_ms,
      sample_rate: 0.1,
      mode: "sampled",
      origin: "redis",
    },
  };
}

async function ingest(events: object[], token = TEST_TOKEN): Promise<void> {
  const res = await env.request("POST", "/v1/events", { token, body: events, headers: { "vigil-batch-id": uuidv7() } });
  expect(res.status, res.text).toBe(202);
}

const monitor = async (query = "", token = TEST_TOKEN) => {
  const res = await env.request("GET", `/api/cache-monitor${query}`, { token });
  expect(res.status, res.text).toBe(200);
  return res.json;
};
const appOf = (body: any, app: string) => body.apps.find((a: any) => a.app === app);

describe("GET /api/cache-monitor", () => {
  beforeAll(async () => {
    const now = Date.now();
    const window: [number, number] = [now - 5000, now];
    await ingest([
      statsEvent({ key_label: "user:{id}", op: "cache_read", ops: 100, hits: 80, misses: 15, partial_hits: 5, buckets: { le_1: 50, le_5: 45, le_100: 5 }, window, dropped_events: 3 }),
      statsEvent({ key_label: "cart:{id}", op: "cache_read", ops: 20, hits: 20, buckets: { le_0_5: 20 }, window, dropped_events: 3 }),
      statsEvent({ key_label: "user:{id}", op: "cache_write", ops: 7, buckets: { le_1: 7 }, window, dropped_events: 3 }),
      statsEvent({ key_label: "orders:{id}", op: "db_read", ops: 10, buckets: { le_10: 10 }, window, dropped_events: 3 }),
      statsEvent({ key_label: "orders:{id}", op: "hybrid", ops: 3, buckets: { le_25: 3 }, window, dropped_events: 3 }),
    ]);
    await ingest([
      opEvent({ key_label: "user:{id}", op: "cache_read", result: "hit", duration_ms: 0.8, ts: now - 3000 }),
      opEvent({ key_label: "user:{id}", op: "cache_read", result: "miss", duration_ms: 4.2, ts: now - 2000 }),
      opEvent({ key_label: "orders:{id}", op: "db_read", duration_ms: 7.5, ts: now - 1000 }),
      // An hour ago: outside every window asked below.
      opEvent({ key_label: "user:{id}", op: "cache_read", result: "hit", duration_ms: 1, ts: now - 3_600_000 }),
    ]);
  });

  it("summarizes the exact counters of the window: ops per kind, hit rate, percentiles from the histogram", async () => {
    const shop = appOf(await monitor(), "shop");
    expect(shop).toMatchObject({ app: "shop", mode: "sampled", enabled: true, dropped_events: 3 });
    // 140 ops over one 5 s window.
    expect(shop.ops_per_s).toBe(28);
    expect(Date.parse(shop.last_seen)).toBeGreaterThan(Date.now() - 60_000);
    expect(shop.summary).toMatchObject({
      ops: 140,
      cache_reads: 120,
      hits: 100,
      misses: 15,
      partial_hits: 5,
      hit_rate: 0.8333,
      cache_writes: 7,
      db_reads: 10,
      db_writes: 0,
      hybrid_queries: 3,
    });
    // cache_read: 20 ≤0.5 ms, 50 in (0.5,1], 45 in (2,5], 5 in (50,100]; interpolated within the bucket.
    expect(shop.summary.latency_ms.cache_read).toMatchObject({ p50: 0.9, p95: 4.933, p99: 88 });
    expect(shop.summary.latency_ms.db_read).toMatchObject({ p50: 7.5, p95: 9.75, p99: 9.95, avg: 10 });
    expect(shop.summary.latency_ms.db_write).toBeUndefined();
    expect(shop.key_labels).toEqual([
      { key_label: "user:{id}", ops: 107, hit_rate: 0.8 },
      { key_label: "cart:{id}", ops: 20, hit_rate: 1 },
      { key_label: "orders:{id}", ops: 13, hit_rate: null },
    ]);
  });

  it("lists the recent sampled operations newest first, within the window, filtered by key label and op", async () => {
    const shop = appOf(await monitor(), "shop");
    expect(shop.recent.map((r: any) => [r.op, r.key_label, r.result])).toEqual([
      ["db_read", "orders:{id}", null],
      ["cache_read", "user:{id}", "miss"],
      ["cache_read", "user:{id}", "hit"],
    ]);
    expect(shop.recent[1]).toMatchObject({ count: 1, duration_ms: 4.2, sample_rate: 0.1, mode: "sampled", origin: "redis" });

    const reads = appOf(await monitor("?type=cache_read&limit=1"), "shop");
    expect(reads.recent.map((r: any) => r.result)).toEqual(["miss"]);
    expect(reads.summary).toMatchObject({ ops: 120, cache_writes: 0, db_reads: 0, hit_rate: 0.8333 });
    expect(Object.keys(reads.summary.latency_ms)).toEqual(["cache_read"]);

    const orders = appOf(await monitor("?key_label=orders:%7Bid%7D"), "shop");
    expect(orders.summary).toMatchObject({ ops: 13, db_reads: 10, hybrid_queries: 3, hit_rate: null });
    expect(orders.key_labels.map((k: any) => k.key_label)).toEqual(["orders:{id}"]);
    expect(orders.recent.map((r: any) => r.op)).toEqual(["db_read"]);

    // A two-hour window reaches the old operation too.
    expect(appOf(await monitor("?window=2h&limit=1000"), "shop").recent).toHaveLength(4);
    expect(appOf(await monitor("?limit=0"), "shop").recent).toEqual([]);
  });

  it("filters by app and shows a mode switch (cache.mode) at once", async () => {
    await ingest([statsEvent({ app: "billing", key_label: "invoice", op: "db_write", ops: 4, buckets: { le_2: 4 }, mode: "detailed" })]);
    const body = await monitor();
    expect(body.apps.map((a: any) => a.app)).toEqual(["billing", "shop"]);
    expect((await monitor("?app=billing")).apps.map((a: any) => a.app)).toEqual(["billing"]);
    expect((await monitor("?app=nothing-here")).apps).toEqual([]);

    await ingest([{ id: uuidv7(), ts: Date.now(), source: SOURCE, type: MODE_EVENT, attrs: { app: "billing", from: "detailed", to: "aggregated", ops_per_s: 1500 } }]);
    const billing = appOf(await monitor("?app=billing"), "billing");
    expect(billing.mode).toBe("aggregated");
    expect(billing.summary.db_writes).toBe(4);
  });

  it("shows an app whose last window ended long ago as idle (0 ops/s)", async () => {
    const old = Date.now() - 10 * 60_000;
    await ingest([statsEvent({ app: "batch-job", key_label: "k", op: "cache_read", ops: 50, hits: 50, buckets: { le_1: 50 }, window: [old - 5000, old], ts: old })]);
    const job = appOf(await monitor("?window=1h"), "batch-job");
    expect(job.ops_per_s).toBe(0);
    expect(job.summary.ops).toBe(50);
    expect(appOf(await monitor("?window=1m"), "batch-job").summary.ops).toBe(0);
  });

  it.each([
    ["?type=redis_read", "type"],
    ["?window=48h", "window"],
    ["?window=soon", "window"],
    ["?limit=1001", "limit"],
    ["?app=bad%20name", "app"],
    ["?colour=red", ""],
  ])("refuses %s with a 400 naming the parameter", async (query, path) => {
    const res = await env.request("GET", `/api/cache-monitor${query}`);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("invalid_argument");
    expect(res.json.error.details.map((d: any) => d.path)).toContain(path);
  });
});

describe("settings", () => {
  it("start from the defaults, change by PUT (merged, stored, versioned), and are pushed to agents at once", async () => {
    const before = (await env.request("GET", "/api/cache-monitor/settings")).json;
    expect(before.apps).toEqual({ "*": DEFAULT_SETTINGS });

    const stream = await openAgentStream(env.collector.url, TEST_TOKEN, "cache-agent-1");
    expect((await stream.next()).event).toBe("config");
    const put = await env.request("PUT", "/api/cache-monitor/settings", { body: { settings: { enabled: false, buffer_size: 500 } } });
    expect(put.status, put.text).toBe(200);
    expect(put.json).toMatchObject({ app: "*", settings: { ...DEFAULT_SETTINGS, enabled: false, buffer_size: 500 }, agents_notified: 1 });
    expect(await stream.next()).toEqual({ event: "command", data: { name: SETTINGS_CHANGED, args: { app: "*" } } });
    stream.close();

    const after = (await env.request("GET", "/api/cache-monitor/settings")).json;
    expect(after.version).not.toBe(before.version);
    expect(after.version).toBe(put.json.version);

    // An app's own settings start from the default's as they are now.
    const shop = await env.request("PUT", "/api/cache-monitor/settings", { body: { app: "shop", settings: { detailed_below: 50, sampled: [{ below: 400, rate: 0.2 }], aggregated_at: 400 } } });
    expect(shop.status, shop.text).toBe(200);
    expect(shop.json.settings).toEqual({ ...DEFAULT_SETTINGS, enabled: false, buffer_size: 500, detailed_below: 50, sampled: [{ below: 400, rate: 0.2 }], aggregated_at: 400 });
    const shopAgain = await env.request("PUT", "/api/cache-monitor/settings", { body: { app: "shop", settings: { enabled: true } } });
    expect(shopAgain.json.settings).toMatchObject({ enabled: true, detailed_below: 50, buffer_size: 500 });

    // The agents' read (ingest scope) is the same document.
    const ingestKey = (await env.request("POST", "/api/keys", { body: { name: "agents", scopes: ["ingest"] } })).json.token;
    const sync = await env.request("GET", SYNC_PATH, { token: ingestKey });
    expect(sync.status).toBe(200);
    expect(sync.json).toEqual((await env.request("GET", "/api/cache-monitor/settings")).json);
    expect(Object.keys(sync.json.apps)).toEqual(["*", "shop"]);
    // An ingest key may read the settings, not change them.
    expect((await env.request("PUT", "/api/cache-monitor/settings", { token: ingestKey, body: { settings: { enabled: true } } })).status).toBe(403);

    // The monitor shows each app's switch and the settings in force.
    const body = await monitor();
    expect(appOf(body, "shop").enabled).toBe(true);
    expect(appOf(body, "billing").enabled).toBe(false);
    expect(body.settings.shop.detailed_below).toBe(50);
    expect(body.settings_version).toBe(sync.json.version);

    // Removing the app's own settings makes it follow "*" again.
    expect((await env.request("DELETE", "/api/cache-monitor/settings/shop")).status).toBe(204);
    expect((await env.request("DELETE", "/api/cache-monitor/settings/shop")).status).toBe(404);
    expect(Object.keys((await env.request("GET", "/api/cache-monitor/settings")).json.apps)).toEqual(["*"]);
    expect(appOf(await monitor(), "shop").enabled).toBe(false);
    // Deleting "*" restores the built-in defaults.
    expect((await env.request("DELETE", "/api/cache-monitor/settings/*")).status).toBe(204);
    expect((await env.request("GET", "/api/cache-monitor/settings")).json).toEqual(before);
  });

  it.each([
    [{ settings: { sampled: [{ below: 200, rate: 0.1 }, { below: 150, rate: 0.05 }] } }, "settings.sampled.1.below", "tiers must ascend"],
    [{ settings: { sampled: [{ below: 300, rate: 1.5 }] } }, "settings.sampled.0.rate", ""],
    [{ settings: { enabled: "no" } }, "settings.enabled", ""],
    [{ settings: { buffer_size: 5 } }, "settings.buffer_size", ""],
    [{ settings: { aggregated_at: 500 } }, "settings.aggregated_at", "at least the last tier's bound"],
    [{ settings: { colour: "red" } }, "settings", "colour"],
    [{ app: "bad name", settings: {} }, "app", "app is"],
    [{ settings: [] }, "settings", "settings must be an object"],
    [{ enabled: false }, "", "enabled"],
  ])("refuses %j with a 400 naming the field", async (body, path, message) => {
    const res = await env.request("PUT", "/api/cache-monitor/settings", { body });
    expect(res.status, res.text).toBe(400);
    const detail = res.json.error.details.find((d: { path: string }) => d.path === path);
    expect(detail, JSON.stringify(res.json.error.details)).toBeDefined();
    expect(detail.message).toContain(message);
  });
});

describe("tenants", () => {
  it("see only their own apps, events and settings", async () => {
    await ingest([statsEvent({ app: "b-app", key_label: "k", op: "cache_read", ops: 5, hits: 5, buckets: { le_1: 5 } })], otherTenant);
    const theirs = await monitor("?window=2h", otherTenant);
    expect(theirs.apps.map((a: any) => a.app)).toEqual(["b-app"]);
    expect(theirs.settings).toEqual({ "*": DEFAULT_SETTINGS });
    expect(appOf(await monitor("?window=2h"), "b-app")).toBeUndefined();

    await env.request("PUT", "/api/cache-monitor/settings", { token: otherTenant, body: { settings: { enabled: false } } });
    expect((await monitor()).settings["*"].enabled).toBe(true);
    expect((await env.request("GET", "/api/cache-monitor/series?app=b-app")).json.points.every((p: any) => p.ops === 0)).toBe(true);
  });
});

describe("GET /api/cache-monitor/series", () => {
  it("answers ops, ops/s, hit rate and p95 per minute from the rollup, every step filled", async () => {
    const minute = Math.floor(Date.now() / 60_000) * 60_000;
    const twoAgo = minute - 120_000 + 10_000;
    await ingest([
      statsEvent({ app: "charts", key_label: "a", op: "cache_read", ops: 60, hits: 30, misses: 30, buckets: { le_2: 60 }, ts: twoAgo, window: [twoAgo - 5000, twoAgo] }),
      statsEvent({ app: "charts", key_label: "b", op: "db_read", ops: 6, buckets: { le_50: 6 }, ts: twoAgo, window: [twoAgo - 5000, twoAgo] }),
    ]);
    const res = await env.request("GET", `/api/cache-monitor/series?app=charts&since=${minute - 5 * 60_000}&until=${minute + 60_000}`);
    expect(res.status, res.text).toBe(200);
    expect(res.json.step).toBe("minute");
    expect(res.json.points).toHaveLength(6);
    const point = res.json.points.find((p: any) => p.t === new Date(minute - 120_000).toISOString());
    expect(point).toEqual({ t: new Date(minute - 120_000).toISOString(), ops: 66, ops_per_s: 1.1, hit_rate: 0.5, p95_ms: 36.25 });
    expect(res.json.points.filter((p: any) => p.ops === 0)).toHaveLength(5);
    expect(res.json.points[0]).toMatchObject({ ops: 0, hit_rate: null, p95_ms: null });

    const reads = (await env.request("GET", `/api/cache-monitor/series?app=charts&op=cache_read&since=${minute - 5 * 60_000}&until=${minute + 60_000}`)).json;
    expect(reads.points.find((p: any) => p.ops > 0)).toMatchObject({ ops: 60, p95_ms: 1.95 });
    const hourly = (await env.request("GET", `/api/cache-monitor/series?app=charts&step=hour&key_label=b`)).json;
    expect(hourly.points).toHaveLength(25);
    expect(hourly.points.reduce((sum: number, p: any) => sum + p.ops, 0)).toBe(6);
  });

  it.each([
    ["?step=day", "step"],
    ["?since=yesterday", "since"],
    ["?since=2000&until=1000", "since"],
    [`?since=0&until=${Date.now()}`, "since"],
    ["?op=flush", "op"],
  ])("refuses %s with a 400 naming the parameter", async (query, path) => {
    const res = await env.request("GET", `/api/cache-monitor/series${query}`);
    expect(res.status).toBe(400);
    expect(res.json.error.details.map((d: any) => d.path)).toContain(path);
  });
});

describe("Prometheus metrics", () => {
  it("serves per app and key label series on /metrics, at most 20 key labels per app, and passes promtool", async () => {
    // 60 key labels: the 20 busiest are named, the other 40 add up as "other".
    await ingest(Array.from({ length: 60 }, (_, i) => statsEvent({ app: "wide", key_label: `label-${String(i).padStart(2, "0")}`, op: "cache_read", ops: 100 + i, hits: 100 + i, buckets: { le_1: 100 + i } })));
    const res = await env.request("GET", "/metrics", { token: null });
    expect(res.status).toBe(200);
    const text = res.text;
    const lines = text.split("\n");
    expect(lines).toContain('vigil_cache_ops_total{tenant="default",app="shop",key_label="user:{id}",op="cache_read"} 100');
    expect(lines).toContain('vigil_cache_read_results_total{tenant="default",app="shop",key_label="user:{id}",result="partial"} 5');
    expect(lines).toContain('vigil_cache_hit_ratio{tenant="default",app="shop",key_label="user:{id}"} 0.8');
    expect(lines).toContain('vigil_cache_mode{tenant="default",app="billing",mode="aggregated"} 1');
    expect(lines).toContain('vigil_cache_sdk_dropped_events{tenant="default",app="shop"} 3');
    expect(lines).toContain('vigil_cache_ops_total{tenant="tenant-b",app="b-app",key_label="k",op="cache_read"} 5');

    const wide = lines.filter((l) => l.startsWith('vigil_cache_ops_total{tenant="default",app="wide"'));
    expect(wide).toHaveLength(TOP_KEY_LABELS + 1);
    // label-00 … label-39 were the quietest: 100 + … + 139.
    expect(wide).toContain('vigil_cache_ops_total{tenant="default",app="wide",key_label="other",op="cache_read"} 4780');
    expect(wide.some((l) => l.includes('key_label="label-39"'))).toBe(false);
    expect(wide.some((l) => l.includes('key_label="label-40"'))).toBe(true);
    expect(lines.filter((l) => l.startsWith('vigil_cache_hit_ratio{tenant="default",app="wide"'))).toHaveLength(TOP_KEY_LABELS + 1);

    const file = join(scratch.path, "metrics.txt");
    writeFileSync(file, text);
    const check = spawnSync("sh", ["-c", `promtool check metrics < ${file}`], { encoding: "utf8" });
    expect(check.error).toBeUndefined();
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});
