import { nextRowVersion } from "@vigil/plugin-sdk";
import type { Logger } from "pino";
import type { Metrics } from "../metrics.js";
import type { Database } from "../storage/database.js";
import type { ChannelKind, ChannelSender, SendResult } from "./channels/channel-type.js";
import type { Dispatch, GroupMemory } from "./dispatcher.js";
import type { Notification } from "./model.js";

/**
 * The durable outbox (DESIGN.md "Delivery guarantees"): a notification is a row before
 * anything is sent, is marked sent only after its destination accepted it, and after a
 * restart every row still pending is sent. Each channel has its own queue, sent in order
 * one at a time: a destination that answers 429 `Retry-After` pauses only its own queue,
 * and retries back off (1 s doubling to 5 min, with jitter) independently of the routing
 * timers. A notification keeps its id on every attempt, so receivers de-duplicate.
 *
 * Guarantee: at least once per notification; exactly once as seen by a receiver that
 * de-duplicates on the id (a crash after the destination accepted it but before the row
 * was marked sent sends it again with the same id).
 */

export type OutboxStatus = "pending" | "sent" | "failed";

export interface OutboxRow {
  tenant: string;
  id: string;
  channel_id: string;
  group_key: string;
  status: OutboxStatus;
  attempts: number;
  parts_sent: number;
  next_attempt_at: number;
  created_at: number;
  condition_at: number;
  sent_at: number | null;
  last_error: string;
  notification: Notification;
}

export interface OutboxDeps {
  db: Database;
  metrics: Metrics;
  log: Logger;
  /** The opened sender of a channel and its kind; undefined when the channel is gone. */
  sender(tenant: string, channelId: string): { kind: ChannelKind; sender: ChannelSender } | undefined;
  /** Whether this replica may send now (it holds the alert lease); checked before every attempt. */
  mayAct(): boolean;
}

/** Attempts before a notification is given up as failed. With the backoff that is about an hour. */
export const MAX_ATTEMPTS = 16;
const BACKOFF_BASE_MS = 1_000;
const BACKOFF_MAX_MS = 5 * 60_000;
const LEASE_WAIT_MS = 1_000;

export function backoffMs(attempts: number): number {
  const exp = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
  return Math.round(exp * (0.8 + Math.random() * 0.4));
}

interface Queue {
  rows: OutboxRow[];
  /** The destination asked to wait until then (rate limit), or a retry is waiting. */
  pausedUntil: number;
  running: boolean;
  timer?: NodeJS.Timeout;
}

