import { timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { getCookie } from "hono/cookie";
import type { AppEnv, Services } from "../app-env.js";
import { ApiError } from "../errors.js";
import { scopeToTenant } from "../storage/tenant-scope.js";
import type { ApiKey } from "./key-store.js";
import { hasScope, scopesOfRole, type Scope } from "./tokens.js";
import { csrfTokenOf, type User } from "./user-store.js";

export const SESSION_COOKIE = "vigil_session";
export const CSRF_HEADER = "x-csrf-token";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** A signed-in user acts with their role's scopes; the principal looks like a key so every route treats both alike. */
export function principalOf(user: User): ApiKey {
  return { tenant: user.tenant, id: user.id, name: `user:${user.email}`, prefix: "", scopes: scopesOfRole(user.role), created_at: user.created_at };
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The dashboard's session cookie. A state-changing request made with it must also carry
 * the session's CSRF token in `X-CSRF-Token`: SameSite=Strict already keeps other sites'
 * requests from carrying the cookie, and the token is the second, independent guard.
 */
async function authenticateSession(c: Context<AppEnv>, services: Services, token: string): Promise<void> {
  const user = await services.users.sessionUser(token);
  if (!user) throw new ApiError("unauthenticated", "your session has ended or expired: sign in again");
  if (!SAFE_METHODS.has(c.req.method)) {
    const sent = c.req.header(CSRF_HEADER);
    if (!sent || !sameText(sent, csrfTokenOf(token))) {
      throw new ApiError("permission_denied", `a ${c.req.method} with a session cookie needs the session's CSRF token in the X-CSRF-Token header (GET /api/session gives it): reload the page`);
    }
  }
  c.set("key", principalOf(user));
  c.set("user", user);
  c.set("scope", scopeToTenant(services.db, user.tenant));
}

/**
 * Resolves `Authorization: Bearer <key>`, or the dashboard's session cookie, to a
 * principal and binds the request to its tenant: handlers only ever see `c.var.scope`,
 * a tenant-bound view of storage.
 */
export function authenticate(services: Services): MiddlewareHandler<AppEnv> {
  return async function authenticateRequest(c, next) {
    const problem = services.storageProblem();
    if (problem !== undefined) throw new ApiError("unavailable", `storage is not ready (${problem}): retry later`, [], 5);
    const header = c.req.header("authorization");
    if (!header) {
      const session = getCookie(c, SESSION_COOKIE);
      if (session) {
        await authenticateSession(c, services, session);
        return next();
      }
      throw new ApiError("unauthenticated", 'not signed in: sign in to the dashboard, or send the header "Authorization: Bearer <key>"');
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
        c.get("user")
          ? `your role "${c.get("user")!.role}" cannot do this (it needs the "${needed}" scope${needed === "write" ? ": an editor or admin can" : ": an admin can"})`
          : `this key has scopes [${key.scopes.join(", ")}] but this endpoint needs "${needed}": use a key with that scope`,
      );
    }
    await next();
  };
}
