import { Hono } from "hono";
import type { Services } from "../app-env.js";

/** `GET /metrics` — Prometheus text format. No auth, as Prometheus scrapes it; it holds no tenant data. */
export function metricsRoutes(services: Services) {
  const app = new Hono();
  app.get("/", async (c) => {
    services.metrics.ingestQueueRows.set(services.writer.queuedRows());
    return c.body(await services.metrics.registry.metrics(), 200, { "Content-Type": services.metrics.registry.contentType });
  });
  return app;
}
