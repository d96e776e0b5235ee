import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv, Services } from "../../app-env.js";
import { isSilenced } from "../../alerts/routing.js";
import { authenticate, requireScope } from "../../auth/middleware.js";
import { parseInput } from "../../validate.js";
import { iso, tenantOf } from "./shared.js";

const query = z
  .object({
    state: z.enum(["pending", "firing", "nodata", "error", "flapping"], { error: "state is one of pending, firing, nodata, error, flapping" }).optional(),
    rule_id: z.string().min(1).optional(),
  })
  .strict();

/** `GET /api/alerts` — what is not ok now: firing, pending, no data, error and flapping alerts, with their silences. */
export function firingRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const engine = services.alerts;
  app.use("*", authenticate(services), requireScope("read", services));
  app.get("/", (c) => {
    const q = parseInput(query, c.req.query());
    const tenant = tenantOf(c);
    const now = Date.now();
    const silences = engine.silences.list(tenant).map((s) => s.spec);
    const alerts = engine
      .active(tenant)
      .filter((a) => (!q.state || a.state.state === q.state) && (!q.rule_id || a.rule.id === q.rule_id))
      .map(({ rule, state, view }) => ({
        fingerprint: state.fingerprint,
        rule_id: rule.id,
        rule_name: rule.name,
        kind: rule.kind,
        state: state.state,
        labels: view.labels,
        annotations: view.annotations,
        value: state.value,
        active_since: iso(state.active_since),
        firing_since: iso(state.fired_at),
        silenced: isSilenced(silences, view.labels, now),
        message: state.message || null,
      }))
      .sort((a, b) => (b.firing_since ?? b.active_since ?? "").localeCompare(a.firing_since ?? a.active_since ?? ""));
    return c.json({ alerts, evaluation_paused: engine.paused() ?? null });
  });
  return app;
}
