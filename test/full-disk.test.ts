// A full disk under the embedded ClickHouse: ingest answers 503 with the reason (agents
// keep their batches), /health says why, ingest stays refused while the disk is full even
// though ClickHouse still answers pings, and everything resumes, with nothing stored
// before lost, once space is back.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi, startCollectorProcess, type CollectorProcess } from "./support/collector-process.js";
import { eventually } from "./support/eventually.js";
import { mountSmallDisk } from "./support/small-disk.js";

let disk: ReturnType<typeof mountSmallDisk>;
let collector: CollectorProcess;
let n = 0;
const event = () => ({ id: `019ac3a0-0000-7000-8000-${String(++n).padStart(12, "0")}`, ts: Date.now(), source: "disk", type: "disk.test", attrs: { n: String(n) } });

async function health() {
  const response = await fetch(`${collector.url}/health`);
  return { status: response.status, body: (await response.json()) as { status: string; storage: string } };
}

beforeAll(async () => {
  disk = mountSmallDisk(200);
  collector = await startCollectorProcess({ dataDir: join(disk.path, "data") });
});
afterAll(async () => {
  await collector?.kill();
  disk?.remove();
});

describe("a full disk", () => {
  it("refuses ingest with the reason until writes work again, and loses nothing already stored", async () => {
    const before = await callApi(collector, "POST", "/v1/events", [event(), event()]);
    expect(before.status).toBe(202);

    disk.fill();
    const refused = await eventually(() => callApi(collector, "POST", "/v1/events", [event()]), (r) => r.status === 503, 20_000, "a 503 once the disk is full");
    expect(refused.json.error.message).toContain("NOT_ENOUGH_SPACE");
    expect((await health()).body.storage).toContain("NOT_ENOUGH_SPACE");
    // Liveness is the process's alone: nothing to restart for.
    expect((await fetch(`${collector.url}/health/live`)).status).toBe(200);
    // The write probe runs every 2 s; pings still succeed, yet ingest stays refused.
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect((await health()).status).toBe(503);
    expect((await callApi(collector, "POST", "/v1/events", [event()])).status).toBe(503);

    disk.free();
    await eventually(health, (h) => h.status === 200, 20_000, "healthy again");
    const after = await callApi(collector, "POST", "/v1/events", [event()]);
    expect(after.status).toBe(202);
    const stored = await callApi(collector, "GET", "/v1/events?source=disk&limit=100");
    const kept = stored.json.events.map((e: { attrs: { n: string } }) => Number(e.attrs.n)).sort((a: number, b: number) => a - b);
    expect(kept).toEqual([1, 2, n]);
  }, 90_000);
});
