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
      alerting: alertingRole(services, problem),
    };
    return c.json(body, problem === undefined ? 200 : 503);
  });
  // Liveness: the process and its event loop answer, whatever storage does. A restart
  // would not bring ClickHouse back, and agents buffer meanwhile; readiness is `/health`.
  app.get("/live", (c) => c.json({ status: "ok", version: services.version, uptime_s: Math.round((Date.now() - services.startedAt) / 1000) }));
  return app;
}

/**
 * What this replica does about alerts: `leader` (it holds the alert lease and evaluates
 * rules), `follower` (another replica does), `paused` (storage is down: no false "no
 * data" alerts from an outage) or `off` (VIGIL_ALERTING=off).
 */
function alertingRole(services: Services, storageProblem: string | undefined): "leader" | "follower" | "paused" | "off" {
  if (!services.alerting) return "off";
  if (storageProblem !== undefined) return "paused";
  if (!services.alerts.leading()) return "follower";
  return services.alerts.paused() === undefined ? "leader" : "paused";
}
