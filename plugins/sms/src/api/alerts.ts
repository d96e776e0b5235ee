import type { AlertTemplate } from "@vigil/plugin-sdk";
import { MESSAGE_EVENT, SERVER_STATUS_EVENT, SOURCE } from "../contract.js";

/** An event rule firing on each change of a sending server to `status`, one alert per server. */
function serverStatusTemplate(status: "down" | "degraded", severity: "critical" | "warning", description: string): AlertTemplate {
  return {
    id: `sms-server-${status}`,
    title: `An SMS sending server is ${status}`,
    description,
    rule: {
      kind: "event",
      name: `SMS server ${status}`,
      source: SOURCE,
      type: SERVER_STATUS_EVENT,
      where: [{ attr: "status", op: "=", value: status }],
      group_by: ["server_kind", "server_id"],
      keep_firing_for: "10m",
      labels: { severity },
      annotations: { summary: `SMS server {{labels.server_kind}} {{labels.server_id}} is ${status}` },
    },
  };
}

/** The SMS plugin's alerts (installed with POST /api/alerts/templates/:id/install; override the threshold to your level). */
export const alertTemplates: AlertTemplate[] = [
  serverStatusTemplate("down", "critical", "Fires at once on each sms.server_status event whose status is down (the SMS plugin reports each change of a sending server's status)."),
  serverStatusTemplate("degraded", "warning", "Fires at once on each sms.server_status event whose status is degraded (slow or failing part of the time); the server still sends."),
  {
    id: "sms-campaign-failure-rate",
    title: "A campaign's failure rate is above 10 %",
    description:
      "Per campaign, failed and undelivered reports over final reports (delivered, undelivered, failed) in the last 15 minutes exceed 10 %; quiet campaigns stay ok. Override threshold with your level.",
    rule: {
      kind: "threshold",
      name: "SMS campaign failure rate high",
      source: SOURCE,
      type: MESSAGE_EVENT,
      aggregation: "ratio",
      numerator: { where: [{ attr: "status", op: "in", value: ["failed", "undelivered"] }] },
      denominator: { where: [{ attr: "status", op: "in", value: ["delivered", "failed", "undelivered"] }] },
      window: "15m",
      interval: "1m",
      group_by: ["campaign_id"],
      condition: ">",
      threshold: 0.1,
      no_data: "ok",
      labels: { severity: "warning" },
      annotations: { summary: "Campaign {{labels.campaign_id}}: {{value}} of final reports failed in 15 min (over {{threshold}})" },
    },
  },
  {
    id: "sms-authentication-failures",
    title: "A sending server refuses the credentials",
    description:
      "Per server, any failure of category authentication in the last 5 minutes (a refused API key, auth token or SMTP login): every message through that server fails until it is fixed.",
    rule: {
      kind: "threshold",
      name: "SMS authentication failures",
      source: SOURCE,
      type: MESSAGE_EVENT,
      where: [{ attr: "error_category", op: "=", value: "authentication" }],
      aggregation: "count",
      window: "5m",
      interval: "1m",
      group_by: ["server_kind", "server_id"],
      condition: ">",
      threshold: 0,
      labels: { severity: "critical" },
      annotations: { summary: "SMS server {{labels.server_kind}} {{labels.server_id}} refused the credentials {{value}} times in 5 min" },
    },
  },
];
