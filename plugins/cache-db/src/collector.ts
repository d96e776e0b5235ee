import { defineCollectorPart } from "@vigil/plugin-sdk";
import { alertTemplates } from "./api/alerts.js";
import { monitorRoute } from "./api/monitor.js";
import { prometheusMetrics } from "./api/prometheus.js";
import { seriesRoute } from "./api/series.js";
import { settingsRoutes } from "./api/settings.js";
import { migrations } from "./api/tables.js";

/**
 * The cache monitor's collector part (tables `cache_*`): what the apps' SDKs report
 * (`GET /api/cache-monitor`, `GET /api/cache-monitor/series`), the runtime settings
 * (`GET|PUT /api/cache-monitor/settings`, `DELETE /api/cache-monitor/settings/:app`), the
 * agents' settings read (`GET /api/cache-monitor/sync`) and `vigil_cache_*` on /metrics.
 */
export default defineCollectorPart({
  name: "cache",
  migrations,
  routes: [monitorRoute, seriesRoute, ...settingsRoutes],
  metrics: prometheusMetrics,
  alertTemplates,
});
