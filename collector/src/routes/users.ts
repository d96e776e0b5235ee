import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv, Services } from "../app-env.js";
import { authenticate, requireScope } from "../auth/middleware.js";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../auth/passwords.js";
import { ROLES } from "../auth/tokens.js";
import { ApiError } from "../errors.js";
import { parseInput } from "../validate.js";
import { readJson } from "./keys.js";
import { paginate, pageQuerySchema } from "./paginate.js";

const role = z.enum(ROLES, { error: `role is one of ${ROLES.join(", ")}: viewer reads, editor also changes configuration, admin also manages users and keys` });
const password = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `the password needs at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `the password has at most ${PASSWORD_MAX_LENGTH} characters`);
const name = z.string().trim().min(1, "name is required").max(100);

export const createUserSchema = z
  .object({
    email: z.email("email must be an email address, e.g. ana@example.com").max(320),
    name,
    role,
    password,
  })
  .strict();

export const updateUserSchema = z
  .object({ name: name.optional(), role: role.optional(), password: password.optional() })
  .strict()
  .refine((v) => v.name !== undefined || v.role !== undefined || v.password !== undefined, "give at least one of name, role, password");

/** `/api/users` — the tenant's dashboard users (admin only). Passwords are never returned, only their scrypt hashes are stored. */
export function userRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use("*", authenticate(services), requireScope("admin", services));

  app.get("/", async (c) => {
    const page = parseInput(pageQuerySchema, c.req.query());
    return c.json(paginate(await services.users.listUsers(c.get("scope")), page, "users"));
  });

  app.post("/", async (c) => {
    const input = parseInput(createUserSchema, await readJson(c.req.raw));
    return c.json({ user: await services.users.createUser(c.get("scope"), input) }, 201);
  });

  app.put("/:id", async (c) => {
    const change = parseInput(updateUserSchema, await readJson(c.req.raw));
    const user = await services.users.updateUser(c.get("scope"), c.req.param("id"), change);
    if (!user) throw new ApiError("not_found", `no user "${c.req.param("id")}" in this tenant`);
    return c.json({ user });
  });

  app.delete("/:id", async (c) => {
    const id = c.req.param("id");
    if (id === c.get("user")?.id) throw new ApiError("invalid_argument", "you cannot delete yourself: another admin can");
    if (!(await services.users.deleteUser(c.get("scope"), id))) throw new ApiError("not_found", `no user "${id}" in this tenant`);
    return c.body(null, 204);
  });

  return app;
}
