import type { PluginRequest, PluginRoute } from "@vigil/plugin-sdk";
import { SYNC_PATH, scheduleOf, type SyncResponse } from "../jobs-protocol.js";
import { listJobs } from "./jobs.js";

/** The agents' read of the jobs to run: active and paused ones only; scope ingest, the scope of an agent's key. */
export const syncRoute: PluginRoute = {
  method: "GET",
  path: SYNC_PATH,
  scope: "ingest",
  async handler(request: PluginRequest) {
    const rows = await listJobs(request, { statuses: ["active", "paused"] });
    const body: SyncResponse = {
      jobs: rows.map((row) => ({
        id: row.id,
        name: row.name,
        platform: row.platform,
        target_url: row.target_url,
        target_type: row.target_type,
        schedule: scheduleOf(row),
        max_items_per_run: row.max_items_per_run,
        notify_on_new_content: row.notify_on_new_content,
        notify_on_failure: row.notify_on_failure,
        notification_email: row.notification_email,
        status: row.status as "active" | "paused",
        updated_at: new Date(row.updated_ms).toISOString(),
      })),
    };
    return { body };
  },
};
