import type { Logger } from "pino";
import type { AgentCommand, VersionedConfig } from "@vigil/plugin-sdk";
import { ApiError } from "../errors.js";

/** Writes one chunk of the stream; never throws (a closed stream drops it). */
export type PushSink = (chunk: string) => void;

type Message = { event: "config"; data: VersionedConfig } | { event: "command"; data: AgentCommand };

/** One agent's open push stream. */
export interface PushConnection {
  readonly tenant: string;
  readonly agentId: string;
  /** Resolves when the connection ended: the hub closed, or the route ended it. */
  readonly ended: Promise<void>;
  /**
   * Sends the current config first, then whatever was pushed since the connection was
   * opened (a config only when newer than what was already sent).
   */
  start(sink: PushSink, initial: VersionedConfig): void;
  /** Ends the connection; `note` is sent first as an SSE comment when the stream started. */
  end(note?: string): void;
}

/** The hub's side of a connection: routes only see `PushConnection`. */
interface Internal extends PushConnection {
  /** False when the connection already ended. */
  deliver(message: Message): boolean;
}

/** At most this many messages wait for a connection that is still loading its first config. */
const MAX_WAITING = 100;

/** The last thing a stream carries when the collector shuts down (an SSE comment). */
export const SHUTDOWN_NOTE = "the collector is shutting down: reconnect";

/** One SSE frame; the data is one line of JSON (JSON.stringify never emits a newline). */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The open agent push streams of this collector, keyed by tenant + agent id. It reaches
 * the streams connected to this replica only; the push relay (push-relay.ts) carries
 * each push to the other replicas, and an agent that missed one still gets configs from
 * its backup poll (GET /v1/agents/config).
 */
export function createPushHub(log: Logger) {
  const byAgent = new Map<string, Set<Internal>>();
  let closed = false;
  const key = (tenant: string, agentId: string) => `${tenant}\u0000${agentId}`;

  /**
   * Registers a connection before its first config is read, so nothing pushed between
   * that read and the stream starting is lost. Refused (503) while shutting down.
   */
  function open(tenant: string, agentId: string): PushConnection {
    if (closed) throw new ApiError("unavailable", "the collector is shutting down: reconnect in a few seconds", [], 5);
    let sink: PushSink | undefined;
    let waiting: Message[] = [];
    let sentConfigVersion = -1;
    let isOpen = true;
    let markEnded!: () => void;
    const ended = new Promise<void>((resolve) => (markEnded = resolve));

    function write(message: Message): void {
      if (message.event === "config") {
        if (message.data.version <= sentConfigVersion) return;
        sentConfigVersion = message.data.version;
      }
      sink!(sseFrame(message.event, message.data));
    }

    const connection: Internal = {
      tenant,
      agentId,
      ended,
      start(newSink, initial) {
        if (!isOpen || sink) return;
        sink = newSink;
        write({ event: "config", data: initial });
        for (const message of waiting) write(message);
        waiting = [];
      },
      end(note) {
        if (!isOpen) return;
        isOpen = false;
        if (note && sink) sink(`: ${note}\n\n`);
        const set = byAgent.get(key(tenant, agentId));
        set?.delete(connection);
        if (set?.size === 0) byAgent.delete(key(tenant, agentId));
        log.debug({ tenant, agent_id: agentId }, "agent stream closed");
        markEnded();
      },
      deliver(message) {
        if (!isOpen) return false;
        if (sink) write(message);
        else if (waiting.length < MAX_WAITING) waiting.push(message);
        return true;
      },
    };

    const k = key(tenant, agentId);
    let set = byAgent.get(k);
    if (!set) byAgent.set(k, (set = new Set()));
    set.add(connection);
    log.debug({ tenant, agent_id: agentId }, "agent stream opened");
    return connection;
  }

  function push(tenant: string, agentId: string, message: Message): number {
    let delivered = 0;
    for (const connection of [...(byAgent.get(key(tenant, agentId)) ?? [])]) {
      if (connection.deliver(message)) delivered++;
    }
    return delivered;
  }

  return {
    open,
    /** Sends a new config to the agent's open streams; returns how many it went to. */
    pushConfig: (tenant: string, agentId: string, config: VersionedConfig) => push(tenant, agentId, { event: "config", data: config }),
    /** Sends a command to the agent's open streams; returns how many it went to. Not queued. */
    pushCommand: (tenant: string, agentId: string, command: AgentCommand) => push(tenant, agentId, { event: "command", data: command }),
    /** Sends a command to every open stream of the tenant's agents; returns how many it went to. Not queued. */
    broadcastCommand(tenant: string, command: AgentCommand): number {
      let delivered = 0;
      for (const set of [...byAgent.values()]) {
        for (const connection of [...set]) if (connection.tenant === tenant && connection.deliver({ event: "command", data: command })) delivered++;
      }
      return delivered;
    },
    /** Whether the agent holds at least one open stream to this collector. */
    isConnected: (tenant: string, agentId: string) => (byAgent.get(key(tenant, agentId))?.size ?? 0) > 0,
    /** Open streams, all tenants. */
    size: () => [...byAgent.values()].reduce((n, set) => n + set.size, 0),
    get closed() {
      return closed;
    },
    /** Ends every open stream and refuses new ones, so shutdown does not wait for them. */
    close(): void {
      closed = true;
      for (const set of [...byAgent.values()]) for (const connection of [...set]) connection.end(SHUTDOWN_NOTE);
    },
  };
}

export type PushHub = ReturnType<typeof createPushHub>;
