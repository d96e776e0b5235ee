import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv, Services } from "../../app-env.js";
import type { Entity } from "../../alerts/entity-table.js";
import { matches, silenceSchema, silenceState, toMillis, type SilenceSpec } from "../../alerts/routing.js";
import { authenticate, requireScope } from "../../auth/middleware.js";
import { ApiError } from "../../errors.js";
import { invalidInput, parseInput } from "../../validate.js";
import { readJson } from "../keys.js";
import { paginate, pageQuerySchema } from "../paginate.js";
import { iso, newId, tenantOf } from "./shared.js";

const listQuery = pageQuerySchema.extend({
  state: z.enum(["pending", "active", "expired"], { error: "state is one of pending, active, expired" }).optional(),
});

export function presentSilence(entity: Entity<SilenceSpec>, now = Date.now()) {
  const s = entity.spec;
  return { id: entity.id, matchers: s.matchers, starts_at: iso(s.starts_at), ends_at: iso(s.ends_at), comment: s.comment, created_by: s.created_by, state: silenceState(s, now), updated_at: iso(entity.updated_at) };
}

/** `/api/alerts/silences` — alerts matching a silence's matchers are not notified between its start and end. */
export function silenceRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const engine = services.alerts;
  app.use("*", authenticate(services));

  function parse(body: unknown, createdBy: string): SilenceSpec {
    // What GET answers besides the silence (id, state, updated_at, matches_now) may be sent back unchanged.
    const isObject = typeof body === "object" && body !== null && !Array.isArray(body);
    const { id: _id, state: _state, updated_at: _updated, matches_now: _matches, ...rest } = isObject ? (body as Record<string, unknown>) : {};
    const input = parseInput(silenceSchema, isObject ? rest : body);
    const now = Date.now();
    let startsAt: number;
    let endsAt: number;
    try {
      startsAt = input.starts_at === undefined ? now : toMillis(input.starts_at, "starts_at");
      endsAt = toMillis(input.ends_at, "ends_at");
    } catch (error) {
      const message = (error as Error).message;
      throw invalidInput([{ path: [message.split(" ")[0]!], message }]);
    }
    if (endsAt <= now) throw invalidInput([{ path: ["ends_at"], message: "ends_at is in the past: the silence would never apply" }]);
    if (endsAt <= startsAt) throw invalidInput([{ path: ["ends_at"], message: "ends_at must be after starts_at" }]);
    return { matchers: input.matchers, starts_at: startsAt, ends_at: endsAt, comment: input.comment, created_by: input.created_by ?? createdBy };
  }

  app.get("/", requireScope("read", services), (c) => {
    const query = parseInput(listQuery, c.req.query());
    const now = Date.now();
    const list = engine.silences
      .list(tenantOf(c))
      .map((e) => presentSilence(e, now))
      .filter((s) => !query.state || s.state === query.state);
    return c.json(paginate(list, query, "silences"));
  });

  app.post("/", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const user = c.get("user");
    const spec = parse(await readJson(c.req.raw), user ? `user:${user.email}` : `key:${c.get("key").name}`);
    const id = newId("sil");
    await engine.silences.put({ tenant, id, spec, secrets: "", updated_at: Date.now() });
    const silenced = engine.active(tenant).filter((a) => matches(spec.matchers, a.view.labels)).length;
    services.log.info({ tenant, silence: id, matches_now: silenced }, "silence created");
    return c.json({ ...presentSilence(engine.silences.get(tenant, id)!), matches_now: silenced }, 201);
  });

  app.get("/:id", requireScope("read", services), (c) => {
    const entity = engine.silences.get(tenantOf(c), c.req.param("id"));
    if (!entity) throw new ApiError("not_found", `no silence "${c.req.param("id")}" in this tenant`);
    return c.json(presentSilence(entity));
  });

  app.put("/:id", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const id = c.req.param("id");
    const existing = engine.silences.get(tenant, id);
    if (!existing) throw new ApiError("not_found", `no silence "${id}" in this tenant`);
    const spec = parse(await readJson(c.req.raw), existing.spec.created_by);
    await engine.silences.put({ tenant, id, spec, secrets: "", updated_at: Date.now() });
    return c.json(presentSilence(engine.silences.get(tenant, id)!));
  });

  // Ends a silence now (kept as expired, for the record).
  app.delete("/:id", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const id = c.req.param("id");
    const existing = engine.silences.get(tenant, id);
    if (!existing) throw new ApiError("not_found", `no silence "${id}" in this tenant`);
    const now = Date.now();
    await engine.silences.put({ ...existing, spec: { ...existing.spec, ends_at: Math.min(existing.spec.ends_at, now), starts_at: Math.min(existing.spec.starts_at, now) }, updated_at: now });
    return c.body(null, 204);
  });
  return app;
}
