import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_BATCH_BYTES, MAX_EVENTS_PER_BATCH, uuidv7 } from "@vigil/plugin-sdk";
import { startInProcess } from "../../test/support/in-process.js";
import { ndjson, realisticEvent } from "../../test/support/events.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
beforeAll(async () => {
  env = await startInProcess();
});
afterAll(async () => {
  await env?.close();
});

const event = (overrides: Record<string, unknown> = {}) => ({
  id: uuidv7(),
  ts: Date.now(),
  source: "http",
  type: "http.check",
  attrs: { url_host: "api.example.com", latency_ms: 42, ok: true },
  body: "GET /health answered 200",
  ...overrides,
});

async function total(): Promise<number> {
  const res = await env.request("GET", "/api/stats");
  expect(res.status).toBe(200);
  return res.json.total_events;
}

describe("POST /v1/events", () => {
  it("stores a JSON array and reads it back", async () => {
    const e = event({ severity: "warning", attrs: { url_host: "a.example", latency_ms: 12.5, ok: false } });
    const res = await env.request("POST", "/v1/events", { body: [e], headers: { "vigil-batch-id": "json-round-trip" } });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ batch_id: "json-round-trip", accepted: 1, stored: 1, duplicate: false });
    const read = await env.request("GET", `/v1/events?attr.url_host=a.example`);
    expect(read.status).toBe(200);
    expect(read.json.events).toHaveLength(1);
    expect(read.json.events[0]).toMatchObject({
      id: e.id,
      ts: new Date(e.ts as number).toISOString(),
      source: "http",
      type: "http.check",
      severity: "warning",
      attrs: { url_host: "a.example", latency_ms: "12.5", ok: "false" },
      body: e.body,
    });
  });

  it("stores gzip-compressed NDJSON", async () => {
    const events = Array.from({ length: 50 }, (_, i) => ({ ...realisticEvent(i), attrs: { ...realisticEvent(i).attrs, check_name: "gzip-ndjson" } }));
    const res = await env.request("POST", "/v1/events", {
      body: gzipSync(ndjson(events)),
      headers: { "content-encoding": "gzip", "content-type": "application/x-ndjson", "vigil-batch-id": "gzip-ndjson-1" },
    });
    expect(res.status).toBe(202);
    expect(res.json.stored).toBe(50);
    const read = await env.request("GET", "/v1/events?attr.check_name=gzip-ndjson&limit=100");
    expect(read.json.events).toHaveLength(50);
  });

  it("stores a batch sent twice with the same Vigil-Batch-Id once", async () => {
    const batch = [event({ attrs: { run: "dedup" } }), event({ attrs: { run: "dedup" } })];
    const first = await env.request("POST", "/v1/events", { body: batch, headers: { "vigil-batch-id": "dedup-batch-1" } });
    const second = await env.request("POST", "/v1/events", { body: batch, headers: { "vigil-batch-id": "dedup-batch-1" } });
    expect(first.json).toMatchObject({ stored: 2, duplicate: false });
    expect(second.status).toBe(202);
    expect(second.json).toMatchObject({ stored: 0, duplicate: true });
    const read = await env.request("GET", "/v1/events?attr.run=dedup");
    expect(read.json.events).toHaveLength(2);
  });

  it("stores a batch sent twice at the same moment once", async () => {
    const batch = [event({ attrs: { run: "concurrent-dedup" } })];
    const answers = await Promise.all(
      [1, 2, 3].map(() => env.request("POST", "/v1/events", { body: batch, headers: { "vigil-batch-id": "dedup-concurrent" } })),
    );
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    expect(answers.filter((a) => a.json.duplicate === false)).toHaveLength(1);
    const read = await env.request("GET", "/v1/events?attr.run=concurrent-dedup");
    expect(read.json.events).toHaveLength(1);
  });

  describe("bad input gets its status, a message that says what to fix, and loses nothing", () => {
    let before: number;
    beforeAll(async () => {
      before = await total();
    });
    afterAll(async () => {
      expect(await total()).toBe(before);
    });

    it("malformed JSON → 400", async () => {
      const res = await env.request("POST", "/v1/events", { body: '[{"id": ' });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("invalid_argument");
      expect(res.json.error.message).toMatch(/not valid JSON/);
    });

    it("broken NDJSON line → 400 naming the line", async () => {
      const res = await env.request("POST", "/v1/events", { body: `${JSON.stringify(event())}\n{broken\n`, headers: { "content-type": "application/x-ndjson" } });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toMatch(/line 2 is not valid JSON/);
      expect(res.json.error.details).toEqual([{ line: 2 }]);
    });

    it("wrong types → 400 with the index and path of each problem; the good events are not stored either", async () => {
      const res = await env.request("POST", "/v1/events", {
        body: [event(), event({ ts: "last tuesday", attrs: { count: [1, 2] } }), event()],
        headers: { "vigil-batch-id": "mixed-batch-1" },
      });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toMatch(/^1 of 3 events are invalid, so the batch was not stored/);
      expect(res.json.error.details).toEqual(
        expect.arrayContaining([
          { index: 1, path: "ts", message: expect.stringContaining("RFC 3339") },
          { index: 1, path: "attrs.count", message: expect.stringContaining("strings, numbers or booleans") },
        ]),
      );
    });

    it("a refused batch id may be reused once the events are fixed", async () => {
      const fixed = [event({ attrs: { run: "fixed" } })];
      const bad = await env.request("POST", "/v1/events", { body: [{ ...fixed[0], severity: "fatal" }], headers: { "vigil-batch-id": "fix-and-resend" } });
      expect(bad.status).toBe(400);
      const good = await env.request("POST", "/v1/events", { body: fixed, headers: { "vigil-batch-id": "fix-and-resend" } });
      expect(good.status).toBe(202);
      expect(good.json.stored).toBe(1);
      before += 1;
    });

    it("unknown severity → 400 listing the severities", async () => {
      const res = await env.request("POST", "/v1/events", { body: [event({ severity: "fatal" })] });
      expect(res.status).toBe(400);
      expect(res.json.error.details[0]).toEqual({ index: 0, path: "severity", message: "severity must be one of debug, info, notice, warning, error, critical" });
    });

    it("tenant or agent in the payload → 400 (they come from the key)", async () => {
      const res = await env.request("POST", "/v1/events", { body: [event({ tenant: "someone-else" })] });
      expect(res.status).toBe(400);
      expect(res.json.error.details[0].message).toMatch(/tenant/);
    });

    it("oversize body → 413 naming MAX_BATCH_BYTES", async () => {
      const res = await env.request("POST", "/v1/events", { body: "x".repeat(MAX_BATCH_BYTES + 10) });
      expect(res.status).toBe(413);
      expect(res.json.error.code).toBe("payload_too_large");
      expect(res.json.error.message).toContain("MAX_BATCH_BYTES");
    });

    it("a gzip body that inflates past the limit → 413 naming MAX_BATCH_DECOMPRESSED_BYTES", async () => {
      const bomb = gzipSync(Buffer.alloc(40 * 1024 * 1024, 32));
      const res = await env.request("POST", "/v1/events", { body: bomb, headers: { "content-encoding": "gzip" } });
      expect(res.status).toBe(413);
      expect(res.json.error.message).toContain("MAX_BATCH_DECOMPRESSED_BYTES");
    });

    it("a body marked gzip that is not → 400", async () => {
      const res = await env.request("POST", "/v1/events", { body: "[]", headers: { "content-encoding": "gzip" } });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toMatch(/not valid gzip/);
    });

    it("an unsupported Content-Encoding → 415", async () => {
      const res = await env.request("POST", "/v1/events", { body: "[]", headers: { "content-encoding": "br" } });
      expect(res.status).toBe(415);
      expect(res.json.error.message).toMatch(/plain or gzip/);
    });

    it("too many events → 413 naming MAX_EVENTS_PER_BATCH", async () => {
      const events = Array.from({ length: MAX_EVENTS_PER_BATCH + 1 }, () => ({ id: uuidv7(), ts: 1, source: "x", type: "x.y" }));
      const res = await env.request("POST", "/v1/events", { body: ndjson(events) });
      expect(res.status).toBe(413);
      expect(res.json.error.message).toContain("MAX_EVENTS_PER_BATCH");
    });

    it("too many attrs → 400 naming MAX_ATTRS_PER_EVENT", async () => {
      const attrs = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`a${i}`, i]));
      const res = await env.request("POST", "/v1/events", { body: [event({ attrs })] });
      expect(res.status).toBe(400);
      expect(res.json.error.details[0].message).toContain("MAX_ATTRS_PER_EVENT");
    });

    it("an invalid Vigil-Batch-Id → 400", async () => {
      const res = await env.request("POST", "/v1/events", { body: [event()], headers: { "vigil-batch-id": "x y" } });
      expect(res.status).toBe(400);
      expect(res.json.error.message).toMatch(/vigil-batch-id header must be/);
    });

    it("missing key → 401 saying how to send one", async () => {
      const res = await env.request("POST", "/v1/events", { body: [event()], token: null });
      expect(res.status).toBe(401);
      expect(res.json.error.message).toContain("Authorization: Bearer <key>");
    });

    it("wrong key → 401", async () => {
      const res = await env.request("POST", "/v1/events", { body: [event()], token: "vgl_not_a_real_key_000000000" });
      expect(res.status).toBe(401);
      expect(res.json.error.message).toMatch(/unknown or was revoked/);
    });

    it("a read-only key cannot ingest → 403 naming the scope", async () => {
      const created = await env.request("POST", "/api/keys", { body: { name: "reader", scopes: ["read"] } });
      expect(created.status).toBe(201);
      const res = await env.request("POST", "/v1/events", { body: [event()], token: created.json.token });
      expect(res.status).toBe(403);
      expect(res.json.error.message).toContain('needs "ingest"');
    });

    it("errors never carry stacks or SQL", async () => {
      const res = await env.request("GET", "/v1/events?since=notatime");
      expect(res.status).toBe(400);
      expect(res.text).not.toMatch(/SELECT|at .*\.js:\d+/);
    });
  });

  it("counts ingest outcomes in /metrics", async () => {
    const res = await env.app.request("/metrics");
    const text = await res.text();
    expect(text).toMatch(/vigil_ingest_events_total\{source="http",type="http.check"\} \d+/);
    expect(text).toMatch(/vigil_ingest_batches_total\{outcome="duplicate"\} [1-9]/);
    expect(text).toMatch(/vigil_ingest_rejected_total\{reason="payload_too_large"\} [1-9]/);
    expect(text).toMatch(/vigil_storage_insert_seconds_bucket/);
    expect(text).toMatch(/vigil_ingest_queue_rows 0/);
    expect(text).toMatch(/process_resident_memory_bytes/);
  });
});

