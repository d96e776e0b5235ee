import { Hono } from "hono";
import { MAX_EVENTS_PER_BATCH, BATCH_ID_HEADER, BATCH_ID_PATTERN } from "@vigil/plugin-sdk";
import type { AppEnv, Services } from "../app-env.js";
import { authenticate, requireScope } from "../auth/middleware.js";
import { ApiError } from "../errors.js";
import { toEventRow } from "../ingest/event-row.js";
import { mapOtlpLogs, otlpLogsRequestSchema } from "../ingest/otlp.js";
import { ingestBodyLimit, readBodyText } from "../ingest/read-body.js";
import { parseInput } from "../validate.js";

/**
 * `POST /v1/logs` — OTLP/HTTP with JSON encoding. Records that cannot become valid
 * events are dropped and reported in `partialSuccess`, as the OTLP specification
 * asks; the rest are stored before the 200 answer.
 */
export function logRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use("*", authenticate(services));
  app.post(
    "/",
    requireScope("ingest", services),
    ingestBodyLimit(),
    async (c) => {
      const contentType = (c.req.header("content-type") ?? "").toLowerCase();
      if (contentType.includes("protobuf")) {
        throw new ApiError(
          "unsupported_media_type",
          "only OTLP/HTTP JSON is accepted: set OTEL_EXPORTER_OTLP_LOGS_PROTOCOL=http/json (or the exporter's JSON option)",
        );
      }
      const batchId = c.req.header(BATCH_ID_HEADER) ?? "";
      if (batchId && !BATCH_ID_PATTERN.test(batchId)) throw new ApiError("invalid_argument", `the ${BATCH_ID_HEADER} header is not a valid batch id`);
      let json: unknown;
      try {
        json = JSON.parse(await readBodyText(c));
      } catch (error) {
        if (error instanceof ApiError) throw error;
        throw new ApiError("invalid_argument", `the body is not valid JSON: ${(error as Error).message}`);
      }
      const request = parseInput(otlpLogsRequestSchema, json);
      const mapped = mapOtlpLogs(request);
      if (mapped.events.length > MAX_EVENTS_PER_BATCH) {
        throw new ApiError("payload_too_large", `the request holds more than ${MAX_EVENTS_PER_BATCH} log records (MAX_EVENTS_PER_BATCH): export smaller batches`);
      }
      if (mapped.rejected > 0) services.metrics.ingestRejected.inc({ reason: "invalid_log_record" }, mapped.rejected);
      const key = c.get("key");
      const origin = { tenant: key.tenant, agent: key.id, batchId, receivedAt: Date.now() };
      if (mapped.events.length > 0) {
        await services.writer.submit(key.tenant, batchId, mapped.events.map((event) => toEventRow(event, origin)));
      }
      return c.json(
        mapped.rejected > 0
          ? { partialSuccess: { rejectedLogRecords: String(mapped.rejected), errorMessage: mapped.firstProblem ?? "" } }
          : { partialSuccess: {} },
        200,
      );
    },
  );
  return app;
}
