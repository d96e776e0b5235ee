import type { Logger } from "pino";
import type { CollectorPart } from "@vigil/plugin-sdk";
import type { Database } from "../storage/database.js";
import { schemaRunner } from "../storage/migrations.js";
import { pluginTableName } from "./load.js";

/**
 * Runs each plugin's migrations not yet recorded in `plugin_migrations` (versions are
 * per plugin). Like the core migrations they are idempotent and run at every start, and
 * in cluster mode they are rendered for the cluster the same way (`storage/cluster.ts`).
 */
export async function runPluginMigrations(db: Database, parts: readonly CollectorPart[], options: { retentionDays: number; log: Logger }): Promise<void> {
  // A plugin's tables are all sharded (in cluster mode); none of them is global.
  const run = schemaRunner(db, new Set());
  for (const part of parts) {
    const applied = new Set(
      (await db.query<{ version: number }>(`SELECT version FROM ${db.table("plugin_migrations")} FINAL WHERE plugin = {plugin:String}`, { plugin: part.name })).map((r) =>
        Number(r.version),
      ),
    );
    const ctx = { table: (name: string) => db.table(pluginTableName(part, name)), retentionDays: options.retentionDays, events: db.table("events") };
    for (const migration of [...part.migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements(ctx)) await run(statement);
      await db.insert("plugin_migrations", [{ plugin: part.name, version: migration.version, name: migration.name, applied_at: Date.now() }]);
      options.log.info({ plugin: part.name, version: migration.version, name: migration.name }, "plugin migration applied");
    }
  }
}
