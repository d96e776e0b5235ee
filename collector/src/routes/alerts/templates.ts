import { Hono } from "hono";
import { z } from "zod";
import type { AlertTemplate } from "@vigil/plugin-sdk";
import type { AppEnv, Services } from "../../app-env.js";
import { authenticate, requireScope } from "../../auth/middleware.js";
import { ApiError } from "../../errors.js";
import { parseInput } from "../../validate.js";
import { readJson } from "../keys.js";
import { presentRule, validateRule } from "./rules.js";
import { newId, tenantOf } from "./shared.js";

const installSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "id is 1–64 letters, digits, '_' or '-'").optional(),
    overrides: z.record(z.string(), z.unknown()).default({}).describe("Rule fields that replace the template's (name, threshold, labels, …)."),
  })
  .strict();

/** `/api/alerts/templates` — ready-made rules for the seeds' alerts; install one as a rule of the tenant. */
export function templateRoutes(services: Services, templates: readonly AlertTemplate[]) {
  const app = new Hono<AppEnv>();
  const engine = services.alerts;
  app.use("*", authenticate(services));
  app.get("/", requireScope("read", services), (c) => c.json({ templates }));

  app.post("/:id/install", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const template = templates.find((t) => t.id === c.req.param("id"));
    if (!template) throw new ApiError("not_found", `no template "${c.req.param("id")}": GET /api/alerts/templates lists them`);
    const input = parseInput(installSchema, await readJson(c.req.raw));
    const id = input.id ?? newId("rule");
    if (engine.rules.get(tenant, id)) throw new ApiError("failed_precondition", `a rule with id "${id}" exists`);
    const body = { ...template.rule, ...input.overrides };
    const validated = await validateRule(c.get("scope"), body, id);
    await engine.rules.put({ tenant, id, spec: { input: validated.input, origin: `template:${template.id}`, rule: validated.rule }, secrets: "", updated_at: Date.now() });
    engine.ruleChanged(tenant, id, undefined);
    return c.json(presentRule(engine, engine.rules.get(tenant, id)!), 201);
  });
  return app;
}
