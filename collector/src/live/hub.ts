import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { LiveEvent, LiveTopic, TenantStorage } from "@vigil/plugin-sdk";
import type { Logger } from "pino";
import { WebSocketServer, type WebSocket } from "ws";
import type { ApiKey } from "../auth/key-store.js";
import { SESSION_COOKIE } from "../auth/middleware.js";
import { hasScope } from "../auth/tokens.js";
import type { EventRow } from "../ingest/event-row.js";
import type { Metrics } from "../metrics.js";
import { parseClientMessage, type ServerMessage } from "./protocol.js";

/**
 * The live WebSocket at `/api/live`: a client authenticates with an API key (read scope)
 * and subscribes to topics; everything it receives is its key's tenant's. A topic is fed
 * by polling (one shared read per tenant, topic and params, whatever the number of
 * subscribers; sent only when the value changed) and/or by stored events (each batch the
 * writer stored, as it is stored).
 *
 * A slow client is never waited for: past MAX_BUFFERED bytes queued on its socket, new
 * messages to it are dropped and counted, and it is told it is lagging.
 */

/** A topic and how to reach storage for it (plugin topics see their plugin's table names). */
export interface HubTopic {
  topic: LiveTopic<any>;
  storage(tenant: string): TenantStorage;
}

export interface HubDeps {
  topics: HubTopic[];
  authenticate(token: string): Promise<ApiKey | undefined>;
  /** The dashboard's session cookie value → the signed-in user's principal. */
  authenticateSession(token: string): Promise<ApiKey | undefined>;
  /** undefined when storage is ready; else why not (connections are refused). */
  storageProblem(): string | undefined;
  metrics: Metrics;
  log: Logger;
}

export const LIVE_PATH = "/api/live";
/** The subprotocol clients offer; browsers, which cannot set headers, add `bearer.<key>` next to it. */
export const LIVE_PROTOCOL = "vigil.v1";
const MAX_SUBSCRIPTIONS = 50;
const MAX_MESSAGE_BYTES = 64 * 1024;
const MAX_BUFFERED = 1024 * 1024;
const PING_MS = 15_000;

interface Subscription {
  id: string;
  conn: Connection;
  entry: HubTopic;
  params: unknown;
  feedKey?: string;
}

interface Connection {
  ws: WebSocket;
  tenant: string;
  subs: Map<string, Subscription>;
  alive: boolean;
  /** Whether the credential it connected with still holds (a key not revoked, a session not ended). */
  stillAllowed: () => Promise<boolean>;
  lagging: boolean;
}

interface Feed {
  subs: Set<Subscription>;
  timer: NodeJS.Timeout;
  last?: string;
  reading: boolean;
}

