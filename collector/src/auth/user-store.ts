import { createHash, randomBytes } from "node:crypto";
import { nextRowVersion } from "@vigil/plugin-sdk";
import type { Logger } from "pino";
import { ApiError } from "../errors.js";
import type { Database } from "../storage/database.js";
import type { TenantScope } from "../storage/tenant-scope.js";
import { decoyHash, hashPassword, verifyPassword } from "./passwords.js";
import { hashToken, newId, type Role } from "./tokens.js";

export interface User {
  tenant: string;
  id: string;
  email: string;
  name: string;
  role: Role;
  created_at: string;
}

/** A user as stored: the password hash never leaves this module. */
interface UserRow {
  tenant: string;
  id: string;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  created_ms: number;
}

interface SessionRow {
  tenant: string;
  hash: string;
  user_id: string;
  created_ms: number;
  expires_ms: number;
}

const USER_COLUMNS = "tenant, id, email, name, role, password_hash, toUnixTimestamp64Milli(created_at) AS created_ms";
const SESSION_COLUMNS = "tenant, hash, user_id, toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(expires_at) AS expires_ms";
export const SESSION_TTL_MS = 7 * 24 * 3600_000;
/** Users changed on another replica (a role, a deletion) apply here within this time. */
const RELOAD_INTERVAL_MS = 15_000;
const SESSION_CACHE_MAX = 10_000;

function publicUser(row: UserRow): User {
  return { tenant: row.tenant, id: row.id, email: row.email, name: row.name, role: row.role, created_at: new Date(Number(row.created_ms)).toISOString() };
}

function storedUser(row: UserRow, deleted: boolean) {
  const { created_ms, ...rest } = row;
  return { ...rest, created_at: Number(created_ms), version: nextRowVersion(), is_deleted: deleted ? 1 : 0 };
}

/**
 * The CSRF token of a session is derived from its secret cookie value, so it needs no
 * storage and cannot be known without the cookie, which scripts on other sites never see.
 */
export function csrfTokenOf(sessionToken: string): string {
  return createHash("sha256").update(`csrf:${sessionToken}`).digest("base64url");
}

export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

/**
 * Dashboard users and their sessions, in ClickHouse (ReplacingMergeTree, FINAL) like
 * every configuration entity. Users are cached and reloaded every 15 s and on local
 * writes; a session is looked up once per replica and cached until it expires or is
 * ended here. A session resolves to its user's *current* role on every request, so a
 * role change or a deletion applies to open sessions too.
 */
