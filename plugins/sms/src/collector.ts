import { defineCollectorPart } from "@vigil/plugin-sdk";
import { alertTemplates } from "./api/alerts.js";
import { campaignRoutes } from "./api/campaigns.js";
import { carrierRoutes } from "./api/carriers.js";
import { errorRoutes } from "./api/error-analysis.js";
import { liveTopics } from "./api/live.js";
import { prometheusMetrics } from "./api/prometheus.js";
import { reportRoutes } from "./api/reports.js";
import { serverRoutes } from "./api/servers.js";
import { migrations } from "./api/tables.js";

/**
 * The SMS plugin's collector part (tables `sms_*`): campaign statistics
 * (`/api/sms/campaigns…`), sending servers (`/api/sms/servers…`), carriers
 * (`/api/sms/carriers`), error analysis (`/api/sms/errors`, `/api/sms/errors/table`),
 * reports (`/api/sms/campaigns/:id/report`, `/hourly`, `/daily`, `/api/sms/users/:user/summary`,
 * `/api/sms/system`), `vigil_sms_*` on /metrics, the SMS alert templates, and the live
 * channels `sms.campaign`, `sms.user` and `sms.system` on the collector's `/api/live`.
 */
export default defineCollectorPart({
  name: "sms",
  migrations,
  routes: [...campaignRoutes, ...reportRoutes, ...serverRoutes, ...carrierRoutes, ...errorRoutes],
  metrics: prometheusMetrics,
  alertTemplates,
  liveTopics,
});
