import type { CollectorPart, CollectorTaskContext } from "@vigil/plugin-sdk";
import type { Logger } from "pino";
import type { EventWriter } from "../ingest/writer.js";
import type { Database } from "../storage/database.js";
import { scopeToTenant } from "../storage/tenant-scope.js";
import { emitFromPart } from "./emit.js";
import { pluginStorage } from "./routes.js";

/**
 * Runs the periodic tasks of the collector parts (e.g. the social stuck-run check), each
 * on its own timer, never two runs of one task at once. Events a task emits go through
 * the same writer as ingest, so alert rules see them. A failing run is logged and the
 * task runs again at its next tick. Returns a stop function that waits for runs in flight.
 */
export function startPluginTasks(parts: readonly CollectorPart[], deps: { db: Database; writer: EventWriter; log: Logger }): () => Promise<void> {
  const timers: NodeJS.Timeout[] = [];
  const running = new Set<Promise<void>>();
  let stopped = false;
  for (const part of parts) {
    for (const task of part.tasks ?? []) {
      const log = deps.log.child({ plugin: part.name, task: task.name });
      const ctx: CollectorTaskContext = {
        async tenants() {
          const rows = await deps.db.query<{ id: string }>(`SELECT id FROM ${deps.db.table("tenants")} FINAL WHERE is_deleted = 0`);
          return rows.map((r) => r.id);
        },
        storage: (tenant) => pluginStorage(part, scopeToTenant(deps.db, tenant)),
        emit: (tenant, events) => emitFromPart(deps.writer, part.name, tenant, events),
        log,
      };
      let busy = false;
      const tick = () => {
        if (busy || stopped) return;
        busy = true;
        const run = task
          .run(ctx)
          .catch((error: unknown) => log.warn({ err: (error as Error).message }, "collector task failed; it runs again at its next tick"))
          .finally(() => {
            busy = false;
            running.delete(run);
          });
        running.add(run);
      };
      const timer = setInterval(tick, task.every);
      timer.unref();
      timers.push(timer);
    }
  }
  return async () => {
    stopped = true;
    for (const timer of timers) clearInterval(timer);
    await Promise.allSettled([...running]);
  };
}