export function createLiveHub(deps: HubDeps) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES, handleProtocols: (protocols) => (protocols.has(LIVE_PROTOCOL) ? LIVE_PROTOCOL : false) });
  const byName = new Map(deps.topics.map((t) => [t.topic.name, t]));
  const connections = new Set<Connection>();
  const feeds = new Map<string, Feed>();
  const { metrics, log } = deps;

  function send(conn: Connection, message: ServerMessage): void {
    if (conn.ws.readyState !== conn.ws.OPEN) return;
    if (conn.ws.bufferedAmount > MAX_BUFFERED) {
      metrics.liveMessages.inc({ outcome: "dropped" });
      if (!conn.lagging) {
        conn.lagging = true;
        // Said once per lag, after the buffer drains (sent even over the limit: it is small).
        conn.ws.send(JSON.stringify({ type: "lagging", message: "messages were dropped because this client reads too slowly" }));
      }
      return;
    }
    conn.lagging = false;
    conn.ws.send(JSON.stringify(message));
    metrics.liveMessages.inc({ outcome: "sent" });
  }

  function startFeed(key: string, sub: Subscription): void {
    const existing = feeds.get(key);
    if (existing) {
      existing.subs.add(sub);
      // A late joiner gets the current value at once instead of waiting for a change.
      if (existing.last !== undefined) send(sub.conn, { type: "data", id: sub.id, topic: sub.entry.topic.name, data: JSON.parse(existing.last), at: new Date().toISOString() });
      return;
    }
    const poll = sub.entry.topic.poll!;
    const feed: Feed = { subs: new Set([sub]), reading: false, timer: setInterval(() => void read(), poll.every) };
    feed.timer.unref();
    feeds.set(key, feed);
    const read = async () => {
      if (feed.reading) return;
      feed.reading = true;
      try {
        const value = await poll.read(sub.entry.storage(sub.conn.tenant), sub.params);
        const text = JSON.stringify(value ?? null);
        if (text === feed.last) return;
        feed.last = text;
        const at = new Date().toISOString();
        for (const s of feed.subs) send(s.conn, { type: "data", id: s.id, topic: s.entry.topic.name, data: value ?? null, at });
      } catch (error) {
        log.warn({ topic: sub.entry.topic.name, err: (error as Error).message }, "a live topic could not be read");
        for (const s of feed.subs) send(s.conn, { type: "error", id: s.id, code: "unavailable", message: "the topic could not be read now; it is retried" });
      } finally {
        feed.reading = false;
      }
    };
    void read();
  }

  function stopSub(sub: Subscription): void {
    if (!sub.feedKey) return;
    const feed = feeds.get(sub.feedKey);
    if (!feed) return;
    feed.subs.delete(sub);
    if (feed.subs.size === 0) {
      clearInterval(feed.timer);
      feeds.delete(sub.feedKey);
    }
  }

  function onMessage(conn: Connection, text: string): void {
    const parsed = parseClientMessage(text);
    if (!parsed.ok) return send(conn, { type: "error", ...(parsed.id ? { id: parsed.id } : {}), code: "invalid_argument", message: parsed.message });
    const message = parsed.message;
    if (message.type === "unsubscribe") {
      const sub = conn.subs.get(message.id);
      if (!sub) return send(conn, { type: "error", id: message.id, code: "not_found", message: `no subscription "${message.id}" on this connection` });
      stopSub(sub);
      conn.subs.delete(message.id);
      return send(conn, { type: "unsubscribed", id: message.id });
    }
    const entry = byName.get(message.topic);
    if (!entry) return send(conn, { type: "error", id: message.id, code: "not_found", message: `no topic "${message.topic}": topics are ${[...byName.keys()].sort().join(", ")}` });
    if (conn.subs.has(message.id)) return send(conn, { type: "error", id: message.id, code: "invalid_argument", message: `subscription id "${message.id}" is in use on this connection: pick another or unsubscribe first` });
    if (conn.subs.size >= MAX_SUBSCRIPTIONS) return send(conn, { type: "error", id: message.id, code: "resource_exhausted", message: `at most ${MAX_SUBSCRIPTIONS} subscriptions per connection` });
    const params = entry.topic.params.safeParse(message.params ?? {});
    if (!params.success) {
      const issue = params.error.issues[0]!;
      return send(conn, { type: "error", id: message.id, code: "invalid_argument", message: `params${issue.path.length ? `.${issue.path.join(".")}` : ""}: ${issue.message}` });
    }
    const sub: Subscription = { id: message.id, conn, entry, params: params.data };
    conn.subs.set(message.id, sub);
    send(conn, { type: "subscribed", id: message.id, topic: entry.topic.name });
    if (entry.topic.poll) {
      sub.feedKey = `${conn.tenant}\u0000${entry.topic.name}\u0000${JSON.stringify(params.data)}`;
      startFeed(sub.feedKey, sub);
    }
  }

  function onConnection(ws: WebSocket, key: ApiKey, stillAllowed: () => Promise<boolean>): void {
    const conn: Connection = { ws, tenant: key.tenant, subs: new Map(), alive: true, lagging: false, stillAllowed };
    connections.add(conn);
    metrics.liveConnections.set(connections.size);
    ws.on("pong", () => (conn.alive = true));
    ws.on("message", (data, isBinary) => {
      if (isBinary) return send(conn, { type: "error", code: "invalid_argument", message: "messages are JSON text, not binary" });
      onMessage(conn, data.toString());
    });
    ws.on("close", () => {
      for (const sub of conn.subs.values()) stopSub(sub);
      connections.delete(conn);
      metrics.liveConnections.set(connections.size);
    });
    ws.on("error", () => ws.terminate());
    send(conn, { type: "hello", tenant: key.tenant, topics: [...byName.values()].map((t) => ({ name: t.topic.name, description: t.topic.description })) });
  }

  const pinger = setInterval(() => {
    for (const conn of connections) {
      if (!conn.alive) {
        conn.ws.terminate();
        continue;
      }
      conn.alive = false;
      conn.ws.ping();
      // A key revoked or a session ended (sign-out, new password, user deleted) closes the
      // socket at the next ping, not only new connections. A storage error keeps it.
      void conn.stillAllowed().then(
        (allowed) => {
          if (!allowed) conn.ws.close(1008, "the key was revoked or the session ended: sign in again");
        },
        () => undefined,
      );
    }
  }, PING_MS);
  pinger.unref();

  function refuse(socket: Duplex, status: number, reason: string, message: string): void {
    const body = JSON.stringify({ error: { code: reason, message, details: [] } });
    socket.end(`HTTP/1.1 ${status} ${status === 401 ? "Unauthorized" : status === 403 ? "Forbidden" : status === 503 ? "Service Unavailable" : "Bad Request"}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
  }

  /** The key from `Authorization: Bearer …`, or from the `bearer.<key>` subprotocol browsers use. */
  function tokenOf(req: IncomingMessage): string | undefined {
    const header = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "")?.[1];
    if (header) return header;
    const offered = (req.headers["sec-websocket-protocol"] ?? "").split(",").map((p) => p.trim());
    return offered.find((p) => p.startsWith("bearer."))?.slice("bearer.".length) || undefined;
  }

  /** The dashboard's session cookie, when the browser sent one. */
  function sessionOf(req: IncomingMessage): string | undefined {
    for (const part of (req.headers.cookie ?? "").split(";")) {
      const [name, ...value] = part.trim().split("=");
      if (name === SESSION_COOKIE) return decodeURIComponent(value.join("=")) || undefined;
    }
    return undefined;
  }

  /**
   * Browsers send cookies with cross-site WebSocket handshakes that SameSite does not
   * always cover, and a WebSocket has no CSRF header: the Origin must be our own host.
   */
  function sameOrigin(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    if (!origin) return false;
    try {
      return new URL(origin).host === req.headers.host;
    } catch {
      return false;
    }
  }

  async function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const path = (req.url ?? "").split("?")[0]!.replace(/\/$/, "");
    if (path !== LIVE_PATH) return refuse(socket, 400, "not_found", `no WebSocket at ${path}: the live API is ${LIVE_PATH}`);
    const problem = deps.storageProblem();
    if (problem !== undefined) return refuse(socket, 503, "unavailable", `storage is not ready (${problem}): retry later`);
    const token = tokenOf(req);
    const session = token ? undefined : sessionOf(req);
    if (!token && !session) return refuse(socket, 401, "unauthenticated", `missing API key: send "Authorization: Bearer <key>", or offer the subprotocols "${LIVE_PROTOCOL}" and "bearer.<key>", or sign in to the dashboard`);
    if (session && !sameOrigin(req)) return refuse(socket, 403, "permission_denied", "a session cookie is accepted only from the collector's own pages (the Origin header does not match the Host)");
    const key = await (token ? deps.authenticate(token) : deps.authenticateSession(session!)).catch(() => undefined);
    if (!key) return refuse(socket, 401, "unauthenticated", token ? "the API key is not valid: it is unknown or was revoked" : "your session has ended or expired: sign in again");
    if (!hasScope(key.scopes, "read")) return refuse(socket, 403, "permission_denied", `this key has scopes [${key.scopes.join(", ")}] but the live API needs "read"`);
    const stillAllowed = async () => {
      const now = await (token ? deps.authenticate(token) : deps.authenticateSession(session!));
      return now !== undefined && now.tenant === key.tenant && hasScope(now.scopes, "read");
    };
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, key, stillAllowed));
  }

  return {
    attach(server: Server): void {
      server.on("upgrade", (req, socket, head) => {
        void onUpgrade(req, socket, head).catch((error: unknown) => {
          log.error({ err: (error as Error).message }, "live connection failed");
          socket.destroy();
        });
      });
    },

    /** Each stored batch: topics fed by events get it, per subscriber of its tenant. */
    onStored(rows: readonly EventRow[]): void {
      if (connections.size === 0 || rows.length === 0) return;
      const tenant = rows[0]!.tenant;
      for (const conn of connections) {
        if (conn.tenant !== tenant) continue;
        for (const sub of conn.subs.values()) {
          const onEvents = sub.entry.topic.onEvents;
          if (!onEvents) continue;
          let data: unknown;
          try {
            data = onEvents(rows as readonly LiveEvent[], sub.params);
          } catch (error) {
            log.warn({ topic: sub.entry.topic.name, err: (error as Error).message }, "a live topic failed on stored events");
            continue;
          }
          if (data !== undefined) send(conn, { type: "data", id: sub.id, topic: sub.entry.topic.name, data, at: new Date().toISOString() });
        }
      }
    },

    connectionCount: () => connections.size,

    close(): void {
      clearInterval(pinger);
      for (const feed of feeds.values()) clearInterval(feed.timer);
      feeds.clear();
      for (const conn of connections) conn.ws.close(1001, "the collector is shutting down: reconnect");
      wss.close();
    },
  };
}

export type LiveHub = ReturnType<typeof createLiveHub>;
