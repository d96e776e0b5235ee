import { spawnSync } from "node:child_process";
import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { COLLECTOR_BIN, startCollectorProcess, tempDir, type CollectorProcess } from "./support/collector-process.js";
import { gzipNdjson, postBatch, realisticEvent } from "./support/events.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function started(dataDir: string, env: Record<string, string> = {}): Promise<CollectorProcess> {
  const proc = await startCollectorProcess({ dataDir, env });
  cleanups.push(() => proc.kill());
  return proc;
}

function newDir() {
  const dir = tempDir();
  cleanups.push(() => dir.remove());
  return dir.path;
}

async function countByAttr(proc: CollectorProcess, key: string, value: string): Promise<number> {
  const res = await fetch(`${proc.url}/v1/events?attr.${key}=${encodeURIComponent(value)}&limit=1000`, { headers: { authorization: `Bearer ${proc.token}` } });
  expect(res.status).toBe(200);
  return ((await res.json()) as { events: unknown[] }).events.length;
}

async function totalEvents(proc: CollectorProcess): Promise<number> {
  const res = await fetch(`${proc.url}/api/stats`, { headers: { authorization: `Bearer ${proc.token}` } });
  return ((await res.json()) as { total_events: number }).total_events;
}

function batchOf(tag: string, n: number, size: number) {
  return Array.from({ length: size }, (_, i) => {
    const e = realisticEvent(n * size + i);
    return { ...e, attrs: { ...e.attrs, run: tag, batch_no: n } };
  });
}

describe("vigil-collector command", () => {
  it("--help explains every option and exits 0", () => {
    const out = spawnSync(process.execPath, [COLLECTOR_BIN, "--help"], { encoding: "utf8" });
    expect(out.status).toBe(0);
    for (const word of ["--port", "--data-dir", "CLICKHOUSE_URL", "VIGIL_BOOTSTRAP_TOKEN", "VIGIL_RETENTION_DAYS", "SIGTERM"]) expect(out.stdout).toContain(word);
  });

  it("an unknown flag exits 2 and points at --help", () => {
    const out = spawnSync(process.execPath, [COLLECTOR_BIN, "--prot", "1"], { encoding: "utf8" });
    expect(out.status).toBe(2);
    expect(out.stderr).toMatch(/Unknown option '--prot'/);
    expect(out.stderr).toContain("--help");
  });

  it("bad settings exit 2 naming the flag or variable and the fix", () => {
    const out = spawnSync(process.execPath, [COLLECTOR_BIN, "--port", "99999"], {
      encoding: "utf8",
      env: { ...process.env, VIGIL_RETENTION_DAYS: "zero", CLICKHOUSE_URL: "not a url" },
    });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain("--port / PORT: port must be between 0 and 65535");
    expect(out.stderr).toContain("VIGIL_RETENTION_DAYS: VIGIL_RETENTION_DAYS must be a number of days");
    expect(out.stderr).toContain('CLICKHOUSE_URL: CLICKHOUSE_URL must be an http:// or https:// URL like "http://clickhouse:8123"');
  });
});

