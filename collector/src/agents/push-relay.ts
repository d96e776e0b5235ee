import { randomUUID } from "node:crypto";
import type { AgentCommand, VersionedConfig } from "@vigil/plugin-sdk";
import type { Logger } from "pino";
import type { Database } from "../storage/database.js";
import { createLogTail } from "../storage/log-tail.js";
import type { PushHub } from "./push-hub.js";

/**
 * Pushes that reach agents connected to *other* collector replicas. Each push is
 * delivered to this replica's streams at once and written to `push_log`; every replica
 * reads the log a few times a second and delivers what other replicas wrote to its own
 * streams. ClickHouse stamps each row (one clock for all replicas), and a look-back
 * window with a set of ids already seen covers rows that become visible late.
 *
 * Guarantee: at most once per stream, best effort. A replica that misses a row (it was
 * down) leaves the agent to its backup poll, as before.
 */
export type RelayedPush =
  | { kind: "config"; agent_id: string; data: VersionedConfig }
  | { kind: "command"; agent_id: string; data: AgentCommand }
  | { kind: "broadcast"; agent_id: ""; data: AgentCommand };

interface LogRow {
  id: string;
  tenant: string;
  kind: RelayedPush["kind"];
  agent_id: string;
  payload: string;
}

const POLL_MS = 250;
const LOOK_BACK_MS = 10_000;

export function createPushRelay(db: Database, hub: PushHub, log: Logger, options: { replica: string; pollMs?: number }) {
  const pending = new Set<Promise<void>>();

  function deliverLocally(tenant: string, push: RelayedPush): number {
    if (push.kind === "config") return hub.pushConfig(tenant, push.agent_id, push.data);
    if (push.kind === "command") return hub.pushCommand(tenant, push.agent_id, push.data);
    return hub.broadcastCommand(tenant, push.data);
  }

  const tail = createLogTail<LogRow>(db, {
    table: "push_log",
    columns: "tenant, kind, agent_id, payload",
    where: { sql: "origin != {replica:String}", params: { replica: options.replica } },
    pollMs: options.pollMs ?? POLL_MS,
    lookBackMs: LOOK_BACK_MS,
    deliver: (rows) => {
      for (const row of rows) deliverLocally(row.tenant, { kind: row.kind, agent_id: row.agent_id, data: JSON.parse(row.payload) } as RelayedPush);
    },
    log,
    messages: {
      failed: "reading the push log failed; agents on other replicas' pushes wait for their backup poll",
      recovered: "reading the push log works again",
    },
  });

  /**
   * Delivers to this replica's streams now and logs the push for the other replicas
   * (in the background: the caller's answer does not wait for it); returns the local
   * deliveries.
   */
  function publish(tenant: string, push: RelayedPush): number {
    const delivered = deliverLocally(tenant, push);
    const row = { id: randomUUID(), tenant, origin: options.replica, kind: push.kind, agent_id: push.agent_id, payload: JSON.stringify(push.data) };
    const written: Promise<void> = db
      .insert("push_log", [row])
      .catch((error: unknown) => log.warn({ err: (error as Error).message.split("\n")[0], kind: push.kind }, "logging a push for the other replicas failed; their agents get it from the backup poll"));
    pending.add(written);
    void written.finally(() => pending.delete(written));
    return delivered;
  }

  return {
    publish,
    /** Starts reading the log from now: pushes written before this replica started are the backup poll's. */
    start: () => tail.start({ replay: false }),
    /** Stops reading; waits for pushes still being logged. */
    async stop(): Promise<void> {
      await tail.stop();
      await Promise.all([...pending]);
    },
  };
}

export type PushRelay = ReturnType<typeof createPushRelay>;
