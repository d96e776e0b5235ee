import type { MiddlewareHandler } from "hono";
import type { AppEnv, Services } from "../app-env.js";
import { ApiError } from "../errors.js";
import { scopeToTenant } from "../storage/tenant-scope.js";
import { hasScope, type Scope } from "./tokens.js";

/**
 * Resolves `Authorization: Bearer <key>` to a key and binds the request to that key's
 * tenant: handlers only ever see `c.var.scope`, a tenant-bound view of storage.
 */
export function authenticate(services: Services): MiddlewareHandler<AppEnv> {
  return async function authenticateRequest(c, next) {
    const problem = services.storageProblem();
    if (problem !== undefined) throw new ApiError("unavailable", `storage is not ready (${problem}): retry later`, [], 5);
    const header = c.req.header("authorization");
    if (!header) {
      throw new ApiError("unauthenticated", 'missing API key: send the header "Authorization: Bearer <key>"');
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) {
      throw new ApiError("unauthenticated", 'the Authorization header must be "Bearer <key>"');
    }
    const key = await services.keys.authenticate(match[1]!);
    if (!key) {
      throw new ApiError("unauthenticated", "the API key is not valid: it is unknown or was revoked");
    }
    c.set("key", key);
    c.set("scope", scopeToTenant(services.db, key.tenant));
    await next();
  };
}

export function requireScope(needed: Scope, services: Services): MiddlewareHandler<AppEnv> {
  return async function requireKeyScope(c, next) {
    const key = c.get("key");
    if (!hasScope(key.scopes, needed)) {
      throw new ApiError(
        "permission_denied",
        `this key has scopes [${key.scopes.join(", ")}] but this endpoint needs "${needed}": use a key with that scope`,
      );
    }
    await next();
  };
}
