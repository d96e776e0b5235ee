import { Hono } from "hono";
import { z } from "zod";
import { decodeCursor, encodeCursor, timeParamSchema } from "@vigil/plugin-sdk";
import type { AppEnv, Services } from "../../app-env.js";
import { OUTBOX_COLUMNS, fromRaw, type OutboxRawRow } from "../../alerts/outbox.js";
import { authenticate, requireScope } from "../../auth/middleware.js";
import { parseInput } from "../../validate.js";
import { iso } from "./shared.js";

const query = z
  .object({
    status: z.enum(["pending", "sent", "failed"], { error: "status is one of pending, sent, failed" }).optional(),
    channel_id: z.string().min(1).optional(),
    since: timeParamSchema("since").optional(),
    limit: z.coerce.number({ error: "limit must be a number" }).int().min(1, "limit must be at least 1").max(1000, "limit must be at most 1000").default(100),
    cursor: z.string().optional(),
  })
  .strict();

/** `GET /api/alerts/notifications` — every notification written to the outbox, newest first, with its delivery. */
export function notificationRoutes(services: Services) {
  const app = new Hono<AppEnv>();
  app.use("*", authenticate(services), requireScope("read", services));
  app.get("/", async (c) => {
    const q = parseInput(query, c.req.query());
    const scope = c.get("scope");
    const where = ["tenant = {tenant:String}"];
    const params: Record<string, unknown> = { limit: q.limit + 1 };
    if (q.status) (where.push("status = {status:String}"), (params.status = q.status));
    if (q.channel_id) (where.push("channel_id = {channel:String}"), (params.channel = q.channel_id));
    if (q.since !== undefined) (where.push("created_at >= fromUnixTimestamp64Milli({since:Int64}, 'UTC')"), (params.since = q.since));
    if (q.cursor) {
      const cursor = decodeCursor(q.cursor, (v): v is { t: number; id: string } => typeof (v as { t?: unknown })?.t === "number" && typeof (v as { id?: unknown })?.id === "string");
      where.push("(created_at, id) < (fromUnixTimestamp64Milli({ct:Int64}, 'UTC'), {cid:String})");
      params.ct = cursor.t;
      params.cid = cursor.id;
    }
    const rows = (
      await scope.query<OutboxRawRow>(`SELECT ${OUTBOX_COLUMNS} FROM ${scope.table("alert_outbox")} FINAL WHERE ${where.join(" AND ")} ORDER BY created_at DESC, id DESC LIMIT {limit:UInt32}`, params)
    ).map(fromRaw);
    const page = rows.slice(0, q.limit);
    const last = page.at(-1);
    return c.json({
      notifications: page.map((row) => ({
        id: row.id,
        channel_id: row.channel_id,
        channel_name: row.notification.channel_name,
        route_id: row.notification.route_id,
        group_key: row.group_key,
        status: row.status,
        alert_status: row.notification.status,
        alerts: row.notification.alerts.map((a) => ({ fingerprint: a.fingerprint, rule_id: a.rule_id, status: a.status, labels: a.labels, summary: a.annotations.summary ?? "" })),
        attempts: row.attempts,
        last_error: row.last_error || null,
        created_at: iso(row.created_at),
        sent_at: iso(row.sent_at),
        next_attempt_at: row.status === "pending" ? iso(row.next_attempt_at) : null,
      })),
      next_cursor: rows.length > q.limit && last ? encodeCursor({ t: last.created_at, id: last.id }) : null,
    });
  });
  return app;
}
