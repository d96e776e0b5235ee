import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv, Services } from "../app-env.js";
import { authenticate, requireScope } from "../auth/middleware.js";
import { SCOPES } from "../auth/tokens.js";
import { ApiError } from "../errors.js";
import { paginate, pageQuerySchema } from "./paginate.js";
import { parseInput } from "../validate.js";

export const createKeySchema = z
  .object({
    name: z.string().trim().min(1, "name is required: say what the key is for, e.g. \"agent web-1\"").max(100),
    scopes: z
      .array(z.enum(SCOPES, { error: `each scope is one of ${SCOPES.join(", ")}` }))
      .min(1, `give at least one scope: ${SCOPES.join(", ")}`)
      .default(["ingest"]),
  })
  .strict();

/** `/api/keys` — the tenant's API keys (admin only). A new key's token is shown once. */
export function keyRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use("*", authenticate(services), requireScope("admin", services));

  app.post("/", async (c) => {
    const input = parseInput(createKeySchema, await readJson(c.req.raw));
    const { key, token } = await services.keys.createKey(c.get("scope"), { name: input.name, scopes: [...new Set(input.scopes)] });
    services.log.info({ tenant: key.tenant, key_id: key.id, scopes: key.scopes }, "api key created");
    return c.json({ key, token }, 201);
  });

  app.get("/", async (c) => {
    const page = parseInput(pageQuerySchema, c.req.query());
    return c.json(paginate(await services.keys.listKeys(c.get("scope")), page, "keys"));
  });

  app.delete("/:id", async (c) => {
    const id = c.req.param("id");
    if (id === c.get("key").id) throw new ApiError("invalid_argument", "a key cannot revoke itself: revoke it with another admin key");
    if (!(await services.keys.revokeKey(c.get("scope"), id))) throw new ApiError("not_found", `no key "${id}" in this tenant`);
    return c.body(null, 204);
  });

  return app;
}

export async function readJson(request: Request): Promise<unknown> {
  const text = await request.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ApiError("invalid_argument", `the body is not valid JSON: ${(error as Error).message}`);
  }
}
