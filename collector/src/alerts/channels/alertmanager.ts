import { z } from "zod";
import type { AlertView, Notification } from "../model.js";
import type { ChannelType, SendResult } from "./channel-type.js";
import { postJson } from "./http-send.js";
import { generatorUrl } from "./webhook.js";

export const alertmanagerConfigSchema = z
  .object({
    url: z
      .url({ protocol: /^https?$/, error: "url must be Alertmanager's base URL, like http://alertmanager:9093" })
      // An unparsable URL is already reported by the check above.
      .refine((url) => !URL.canParse(url) || (new URL(url).username === "" && new URL(url).password === ""), {
        error: "url must not hold credentials: put them in user and password instead (kept secret)",
      })
      .describe("Alertmanager's base URL; /api/v2/alerts is added."),
    user: z.string().min(1, "user must not be empty").optional().describe("Basic auth user (e.g. in front of a proxy)."),
    password: z.string().min(1, "password must not be empty").optional().describe("Basic auth password (secret)."),
    bearer_token: z.string().min(1, "bearer_token must not be empty").optional().describe("Sent as Authorization: Bearer … (secret)."),
  })
  .strict()
  .refine((config) => (config.user === undefined) === (config.password === undefined), {
    error: "user and password go together: set both for basic auth, or neither",
    path: ["password"],
  })
  .refine((config) => config.user === undefined || config.bearer_token === undefined, {
    error: "use either user/password or bearer_token, not both: a request carries one Authorization header",
    path: ["bearer_token"],
  });

export type AlertmanagerConfig = z.output<typeof alertmanagerConfigSchema>;

/** One element of Alertmanager's `POST /api/v2/alerts` body (postableAlert). */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt?: string;
  generatorURL?: string;
}

export const alertmanagerChannel: ChannelType<AlertmanagerConfig> = {
  kind: "alertmanager",
  configSchema: alertmanagerConfigSchema,
  secretFields: ["password", "bearer_token"],
  open(config) {
    const url = alertsEndpoint(config.url);
    const headers: Record<string, string> = {};
    if (config.user !== undefined) headers.authorization = `Basic ${Buffer.from(`${config.user}:${config.password ?? ""}`).toString("base64")}`;
    if (config.bearer_token !== undefined) headers.authorization = `Bearer ${config.bearer_token}`;
    return {
      async send({ notification, fromPart, signal }): Promise<SendResult> {
        if (fromPart >= 1) return { ok: true, partsSent: 1 };
        const body = JSON.stringify(postableAlerts(notification));
        const outcome = await postJson({ url, body, headers, signal });
        return { ...outcome, partsSent: outcome.ok ? 1 : 0 };
      },
      async close() {},
    };
  },
};

/**
 * The alerts as Alertmanager takes them. It de-duplicates by label set, groups and routes
 * itself, so the labels go as they are (only names made valid). A firing alert has no
 * `endsAt`: Alertmanager then resolves it by itself after its `resolve_timeout` unless
 * it is posted again, so firing alerts must be re-sent within that time (the route's
 * repeat interval). A resolved alert carries the time it resolved.
 */
export function postableAlerts(notification: Notification): PostableAlert[] {
  const generatorURL = generatorUrl(notification);
  return notification.alerts.map((alert) => ({
    labels: validNames(alert.labels),
    annotations: validNames(alert.annotations),
    startsAt: alert.starts_at,
    ...(alert.status === "resolved" ? { endsAt: resolvedAt(alert, notification) } : {}),
    ...(generatorURL ? { generatorURL } : {}),
  }));
}

/** `<base>/api/v2/alerts`; a base that already ends in it (or in /api/v2) is taken as meant. */
export function alertsEndpoint(base: string): string {
  const url = new URL(base);
  url.pathname = url.pathname.replace(/\/+$/, "").replace(/\/api\/v2(\/alerts)?$/, "") + "/api/v2/alerts";
  url.search = "";
  url.hash = "";
  return url.toString();
}

function resolvedAt(alert: AlertView, notification: Notification): string {
  return alert.ends_at ?? notification.created_at;
}

/**
 * Alertmanager 0.25 refuses a whole request when one label or annotation name is not
 * `[a-zA-Z_][a-zA-Z0-9_]*`, and Vigil's group-by attributes often hold dots
 * (`http.status`): such names get `_` in place of each invalid character, as Prometheus does.
 */
function validNames(record: Record<string, string>): Record<string, string> {
  const valid: Record<string, string> = {};
  for (const [name, value] of Object.entries(record)) {
    const fixed = name.replace(/[^a-zA-Z0-9_]/g, "_").replace(/^(?=\d)/, "_") || "_";
    if (!(fixed in valid) || fixed === name) valid[fixed] = value;
  }
  return valid;
}