describe("GET /v1/events", () => {
  const base = Math.floor(Date.now() / 60_000) * 60_000 - 3_600_000;
  beforeAll(async () => {
    const events = Array.from({ length: 25 }, (_, i) =>
      event({
        id: uuidv7(base + i * 1000),
        ts: base + i * 1000,
        source: i % 2 ? "reddit" : "sms",
        type: i % 2 ? "reddit.mention" : "sms.message",
        attrs: { series: "paging", n: i, parity: i % 2 ? "odd" : "even" },
        body: i === 7 ? "The Quick Brown Fox" : `event ${i}`,
      }),
    );
    const res = await env.request("POST", "/v1/events", { body: events });
    expect(res.status).toBe(202);
  });

  it("pages newest first with an opaque cursor", async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const res: Awaited<ReturnType<typeof env.request>> = await env.request("GET", `/v1/events?attr.series=paging&limit=10${cursor ? `&cursor=${cursor}` : ""}`);
      expect(res.status).toBe(200);
      seen.push(...res.json.events.map((e: { attrs: { n: string } }) => Number(e.attrs.n)));
      cursor = res.json.next_cursor;
    } while (cursor);
    expect(seen).toEqual(Array.from({ length: 25 }, (_, i) => 24 - i));
  });

  it("filters by source, type, time, attribute and text", async () => {
    const q = async (query: string) => (await env.request("GET", `/v1/events?attr.series=paging&limit=100&${query}`)).json.events.length;
    expect(await q("source=reddit")).toBe(12);
    expect(await q("type=sms.message")).toBe(13);
    expect(await q(`since=${base + 20_000}`)).toBe(5);
    expect(await q(`since=${new Date(base + 5_000).toISOString()}&until=${new Date(base + 10_000).toISOString()}`)).toBe(5);
    expect(await q("attr.parity=odd&source=reddit")).toBe(12);
    expect(await q("q=quick brown")).toBe(1);
  });

  it("explains bad parameters", async () => {
    const unknown = await env.request("GET", "/v1/events?tenant=other");
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toContain('unknown parameter "tenant"');
    const limit = await env.request("GET", "/v1/events?limit=5000");
    expect(limit.json.error.details[0]).toEqual({ path: "limit", message: "limit must be at most 1000" });
    const cursor = await env.request("GET", "/v1/events?cursor=garbage");
    expect(cursor.status).toBe(400);
    expect(cursor.json.error.message).toContain("next_cursor");
  });
});

