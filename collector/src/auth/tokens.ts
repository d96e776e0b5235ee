import { createHash, randomBytes } from "node:crypto";

/**
 * What a credential may do. `read` sees a tenant's data; `write` also changes its
 * configuration (keywords, jobs, rules, silences, channels, cache settings); `admin`
 * also manages users, keys, tenants and agents' remote configs; `ingest` sends events.
 */
export const SCOPES = ["ingest", "read", "write", "admin"] as const;
export type Scope = (typeof SCOPES)[number];

/** Dashboard users have a role; each role is a fixed set of scopes. */
export const ROLES = ["viewer", "editor", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function scopesOfRole(role: Role): Scope[] {
  return role === "admin" ? ["admin"] : role === "editor" ? ["read", "write"] : ["read"];
}

/**
 * API keys are 192 random bits, so a fast hash is enough to store them: unlike
 * passwords they cannot be guessed from a dictionary. Only the SHA-256 of a key is kept.
 */
export function generateToken(): string {
  return `vgl_${randomBytes(24).toString("base64url")}`;
}

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** The first characters of a key, safe to show so a user can tell keys apart. */
export function tokenPrefix(token: string): string {
  return token.slice(0, 8);
}

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString("hex")}`;
}

/** `admin` implies every other scope; `write` implies `read`. */
export function hasScope(granted: readonly string[], needed: Scope): boolean {
  return granted.includes("admin") || granted.includes(needed) || (needed === "read" && granted.includes("write"));
}
