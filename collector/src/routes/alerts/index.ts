import { Hono } from "hono";
import type { AlertTemplate } from "@vigil/plugin-sdk";
import type { AppEnv, Services } from "../../app-env.js";
import { channelRoutes } from "./channels.js";
import { firingRoutes } from "./firing.js";
import { notificationRoutes } from "./notifications.js";
import { routingRoutes } from "./routing.js";
import { ruleRoutes } from "./rules.js";
import { silenceRoutes } from "./silences.js";
import { templateRoutes } from "./templates.js";

/** `/api/alerts/*` — rules, channels, routes, silences, templates, history and what fires now. */
export function alertRoutes(services: Services, templates: readonly AlertTemplate[]) {
  const app = new Hono<AppEnv>();
  app.route("/rules", ruleRoutes(services));
  app.route("/channels", channelRoutes(services));
  app.route("/routes", routingRoutes(services));
  app.route("/silences", silenceRoutes(services));
  app.route("/templates", templateRoutes(services, templates));
  app.route("/notifications", notificationRoutes(services));
  app.route("/", firingRoutes(services));
  return app;
}
