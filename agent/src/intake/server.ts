import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { gunzip } from "node:zlib";
import { promisify } from "node:util";
import { BATCH_ID_HEADER, BATCH_ID_PATTERN, BatchFormatError, MAX_BATCH_BYTES, MAX_BATCH_DECOMPRESSED_BYTES, MAX_EVENTS_PER_BATCH, describeInvalidBatch, parseBatchText, validateBatch } from "@vigil/plugin-sdk";
import type { AgentMetrics } from "../runtime/metrics.js";

const gunzipAsync = promisify(gunzip);

export interface IntakeOptions {
  host: string;
  port: number;
  metrics: AgentMetrics;
  enqueue(records: Buffer[]): Promise<void>;
  status(): unknown;
  /** What a plugin published for apps (ctx.publish), as JSON text. */
  published(pluginId: string, name: string): string | undefined;
  healthy(): { ok: boolean; reason?: string };
}

function error(code: string, message: string, details: unknown[] = []) {
  return { error: { code, message, details } };
}

/**
 * The agent's local HTTP surface on 127.0.0.1: in-app SDKs post events here (same
 * schema and batch format as the collector; 202 once the batch is in the disk queue; a
 * `Vigil-Batch-Id` header makes a retry idempotent),
 * and `vigil-agent status`, health checks and Prometheus read it.
 */
/** Batch ids remembered by the intake: an SDK's retry within this many batches is not queued twice. */
const RECENT_BATCH_IDS = 10_000;

/**
 * Runs each batch id's work once: a retry of a batch in flight waits for it, a retry of a
 * stored one is answered at once. Ids are remembered in memory (the newest
 * RECENT_BATCH_IDS), so a retry after an agent restart may be queued again; the
 * collector's own batch ids (the shipper's) are unaffected.
 */
function batchIdGuard() {
  const done = new Set<string>();
  const inFlight = new Map<string, Promise<void>>();
  return {
    async once(id: string | undefined, work: () => Promise<void>): Promise<{ duplicate: boolean }> {
      if (id === undefined) {
        await work();
        return { duplicate: false };
      }
      if (done.has(id)) return { duplicate: true };
      const running = inFlight.get(id);
      if (running) {
        await running;
        return { duplicate: true };
      }
      const promise = work();
      inFlight.set(id, promise);
      try {
        await promise;
      } finally {
        inFlight.delete(id);
      }
      done.add(id);
      if (done.size > RECENT_BATCH_IDS) done.delete(done.values().next().value as string);
      return { duplicate: false };
    },
  };
}

export function createIntakeApp(options: IntakeOptions) {
  const app = new Hono();
  const batches = batchIdGuard();
  app.post(
    "/v1/events",
    bodyLimit({ maxSize: MAX_BATCH_BYTES, onError: (c) => c.json(error("payload_too_large", `the body is larger than ${MAX_BATCH_BYTES} bytes (MAX_BATCH_BYTES)`), 413) }),
    async (c) => {
      let text: string;
      const raw = Buffer.from(await c.req.arrayBuffer());
      const encoding = (c.req.header("content-encoding") ?? "identity").toLowerCase();
      if (encoding === "gzip") {
        try {
          text = (await gunzipAsync(raw, { maxOutputLength: MAX_BATCH_DECOMPRESSED_BYTES })).toString("utf8");
        } catch {
          return c.json(error("invalid_argument", "the body is marked gzip but is not valid gzip, or inflates past MAX_BATCH_DECOMPRESSED_BYTES"), 400);
        }
      } else if (encoding === "identity") text = raw.toString("utf8");
      else return c.json(error("unsupported_media_type", `Content-Encoding "${encoding}" is not supported: send plain or gzip`), 415);
      let items: unknown[];
      try {
        items = parseBatchText(text);
      } catch (e) {
        if (e instanceof BatchFormatError) return c.json(error("invalid_argument", e.message), 400);
        throw e;
      }
      if (items.length > MAX_EVENTS_PER_BATCH) return c.json(error("payload_too_large", `more than ${MAX_EVENTS_PER_BATCH} events (MAX_EVENTS_PER_BATCH)`), 413);
      const { events, problems, invalid } = validateBatch(items);
      if (invalid > 0) return c.json(error("invalid_argument", describeInvalidBatch(invalid, items.length, problems[0]!), problems), 400);
      const batchId = c.req.header(BATCH_ID_HEADER);
      if (batchId !== undefined && !BATCH_ID_PATTERN.test(batchId)) {
        return c.json(error("invalid_argument", `${BATCH_ID_HEADER} must be 8–128 letters, digits, '.', '_', ':' or '-'`), 400);
      }
      const records = events.map((event) => Buffer.from(JSON.stringify(event)));
      const { duplicate } = await batches.once(batchId, async () => {
        await options.enqueue(records);
        options.metrics.eventsEmitted.inc({ plugin: "intake" }, records.length);
      });
      return c.json({ accepted: records.length, ...(batchId !== undefined ? { batch_id: batchId, duplicate } : {}) }, 202);
    },
  );
  app.get("/health", (c) => {
    const health = options.healthy();
    return c.json({ status: health.ok ? "ok" : "unavailable", ...(health.reason ? { reason: health.reason } : {}) }, health.ok ? 200 : 503);
  });
  app.get("/status", (c) => c.json(options.status()));
  app.get("/v1/plugins/:plugin/:name", (c) => {
    const text = options.published(c.req.param("plugin"), c.req.param("name"));
    if (text === undefined) {
      return c.json(error("not_found", `plugin "${c.req.param("plugin")}" has published nothing named "${c.req.param("name")}" (is it running, under that id?)`), 404);
    }
    return c.body(text, 200, { "content-type": "application/json", "cache-control": "no-store" });
  });
  app.get("/metrics", async (c) => c.body(await options.metrics.registry.metrics(), 200, { "Content-Type": options.metrics.registry.contentType }));
  app.notFound((c) => c.json(error("not_found", `no route ${c.req.method} ${c.req.path}`), 404));
  return app;
}

export async function startIntake(options: IntakeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const app = createIntakeApp(options);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, port: options.port, hostname: options.host }, () => resolve(s as Server));
    (s as Server).once("error", reject);
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${options.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
