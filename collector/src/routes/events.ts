import { Hono, type Handler } from "hono";
import { trace } from "@opentelemetry/api";
import {
  BATCH_ID_HEADER,
  BATCH_ID_PATTERN,
  BatchFormatError,
  MAX_EVENTS_PER_BATCH,
  describeInvalidBatch,
  parseBatchText,
  validateBatch,
  type VigilEvent,
} from "@vigil/plugin-sdk";
import type { AppEnv, Services } from "../app-env.js";
import { authenticate, requireScope } from "../auth/middleware.js";
import { ApiError } from "../errors.js";
import { ingestBodyLimit, readBodyText } from "../ingest/read-body.js";
import { toEventRow } from "../ingest/event-row.js";
import { listEvents, parseListEventsQuery } from "../storage/event-queries.js";

const tracer = trace.getTracer("vigil-collector");

/**
 * `POST /v1/events` — a batch is all or nothing: when any event is invalid, nothing of
 * the batch is stored and the answer lists every bad event by index, so the sender can
 * fix them and resend the whole batch (the same `Vigil-Batch-Id` may be reused: a
 * refused batch was never recorded).
 *
 * `GET /v1/events` — newest first, filtered, paginated with an opaque cursor.
 */
export function eventRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use("*", authenticate(services));

  app.post(
    "/",
    requireScope("ingest", services),
    ingestBodyLimit(),
    async (c) =>
      tracer.startActiveSpan("ingest.batch", async (span) => {
        try {
          const batchId = c.req.header(BATCH_ID_HEADER) ?? "";
          if (batchId && !BATCH_ID_PATTERN.test(batchId)) {
            throw new ApiError(
              "invalid_argument",
              `the ${BATCH_ID_HEADER} header must be 8–128 characters of letters, digits, '.', '_', ':' or '-' (a UUID works)`,
            );
          }
          const events = validateWholeBatch(await parseBody(await readBodyText(c)));
          const key = c.get("key");
          const receivedAt = Date.now();
          const origin = { tenant: key.tenant, agent: key.id, batchId, receivedAt };
          const rows = events.map((event) => toEventRow(event, origin));
          span.setAttribute("vigil.events", rows.length);
          const result = await services.writer.submit(key.tenant, batchId, rows);
          return c.json({ batch_id: batchId || null, accepted: rows.length, stored: result.stored, duplicate: result.duplicate }, 202);
        } finally {
          span.end();
        }
      }),
  );

  app.get("/", requireScope("read", services), listEventsHandler);

  return app;
}

const listEventsHandler: Handler<AppEnv> = async (c) => c.json(await listEvents(c.get("scope"), parseListEventsQuery(c.req.queries())));

/** `GET /api/events` — the same query as `GET /v1/events`, under the user API where the dashboard reads. */
export function eventQueryRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.get("/", authenticate(services), requireScope("read", services), listEventsHandler);
  return app;
}

async function parseBody(text: string): Promise<unknown[]> {
  try {
    return parseBatchText(text);
  } catch (error) {
    if (error instanceof BatchFormatError) throw new ApiError("invalid_argument", error.message, error.line ? [{ line: error.line }] : []);
    throw error;
  }
}

function validateWholeBatch(items: unknown[]): VigilEvent[] {
  if (items.length > MAX_EVENTS_PER_BATCH) {
    throw new ApiError(
      "payload_too_large",
      `the batch holds more than ${MAX_EVENTS_PER_BATCH} events (MAX_EVENTS_PER_BATCH): split it into smaller batches`,
      [{ limit: "MAX_EVENTS_PER_BATCH", max: MAX_EVENTS_PER_BATCH }],
    );
  }
  const { events, problems, invalid } = validateBatch(items);
  if (invalid > 0) throw new ApiError("invalid_argument", describeInvalidBatch(invalid, items.length, problems[0]!), problems);
  return events;
}