describe("collector process", () => {
  it("prints a generated first admin key once, stores only its hash, and keeps data across restarts", async () => {
    const dir = newDir();
    const first = await startCollectorProcess({ dataDir: dir, env: { VIGIL_BOOTSTRAP_TOKEN: "" } });
    cleanups.push(() => first.kill());
    const token = /First admin API key[^\n]*\n\s+(vgl_\S+)/.exec(first.stderr())?.[1];
    expect(token).toBeDefined();
    expect(JSON.stringify(first.logs)).not.toContain(token!);
    const events = batchOf("restart", 0, 20);
    expect((await postBatch(first.url, token!, JSON.stringify(events), { batchId: "restart-batch" })).status).toBe(202);
    expect(await first.stop()).toBe(0);

    const second = await startCollectorProcess({ dataDir: dir, env: { VIGIL_BOOTSTRAP_TOKEN: "" } });
    cleanups.push(() => second.kill());
    expect(second.stderr()).not.toContain("First admin API key");
    const res = await fetch(`${second.url}/v1/events?attr.run=restart&limit=100`, { headers: { authorization: `Bearer ${token}` } });
    expect(((await res.json()) as { events: unknown[] }).events).toHaveLength(20);
    // The batch id is remembered across the restart.
    const again = await postBatch(second.url, token!, JSON.stringify(events), { batchId: "restart-batch" });
    expect(await again.json()).toMatchObject({ duplicate: true, stored: 0 });
  });

  it("round-trips gzip NDJSON over HTTP", async () => {
    const proc = await started(newDir());
    const res = await postBatch(proc.url, proc.token, gzipNdjson(batchOf("gzip", 0, 500)), { gzip: true, batchId: uuidv7(), contentType: "application/x-ndjson" });
    expect(res.status).toBe(202);
    expect(await countByAttr(proc, "run", "gzip")).toBe(500);
  });

  it("after kill -9 during ingest, every batch that got 2xx is there, and retries store nothing twice", async () => {
    const dir = newDir();
    const proc = await started(dir);
    const size = 200;
    const batches = Array.from({ length: 60 }, (_, n) => ({ id: `kill9-${n}-${uuidv7()}`, body: gzipNdjson(batchOf("kill9", n, size)) }));
    const acked = new Set<number>();
    let next = 0;
    let killed = false;
    async function client() {
      while (next < batches.length && !killed) {
        const n = next++;
        try {
          const res = await postBatch(proc.url, proc.token, batches[n]!.body, { gzip: true, batchId: batches[n]!.id });
          if (res.status === 202) acked.add(n);
        } catch {
          // the collector died under this request: not acknowledged
        }
      }
    }
    const clients = Promise.all(Array.from({ length: 4 }, client));
    while (acked.size < 15) await new Promise((r) => setTimeout(r, 5));
    killed = true;
    await proc.kill();
    await clients;
    expect(acked.size).toBeGreaterThanOrEqual(15);

    const restarted = await started(dir);
    for (const n of acked) expect(await countByAttr(restarted, "batch_no", String(n))).toBe(size);
    // An agent retries everything it did not see acknowledged (and, unsure, some it did).
    const answers = await Promise.all(batches.map((b) => postBatch(restarted.url, restarted.token, b.body, { gzip: true, batchId: b.id })));
    expect(answers.every((res) => res.status === 202)).toBe(true);
    expect(await totalEvents(restarted)).toBe(batches.length * size);
  });

  it("SIGTERM answers every queued batch before exiting 0", async () => {
    const proc = await started(newDir(), { VIGIL_FLUSH_MS: "1500", VIGIL_FLUSH_ROWS: "100000" });
    const inFlight = Array.from({ length: 5 }, (_, n) => postBatch(proc.url, proc.token, JSON.stringify(batchOf("sigterm", n, 100)), { batchId: `sigterm-${n}-batch` }));
    await new Promise((r) => setTimeout(r, 300));
    const exit = proc.stop();
    const answers = await Promise.all(inFlight);
    expect(answers.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    expect(await exit).toBe(0);
    expect(proc.logs.map((l) => l.msg)).toContain("collector stopped");
  });

  it("a second signal exits at once, even while a request is still in flight", async () => {
    const proc = await started(newDir());
    const socket = connect(proc.port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    // A request whose body never finishes keeps the graceful shutdown waiting.
    socket.write(`POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${proc.token}\r\nContent-Length: 1000\r\n\r\n[`);
    await new Promise((r) => setTimeout(r, 200));
    proc.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 500));
    expect(proc.child.exitCode).toBeNull();
    proc.child.kill("SIGTERM");
    expect(await proc.exited).toBe(130);
    socket.destroy();
  });

  it("sheds load with 429 and Retry-After when the writer queue is full", async () => {
    const proc = await started(newDir(), { VIGIL_QUEUE_ROWS: "150", VIGIL_FLUSH_MS: "2000", VIGIL_FLUSH_ROWS: "100000" });
    const first = postBatch(proc.url, proc.token, JSON.stringify(batchOf("shed", 0, 100)), { batchId: "shed-batch-0" });
    await new Promise((r) => setTimeout(r, 200));
    const second = await postBatch(proc.url, proc.token, JSON.stringify(batchOf("shed", 1, 100)), { batchId: "shed-batch-1" });
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("1");
    expect(((await second.json()) as { error: { message: string } }).error.message).toMatch(/queue is full/);
    expect((await first).status).toBe(202);
    const retried = await postBatch(proc.url, proc.token, JSON.stringify(batchOf("shed", 1, 100)), { batchId: "shed-batch-1" });
    expect(retried.status).toBe(202);
  });

  it("when ClickHouse is unreachable: /health says why and ingest answers 503 with Retry-After", async () => {
    const proc = await started(newDir(), { CLICKHOUSE_URL: "http://127.0.0.1:9" });
    const health = await fetch(`${proc.url}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "unavailable", storage: "ClickHouse refused the connection" });
    const res = await postBatch(proc.url, proc.token, JSON.stringify(batchOf("down", 0, 1)));
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/storage is not ready \(ClickHouse refused the connection\)/);
  });
});
