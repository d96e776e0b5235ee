import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv, Services } from "../../app-env.js";
import type { AlertEngine, StoredRule } from "../../alerts/engine.js";
import type { Entity } from "../../alerts/entity-table.js";
import { historyNeeded } from "../../alerts/evaluate.js";
import { nonNumericFields } from "../../alerts/field-check.js";
import { AGGREGATIONS, ruleSchema, type Rule } from "../../alerts/rule.js";
import { authenticate, requireScope } from "../../auth/middleware.js";
import type { TenantScope } from "../../storage/tenant-scope.js";
import { ApiError } from "../../errors.js";
import { invalidInput, parseInput } from "../../validate.js";
import { readJson } from "../keys.js";
import { paginate, pageQuerySchema } from "../paginate.js";
import { iso, newId, refuseFileManaged, tenantOf } from "./shared.js";

const listQuery = pageQuerySchema.extend({
  kind: z.enum(["threshold", "absence", "anomaly", "event"], { error: "kind is one of threshold, absence, anomaly, event" }).optional(),
});

/** A rule as the API shows it: what was given, where it came from, and how it stands now. */
export function presentRule(engine: AlertEngine, entity: Entity<StoredRule>) {
  const { rule } = entity.spec;
  const states = engine.statesOf(entity.tenant, rule.id);
  const counts: Record<string, number> = {};
  for (const s of states) counts[s.state] = (counts[s.state] ?? 0) + 1;
  const status = engine.statusOf(entity.tenant, rule.id);
  const history =
    rule.kind === "anomaly"
      ? {
          need_s: Math.round((status?.history?.need_ms ?? historyNeeded(rule)) / 1000),
          have_s: Math.round((status?.history?.have_ms ?? 0) / 1000),
          ready: (status?.history?.have_ms ?? 0) >= (status?.history?.need_ms ?? historyNeeded(rule)),
        }
      : undefined;
  return {
    ...entity.spec.input,
    id: rule.id,
    origin: entity.spec.origin,
    updated_at: iso(entity.updated_at),
    status: {
      states: counts,
      last_eval_at: iso(status?.last_eval_at),
      last_duration_ms: status?.last_duration_ms ?? null,
      last_error: status?.last_error ?? null,
      ...(history ? { history } : {}),
    },
  };
}

/** Validates a rule body the way files are: schema first, then the numeric-field check against recent data. */
export async function validateRule(scope: TenantScope, body: unknown, id: string): Promise<{ input: Record<string, unknown>; rule: Rule }> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError("invalid_argument", `the body must be a rule object: {"kind": "threshold", "name": …} (aggregations: ${AGGREGATIONS.join(", ")})`);
  // What GET answers besides the rule (id, origin, status, groups) may be sent back unchanged.
  const { id: _ignored, origin: _origin, status: _status, updated_at: _updated, groups: _groups, ...input } = body as Record<string, unknown>;
  const parsed = parseInput(ruleSchema, { ...input, id });
  const rule = { ...parsed, id } as Rule;
  const problems = await nonNumericFields(scope, rule);
  if (problems.length) throw invalidInput(problems.map((p) => ({ path: p.path.split("."), message: p.message })));
  return { input, rule };
}

/** `/api/alerts/rules` — the tenant's alert rules (read: read scope; changes: admin). */
export function ruleRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const engine = services.alerts;
  app.use("*", authenticate(services));
  app.get("/", requireScope("read", services), (c) => {
    const query = parseInput(listQuery, c.req.query());
    const list = engine.rules
      .list(tenantOf(c))
      .filter((e) => !query.kind || e.spec.rule.kind === query.kind)
      .map((e) => presentRule(engine, e));
    return c.json(paginate(list, query, "rules"));
  });

  app.post("/preview", requireScope("read", services), async (c) => {
    const { rule } = await validateRule(c.get("scope"), await readJson(c.req.raw), "preview");
    const now = Date.now();
    const evaluation = await engine.preview(tenantOf(c), rule, now);
    return c.json({
      evaluated_at: iso(now),
      samples: evaluation.samples.map((s) => ({ labels: s.labels, value: s.value, active: s.active })),
      no_data: evaluation.noData ? true : false,
      ...(evaluation.history ? { history: { need_s: Math.round(evaluation.history.need_ms / 1000), have_s: Math.round(evaluation.history.have_ms / 1000), ready: evaluation.history.have_ms >= evaluation.history.need_ms } } : {}),
      ...(rule.kind === "event" ? { note: "event rules fire per matching event at ingest; there is no current value" } : {}),
    });
  });

  app.post("/", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const body = await readJson(c.req.raw);
    const wanted = (body as { id?: unknown })?.id;
    const id = typeof wanted === "string" && wanted ? wanted : newId("rule");
    if (engine.rules.get(tenant, id)) throw new ApiError("failed_precondition", `a rule with id "${id}" exists: replace it with PUT /api/alerts/rules/${id}`);
    const { input, rule } = await validateRule(c.get("scope"), body, id);
    await engine.rules.put({ tenant, id, spec: { input, origin: "api", rule }, secrets: "", updated_at: Date.now() });
    engine.ruleChanged(tenant, id, undefined);
    services.log.info({ tenant, rule: id, kind: rule.kind }, "alert rule created");
    return c.json(presentRule(engine, engine.rules.get(tenant, id)!), 201);
  });

  app.get("/:id", requireScope("read", services), (c) => {
    const entity = engine.rules.get(tenantOf(c), c.req.param("id"));
    if (!entity) throw new ApiError("not_found", `no rule "${c.req.param("id")}" in this tenant`);
    const states = engine.statesOf(entity.tenant, entity.id).map((s) => ({
      fingerprint: s.fingerprint,
      labels: s.labels,
      state: s.state,
      value: s.value,
      active_since: iso(s.active_since),
      firing_since: iso(s.fired_at),
      message: s.message || null,
    }));
    return c.json({ ...presentRule(engine, entity), groups: states });
  });

  app.put("/:id", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const id = c.req.param("id");
    const existing = engine.rules.get(tenant, id);
    if (!existing) throw new ApiError("not_found", `no rule "${id}" in this tenant: create it with POST /api/alerts/rules`);
    refuseFileManaged(existing, "rule");
    const { input, rule } = await validateRule(c.get("scope"), await readJson(c.req.raw), id);
    await engine.rules.put({ tenant, id, spec: { input, origin: existing.spec.origin, rule }, secrets: "", updated_at: Date.now() });
    engine.ruleChanged(tenant, id, existing.spec.rule);
    return c.json(presentRule(engine, engine.rules.get(tenant, id)!));
  });

  app.delete("/:id", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const id = c.req.param("id");
    const existing = engine.rules.get(tenant, id);
    if (!existing) throw new ApiError("not_found", `no rule "${id}" in this tenant`);
    refuseFileManaged(existing, "rule");
    await engine.rules.remove(tenant, id);
    engine.ruleChanged(tenant, id, existing.spec.rule);
    return c.body(null, 204);
  });
  return app;
}
