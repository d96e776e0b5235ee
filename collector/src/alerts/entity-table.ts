import { nextRowVersion } from "@vigil/plugin-sdk";
import type { Database } from "../storage/database.js";

/**
 * One kind of alerting configuration (rules, routes, silences, channels) in its
 * ReplacingMergeTree table, read with FINAL and cached in memory for every tenant, since
 * the engine reads them on every evaluation. Writes go to ClickHouse first, then to the
 * cache; `reload` picks up what another replica wrote.
 */
export interface Entity<Spec> {
  tenant: string;
  id: string;
  spec: Spec;
  /** Encrypted secrets (channels only); "" elsewhere. */
  secrets: string;
  updated_at: number;
}

export interface EntityTable<Spec> {
  list(tenant: string): Entity<Spec>[];
  get(tenant: string, id: string): Entity<Spec> | undefined;
  tenants(): string[];
  put(entity: Entity<Spec>): Promise<void>;
  remove(tenant: string, id: string): Promise<boolean>;
  reload(): Promise<void>;
}

interface Row {
  tenant: string;
  id: string;
  spec: string;
  secrets: string;
  updated_ms: number;
}

export function createEntityTable<Spec>(db: Database, table: string, parse: (json: unknown, id: string) => Spec | undefined): EntityTable<Spec> {
  let byTenant = new Map<string, Map<string, Entity<Spec>>>();
  /** Writes made while a reload's query runs: applied on top of its result, which may predate them. */
  const reloading = new Set<Map<string, { tenant: string; id: string; entity: Entity<Spec> | null }>>();

  function tenantMap(tenant: string): Map<string, Entity<Spec>> {
    let map = byTenant.get(tenant);
    if (!map) byTenant.set(tenant, (map = new Map()));
    return map;
  }

  return {
    list: (tenant) => [...(byTenant.get(tenant)?.values() ?? [])].sort((a, b) => b.updated_at - a.updated_at || a.id.localeCompare(b.id)),
    get: (tenant, id) => byTenant.get(tenant)?.get(id),
    tenants: () => [...byTenant.keys()],
    async put(entity) {
      await db.insert(table, [
        { tenant: entity.tenant, id: entity.id, spec: JSON.stringify(entity.spec), secrets: entity.secrets, updated_at: entity.updated_at, version: nextRowVersion(), is_deleted: 0 },
      ]);
      tenantMap(entity.tenant).set(entity.id, entity);
      for (const local of reloading) local.set(`${entity.tenant}\u0000${entity.id}`, { tenant: entity.tenant, id: entity.id, entity });
    },
    async remove(tenant, id) {
      const existing = byTenant.get(tenant)?.get(id);
      if (!existing) return false;
      await db.insert(table, [{ tenant, id, spec: "", secrets: "", updated_at: Date.now(), version: nextRowVersion(), is_deleted: 1 }]);
      byTenant.get(tenant)?.delete(id);
      for (const local of reloading) local.set(`${tenant}\u0000${id}`, { tenant, id, entity: null });
      return true;
    },
    async reload() {
      const local = new Map<string, { tenant: string; id: string; entity: Entity<Spec> | null }>();
      reloading.add(local);
      let rows: Row[];
      try {
        rows = await db.query<Row>(
          `SELECT tenant, id, spec, secrets, toUnixTimestamp64Milli(updated_at) AS updated_ms FROM ${db.table(table)} FINAL WHERE is_deleted = 0`,
        );
      } finally {
        reloading.delete(local);
      }
      const next = new Map<string, Map<string, Entity<Spec>>>();
      for (const row of rows) {
        // A row this version cannot read (written by a newer one) is skipped, not fatal.
        const spec = parse(JSON.parse(row.spec), row.id);
        if (spec === undefined) continue;
        let map = next.get(row.tenant);
        if (!map) next.set(row.tenant, (map = new Map()));
        map.set(row.id, { tenant: row.tenant, id: row.id, spec, secrets: row.secrets, updated_at: Number(row.updated_ms) });
      }
      for (const { tenant, id, entity } of local.values()) {
        let map = next.get(tenant);
        if (!map) next.set(tenant, (map = new Map()));
        if (entity) map.set(id, entity);
        else map.delete(id);
      }
      byTenant = next;
    },
  };
}
