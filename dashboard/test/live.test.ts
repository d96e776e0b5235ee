import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { LIVE_PROTOCOL, LiveClient, type LiveStatus } from "../src/lib/live.js";
import { FakeWebSocket } from "./support/live.js";

function client() {
  const statuses: LiveStatus[] = [];
  const live = new LiveClient({
    url: () => "ws://collector.test/api/live",
    createSocket: (url, protocols) => new FakeWebSocket(url, protocols),
    minDelay: 1000,
    maxDelay: 8000,
    idleCloseDelay: 5000,
  });
  live.onStatus((s) => statuses.push(s));
  return { live, statuses, socket: () => FakeWebSocket.last! };
}

beforeEach(() => {
  FakeWebSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

describe("LiveClient", () => {
  test("connects on the first subscription, offers the vigil.v1 subprotocol, subscribes once open", () => {
    const { live, socket, statuses } = client();
    expect(FakeWebSocket.all).toHaveLength(0);
    const got: unknown[] = [];
    live.subscribe("events", { source: "reddit" }, (data) => got.push(data));
    expect(socket().protocols).toEqual([LIVE_PROTOCOL]);
    expect(socket().sent).toEqual([]); // not open yet
    socket().open();
    expect(socket().sent).toEqual([{ type: "subscribe", id: "s1", topic: "events", params: { source: "reddit" } }]);
    expect(statuses).toEqual(["idle", "connecting", "open"]);

    socket().push({ type: "data", id: "s1", topic: "events", data: { events: [1] }, at: "now" });
    socket().push({ type: "data", id: "other", topic: "events", data: { events: [2] }, at: "now" });
    expect(got).toEqual([{ events: [1] }]);
  });

  test("reconnects with growing backoff and resubscribes everything still wanted", () => {
    const { live, socket, statuses } = client();
    const reconnected = vi.fn();
    live.subscribe("alerts", {}, () => undefined, { onReconnect: reconnected });
    const stop = live.subscribe("events", {}, () => undefined);
    socket().open();
    socket().push({ type: "subscribed", id: "s1", topic: "alerts" });
    stop();
    expect(socket().sent.at(-1)).toEqual({ type: "unsubscribe", id: "s2" });

    socket().drop();
    expect(statuses.at(-1)).toBe("reconnecting");
    expect(FakeWebSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1000); // first retry within minDelay
    expect(FakeWebSocket.all).toHaveLength(2);
    socket().drop(); // refused again: the next wait is longer
    vi.advanceTimersByTime(999);
    expect(FakeWebSocket.all).toHaveLength(2);
    vi.advanceTimersByTime(1001);
    expect(FakeWebSocket.all).toHaveLength(3);

    socket().open();
    expect(socket().sent).toEqual([{ type: "subscribe", id: "s1", topic: "alerts", params: {} }]);
    socket().push({ type: "subscribed", id: "s1", topic: "alerts" });
    expect(reconnected).toHaveBeenCalledTimes(1);
    expect(statuses.at(-1)).toBe("open");
  });

  test("server errors go to the subscription's onError", () => {
    const { live, socket } = client();
    const onError = vi.fn();
    live.subscribe("nope", {}, () => undefined, { onError });
    socket().open();
    socket().push({ type: "error", id: "s1", code: "not_found", message: 'no topic "nope"' });
    expect(onError).toHaveBeenCalledWith('no topic "nope"', "not_found");
  });

  test("closes a while after the last unsubscribe, not at once", () => {
    const { live, socket, statuses } = client();
    const stop = live.subscribe("alerts", {}, () => undefined);
    socket().open();
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
    expect(FakeWebSocket.all).toHaveLength(1);
  });

  test("reset (logout) closes and forgets subscriptions: no reconnect", () => {
    const { live, socket } = client();
    live.subscribe("alerts", {}, () => undefined);
    socket().open();
    live.reset();
    expect(socket().closed).toBe(true);
    vi.advanceTimersByTime(60_000);
    expect(FakeWebSocket.all).toHaveLength(1);
    expect(live.status).toBe("idle");
  });
});
