// Bluesky sign-in with a handle and an app password. createSession is rate limited hard
// (about 30 per 5 minutes and 300 a day per account), so a session is kept in memory per
// service and account and reused across runs and jobs: its access token until shortly
// before it expires, then refreshSession, and createSession only when that fails.
import { createHash } from "node:crypto";
import { z } from "zod";
import { PlatformError, type AdapterContext } from "../contract.js";
import type { HttpResponse } from "@vigil/plugin-sdk";
import { requestPlatform, statusError, type Subject } from "./http.js";
import { readJson } from "./payload.js";

export interface BlueskyLogin {
  /** The PDS that signs in: credentials.service, else bsky.social. */
  service: string;
  identifier: string;
  password: string;
}

interface Session {
  accessJwt: string;
  refreshJwt: string;
  /** Epoch ms after which the access token is not used. */
  useUntil: number;
}

const sessionSchema = z.object({ accessJwt: z.string().min(1), refreshJwt: z.string().min(1) });

/** Stop using an access token this long before it says it expires. */
const EARLY_REFRESH_MS = 60_000;
/** Assumed lifetime of an access token whose expiry cannot be read. */
const DEFAULT_ACCESS_LIFETIME_MS = 15 * 60_000;

const sessions = new Map<string, Session>();
/** Sign-ins and refreshes under way, shared by the runs that need them at once (they use the first run's deadline). */
const renewing = new Map<string, Promise<Session>>();

/** A valid access token for the account, signing in or refreshing as needed. */
export async function blueskyAccessToken(ctx: AdapterContext, login: BlueskyLogin): Promise<string> {
  const key = sessionKey(login);
  const current = sessions.get(key);
  if (current && current.useUntil > Date.now()) return current.accessJwt;
  let pending = renewing.get(key);
  if (!pending) {
    pending = renew(ctx, login, current)
      .then((session) => (sessions.set(key, session), session))
      .finally(() => renewing.delete(key));
    renewing.set(key, pending);
  }
  return (await pending).accessJwt;
}

/** Drops the account's access token after the platform refused it, so the next call refreshes. */
export function expireBlueskyAccess(login: BlueskyLogin): void {
  const session = sessions.get(sessionKey(login));
  if (session) session.useUntil = 0;
}

async function renew(ctx: AdapterContext, login: BlueskyLogin, previous: Session | undefined): Promise<Session> {
  if (previous) {
    try {
      return await refresh(ctx, login, previous.refreshJwt);
    } catch (error) {
      // A refresh token that expired or was revoked: sign in afresh. Anything else (429, timeout) fails the run.
      if (!(error instanceof PlatformError && error.kind === "unauthorized")) throw error;
    }
  }
  return createSession(ctx, login);
}

async function createSession(ctx: AdapterContext, login: BlueskyLogin): Promise<Session> {
  const subject: Subject = {
    platform: "Bluesky",
    what: `the sign-in of ${login.identifier} at ${login.service}`,
    ifNotFound: "check credentials.service: it must be the address of the account's PDS (https://bsky.social for most accounts)",
    ifUnauthorized: "check credentials.identifier and credentials.password; use an app password (Settings → Privacy and security → App passwords), not the account password",
  };
  const response = await requestPlatform(ctx, `${login.service}/xrpc/com.atproto.server.createSession`, subject, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ identifier: login.identifier, password: login.password }),
  });
  return session(readJson(response, sessionSchema, subject));
}

async function refresh(ctx: AdapterContext, login: BlueskyLogin, refreshJwt: string): Promise<Session> {
  const subject: Subject = {
    platform: "Bluesky",
    what: `the session refresh of ${login.identifier}`,
    ifNotFound: "check credentials.service",
    ifUnauthorized: "the session ended; Vigil signs in again",
  };
  const response = await requestPlatform(ctx, `${login.service}/xrpc/com.atproto.server.refreshSession`, subject, {
    method: "POST",
    headers: { authorization: `Bearer ${refreshJwt}` },
    explain: (answer, detail) => (isTokenRefusal(answer) ? statusError(answer.status, subject, detail, 401) : undefined),
  });
  return session(readJson(response, sessionSchema, subject));
}

function session(tokens: z.output<typeof sessionSchema>): Session {
  const expiresAt = jwtExpiry(tokens.accessJwt) ?? Date.now() + DEFAULT_ACCESS_LIFETIME_MS;
  return { ...tokens, useUntil: expiresAt - EARLY_REFRESH_MS };
}

/** The `exp` claim of a JWT, in epoch ms; undefined when it cannot be read. */
function jwtExpiry(jwt: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8")) as { exp?: unknown };
    return typeof payload.exp === "number" ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

function sessionKey(login: BlueskyLogin): string {
  // The password is part of the key (hashed, never kept in clear twice), so a changed one signs in anew.
  const secret = createHash("sha256").update(login.password).digest("base64url");
  return `${login.service}\u0000${login.identifier.toLowerCase()}\u0000${secret}`;
}

/** XRPC refuses an expired or unknown token with 400 ExpiredToken / InvalidToken as well as with 401. */
export function isTokenRefusal(response: HttpResponse): boolean {
  if (response.status === 401) return true;
  if (response.status !== 400) return false;
  try {
    const { error } = JSON.parse(response.text) as { error?: unknown };
    return error === "ExpiredToken" || error === "InvalidToken";
  } catch {
    return false;
  }
}
