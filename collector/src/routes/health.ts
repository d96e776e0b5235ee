import { Hono } from "hono";
import type { Services } from "../app-env.js";

/** `GET /health` — 200 when storage answers, 503 with the reason when it does not. No auth: load balancers call it. */
export function healthRoutes(services: Services) {
  const app = new Hono();
  app.get("/", async (c) => {
    const problem = services.storageProblem() ?? services.writer.storageProblem() ?? (await services.probeStorage());
    const body = {
      status: problem === undefined ? "ok" : "unavailable",
      storage: problem === undefined ? "ok" : problem,
      version: services.version,
      uptime_s: Math.round((Date.now() - services.startedAt) / 1000),
      // Paused while storage is down: no false "no data" alerts from an outage.
      alerting: !services.alerting ? "off" : problem !== undefined || services.alerts.paused() !== undefined ? "paused" : "running",
    };
    return c.json(body, problem === undefined ? 200 : 503);
  });
  return app;
}
