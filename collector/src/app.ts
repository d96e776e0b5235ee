import { Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv, Services } from "./app-env.js";
import { PluginApiError } from "@vigil/plugin-sdk";
import { ApiError, errorBody, respondWithError } from "./errors.js";
import { mountPluginRoutes } from "./plugins/routes.js";
import { UnscopedQueryError } from "./storage/tenant-scope.js";
import { agentProtocolRoutes } from "./routes/agent-protocol.js";
import { agentRoutes } from "./routes/agents.js";
import { alertRoutes } from "./routes/alerts/index.js";
import { eventQueryRoutes, eventRoutes } from "./routes/events.js";
import { healthRoutes } from "./routes/health.js";
import { keyRoutes } from "./routes/keys.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { sessionRoutes } from "./routes/session.js";
import { userRoutes } from "./routes/users.js";
import { logRoutes } from "./routes/logs.js";
import { metricsRoutes } from "./routes/metrics.js";
import { statsRoutes } from "./routes/stats.js";
import { tenantRoutes } from "./routes/tenants.js";

const INGEST_PATHS = new Set(["/v1/events", "/v1/logs"]);

/** The collector's HTTP surface, assembled from one small router per resource. */
export function createApp(services: Services) {
  const app = new Hono<AppEnv>();

  app.route("/health", healthRoutes(services));
  app.route("/metrics", metricsRoutes(services));
  app.route("/v1/events", eventRoutes(services));
  app.route("/v1/logs", logRoutes(services));
  app.route("/v1/agents", agentProtocolRoutes(services));
  app.route("/api/events", eventQueryRoutes(services));
  app.route("/api/stats", statsRoutes(services));
  app.route("/api/keys", keyRoutes(services));
  app.route("/api/session", sessionRoutes(services));
  app.route("/api/users", userRoutes(services));
  app.route("/api/tenants", tenantRoutes(services));
  app.route("/api/agents", agentRoutes(services));
  app.route("/api/alerts", alertRoutes(services, services.alertTemplates));

  mountPluginRoutes(app, services, services.parts);
  // Last: every GET that no API route took is a page of the dashboard.
  app.route("/", dashboardRoutes(services));

  app.notFound((c) => c.json(errorBody("not_found", `no route ${c.req.method} ${c.req.path}: see the API reference in the README`), 404));

  app.onError((error, c) => {
    const apiError = toApiError(error);
    if (!apiError) {
      services.log.error({ err: error, method: c.req.method, path: c.req.path }, "request failed");
      return c.json(errorBody("internal", "internal error: the collector logged the details"), 500);
    }
    if (c.req.method === "POST" && INGEST_PATHS.has(c.req.path.replace(/\/$/, ""))) {
      services.metrics.ingestRejected.inc({ reason: apiError.code });
      if (apiError.code === "invalid_argument" || apiError.code === "payload_too_large") services.metrics.ingestBatches.inc({ outcome: "rejected" });
    }
    return respondWithError(c, apiError);
  });

  return app;
}

function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof PluginApiError) return new ApiError(error.code, error.message, error.details);
  if (error instanceof UnscopedQueryError) return undefined;
  if (error instanceof HTTPException) {
    const status = error.status;
    const code = status === 413 ? "payload_too_large" : status === 401 ? "unauthenticated" : status === 403 ? "permission_denied" : "invalid_argument";
    return new ApiError(code, error.message || "bad request");
  }
  return undefined;
}
