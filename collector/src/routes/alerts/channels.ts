import { Hono } from "hono";
import { randomUUID } from "node:crypto";
import type { AppEnv, Services } from "../../app-env.js";
import { ChannelConfigError, channelInputSchema, prepareChannel } from "../../alerts/channel-input.js";
import type { ChannelSpec } from "../../alerts/engine.js";
import type { Entity } from "../../alerts/entity-table.js";
import type { Notification } from "../../alerts/model.js";
import { authenticate, requireScope } from "../../auth/middleware.js";
import { ApiError } from "../../errors.js";
import { invalidInput, parseInput } from "../../validate.js";
import { readJson } from "../keys.js";
import { paginate, pageQuerySchema } from "../paginate.js";
import { iso, newId, refuseFileManaged, tenantOf } from "./shared.js";

/** A channel as the API shows it: never a secret, only which secret fields are set. */
export function presentChannel(entity: Entity<ChannelSpec>) {
  return {
    id: entity.id,
    name: entity.spec.name,
    kind: entity.spec.kind,
    config: entity.spec.config,
    secrets_set: entity.spec.secret_fields,
    origin: entity.spec.origin,
    updated_at: iso(entity.updated_at),
  };
}

/** A channel body; what GET answers besides the channel (secrets_set, origin, updated_at) may be sent back unchanged. */
function channelInput(body: unknown) {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return parseInput(channelInputSchema, body);
  const { secrets_set: _set, origin: _origin, updated_at: _updated, ...rest } = body as Record<string, unknown>;
  return parseInput(channelInputSchema, rest);
}

function prepared(...args: Parameters<typeof prepareChannel>) {
  try {
    return prepareChannel(...args);
  } catch (error) {
    if (error instanceof ChannelConfigError) throw invalidInput(error.issues);
    throw error;
  }
}

/** `/api/alerts/channels` — where notifications go; secrets are stored encrypted and never returned. */
export function channelRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  const engine = services.alerts;
  app.use("*", authenticate(services));

  app.get("/", requireScope("read", services), (c) => {
    const page = parseInput(pageQuerySchema, c.req.query());
    return c.json(paginate(engine.channels.list(tenantOf(c)).map(presentChannel), page, "channels"));
  });

  app.post("/", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const input = channelInput(await readJson(c.req.raw));
    const id = input.id ?? newId("ch");
    if (engine.channels.get(tenant, id)) throw new ApiError("failed_precondition", `a channel with id "${id}" exists: replace it with PUT /api/alerts/channels/${id}`);
    const { spec, secrets } = prepared(input, services.secrets, "api");
    await engine.channels.put({ tenant, id, spec, secrets, updated_at: Date.now() });
    services.log.info({ tenant, channel: id, kind: spec.kind }, "alert channel created");
    return c.json(presentChannel(engine.channels.get(tenant, id)!), 201);
  });

  app.get("/:id", requireScope("read", services), (c) => {
    const entity = engine.channels.get(tenantOf(c), c.req.param("id"));
    if (!entity) throw new ApiError("not_found", `no channel "${c.req.param("id")}" in this tenant`);
    return c.json(presentChannel(entity));
  });

  app.put("/:id", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const id = c.req.param("id");
    const existing = engine.channels.get(tenant, id);
    if (!existing) throw new ApiError("not_found", `no channel "${id}" in this tenant: create it with POST /api/alerts/channels`);
    refuseFileManaged(existing, "channel");
    const input = channelInput(await readJson(c.req.raw));
    const { spec, secrets } = prepared(input, services.secrets, existing.spec.origin, existing);
    await engine.channels.put({ tenant, id, spec, secrets, updated_at: Date.now() });
    engine.channelChanged(tenant, id);
    return c.json(presentChannel(engine.channels.get(tenant, id)!));
  });

  app.delete("/:id", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const id = c.req.param("id");
    const existing = engine.channels.get(tenant, id);
    if (!existing) throw new ApiError("not_found", `no channel "${id}" in this tenant`);
    refuseFileManaged(existing, "channel");
    const users = engine.routes.list(tenant).filter((r) => r.spec.channels.includes(id));
    if (users.length) throw new ApiError("failed_precondition", `routes ${users.map((r) => `"${r.id}"`).join(", ")} send to this channel: change or delete them first`);
    await engine.channels.remove(tenant, id);
    engine.channelChanged(tenant, id);
    return c.body(null, 204);
  });

  // Sends a test message straight away (not through the outbox) and says what the destination answered.
  app.post("/:id/test", requireScope("write", services), async (c) => {
    const tenant = tenantOf(c);
    const id = c.req.param("id");
    const entity = engine.channels.get(tenant, id);
    if (!entity) throw new ApiError("not_found", `no channel "${id}" in this tenant`);
    const target = engine.senderFor(tenant, id)!;
    const now = new Date().toISOString();
    const notification: Notification = {
      id: randomUUID(),
      tenant,
      channel_id: id,
      channel_name: entity.spec.name,
      route_id: "test",
      group_key: `test:${id}`,
      group_labels: { alertname: "VigilTest" },
      status: "firing",
      test: true,
      alerts: [
        {
          fingerprint: "test",
          rule_id: "test",
          rule_name: "Vigil test notification",
          status: "firing",
          state: "firing",
          labels: { alertname: "VigilTest", severity: "info" },
          annotations: { summary: `Test notification from Vigil to channel "${entity.spec.name}"`, description: "If you can read this, the channel works." },
          value: null,
          starts_at: now,
          ends_at: null,
        },
      ],
      created_at: now,
      ...(services.externalUrl ? { external_url: services.externalUrl } : {}),
    };
    const result = await target.sender.send({ notification, fromPart: 0, signal: AbortSignal.timeout(30_000) });
    services.metrics.alertNotifications.inc({ channel: target.kind, outcome: result.ok ? "sent" : "failed" });
    if (!result.ok) {
      return c.json({ ok: false, notification_id: notification.id, error: result.error, ...(result.retryAfterMs ? { retry_after_ms: result.retryAfterMs } : {}) }, 502);
    }
    return c.json({ ok: true, notification_id: notification.id, parts: result.partsSent });
  });
  return app;
}
