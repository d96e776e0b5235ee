import type { Logger } from "pino";
import type { KeyStore } from "./auth/key-store.js";
import { generatePassword } from "./auth/passwords.js";
import type { UserStore } from "./auth/user-store.js";
import type { Database } from "./storage/database.js";
import { scopeToTenant } from "./storage/tenant-scope.js";

export const DEFAULT_TENANT = "default";

/**
 * On the very first start (no key exists), creates the operator tenant `default` and
 * its first admin key: `VIGIL_BOOTSTRAP_TOKEN` when given, else a generated key that is
 * returned so the caller can print it once. Only the key's hash is stored.
 */
export async function bootstrapFirstKey(
  db: Database,
  keys: KeyStore,
  log: Logger,
  bootstrapToken: string | undefined,
): Promise<{ token: string; generated: boolean } | undefined> {
  if ((await keys.countKeys()) > 0) return undefined;
  if (!(await keys.getTenant(DEFAULT_TENANT))) {
    await keys.createTenant({ id: DEFAULT_TENANT, name: "Default", operator: true });
  }
  const { key, token } = await keys.createKey(scopeToTenant(db, DEFAULT_TENANT), {
    name: "bootstrap admin key",
    scopes: ["admin"],
    ...(bootstrapToken ? { token: bootstrapToken } : {}),
  });
  log.info({ tenant: DEFAULT_TENANT, key_id: key.id, from_env: Boolean(bootstrapToken) }, "first admin key created");
  return { token, generated: !bootstrapToken };
}

/**
 * On the first start with no dashboard user, creates the default tenant's first admin:
 * `VIGIL_ADMIN_EMAIL` with `VIGIL_ADMIN_PASSWORD`, or a generated password returned so
 * the caller can print it once. Only the scrypt hash is stored.
 */
export async function bootstrapFirstUser(
  db: Database,
  users: UserStore,
  log: Logger,
  admin: { email: string; password?: string | undefined },
): Promise<{ email: string; password?: string } | undefined> {
  if ((await users.countUsers()) > 0) return undefined;
  const password = admin.password ?? generatePassword();
  const user = await users.createUser(scopeToTenant(db, DEFAULT_TENANT), { email: admin.email, name: "Admin", role: "admin", password });
  log.info({ tenant: DEFAULT_TENANT, user_id: user.id, from_env: Boolean(admin.password) }, "first dashboard admin created");
  return admin.password ? { email: user.email } : { email: user.email, password };
}
