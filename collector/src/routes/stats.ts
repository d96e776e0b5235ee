import { Hono } from "hono";
import type { AppEnv, Services } from "../app-env.js";
import { authenticate, requireScope } from "../auth/middleware.js";
import { eventStats } from "../storage/event-queries.js";

/** `GET /api/stats` — the tenant's event counts of the last 24 h and its current ingest rate. */
export function statsRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use("*", authenticate(services));
  app.get("/", requireScope("read", services), async (c) => c.json(await eventStats(c.get("scope"))));
  return app;
}
