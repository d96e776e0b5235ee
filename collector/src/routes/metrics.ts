import { Hono } from "hono";
import type { Services } from "../app-env.js";
import { createPluginMetrics } from "../plugins/metrics.js";

/**
 * `GET /metrics` — Prometheus text format. No auth, as Prometheus scrapes it: it belongs
 * to the operator. The collector's own metrics hold no tenant data; plugins' metrics
 * (their collector parts' `metrics`) carry a `tenant` label with tenant ids, by design.
 */
export function metricsRoutes(services: Services) {
  const app = new Hono();
  const plugins = createPluginMetrics({ db: services.db, parts: services.parts, log: services.log, storageProblem: services.storageProblem });
  app.get("/", async (c) => {
    services.metrics.ingestQueueRows.set(services.writer.queuedRows());
    const [own, fromPlugins] = await Promise.all([services.metrics.registry.metrics(), plugins.metrics()]);
    return c.body(own + fromPlugins, 200, { "Content-Type": services.metrics.registry.contentType });
  });
  return app;
}
