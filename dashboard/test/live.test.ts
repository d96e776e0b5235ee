import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { LIVE_PROTOCOL, LiveClient, type LiveStatus, type SocketLike } from "../src/lib/live.js";

/** A WebSocket double the test drives: it records what the client sends and plays the server. */
class FakeSocket implements SocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Record<string, unknown>[] = [];
  closed = false;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[],
  ) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  /** The server accepts: open, then hello. */
  accept() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
    this.receive({ type: "hello", tenant: "t1", topics: [] });
  }
  receive(message: unknown) {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(message) }));
  }
  drop() {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code: 1006 }));
  }
}

function client() {
  const statuses: LiveStatus[] = [];
  const live = new LiveClient({
    url: () => "ws://collector.test/api/live",
    createSocket: (url, protocols) => new FakeSocket(url, protocols),
    minDelay: 1000,
    maxDelay: 8000,
    idleCloseDelay: 5000,
  });
  live.onStatus((s) => statuses.push(s));
  return { live, statuses, socket: () => FakeSocket.all.at(-1)! };
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe("LiveClient", () => {
  test("connects on the first subscription, offers the vigil.v1 subprotocol, subscribes once open", () => {
    const { live, socket, statuses } = client();
    expect(FakeSocket.all).toHaveLength(0);
    const got: unknown[] = [];
    live.subscribe("events", { source: "reddit" }, (data) => got.push(data));
    expect(socket().protocols).toEqual([LIVE_PROTOCOL]);
    expect(socket().sent).toEqual([]); // not open yet
    socket().accept();
    expect(socket().sent).toEqual([{ type: "subscribe", id: "s1", topic: "events", params: { source: "reddit" } }]);
    expect(statuses).toEqual(["idle", "connecting", "open"]);

    socket().receive({ type: "data", id: "s1", topic: "events", data: { events: [1] }, at: "now" });
    socket().receive({ type: "data", id: "other", topic: "events", data: { events: [2] }, at: "now" });
    expect(got).toEqual([{ events: [1] }]);
  });

  test("reconnects with growing backoff and resubscribes everything still wanted", () => {
    const { live, socket, statuses } = client();
    const reconnected = vi.fn();
    live.subscribe("alerts", {}, () => undefined, { onReconnect: reconnected });
    const stop = live.subscribe("events", {}, () => undefined);
    socket().accept();
    socket().receive({ type: "subscribed", id: "s1", topic: "alerts" });
    stop();
    expect(socket().sent.at(-1)).toEqual({ type: "unsubscribe", id: "s2" });

    socket().drop();
    expect(statuses.at(-1)).toBe("reconnecting");
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1000); // first retry within minDelay
    expect(FakeSocket.all).toHaveLength(2);
    socket().drop(); // refused again: the next wait is longer
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1001);
    expect(FakeSocket.all).toHaveLength(3);

    socket().accept();
    expect(socket().sent).toEqual([{ type: "subscribe", id: "s1", topic: "alerts", params: {} }]);
    socket().receive({ type: "subscribed", id: "s1", topic: "alerts" });
    expect(reconnected).toHaveBeenCalledTimes(1);
    expect(statuses.at(-1)).toBe("open");
  });

  test("server errors go to the subscription's onError", () => {
    const { live, socket } = client();
    const onError = vi.fn();
    live.subscribe("nope", {}, () => undefined, { onError });
    socket().accept();
    socket().receive({ type: "error", id: "s1", code: "not_found", message: 'no topic "nope"' });
    expect(onError).toHaveBeenCalledWith('no topic "nope"', "not_found");
  });

  test("closes a while after the last unsubscribe, not at once", () => {
    const { live, socket, statuses } = client();
    const stop = live.subscribe("alerts", {}, () => undefined);
    socket().accept();
    stop();
    expect(socket().closed).toBe(false);
    // A page change subscribes again within the grace period: same socket.
    const stop2 = live.subscribe("events", {}, () => undefined);
    vi.advanceTimersByTime(10_000);
    expect(socket().closed).toBe(false);
    expect(socket().sent.at(-1)).toMatchObject({ type: "subscribe", topic: "events" });
    stop2();
    vi.advanceTimersByTime(5000);
    expect(socket().closed).toBe(true);
    expect(statuses.at(-1)).toBe("idle");
    expect(FakeSocket.all).toHaveLength(1);
  });

  test("reset (logout) closes and forgets subscriptions: no reconnect", () => {
    const { live, socket } = client();
    live.subscribe("alerts", {}, () => undefined);
    socket().accept();
    live.reset();
    expect(socket().closed).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(live.status).toBe("idle");
  });
});
