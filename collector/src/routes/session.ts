import { Hono, type Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { z } from "zod";
import type { AppEnv, Services } from "../app-env.js";
import { authenticate, SESSION_COOKIE } from "../auth/middleware.js";
import { PASSWORD_MAX_LENGTH } from "../auth/passwords.js";
import { csrfTokenOf, normaliseEmail, SESSION_TTL_MS, type User } from "../auth/user-store.js";
import { ApiError } from "../errors.js";
import { parseInput } from "../validate.js";
import { readJson } from "./keys.js";

const loginSchema = z
  .object({
    email: z.string().trim().min(1, "email is required").max(320),
    password: z.string().min(1, "password is required").max(PASSWORD_MAX_LENGTH),
  })
  .strict();

/**
 * The client's address for the rate limit. Behind `trustProxyHops` reverse proxies (an
 * ingress, a load balancer) the socket is the nearest proxy's, shared by every user:
 * the client is then the entry that many places from the right of X-Forwarded-For (the
 * entries further left were written by the client itself and prove nothing).
 */
function clientAddress(c: Context<AppEnv>, hops: number): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  const socket = incoming?.socket?.remoteAddress ?? "unknown";
  if (hops <= 0) return socket;
  const chain = (c.req.header("x-forwarded-for") ?? "").split(",").map((a) => a.trim()).filter(Boolean);
  return chain[chain.length - hops] ?? socket;
}

/**
 * A sign-in posted from another site's page (login CSRF: the victim would work in the
 * attacker's account) is refused. Browsers say where a request comes from; programs send
 * neither header and are not affected.
 */
function fromAnotherSite(c: Context<AppEnv>, services: Services): boolean {
  const site = c.req.header("sec-fetch-site");
  if (site !== undefined && site !== "same-origin" && site !== "none") return true;
  const origin = c.req.header("origin");
  if (origin === undefined) return false;
  try {
    const host = new URL(origin).host;
    return host !== c.req.header("host") && host !== (services.externalUrl ? new URL(services.externalUrl).host : undefined);
  } catch {
    return true;
  }
}

/** Secure cookies when the dashboard is reached over HTTPS, directly or through a proxy that says so. */
function isHttps(c: Context<AppEnv>, services: Services): boolean {
  return new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https" || (services.externalUrl ?? "").startsWith("https:");
}

function sessionBody(user: User, token: string) {
  return { user: { id: user.id, email: user.email, name: user.name, role: user.role, tenant: user.tenant }, csrf_token: csrfTokenOf(token) };
}

/**
 * `/api/session` — dashboard sign-in. POST checks email and password (rate-limited) and
 * sets an HttpOnly, SameSite=Strict cookie; GET tells the page who is signed in and the
 * CSRF token its state-changing requests must send; DELETE signs out.
 */
export function sessionRoutes(services: Services) {
  const app = new Hono<AppEnv>();

  app.post("/", async (c) => {
    const problem = services.storageProblem();
    if (problem !== undefined) throw new ApiError("unavailable", `storage is not ready (${problem}): retry later`, [], 5);
    if (fromAnotherSite(c, services)) throw new ApiError("permission_denied", "a sign-in must come from the dashboard's own pages: this request came from another site");
    const input = parseInput(loginSchema, await readJson(c.req.raw));
    const account = normaliseEmail(input.email);
    const address = clientAddress(c, services.trustProxyHops);
    const startedAt = Date.now();
    const wait = services.loginLimiter.begin(account, address, startedAt);
    if (wait > 0) throw new ApiError("resource_exhausted", `too many failed sign-ins: try again in ${wait} s`, [], wait);
    const user = await services.users.checkPassword(account, input.password);
    if (!user) {
      services.metrics.logins.inc({ outcome: "failed" });
      services.log.warn({ address }, "sign-in failed");
      throw new ApiError("unauthenticated", "wrong email or password");
    }
    services.loginLimiter.succeeded(account, address, startedAt);
    const { token } = await services.users.startSession(user);
    setCookie(c, SESSION_COOKIE, token, { httpOnly: true, sameSite: "Strict", path: "/", secure: isHttps(c, services), maxAge: Math.floor(SESSION_TTL_MS / 1000) });
    services.metrics.logins.inc({ outcome: "ok" });
    services.log.info({ tenant: user.tenant, user_id: user.id }, "signed in");
    return c.json(sessionBody(user, token));
  });

  app.get("/", authenticate(services), (c) => {
    const user = c.get("user");
    if (!user) throw new ApiError("invalid_argument", "this request used an API key, not a session: /api/session is the dashboard's sign-in");
    return c.json(sessionBody(user, getCookie(c, SESSION_COOKIE)!));
  });

  app.delete("/", authenticate(services), async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token) await services.users.endSession(token);
    deleteCookie(c, SESSION_COOKIE, { path: "/", httpOnly: true, sameSite: "Strict", secure: isHttps(c, services) });
    return c.body(null, 204);
  });

  return app;
}