describe("/api/stats", () => {
  it("counts the last 24 h by source and type and reports the ingest rate", async () => {
    const events = Array.from({ length: 6 }, () => event({ source: "cache", type: "cache.op" }));
    expect((await env.request("POST", "/v1/events", { body: events })).status).toBe(202);
    const res = await env.request("GET", "/api/stats");
    expect(res.status).toBe(200);
    expect(res.json.by_type).toContainEqual({ source: "cache", type: "cache.op", events: 6 });
    expect(res.json.by_source).toContainEqual({ source: "cache", events: 6 });
    expect(res.json.total_events).toBe(res.json.by_source.reduce((s: number, r: { events: number }) => s + r.events, 0));
    expect(res.json.ingest_rate_per_s).toBeGreaterThan(0);
    // The last hour per minute, oldest first, ending with this minute (which holds what was just sent).
    const series = res.json.rate_per_minute as { minute: string; events_per_s: number }[];
    expect(series).toHaveLength(60);
    expect(Date.parse(series[59]!.minute)).toBe(Math.floor(Date.now() / 60_000) * 60_000);
    expect(Date.parse(series[1]!.minute) - Date.parse(series[0]!.minute)).toBe(60_000);
    expect(series.at(-1)!.events_per_s + (series.at(-2)?.events_per_s ?? 0)).toBeGreaterThan(0);
  });
});

