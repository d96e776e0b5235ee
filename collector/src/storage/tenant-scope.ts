import type { Database } from "./database.js";

/**
 * The only way a request handler reaches ClickHouse. A scope is bound to the tenant of
 * the credential that made the request: every query must filter on `{tenant:String}`
 * (the scope fills the value; a query without the placeholder is refused before it runs)
 * and every inserted row gets the scope's tenant, whatever the row said. A handler
 * therefore cannot read or write another tenant's rows by forgetting a WHERE clause.
 */
export interface TenantScope {
  readonly tenant: string;
  table(name: string): string;
  query<T>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  insert(table: string, rows: readonly object[]): Promise<void>;
}

export class UnscopedQueryError extends Error {
  constructor(sql: string) {
    super(`query is not tenant-scoped (it must filter on {tenant:String}): ${sql.slice(0, 120)}`);
    this.name = "UnscopedQueryError";
  }
}

const TENANT_FILTER = /\btenant\s*=\s*\{tenant:String\}/;

export function scopeToTenant(db: Database, tenant: string): TenantScope {
  return {
    tenant,
    table: db.table,
    async query<T>(sql: string, params: Record<string, unknown> = {}) {
      if (!TENANT_FILTER.test(sql)) throw new UnscopedQueryError(sql);
      if ("tenant" in params) throw new UnscopedQueryError(sql);
      return db.query<T>(sql, { ...params, tenant });
    },
    async insert(table: string, rows: readonly object[]) {
      await db.insert(
        table,
        rows.map((row) => ({ ...row, tenant })),
      );
    },
  };
}
