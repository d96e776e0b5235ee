import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCollectorProcess, tempDir, type CollectorProcess } from "./support/collector-process.js";
import { postBatch, realisticEvent } from "./support/events.js";

let proc: CollectorProcess;
const dir = tempDir();
beforeAll(async () => {
  proc = await startCollectorProcess({ dataDir: dir.path });
});
afterAll(async () => {
  await proc?.stop();
  dir.remove();
});

describe("GET /metrics", () => {
  it("passes promtool check metrics after real traffic", async () => {
    expect((await postBatch(proc.url, proc.token, JSON.stringify([realisticEvent(1), realisticEvent(2)]), { batchId: "metrics-batch-1" })).status).toBe(202);
    expect((await postBatch(proc.url, proc.token, "[oops")).status).toBe(400);
    const res = await fetch(`${proc.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    for (const name of ["vigil_ingest_events_total", "vigil_ingest_batches_total", "vigil_ingest_rejected_total", "vigil_storage_insert_seconds_bucket", "vigil_ingest_queue_rows", "nodejs_eventloop_lag_seconds"]) {
      expect(text).toContain(name);
    }
    const file = join(dir.path, "metrics.txt");
    writeFileSync(file, text);
    const check = spawnSync("sh", ["-c", `promtool check metrics < ${file}`], { encoding: "utf8" });
    expect(check.error).toBeUndefined();
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
  });
});
