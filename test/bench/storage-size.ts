/**
 * Storage-size benchmark: what a day of events costs on disk and in memory, for
 * docs/storage.md's sizing table.
 *
 * For each workload, BENCH_EVENTS events (1,000,000) with timestamps spread over the last
 * 23 hours (a day's worth, inside /api/stats's 24-hour window) are posted, as agents do
 * (gzip NDJSON batches of 1,000, BENCH_CLIENTS concurrent senders), to a collector process on the embedded store with every plugin's collector part
 * loaded, so every plugin table and materialized view fills as in production. The
 * collector's resident memory (which includes the embedded ClickHouse) is sampled while it
 * ingests and then while it answers the dashboard's queries. Then the collector stops and
 * this process opens its data directory and reads `system.parts` per table: as inserted,
 * and after `OPTIMIZE … FINAL` (what background merges converge to); bytes per row of each
 * event type, by copying that type's rows into a scratch table with the same schema; and
 * the events table's bytes per column.
 *
 * Workloads (BENCH_WORKLOADS, comma-separated; default both):
 * - `http`: the realistic HTTP-check event every benchmark uses (8 attrs, ~200-byte body);
 * - `mix`: every source in an illustrative mix (test/support/plugin-events.ts).
 *
 * Figures: JSON lines on stdout (bytes per event on disk, per table, per event type and per
 * events column; the collector's resident memory idle, at its peak while ingesting, after
 * and while reading; and the 30-day projection for 100k/1M/10M/100M events a day);
 * progress on stderr. Knobs: BENCH_EVENTS, BENCH_CLIENTS (4), BENCH_WORKLOADS,
 * BENCH_RUN_TIMEOUT_S (1800).
 */
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { createChdbConnection } from "chdb/connection";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { EventInput } from "@vigil/plugin-sdk";
import { NDJSON_CONTENT_TYPE, uuidv7 } from "@vigil/plugin-sdk";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess } from "../support/collector-process.js";
import { gzipNdjson } from "../support/events.js";
import { mixedEvent } from "../support/plugin-events.js";
import { realisticEvent } from "../support/realistic-event.js";
import type { PreparedBatch } from "./support/batch-file.js";
import { postUntilStored, waitForStored } from "./support/collector-client.js";
import { formatCount, printFigures, progress, type Figure } from "./support/figures.js";
import { envInt } from "./support/knobs.js";
import { procStatusKb, sampleRss } from "./support/proc-stats.js";
import { onExit, stopWithin } from "./support/run-guard.js";

const BENCH = "storage-size";
const EVENTS = envInt("BENCH_EVENTS", 1_000_000);
const CLIENTS = envInt("BENCH_CLIENTS", 4);
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 1800) * 1000;
const BATCH_SIZE = 1_000;
const DAY_MS = 86_400_000;
const RETENTION_DAYS = 30;
const PER_DAY = [100_000, 1_000_000, 10_000_000, 100_000_000];
const PLUGINS = ["cache-db", "reddit", "sms", "social"].map((name) => join(REPO_ROOT, `plugins/${name}/dist/collector.js`));
const WORKLOADS: Record<string, (i: number, ts: number) => EventInput> = {
  http: (i, ts) => realisticEvent(i, ts + (i % 1000)),
  mix: mixedEvent,
};
const chosen = (process.env.BENCH_WORKLOADS ?? "http,mix").split(",").map((w) => w.trim()).filter(Boolean);
for (const name of chosen) if (!WORKLOADS[name]) throw new Error(`BENCH_WORKLOADS: unknown workload "${name}" (http, mix)`);
/** The dashboard's reads, for the memory they take. */
const READS = ["/api/stats", "/api/events?limit=100", "/api/events?limit=100&source=http", "/api/sms/campaigns", "/api/sms/errors", "/api/mentions?limit=50", "/api/cache-monitor?window=24h", "/metrics"];

interface TableSize {
  table: string;
  rows: number;
  parts: number;
  compressed: number;
  uncompressed: number;
  onDisk: number;
}

/** Peak resident memory from now on: VmHWM after resetting it, or (when the reset is not allowed) samples every 50 ms. */
function peakFromNow(pid: number): { peakMb(): number; stop(): void } {
  let reset = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    reset = false;
  }
  let peakKb = procStatusKb(pid, "VmRSS");
  const timer = setInterval(() => {
    try {
      peakKb = Math.max(peakKb, procStatusKb(pid, "VmRSS"));
    } catch {
      // gone: the next request fails and says why
    }
  }, 50);
  return {
    peakMb: () => Math.max(peakKb, reset ? procStatusKb(pid, "VmHWM") : 0) / 1024,
    stop: () => clearInterval(timer),
  };
}