export function createOutbox(deps: OutboxDeps) {
  const { db, metrics, log } = deps;
  const queues = new Map<string, Queue>();
  let abort = new AbortController();
  // Sending starts with `resume` (when this replica leads) and ends with `stop`, any number of times.
  let stopped = true;
  const inFlight = new Set<Promise<void>>();

  const queueId = (tenant: string, channelId: string) => `${tenant}\u0000${channelId}`;

  async function write(rows: OutboxRow[]): Promise<void> {
    await db.insert(
      "alert_outbox",
      rows.map((row) => ({ ...row, notification: JSON.stringify(row.notification), version: nextRowVersion() })),
    );
  }

  function queueOf(tenant: string, channelId: string): Queue {
    const id = queueId(tenant, channelId);
    let queue = queues.get(id);
    if (!queue) queues.set(id, (queue = { rows: [], pausedUntil: 0, running: false }));
    return queue;
  }

  function wake(queue: Queue): void {
    if (stopped || queue.running || queue.rows.length === 0) return;
    // Past the lease (a process that froze): wait to be stopped, or to hold it again.
    const wait = deps.mayAct() ? Math.max(queue.pausedUntil, queue.rows[0]!.next_attempt_at) - Date.now() : LEASE_WAIT_MS;
    if (queue.timer) clearTimeout(queue.timer);
    if (wait > 0) {
      queue.timer = setTimeout(() => {
        queue.timer = undefined;
        wake(queue);
      }, wait);
      queue.timer.unref();
      return;
    }
    queue.running = true;
    const run = drain(queue)
      .catch(() => undefined)
      .finally(() => {
      queue.running = false;
      inFlight.delete(run);
      wake(queue);
    });
    inFlight.add(run);
  }

  async function drain(queue: Queue): Promise<void> {
    while (!stopped && deps.mayAct() && queue.rows.length > 0) {
      const row = queue.rows[0]!;
      const now = Date.now();
      if (Math.max(queue.pausedUntil, row.next_attempt_at) > now) return;
      const target = deps.sender(row.tenant, row.channel_id);
      if (!target) {
        await settle(queue, { ...row, status: "failed", last_error: "the channel was deleted before the notification could be sent" }, "unknown");
        continue;
      }
      const result = await target.sender
        .send({ notification: row.notification, fromPart: row.parts_sent, signal: abort.signal })
        .catch((error: unknown): SendResult => ({ ok: false, permanent: false, error: (error as Error).message, partsSent: row.parts_sent }));
      if (stopped && !result.ok) return;
      const attempts = row.attempts + 1;
      if (result.ok) {
        const sentAt = Date.now();
        await settle(queue, { ...row, status: "sent", attempts, parts_sent: result.partsSent, sent_at: sentAt, last_error: "" }, target.kind);
        if (row.condition_at > 0) metrics.alertDeliverySeconds.observe((sentAt - row.condition_at) / 1000);
        continue;
      }
      const giveUp = result.permanent || attempts >= MAX_ATTEMPTS;
      if (giveUp) {
        log.warn({ tenant: row.tenant, channel: row.channel_id, notification: row.id, attempts, error: result.error }, "notification failed; given up");
        await settle(queue, { ...row, status: "failed", attempts, parts_sent: result.partsSent, last_error: result.error }, target.kind);
        continue;
      }
      const wait = Math.max(result.retryAfterMs ?? 0, backoffMs(attempts));
      if (result.retryAfterMs) queue.pausedUntil = Date.now() + result.retryAfterMs;
      const retried: OutboxRow = { ...row, attempts, parts_sent: result.partsSent, next_attempt_at: Date.now() + wait, last_error: result.error };
      metrics.alertNotifications.inc({ channel: target.kind, outcome: result.retryAfterMs ? "rate_limited" : "retried" });
      log.info({ tenant: row.tenant, channel: row.channel_id, notification: row.id, attempts, retry_in_ms: wait, error: result.error }, "notification not accepted; will retry");
      queue.rows[0] = retried;
      await write([retried]).catch((error: unknown) => log.warn({ err: (error as Error).message }, "could not record a retry in the outbox"));
      return;
    }
  }

  async function settle(queue: Queue, row: OutboxRow, kind: ChannelKind | "unknown"): Promise<void> {
    // Marked in storage before the queue moves on; if storage refuses, the row stays
    // first and is retried (the receiver sees the same id again and de-duplicates).
    try {
      await write([row]);
    } catch (error) {
      log.error({ err: (error as Error).message, notification: row.id }, "could not mark a notification in the outbox; retrying");
      queue.pausedUntil = Date.now() + 5_000;
      queue.rows[0] = { ...row, status: "pending" };
      throw error;
    }
    queue.rows.shift();
    metrics.alertNotifications.inc({ channel: kind, outcome: row.status === "sent" ? "sent" : "failed" });
  }

  return {
    /** Writes the notifications as pending rows, then queues them for sending. Nothing while stopped (not leading). */
    async enqueue(dispatches: readonly Dispatch[]): Promise<void> {
      if (stopped || dispatches.length === 0) return;
      const now = Date.now();
      const rows: OutboxRow[] = dispatches.map(({ notification, conditionAt }) => ({
        tenant: notification.tenant,
        id: notification.id,
        channel_id: notification.channel_id,
        group_key: notification.group_key,
        status: "pending",
        attempts: 0,
        parts_sent: 0,
        next_attempt_at: now,
        created_at: now,
        condition_at: conditionAt ?? 0,
        sent_at: null,
        last_error: "",
        notification,
      }));
      await write(rows);
      for (const row of rows) {
        const queue = queueOf(row.tenant, row.channel_id);
        queue.rows.push(row);
        wake(queue);
      }
    },

    /** Loads every pending notification (left by a previous run or another replica) and starts sending them. */
    async resume(): Promise<number> {
      stopped = false;
      if (abort.signal.aborted) abort = new AbortController();
      const rows = await readRows(db, `status = 'pending'`, {});
      for (const row of rows.sort((a, b) => a.created_at - b.created_at)) {
        const queue = queueOf(row.tenant, row.channel_id);
        if (queue.rows.some((r) => r.id === row.id)) continue;
        queue.rows.push(row);
      }
      for (const queue of queues.values()) wake(queue);
      if (rows.length) log.info({ pending: rows.length }, "outbox resumed: sending the notifications still pending");
      return rows.length;
    },

    /** What each group last told, from the newest notification per group (routing memory). */
    async groupMemories(): Promise<{ tenant: string; group_key: string; memory: GroupMemory }[]> {
      const rows = await db.query<{ tenant: string; group_key: string; notification: string; at: number }>(
        `SELECT tenant, group_key, argMax(notification, created_at) AS notification, toUnixTimestamp64Milli(max(created_at)) AS at
         FROM ${db.table("alert_outbox")} FINAL
         WHERE created_at > now() - INTERVAL 30 DAY AND NOT startsWith(group_key, 'test:')
         GROUP BY tenant, group_key`,
      );
      return rows.map((row) => {
        const notification = JSON.parse(row.notification) as Notification;
        return { tenant: row.tenant, group_key: row.group_key, memory: { sent: new Map(notification.alerts.map((a) => [a.fingerprint, a.status])), at: Number(row.at) } };
      });
    },

    pendingCount(): number {
      let n = 0;
      for (const queue of queues.values()) n += queue.rows.length;
      return n;
    },

    /**
     * Stops sending; waits for the attempts in flight (their rows stay pending if not
     * marked) and forgets the queues: whoever sends next reads the pending rows again.
     */
    async stop(): Promise<void> {
      stopped = true;
      for (const queue of queues.values()) if (queue.timer) clearTimeout(queue.timer);
      abort.abort();
      await Promise.allSettled([...inFlight]);
      queues.clear();
    },
  };
}

