// An events insert that ClickHouse stored but whose answer was lost (a dropped connection)
// is sent again by the writer with the same `insert_deduplication_token`. The events table
// drops the second copy; the plugins' materialized views must drop theirs too, or every
// rollup fed from events (SMS report counts and server samples, the cache monitor's
// counters) counts that batch twice.
import { join } from "node:path";
import type { ClickHouseSettings } from "@clickhouse/client";
import { uuidv7 } from "@vigil/plugin-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT } from "../../test/support/collector-process.js";
import { startInProcess } from "../../test/support/in-process.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
beforeAll(async () => {
  env = await startInProcess({ plugins: ["cache-db", "reddit", "sms", "social"].map((name) => join(REPO_ROOT, `plugins/${name}/dist/collector.js`)) });
  // As on a server version or profile where it is off (26.7 turns it on by default): the
  // embedded engine keeps this on its session, so only what the writer sends with its insert
  // counts.
  await env.collector.services.db.command("SET deduplicate_blocks_in_dependent_materialized_views = 0");
});
afterAll(async () => {
  await env?.close();
});

/** The tokens of every events insert the writer sent. */
let eventInserts: string[] = [];

/**
 * Posts a batch; when `loseAnswer`, its first events insert is stored by ClickHouse and then
 * fails as a dropped connection would, so the writer sends it again with the same token.
 */
async function post(events: object[], options: { loseAnswer?: boolean } = {}): Promise<void> {
  const db = env.collector.services.db;
  const insert = db.insert;
  eventInserts = [];
  db.insert = async (table: string, rows: readonly object[], settings?: ClickHouseSettings) => {
    if (table === "events") eventInserts.push(String(settings?.insert_deduplication_token));
    await insert(table, rows, settings);
    if (options.loseAnswer && table === "events" && eventInserts.length === 1) throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
  };
  try {
    const res = await env.request("POST", "/v1/events", { body: events, headers: { "vigil-batch-id": uuidv7() } });
    expect(res.status, res.text).toBe(202);
    expect(res.json).toMatchObject({ stored: events.length, duplicate: false });
  } finally {
    db.insert = insert;
  }
  if (options.loseAnswer) {
    // The retry happened, with the first attempt's token.
    expect(eventInserts).toHaveLength(2);
    expect(eventInserts[1]).toBe(eventInserts[0]);
  } else expect(eventInserts).toHaveLength(1);
}

async function get(path: string) {
  const res = await env.request("GET", path);
  expect(res.status, res.text).toBe(200);
  return res.json;
}

/** A rollup figure read as `/metrics` reads it (its answers are cached for 10 s, too long here). */
async function figure(sql: string): Promise<number> {
  const [row] = await env.collector.services.db.query<{ n: number | null }>(sql);
  return Number(row?.n ?? 0);
}