function prepare(workload: string): PreparedBatch[] {
  const make = WORKLOADS[workload]!;
  // A day's worth of timestamps, kept inside /api/stats's 24-hour window (by which the run
  // knows that everything is stored) however long the ingest takes.
  const span = DAY_MS - 60 * 60_000;
  const start = Date.now() - span;
  const batches: PreparedBatch[] = [];
  for (let first = 0; first < EVENTS; first += BATCH_SIZE) {
    const items: EventInput[] = [];
    for (let i = first; i < Math.min(first + BATCH_SIZE, EVENTS); i++) items.push(make(i, start + Math.floor((i * span) / EVENTS)));
    batches.push({ id: uuidv7(), body: gzipNdjson(items) });
  }
  return batches;
}

async function postAll(collector: CollectorProcess, batches: readonly PreparedBatch[], deadline: number): Promise<void> {
  let next = 0;
  let failed = false;
  async function sender(): Promise<void> {
    while (!failed && next < batches.length) {
      const batch = batches[next++]!;
      try {
        await postUntilStored(collector, batch, deadline);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  }
  await Promise.all(Array.from({ length: CLIENTS }, sender));
}

async function rows<T>(client: ClickHouseClient, sql: string): Promise<T[]> {
  return (await client.query({ query: sql, format: "JSONEachRow", clickhouse_settings: { output_format_json_quote_64bit_integers: 0 } })).json<T>();
}

async function tableSizes(client: ClickHouseClient, database: string): Promise<TableSize[]> {
  const result = await rows<{ table: string; rows: number; parts: number; compressed: number; uncompressed: number; on_disk: number }>(
    client,
    `SELECT table, sum(rows) AS rows, count() AS parts, sum(data_compressed_bytes) AS compressed, sum(data_uncompressed_bytes) AS uncompressed,
            sum(bytes_on_disk) AS on_disk
     FROM system.parts WHERE database = '${database}' AND active GROUP BY table ORDER BY on_disk DESC`,
  );
  return result.map((r) => ({
    table: r.table,
    rows: Number(r.rows),
    parts: Number(r.parts),
    compressed: Number(r.compressed),
    uncompressed: Number(r.uncompressed),
    onDisk: Number(r.on_disk),
  }));
}

function describe(size: TableSize): string {
  return `${size.table.padEnd(24)} ${formatCount(size.rows).padStart(10)} rows ${formatCount(size.onDisk / 1024).padStart(9)} KiB on disk (${(size.onDisk / Math.max(1, size.rows)).toFixed(1)} B/row, ${(
    size.uncompressed / Math.max(1, size.compressed)
  ).toFixed(1)}x, ${size.parts} parts)`;
}

/** Bytes per row of each event type alone: its rows copied into a scratch table of the same schema, merged. */
async function perType(client: ClickHouseClient): Promise<{ type: string; rows: number; onDisk: number }[]> {
  const types = await rows<{ type: string; n: number }>(client, "SELECT type, count() AS n FROM vigil.events GROUP BY type ORDER BY n DESC");
  await client.command({ query: "CREATE DATABASE IF NOT EXISTS scratch" });
  const out: { type: string; rows: number; onDisk: number }[] = [];
  for (const { type } of types) {
    await client.command({ query: "DROP TABLE IF EXISTS scratch.events" });
    await client.command({ query: "CREATE TABLE scratch.events AS vigil.events" });
    await client.command({ query: `INSERT INTO scratch.events SELECT * FROM vigil.events WHERE type = '${type.replace(/'/g, "\\'")}'` });
    await client.command({ query: "OPTIMIZE TABLE scratch.events FINAL" });
    const [size] = await tableSizes(client, "scratch");
    out.push({ type, rows: size!.rows, onDisk: size!.onDisk });
  }
  await client.command({ query: "DROP DATABASE scratch" });
  return out;
}

async function run(workload: string): Promise<Figure[]> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  progress(`${workload}: preparing ${formatCount(EVENTS)} events over 23 h in batches of ${formatCount(BATCH_SIZE)}`);
  const batches = prepare(workload);
  const data = tempDir(`vigil-bench-storage-${workload}-`);
  const forgetDir = onExit(data.remove);
  let collector: CollectorProcess | undefined;
  const forgetKill = onExit(() => collector?.child.kill("SIGKILL"));
  const figures: Figure[] = [];
  const figure = (metric: string, value: number, unit: string, extra: Record<string, string | number> = {}) =>
    figures.push({ bench: BENCH, workload, metric, value: Number(value.toFixed(unit === "B/event" || unit === "B/row" ? 1 : 3)), unit, ...extra });
  try {
    collector = await startCollectorProcess({ dataDir: data.path, args: PLUGINS.flatMap((p) => ["--plugin", p]), env: { VIGIL_RETENTION_DAYS: String(RETENTION_DAYS) } });
    const pid = collector.child.pid!;
    const idleMb = procStatusKb(pid, "VmRSS") / 1024;
    const ingestRss = sampleRss(pid);
    const started = performance.now();
    await postAll(collector, batches, deadline);
    await waitForStored(collector, EVENTS, deadline, { pollMs: 250 });
    const seconds = (performance.now() - started) / 1000;
    const ingestPeakMb = ingestRss.peakMb();
    ingestRss.stop();
    progress(`${workload}: stored in ${seconds.toFixed(1)} s (${formatCount(EVENTS / seconds)} events/s), collector RSS ${formatCount(idleMb)} MB idle, ${formatCount(ingestPeakMb)} MB peak while ingesting`);
    const settledMb = procStatusKb(pid, "VmRSS") / 1024;
    // The reads' own peak: Linux resets the high-water mark (VmHWM) on "5" to clear_refs.
    const readRss = peakFromNow(pid);
    for (let round = 0; round < 3; round++) {
      for (const path of READS) {
        const response = await fetch(`${collector.url}${path}`, { headers: { authorization: `Bearer ${collector.token}` } });
        await response.text();
        if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
      }
    }
    const readPeakMb = readRss.peakMb();
    readRss.stop();
    progress(`${workload}: RSS ${formatCount(settledMb)} MB after the ingest, ${formatCount(readPeakMb)} MB peak while answering the dashboard's reads`);
    figure("collector_rss_idle_mb", idleMb, "MB");
    figure("collector_rss_ingest_peak_mb", ingestPeakMb, "MB", { events_per_s: Math.round(EVENTS / seconds) });
    figure("collector_rss_after_ingest_mb", settledMb, "MB");
    figure("collector_rss_reads_peak_mb", readPeakMb, "MB");
    await stopWithin(collector, 60_000, "collector");
    collector = undefined;

    // The collector is gone: its data directory is this process's to open.
    const client = createClient({ connection: createChdbConnection({ path: join(data.path, "clickhouse") }) as never });
    try {
      const inserted = await tableSizes(client, "vigil");
      for (const { table } of inserted) await client.command({ query: `OPTIMIZE TABLE vigil.${table} FINAL` });
      const merged = await tableSizes(client, "vigil");
      progress(`${workload}: tables after OPTIMIZE FINAL`);
      for (const size of merged) progress(`  ${describe(size)}`);
      const events = merged.find((s) => s.table === "events")!;
      const asInserted = inserted.find((s) => s.table === "events")!;
      const total = merged.reduce((sum, s) => sum + s.onDisk, 0);
      figure("events_bytes_per_event", events.onDisk / events.rows, "B/event", { as_inserted: Number((asInserted.onDisk / asInserted.rows).toFixed(1)), ratio: Number((events.uncompressed / events.compressed).toFixed(2)) });
      figure("all_tables_bytes_per_event", total / EVENTS, "B/event");
      for (const size of merged) {
        figure("table_bytes_per_row", size.onDisk / Math.max(1, size.rows), "B/row", { table: size.table, rows: size.rows, bytes_on_disk: size.onDisk, uncompressed: size.uncompressed });
      }
      const columns = await rows<{ column: string; compressed: number; uncompressed: number }>(
        client,
        "SELECT column, sum(column_data_compressed_bytes) AS compressed, sum(column_data_uncompressed_bytes) AS uncompressed FROM system.parts_columns WHERE database = 'vigil' AND table = 'events' AND active GROUP BY column ORDER BY compressed DESC",
      );
      // Small parts are "compact" (one file for all columns) and have no per-column sizes.
      if (columns.some((c) => Number(c.compressed) > 0)) {
        progress(`${workload}: events columns, bytes per event compressed (uncompressed): ${columns.map((c) => `${c.column} ${(Number(c.compressed) / EVENTS).toFixed(1)} (${(Number(c.uncompressed) / EVENTS).toFixed(1)})`).join(", ")}`);
      }
      for (const c of columns.filter((c) => Number(c.compressed) > 0)) figure("events_column_bytes_per_event", Number(c.compressed) / EVENTS, "B/event", { column: c.column, uncompressed: Number((Number(c.uncompressed) / EVENTS).toFixed(1)) });
      if (workload === "mix") {
        for (const t of await perType(client)) {
          progress(`  ${t.type.padEnd(16)} ${(t.onDisk / t.rows).toFixed(1)} B/event alone`);
          figure("event_type_bytes_per_event", t.onDisk / t.rows, "B/event", { type: t.type, rows: t.rows });
        }
      }
      const perEvent = total / EVENTS;
      for (const perDay of PER_DAY) {
        figure("disk_for_retention_gib", (perEvent * perDay * RETENTION_DAYS) / 2 ** 30, "GiB", { events_per_day: perDay, retention_days: RETENTION_DAYS });
      }
    } finally {
      await client.close();
    }
    return figures;
  } catch (error) {
    await collector?.kill();
    const stderr = collector ? `\ncollector stderr:\n${collector.stderr()}` : "";
    throw new Error(`${workload}: ${(error as Error).message}${stderr}`, { cause: error });
  } finally {
    forgetKill();
    forgetDir();
    data.remove();
  }
}

async function main(): Promise<void> {
  progress(`storage-size: ${formatCount(EVENTS)} events per workload (${chosen.join(", ")}), ${CLIENTS} clients`);
  const figures: Figure[] = [];
  for (const workload of chosen) figures.push(...(await run(workload)));
  printFigures(figures);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`storage-size bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