export type Outbox = ReturnType<typeof createOutbox>;

export interface OutboxRawRow {
  tenant: string;
  id: string;
  channel_id: string;
  group_key: string;
  status: OutboxStatus;
  attempts: number;
  parts_sent: number;
  next_ms: number;
  created_ms: number;
  condition_ms: number;
  sent_ms: number | null;
  last_error: string;
  notification: string;
}

export const OUTBOX_COLUMNS = `tenant, id, channel_id, group_key, status, attempts, parts_sent,
  toUnixTimestamp64Milli(next_attempt_at) AS next_ms, toUnixTimestamp64Milli(created_at) AS created_ms,
  toUnixTimestamp64Milli(condition_at) AS condition_ms, toUnixTimestamp64Milli(sent_at) AS sent_ms, last_error, notification`;

export function fromRaw(raw: OutboxRawRow): OutboxRow {
  return {
    tenant: raw.tenant,
    id: raw.id,
    channel_id: raw.channel_id,
    group_key: raw.group_key,
    status: raw.status,
    attempts: Number(raw.attempts),
    parts_sent: Number(raw.parts_sent),
    next_attempt_at: Number(raw.next_ms),
    created_at: Number(raw.created_ms),
    condition_at: Number(raw.condition_ms),
    sent_at: raw.sent_ms === null ? null : Number(raw.sent_ms),
    last_error: raw.last_error,
    notification: JSON.parse(raw.notification) as Notification,
  };
}

async function readRows(db: Database, where: string, params: Record<string, unknown>): Promise<OutboxRow[]> {
  const rows = await db.query<OutboxRawRow>(`SELECT ${OUTBOX_COLUMNS} FROM ${db.table("alert_outbox")} FINAL WHERE ${where}`, params);
  return rows.map(fromRaw);
}

