/**
 * Live updates over one WebSocket per tab (`/api/live`, same origin; the session cookie
 * authenticates). Pages call `subscribe(topic, params, onData)` and get back the
 * function that ends the subscription; the connection opens with the first subscription
 * and closes shortly after the last one ends.
 *
 * When the connection drops, it reconnects with exponential backoff and jitter and
 * subscribes again to everything still wanted, so pages never handle reconnection.
 * Updates sent while disconnected are lost: a page that must not miss any reloads its
 * list from the REST API on `onReconnect`.
 *
 * Protocol: collector/src/live/protocol.ts.
 */

export type LiveStatus = "idle" | "connecting" | "open" | "reconnecting";

export interface SubscribeOptions {
  /** The server refused or failed the subscription (unknown topic, bad params, read error). */
  onError?: (message: string, code: string) => void;
  /** Called after a reconnect re-established this subscription (updates in between were lost). */
  onReconnect?: () => void;
}

interface Subscription {
  topic: string;
  params: Record<string, unknown>;
  onData: (data: unknown, at: string) => void;
  options: SubscribeOptions;
  /** Subscribed on a previous connection: the next "subscribed" is a re-subscription. */
  seen: boolean;
}

type ServerMessage =
  | { type: "hello"; tenant: string }
  | { type: "subscribed"; id: string }
  | { type: "unsubscribed"; id: string }
  | { type: "data"; id: string; topic: string; data: unknown; at: string }
  | { type: "error"; id?: string; code: string; message: string }
  | { type: "lagging"; message: string };

/** What a LiveClient needs from the browser; tests pass a fake. */
export interface SocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: Event) => void) | null;
  onmessage: ((event: MessageEvent) => void) | null;
  onclose: ((event: CloseEvent) => void) | null;
  onerror: ((event: Event) => void) | null;
}

export interface LiveClientOptions {
  url: () => string;
  createSocket?: (url: string, protocols: string[]) => SocketLike;
  /** Backoff bounds in ms. */
  minDelay?: number;
  maxDelay?: number;
  /** How long the socket stays open after the last unsubscribe (page changes resubscribe at once). */
  idleCloseDelay?: number;
}

/** The subprotocol the collector's hub selects; the browser refuses the socket if none is agreed. */
export const LIVE_PROTOCOL = "vigil.v1";
const OPEN = 1;

export class LiveClient {
  private socket: SocketLike | null = null;
  private readonly subs = new Map<string, Subscription>();
  private readonly statusListeners = new Set<(status: LiveStatus) => void>();
  private current: LiveStatus = "idle";
  private attempt = 0;
  private nextId = 1;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly options: Required<LiveClientOptions>;

  constructor(options: LiveClientOptions) {
    this.options = {
      createSocket: (url, protocols) => new WebSocket(url, protocols),
      minDelay: 1000,
      maxDelay: 30_000,
      idleCloseDelay: 5000,
      ...options,
    };
  }

  get status(): LiveStatus {
    return this.current;
  }

  /** Calls `listener` with the status now and on every change. Returns the unsubscribe. */
  onStatus(listener: (status: LiveStatus) => void): () => void {
    this.statusListeners.add(listener);
    listener(this.current);
    return () => this.statusListeners.delete(listener);
  }

  subscribe<T = unknown>(topic: string, params: Record<string, unknown>, onData: (data: T, at: string) => void, options: SubscribeOptions = {}): () => void {
    const id = `s${this.nextId++}`;
    this.subs.set(id, { topic, params, onData: onData as (data: unknown, at: string) => void, options, seen: false });
    if (this.idleTimer) (clearTimeout(this.idleTimer), (this.idleTimer = null));
    if (this.socket?.readyState === OPEN) this.sendSubscribe(id);
    else if (!this.socket && !this.retryTimer) this.connect();
    return () => this.unsubscribe(id);
  }

  private unsubscribe(id: string): void {
    if (!this.subs.delete(id)) return;
    if (this.socket?.readyState === OPEN) this.socket.send(JSON.stringify({ type: "unsubscribe", id }));
    if (this.subs.size === 0 && !this.idleTimer) {
      this.idleTimer = setTimeout(() => {
        this.idleTimer = null;
        if (this.subs.size === 0) this.disconnect();
      }, this.options.idleCloseDelay);
    }
  }

  /** Close now and forget every subscription (logout). */
  reset(): void {
    this.subs.clear();
    this.disconnect();
  }

  private connect(): void {
    this.setStatus(this.attempt === 0 ? "connecting" : "reconnecting");
    let socket: SocketLike;
    try {
      socket = this.options.createSocket(this.options.url(), [LIVE_PROTOCOL]);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      for (const id of this.subs.keys()) this.sendSubscribe(id);
    };
    socket.onmessage = (event) => this.onMessage(String(event.data));
    // Both an upgrade refused (401, 503) and a dropped connection end here.
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.subs.size > 0) this.scheduleRetry();
      else this.setStatus("idle");
    };
    socket.onerror = () => {
      // onclose follows and handles it
    };
  }

  private disconnect(): void {
    if (this.retryTimer) (clearTimeout(this.retryTimer), (this.retryTimer = null));
    if (this.idleTimer) (clearTimeout(this.idleTimer), (this.idleTimer = null));
    const socket = this.socket;
    this.socket = null;
    socket?.close(1000, "no subscriptions");
    this.attempt = 0;
    this.setStatus("idle");
  }

  private scheduleRetry(): void {
    this.setStatus("reconnecting");
    const { minDelay, maxDelay } = this.options;
    // Full jitter: many tabs reconnecting after a collector restart do not arrive together.
    const cap = Math.min(maxDelay, minDelay * 2 ** this.attempt);
    const delay = cap / 2 + Math.random() * (cap / 2);
    this.attempt++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.subs.size > 0) this.connect();
      else this.setStatus("idle");
    }, delay);
  }

  private sendSubscribe(id: string): void {
    const sub = this.subs.get(id);
    if (!sub || this.socket?.readyState !== OPEN) return;
    this.socket.send(JSON.stringify({ type: "subscribe", id, topic: sub.topic, params: sub.params }));
  }

  private onMessage(text: string): void {
    let message: ServerMessage;
    try {
      message = JSON.parse(text) as ServerMessage;
    } catch {
      return;
    }
    switch (message.type) {
      case "hello":
        // Authenticated and accepted: the connection counts as healthy, backoff starts over.
        this.attempt = 0;
        this.setStatus("open");
        break;
      case "subscribed": {
        const sub = this.subs.get(message.id);
        if (!sub) break;
        if (sub.seen) sub.options.onReconnect?.();
        sub.seen = true;
        break;
      }
      case "data":
        this.subs.get(message.id)?.onData(message.data, message.at);
        break;
      case "error": {
        const sub = message.id ? this.subs.get(message.id) : undefined;
        if (sub?.options.onError) sub.options.onError(message.message, message.code);
        else console.warn(`live: ${message.code}: ${message.message}`);
        break;
      }
      default:
        break;
    }
  }

  private setStatus(status: LiveStatus): void {
    if (status === this.current) return;
    this.current = status;
    for (const listener of this.statusListeners) listener(status);
  }
}

function defaultUrl(): string {
  return `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}/api/live`;
}

/** The tab's one live connection. */
export const live = new LiveClient({ url: defaultUrl });

/** Shorthand for `live.subscribe`. Call the returned function to stop (e.g. from an $effect's cleanup). */
export function subscribe<T = unknown>(topic: string, params: Record<string, unknown>, onData: (data: T, at: string) => void, options?: SubscribeOptions): () => void {
  return live.subscribe(topic, params, onData, options);
}
