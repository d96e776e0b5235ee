import { randomBytes } from "node:crypto";
import type { Context } from "hono";
import type { AppEnv } from "../../app-env.js";
import { ApiError } from "../../errors.js";

export function newId(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString("hex")}`;
}

export const iso = (ms: number | null | undefined): string | null => (ms === null || ms === undefined || ms <= 0 ? null : new Date(ms).toISOString());

/** Entities loaded from rule files are changed in their files (GitOps), not through the API. */
export function refuseFileManaged(entity: { spec: { origin?: string } } | undefined, what: string): void {
  const origin = entity?.spec.origin;
  if (origin?.startsWith("file:")) {
    throw new ApiError("failed_precondition", `this ${what} comes from the rule file ${origin.slice(5)}: change it there and restart (or reload) the collector`);
  }
}

export function tenantOf(c: Context<AppEnv>): string {
  return c.get("scope").tenant;
}
