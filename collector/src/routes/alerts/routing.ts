import { Hono } from "hono";
import type { AppEnv, Services } from "../../app-env.js";
import type { Entity } from "../../alerts/entity-table.js";
import { routeSchema, type RouteSpec } from "../../alerts/routing.js";
import { authenticate, requireScope } from "../../auth/middleware.js";
import { ApiError } from "../../errors.js";
import { invalidInput, parseInput } from "../../validate.js";
import { readJson } from "../keys.js";
import { formatDuration } from "@vigil/plugin-sdk";
import { paginate, pageQuerySchema } from "../paginate.js";
import { iso, newId, refuseFileManaged, tenantOf } from "./shared.js";

type StoredRoute = RouteSpec & { origin: string };


export function presentRoute(entity: Entity<StoredRoute>) {
  const { group_wait, group_interval, repeat_interval, ...rest } = entity.spec;
  return { id: entity.id, ...rest, group_wait: formatDuration(group_wait), group_interval: formatDuration(group_interval), repeat_interval: formatDuration(repeat_interval), updated_at: iso(entity.updated_at) };
}

/** `/api/alerts/routes` — which channels alerts go to (by their labels) and how they are grouped. */
export function routingRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const engine = services.alerts;
  app.use("*", authenticate(services));

  function parse(tenant: string, body: unknown): RouteSpec {
    const { id: _id, updated_at: _u, origin: _o, ...rest } = (body ?? {}) as Record<string, unknown>;
    const spec = parseInput(routeSchema, rest);
    const unknown = spec.channels.filter((id) => !engine.channels.get(tenant, id));
    if (unknown.length) throw invalidInput([{ path: ["channels"], message: `no channel ${unknown.map((u) => `"${u}"`).join(", ")} in this tenant: create it first (POST /api/alerts/channels)` }]);
    return spec;
  }

  app.get("/", requireScope("read", services), (c) => {
    const page = parseInput(pageQuerySchema, c.req.query());
    const list = engine.routes.list(tenantOf(c)).sort((a, b) => a.spec.position - b.spec.position || a.id.localeCompare(b.id));
    return c.json(paginate(list.map(presentRoute), page, "routes"));
  });

  app.post("/", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const body = await readJson(c.req.raw);
    const wanted = (body as { id?: unknown })?.id;
    if (wanted !== undefined && (typeof wanted !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(wanted))) throw invalidInput([{ path: ["id"], message: "id is 1–64 letters, digits, '_' or '-'" }]);
    const id = (wanted as string | undefined) ?? newId("route");
    if (engine.routes.get(tenant, id)) throw new ApiError("failed_precondition", `a route with id "${id}" exists: replace it with PUT /api/alerts/routes/${id}`);
    const spec = parse(tenant, body);
    await engine.routes.put({ tenant, id, spec: { ...spec, origin: "api" }, secrets: "", updated_at: Date.now() });
    return c.json(presentRoute(engine.routes.get(tenant, id)!), 201);
  });

  app.get("/:id", requireScope("read", services), (c) => {
    const entity = engine.routes.get(tenantOf(c), c.req.param("id"));
    if (!entity) throw new ApiError("not_found", `no route "${c.req.param("id")}" in this tenant`);
    return c.json(presentRoute(entity));
  });

  app.put("/:id", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const id = c.req.param("id");
    const existing = engine.routes.get(tenant, id);
    if (!existing) throw new ApiError("not_found", `no route "${id}" in this tenant: create it with POST /api/alerts/routes`);
    refuseFileManaged(existing, "route");
    const spec = parse(tenant, await readJson(c.req.raw));
    await engine.routes.put({ tenant, id, spec: { ...spec, origin: existing.spec.origin }, secrets: "", updated_at: Date.now() });
    return c.json(presentRoute(engine.routes.get(tenant, id)!));
  });

  app.delete("/:id", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const id = c.req.param("id");
    const existing = engine.routes.get(tenant, id);
    if (!existing) throw new ApiError("not_found", `no route "${id}" in this tenant`);
    refuseFileManaged(existing, "route");
    await engine.routes.remove(tenant, id);
    return c.body(null, 204);
  });
  return app;
}
