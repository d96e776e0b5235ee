import { nextRowVersion } from "@vigil/plugin-sdk";
import type { Logger } from "pino";
import { ApiError } from "../errors.js";
import type { Database } from "../storage/database.js";
import type { TenantScope } from "../storage/tenant-scope.js";
import { generateToken, hashToken, newId, tokenPrefix, type Scope } from "./tokens.js";

export interface ApiKey {
  tenant: string;
  id: string;
  name: string;
  prefix: string;
  scopes: Scope[];
  created_at: string;
}

export interface Tenant {
  id: string;
  name: string;
  operator: boolean;
  created_at: string;
}

/** A key as stored: never leaves this module with its hash. */
interface KeyRow {
  tenant: string;
  id: string;
  name: string;
  prefix: string;
  hash: string;
  scopes: Scope[];
  created_ms: number;
}

const KEY_COLUMNS = "tenant, id, name, prefix, hash, scopes, toUnixTimestamp64Milli(created_at) AS created_ms";
const RELOAD_INTERVAL_MS = 15_000;
const MISS_RELOAD_MIN_GAP_MS = 1_000;


function publicKey(row: KeyRow): ApiKey {
  return { tenant: row.tenant, id: row.id, name: row.name, prefix: row.prefix, scopes: row.scopes, created_at: new Date(Number(row.created_ms)).toISOString() };
}

function storedKey(row: KeyRow, deleted: boolean) {
  const { created_ms, ...rest } = row;
  return { ...rest, created_at: Number(created_ms), version: nextRowVersion(), is_deleted: deleted ? 1 : 0 };
}

/**
 * Keys and tenants live in ClickHouse (ReplacingMergeTree, read with FINAL) and are
 * cached here, keyed by key hash. A local write reloads at once; keys written by another
 * collector replica are found at once: an unknown key is looked up on its own.
 */
export function createKeyStore(db: Database, log: Logger) {
  let byHash = new Map<string, KeyRow>();
  let loadedAt = 0;
  let loading: Promise<void> | undefined;
  /** Unknown key hashes and when they were last looked up, so a flood of bad keys costs one query per key per second. */
  const misses = new Map<string, number>();

  function reload(): Promise<void> {
    loading ??= (async () => {
      try {
        const rows = await db.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM ${db.table("api_keys")} FINAL WHERE is_deleted = 0`);
        byHash = new Map(rows.map((row) => [row.hash, row]));
        loadedAt = Date.now();
      } finally {
        loading = undefined;
      }
    })();
    return loading;
  }

  async function authenticate(token: string): Promise<ApiKey | undefined> {
    const hash = hashToken(token);
    if (Date.now() - loadedAt > RELOAD_INTERVAL_MS) {
      try {
        await reload();
      } catch (error) {
        // Storage is away: the cached keys still answer; with none cached, say "retry".
        if (loadedAt === 0) throw new ApiError("unavailable", "storage is unavailable, so keys cannot be checked: retry later", [], 5);
        log.warn({ err: (error as Error).message.split("\n")[0] }, "reloading API keys failed; using the cached keys");
      }
    }
    let row = byHash.get(hash);
    if (!row && !recentlyMissed(hash)) {
      // A key made on another replica a moment ago: look it up alone, at most once a second per unknown key.
      try {
        [row] = await db.query<KeyRow>(`SELECT ${KEY_COLUMNS} FROM ${db.table("api_keys")} FINAL WHERE hash = {hash:String} AND is_deleted = 0`, { hash });
        if (row) byHash.set(hash, row);
        else misses.set(hash, Date.now());
      } catch {
        // Storage is away: an unknown key stays unknown.
      }
    }
    return row ? publicKey(row) : undefined;
  }

  function recentlyMissed(hash: string): boolean {
    const at = misses.get(hash);
    if (at !== undefined && Date.now() - at < MISS_RELOAD_MIN_GAP_MS) return true;
    if (misses.size > 10_000) misses.clear();
    return false;
  }

  /** Creates a key in the scope's tenant. The token is returned once and never stored. */
  async function createKey(scope: TenantScope, input: { name: string; scopes: Scope[]; token?: string }): Promise<{ key: ApiKey; token: string }> {
    const token = input.token ?? generateToken();
    const row: KeyRow = {
      tenant: scope.tenant,
      id: newId("key"),
      name: input.name,
      prefix: tokenPrefix(token),
      hash: hashToken(token),
      scopes: input.scopes,
      created_ms: Date.now(),
    };
    await scope.insert("api_keys", [storedKey(row, false)]);
    await reload();
    return { key: publicKey(row), token };
  }

  async function listKeys(scope: TenantScope): Promise<ApiKey[]> {
    const rows = await scope.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM ${scope.table("api_keys")} FINAL
       WHERE tenant = {tenant:String} AND is_deleted = 0
       ORDER BY created_ms DESC, id DESC`,
    );
    return rows.map(publicKey);
  }

  /** Revokes a key of the scope's tenant; false when the tenant has no such key. */
  async function revokeKey(scope: TenantScope, id: string): Promise<boolean> {
    const [row] = await scope.query<KeyRow>(
      `SELECT ${KEY_COLUMNS} FROM ${scope.table("api_keys")} FINAL
       WHERE tenant = {tenant:String} AND id = {id:String} AND is_deleted = 0`,
      { id },
    );
    if (!row) return false;
    await scope.insert("api_keys", [storedKey(row, true)]);
    await reload();
    log.info({ tenant: scope.tenant, key_id: id }, "api key revoked");
    return true;
  }

  async function countKeys(): Promise<number> {
    const [row] = await db.query<{ n: number }>(`SELECT count() AS n FROM ${db.table("api_keys")} FINAL WHERE is_deleted = 0`);
    return Number(row?.n ?? 0);
  }

  async function createTenant(input: { id: string; name: string; operator: boolean }): Promise<Tenant> {
    const created = Date.now();
    await db.insert("tenants", [{ ...input, created_at: created, version: nextRowVersion(), is_deleted: 0 }]);
    return { ...input, created_at: new Date(created).toISOString() };
  }

  async function getTenant(id: string): Promise<Tenant | undefined> {
    const [row] = await db.query<{ id: string; name: string; operator: boolean | number; created_ms: number }>(
      `SELECT id, name, operator, toUnixTimestamp64Milli(created_at) AS created_ms
       FROM ${db.table("tenants")} FINAL WHERE id = {id:String} AND is_deleted = 0`,
      { id },
    );
    if (!row) return undefined;
    return { id: row.id, name: row.name, operator: Boolean(row.operator), created_at: new Date(Number(row.created_ms)).toISOString() };
  }

  return { reload, authenticate, createKey, listKeys, revokeKey, countKeys, createTenant, getTenant };
}

export type KeyStore = ReturnType<typeof createKeyStore>;
