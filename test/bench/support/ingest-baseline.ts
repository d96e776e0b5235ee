/**
 * The baseline of the ingest benchmark, run as its own process by `ingest.ts` (chDB
 * allows one data dir per process): the same rows the collector would store, inserted
 * straight into chDB through the same client, in inserts of the collector's flush size.
 *
 * Usage: node --import tsx test/bench/support/ingest-baseline.ts <batch-dir>
 * Prints one JSON line on stdout: {"events":…,"seconds":…,"events_per_s":…,"peak_rss_mb":…}
 */
import { gunzipSync } from "node:zlib";
import { checkEvent, parseBatchText, type VigilEvent } from "@vigil/plugin-sdk";
import { collectorConfigSchema } from "../../../collector/dist/config.js";
import { toEventRow, type EventRow } from "../../../collector/dist/ingest/event-row.js";
import { createLogger } from "../../../collector/dist/log.js";
import { createStorageClient } from "../../../collector/dist/storage/client.js";
import { openDatabase, type Database } from "../../../collector/dist/storage/database.js";
import { runMigrations } from "../../../collector/dist/storage/migrations.js";
import { tempDir } from "../../support/collector-process.js";
import { readBatchFile, type PreparedBatch } from "./batch-file.js";

const TENANT = "default";
const AGENT = "bench-baseline";

/** The collector's own defaults (and its VIGIL_FLUSH_ROWS override), so both sides insert alike. */
function collectorSettings() {
  const maxRows = process.env.VIGIL_FLUSH_ROWS;
  return collectorConfigSchema.parse(maxRows ? { writer: { maxRows } } : {});
}

function validEvents(batch: PreparedBatch): VigilEvent[] {
  return parseBatchText(gunzipSync(batch.body).toString("utf8")).map((item, index) => {
    const checked = checkEvent(item);
    if (!checked.ok) throw new Error(`batch ${batch.id} event ${index} is invalid: ${JSON.stringify(checked.problems)}`);
    return checked.event;
  });
}

/** Rows exactly as the collector's ingest route builds them. */
function rowsOf(batches: readonly PreparedBatch[]): EventRow[] {
  return batches.flatMap((batch) => {
    const origin = { tenant: TENANT, agent: AGENT, batchId: batch.id, receivedAt: Date.now() };
    return validEvents(batch).map((event) => toEventRow(event, origin));
  });
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

async function countEvents(db: Database): Promise<number> {
  const [row] = await db.query<{ events: number }>(`SELECT count() AS events FROM ${db.table("events")}`);
  return Number(row?.events ?? 0);
}

async function main(): Promise<void> {
  const batchDir = process.argv[2];
  if (!batchDir) throw new Error("usage: ingest-baseline.ts <batch-dir>");
  const settings = collectorSettings();
  // Decoding and validation are the collector's work per request, not storage work: they
  // happen before the clock starts, so the baseline is the store alone.
  const rows = rowsOf(readBatchFile(batchDir));
  const inserts = chunks(rows, settings.writer.maxRows);

  const data = tempDir("vigil-bench-baseline-");
  try {
    const client = createStorageClient({ kind: "embedded", dataDir: data.path, database: settings.clickhouseDatabase });
    const db = openDatabase(client, settings.clickhouseDatabase);
    await runMigrations(db, { retentionDays: settings.retentionDays, log: createLogger({ format: "json", level: "silent" }) });

    const started = performance.now();
    for (const insert of inserts) await db.insert("events", insert);
    const events = await countEvents(db);
    const seconds = (performance.now() - started) / 1000;

    if (events !== rows.length) throw new Error(`baseline stored ${events} of ${rows.length} rows`);
    await client.close();
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    process.stdout.write(`${JSON.stringify({ events, seconds, events_per_s: events / seconds, peak_rss_mb: peakRssMb })}\n`);
  } finally {
    data.remove();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`ingest baseline failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