export function createUserStore(db: Database, log: Logger) {
  let byId = new Map<string, UserRow>();
  let loadedAt = 0;
  let loading: Promise<void> | undefined;
  /** Sessions by hash, with when storage last confirmed them: a logout on another replica applies here within RELOAD_INTERVAL_MS. */
  const sessions = new Map<string, { row: SessionRow; checkedAt: number }>();

  function reload(): Promise<void> {
    loading ??= (async () => {
      try {
        const rows = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM ${db.table("users")} FINAL WHERE is_deleted = 0`);
        byId = new Map(rows.map((row) => [row.id, row]));
        loadedAt = Date.now();
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  }

  async function fresh(): Promise<void> {
    if (Date.now() - loadedAt <= RELOAD_INTERVAL_MS) return;
    try {
      await reload();
    } catch (error) {
      if (loadedAt === 0) throw new ApiError("unavailable", "storage is unavailable, so users cannot be checked: retry later", [], 5);
      log.warn({ err: (error as Error).message.split("\n")[0] }, "reloading users failed; using the cached users");
    }
  }

  function findByEmail(email: string): UserRow | undefined {
    const wanted = normaliseEmail(email);
    for (const row of byId.values()) if (row.email === wanted) return row;
    return undefined;
  }

  async function countUsers(): Promise<number> {
    const [row] = await db.query<{ n: number }>(`SELECT count() AS n FROM ${db.table("users")} FINAL WHERE is_deleted = 0`);
    return Number(row?.n ?? 0);
  }

  async function createUser(scope: TenantScope, input: { email: string; name: string; role: Role; password: string }): Promise<User> {
    await reload();
    const email = normaliseEmail(input.email);
    if (findByEmail(email)) throw new ApiError("failed_precondition", `a user with the email ${email} already exists: emails are unique, pick another or edit that user`);
    const row: UserRow = { tenant: scope.tenant, id: newId("usr"), email, name: input.name, role: input.role, password_hash: await hashPassword(input.password), created_ms: Date.now() };
    await scope.insert("users", [storedUser(row, false)]);
    await reload();
    log.info({ tenant: scope.tenant, user_id: row.id, role: row.role }, "user created");
    return publicUser(row);
  }

  async function userRow(scope: TenantScope, id: string): Promise<UserRow | undefined> {
    const [row] = await scope.query<UserRow>(`SELECT ${USER_COLUMNS} FROM ${scope.table("users")} FINAL WHERE tenant = {tenant:String} AND id = {id:String} AND is_deleted = 0`, { id });
    return row;
  }

  async function listUsers(scope: TenantScope): Promise<User[]> {
    const rows = await scope.query<UserRow>(`SELECT ${USER_COLUMNS} FROM ${scope.table("users")} FINAL WHERE tenant = {tenant:String} AND is_deleted = 0 ORDER BY created_ms DESC, id DESC`);
    return rows.map(publicUser);
  }

  async function adminsOf(scope: TenantScope): Promise<number> {
    const [row] = await scope.query<{ n: number }>(`SELECT count() AS n FROM ${scope.table("users")} FINAL WHERE tenant = {tenant:String} AND is_deleted = 0 AND role = 'admin'`);
    return Number(row?.n ?? 0);
  }

  async function updateUser(scope: TenantScope, id: string, change: { name?: string | undefined; role?: Role | undefined; password?: string | undefined }): Promise<User | undefined> {
    const row = await userRow(scope, id);
    if (!row) return undefined;
    if (change.role && change.role !== "admin" && row.role === "admin" && (await adminsOf(scope)) <= 1) {
      throw new ApiError("failed_precondition", "this is the tenant's last admin: make another user admin first, or nobody could manage users any more");
    }
    const next: UserRow = {
      ...row,
      ...(change.name !== undefined ? { name: change.name } : {}),
      ...(change.role !== undefined ? { role: change.role } : {}),
      ...(change.password !== undefined ? { password_hash: await hashPassword(change.password) } : {}),
    };
    await scope.insert("users", [storedUser(next, false)]);
    // A new password ends every session of the user: whoever knew the old one is out.
    if (change.password !== undefined) await endSessionsOf(scope.tenant, id);
    await reload();
    log.info({ tenant: scope.tenant, user_id: id, changed: Object.keys(change) }, "user changed");
    return publicUser(next);
  }

  async function deleteUser(scope: TenantScope, id: string): Promise<boolean> {
    const row = await userRow(scope, id);
    if (!row) return false;
    if (row.role === "admin" && (await adminsOf(scope)) <= 1) {
      throw new ApiError("failed_precondition", "this is the tenant's last admin: make another user admin first, or nobody could manage users any more");
    }
    await scope.insert("users", [storedUser(row, true)]);
    await endSessionsOf(scope.tenant, id);
    await reload();
    log.info({ tenant: scope.tenant, user_id: id }, "user deleted");
    return true;
  }

  /** The user whose email and password these are; undefined otherwise, after the same work either way. */
  async function checkPassword(email: string, password: string): Promise<User | undefined> {
    await fresh();
    const row = findByEmail(email);
    const ok = await verifyPassword(password, row?.password_hash ?? (await decoyHash()));
    return row && ok ? publicUser(row) : undefined;
  }

  /** Starts a session; the token goes in the cookie and is never stored, only its hash. */
  async function startSession(user: User): Promise<{ token: string; expiresAt: number }> {
    const token = randomBytes(32).toString("base64url");
    const now = Date.now();
    const row: SessionRow = { tenant: user.tenant, hash: hashToken(token), user_id: user.id, created_ms: now, expires_ms: now + SESSION_TTL_MS };
    await db.insert("sessions", [sessionRecord(row, false)]);
    remember(row);
    return { token, expiresAt: row.expires_ms };
  }

  function sessionRecord(row: SessionRow, deleted: boolean) {
    return { tenant: row.tenant, hash: row.hash, user_id: row.user_id, created_at: Number(row.created_ms), expires_at: Number(row.expires_ms), version: nextRowVersion(), is_deleted: deleted ? 1 : 0 };
  }

  function remember(row: SessionRow): void {
    if (sessions.size >= SESSION_CACHE_MAX) sessions.delete(sessions.keys().next().value!);
    sessions.set(row.hash, { row, checkedAt: Date.now() });
  }

  function storedSession(hash: string): Promise<SessionRow | undefined> {
    return db
      .query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM ${db.table("sessions")} FINAL WHERE hash = {hash:String} AND is_deleted = 0`, { hash })
      .then((rows) => rows[0]);
  }

  async function endSessionsOf(tenant: string, userId: string): Promise<void> {
    const rows = await db.query<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM ${db.table("sessions")} FINAL WHERE tenant = {tenant:String} AND user_id = {user:String} AND is_deleted = 0`,
      { tenant, user: userId },
    );
    for (const [hash, cached] of sessions) if (cached.row.user_id === userId) sessions.delete(hash);
    if (rows.length > 0) await db.insert("sessions", rows.map((row) => sessionRecord(row, true)));
  }

  /** The user behind a session cookie, with their current role; undefined when the session is unknown, ended or expired. */
  async function sessionUser(token: string): Promise<User | undefined> {
    const hash = hashToken(token);
    const cached = sessions.get(hash);
    let row = cached?.row;
    if (!cached || Date.now() - cached.checkedAt > RELOAD_INTERVAL_MS) {
      try {
        row = await storedSession(hash);
      } catch (error) {
        // Storage is away: a session this replica already knows still works.
        if (!cached) throw new ApiError("unavailable", "storage is unavailable, so the session cannot be checked: retry later", [], 5);
        log.warn({ err: (error as Error).message.split("\n")[0] }, "checking a session failed; using the cached one");
      }
      if (row) remember(row);
      else sessions.delete(hash);
    }
    if (!row || Number(row.expires_ms) <= Date.now()) return undefined;
    await fresh();
    if (!byId.has(row.user_id)) await reload().catch(() => undefined);
    const user = byId.get(row.user_id);
    return user && user.tenant === row.tenant ? publicUser(user) : undefined;
  }

  async function endSession(token: string): Promise<void> {
    const hash = hashToken(token);
    const row = sessions.get(hash)?.row ?? (await storedSession(hash));
    sessions.delete(hash);
    if (row) await db.insert("sessions", [sessionRecord(row, true)]);
  }

  return { reload, countUsers, createUser, listUsers, updateUser, deleteUser, checkPassword, startSession, sessionUser, endSession };
}

export type UserStore = ReturnType<typeof createUserStore>;