describe("a retried events insert (stored, answer lost) counts once in the plugins' rollups", () => {
  it("every materialized view over events writes to a table with the events table's de-duplication window", async () => {
    const db = env.collector.services.db;
    const views = await db.query<{ name: string; create_table_query: string }>("SELECT name, create_table_query FROM system.tables WHERE database = 'vigil' AND engine = 'MaterializedView'");
    expect(views.length).toBeGreaterThanOrEqual(12);
    const windows = new Map(
      (await db.query<{ name: string; engine_full: string }>("SELECT name, engine_full FROM system.tables WHERE database = 'vigil'")).map((t) => [
        t.name,
        /non_replicated_deduplication_window = (\d+)/.exec(t.engine_full)?.[1],
      ]),
    );
    expect(windows.get("events")).toBe("10000");
    for (const view of views) {
      const target = / TO vigil\.(\w+)/.exec(view.create_table_query)?.[1];
      expect(target, view.name).toBeDefined();
      expect(windows.get(target!), `${view.name} → ${target}`).toBe("10000");
    }
  });

  it("SMS: report counts, server samples and status changes", async () => {
    const t = Date.now() - 60_000;
    const batch = () => [
      { id: uuidv7(), ts: t, source: "sms", type: "sms.campaign", attrs: { campaign_id: "retry-sale", name: "Retry sale", total: 3, user: "ann", status: "started" } },
      ...[0, 1, 2].map((i) => ({
        id: uuidv7(),
        ts: t + i,
        source: "sms",
        type: "sms.message",
        attrs: { campaign_id: "retry-sale", message_id: `m-${i}`, status: "delivered", carrier: "verizon", server_kind: "api", server_id: "retry-1", attempt: 1, reporter: "app" },
      })),
      { id: uuidv7(), ts: t, source: "sms", type: "sms.server", attrs: { server_kind: "api", server_id: "retry-1", status: "up", latency_ms: 40 } },
      { id: uuidv7(), ts: t + 5, source: "sms", type: "sms.server_status", attrs: { server_kind: "api", server_id: "retry-1", status: "up", previous_status: "unknown" } },
    ];
    const reports = () => figure("SELECT sum(reports) AS n FROM vigil.sms_report_counts WHERE tenant = 'default' AND status = 'delivered'");
    const before = await reports();
    const events = Number((await get("/api/stats")).total_events);

    await post(batch(), { loseAnswer: true });
    expect(Number((await get("/api/stats")).total_events)).toBe(events + 6);
    expect(await reports()).toBe(before + 3);
    const server = (await get("/api/sms/servers")).servers.find((s: { server_id: string }) => s.server_id === "retry-1");
    expect(server).toMatchObject({ samples: 1, sample_statuses: { up: 1, degraded: 0, down: 0 } });
    expect((await get("/api/sms/servers/api/retry-1/history")).changes).toHaveLength(1);
    expect(await get("/api/sms/campaigns/retry-sale")).toMatchObject({ messages: 3, delivered: 3 });

    // Another batch with the same content (new event ids, as a second report of each would
    // be) is a new insert: it counts.
    await post(batch());
    expect(await reports()).toBe(before + 6);
    expect((await get("/api/sms/servers")).servers.find((s: { server_id: string }) => s.server_id === "retry-1")).toMatchObject({ samples: 2 });
    expect((await get("/api/sms/servers/api/retry-1/history")).changes).toHaveLength(2);
    // Messages are counted once whatever their reports, as before.
    expect(await get("/api/sms/campaigns/retry-sale")).toMatchObject({ messages: 3, delivered: 3 });
  });

  it("cache monitor: per-minute counters, windows and all-time totals", async () => {
    const now = Date.now();
    const stats = () => ({
      id: uuidv7(),
      ts: now,
      source: "cache",
      type: "cache.stats",
      attrs: {
        app: "retry-app",
        key_label: "user:{id}",
        op: "cache_read",
        mode: "sampled",
        window_start_ms: now - 5000,
        window_end_ms: now,
        ops: 100,
        items: 100,
        hits: 80,
        misses: 20,
        partial_hits: 0,
        sum_ms: 100,
        dropped_events: 0,
        le_1: 100,
      },
    });
    const app = async () => (await get("/api/cache-monitor?app=retry-app")).apps[0];
    // What vigil_cache_ops_total reports.
    const total = () => figure("SELECT sum(ops) AS n FROM vigil.cache_totals WHERE tenant = 'default' AND app = 'retry-app'");

    await post([stats()], { loseAnswer: true });
    expect((await app()).summary).toMatchObject({ ops: 100, hits: 80, misses: 20 });
    expect((await app()).ops_per_s).toBe(20);
    expect(await total()).toBe(100);

    await post([stats()]);
    expect((await app()).summary).toMatchObject({ ops: 200, hits: 160, misses: 40 });
    expect((await app()).ops_per_s).toBe(40);
    expect(await total()).toBe(200);
  });
});