describe("/api/keys", () => {
  it("creates, lists and revokes keys; a revoked key stops working", async () => {
    const created = await env.request("POST", "/api/keys", { body: { name: "agent web-1", scopes: ["ingest"] } });
    expect(created.status).toBe(201);
    expect(created.json.token).toMatch(/^vgl_/);
    expect(created.json.key).toMatchObject({ name: "agent web-1", scopes: ["ingest"], tenant: "default" });
    expect(created.json.key).not.toHaveProperty("hash");

    const list = await env.request("GET", "/api/keys");
    expect(list.json.keys.map((k: { id: string }) => k.id)).toContain(created.json.key.id);
    expect(list.text).not.toContain(created.json.token);

    expect((await env.request("POST", "/v1/events", { body: [event()], token: created.json.token })).status).toBe(202);
    expect((await env.request("DELETE", `/api/keys/${created.json.key.id}`)).status).toBe(204);
    expect((await env.request("POST", "/v1/events", { body: [event()], token: created.json.token })).status).toBe(401);
    expect((await env.request("DELETE", `/api/keys/${created.json.key.id}`)).status).toBe(404);
  });

  it("validates input and refuses self-revocation", async () => {
    const bad = await env.request("POST", "/api/keys", { body: { name: "", scopes: ["root"] } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.map((d: { path: string }) => d.path).sort()).toEqual(["name", "scopes.0"]);
    const extra = await env.request("POST", "/api/keys", { body: { name: "x", owner: "me" } });
    expect(extra.status).toBe(400);
    const self = (await env.request("GET", "/api/keys")).json.keys.find((k: { name: string }) => k.name === "bootstrap admin key");
    const res = await env.request("DELETE", `/api/keys/${self.id}`);
    expect(res.status).toBe(400);
    expect(res.json.error.message).toContain("cannot revoke itself");
  });

  it("pages keys", async () => {
    const first = await env.request("GET", "/api/keys?limit=1");
    expect(first.json.keys).toHaveLength(1);
    expect(first.json.next_cursor).toBeTruthy();
    const second = await env.request("GET", `/api/keys?limit=1&cursor=${first.json.next_cursor}`);
    expect(second.json.keys[0].id).not.toBe(first.json.keys[0].id);
  });
});

describe("/health", () => {
  it("reports storage, version and uptime", async () => {
    const res = await env.request("GET", "/health", { token: null });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: "ok", storage: "ok", version: expect.any(String), uptime_s: expect.any(Number) });
  });

  it("answers unknown routes with a JSON 404 (other paths are the dashboard's pages)", async () => {
    for (const path of ["/api/nothing", "/v1/nothing"]) {
      const res = await env.request("POST", path);
      expect(res.status).toBe(404);
      expect(res.json.error.code).toBe("not_found");
    }
    const json = await env.request("GET", "/v2/nothing", { headers: { accept: "application/json" } });
    expect(json.status).toBe(404);
    expect(json.json.error.message).toContain("no route GET /v2/nothing");
  });
});
