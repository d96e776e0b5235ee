import { defineCollectorPart } from "@vigil/plugin-sdk";
import { alertTemplates, stuckRunTask } from "./api/alerts.js";
import { jobRoutes } from "./api/jobs.js";
import { stuckJobRoutes } from "./api/stuck-jobs.js";
import { syncRoute } from "./api/sync.js";
import { migrations } from "./api/tables.js";

/**
 * The social plugin's collector part (tables `social_*`): monitoring jobs and their runs
 * (`/api/monitoring/jobs…`), the stuck-run check (`/api/admin/stuck-jobs…`) and the
 * agents' jobs read (`/api/monitoring/sync`). Runs come from the agents' `social.run`
 * events; `social.item`, `social.new_content` and `social.run_failed` stay ordinary events
 * for the event API and the alert engine.
 */
export default defineCollectorPart({
  name: "social",
  migrations,
  routes: [...jobRoutes, ...stuckJobRoutes, syncRoute],
  alertTemplates,
  tasks: [stuckRunTask],
});
