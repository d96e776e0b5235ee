import { defineCollectorPart } from "@vigil/plugin-sdk";
import { alertTemplates } from "./api/alerts.js";
import { autoMonitorRoutes } from "./api/auto-monitor.js";
import { keywordRoutes } from "./api/keywords.js";
import { mentionRoutes } from "./api/mentions.js";
import { syncRoute } from "./api/sync.js";
import { migrations } from "./api/tables.js";

/**
 * The Reddit plugin's collector part: keywords (`/api/keywords`), mentions and their counts
 * (`/api/mentions`), the auto-monitor status and switch (`/api/auto-monitor/*`), and the
 * agents' sync read (`/api/reddit/sync`).
 */
export default defineCollectorPart({
  name: "reddit",
  migrations,
  routes: [...keywordRoutes, ...mentionRoutes, ...autoMonitorRoutes, syncRoute],
  alertTemplates,
});
