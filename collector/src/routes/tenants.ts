import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv, Services } from "../app-env.js";
import { authenticate, requireScope } from "../auth/middleware.js";
import { newId } from "../auth/tokens.js";
import { ApiError } from "../errors.js";
import { scopeToTenant } from "../storage/tenant-scope.js";
import { readJson } from "./keys.js";
import { parseInput } from "../validate.js";

const createTenantSchema = z
  .object({
    name: z.string().trim().min(1, "name is required").max(100),
    id: z
      .string()
      .regex(/^[a-z][a-z0-9-]{2,40}$/, "id is 3–41 characters: lower-case letters, digits and '-', starting with a letter")
      .optional(),
  })
  .strict();

/**
 * `POST /api/tenants` — a new tenant and its first admin key. Only admin keys of an
 * operator tenant (the default tenant made at first start) may do this; a tenant's
 * own admins manage only their own tenant.
 */
export function tenantRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use("*", authenticate(services), requireScope("admin", services));
  app.post("/", async (c) => {
    const caller = await services.keys.getTenant(c.get("key").tenant);
    if (!caller?.operator) throw new ApiError("permission_denied", "only admin keys of the operator tenant may create tenants");
    const input = parseInput(createTenantSchema, await readJson(c.req.raw));
    const id = input.id ?? newId("t");
    if (await services.keys.getTenant(id)) throw new ApiError("invalid_argument", `tenant "${id}" already exists: choose another id`);
    const tenant = await services.keys.createTenant({ id, name: input.name, operator: false });
    const { key, token } = await services.keys.createKey(scopeToTenant(services.db, id), { name: "first admin key", scopes: ["admin"] });
    services.log.info({ tenant: id }, "tenant created");
    return c.json({ tenant, key, token }, 201);
  });
  return app;
}
