import { afterEach, beforeEach, vi } from "vitest";
import { live } from "../../src/lib/live.js";

/**
 * The browser's WebSocket, played by the test: it records what the dashboard sends and
 * plays the collector's hub (`open` accepts and says hello, `push` sends a message, `drop`
 * loses the connection). A socket the test never opens stays silent.
 */
export class FakeWebSocket {
  static all: FakeWebSocket[] = [];
  static get last(): FakeWebSocket | undefined {
    return FakeWebSocket.all.at(-1);
  }
  readyState = 0;
  // Messages as the dashboard sent them (parsed JSON: tests read their fields).
  sent: Record<string, any>[] = [];
  closed = false;
  onopen: ((event: Event) => void) | null = null;
  onmessage: ((event: MessageEvent) => void) | null = null;
  onclose: ((event: CloseEvent) => void) | null = null;
  onerror: ((event: Event) => void) | null = null;
  constructor(
    readonly url: string,
    readonly protocols: string[] = [],
  ) {
    FakeWebSocket.all.push(this);
  }
  send(text: string) {
    this.sent.push(JSON.parse(text) as Record<string, any>);
  }
  close() {
    this.closed = true;
    this.readyState = 3;
  }
  /** The hub accepts: open, then hello. */
  open() {
    this.readyState = 1;
    this.onopen?.(new Event("open"));
    this.push({ type: "hello", tenant: "t1", topics: [] });
  }
  push(message: unknown) {
    this.onmessage?.(new MessageEvent("message", { data: JSON.stringify(message) }));
  }
  drop() {
    this.readyState = 3;
    this.onclose?.(new CloseEvent("close", { code: 1006 }));
  }
  /** The latest subscription to `topic` this socket sent. */
  subscription(topic: string) {
    return [...this.sent].reverse().find((m) => m.type === "subscribe" && m.topic === topic);
  }
}

/** For every test of the file: a FakeWebSocket as the browser's WebSocket, and the live client reset after it. */
export function useFakeWebSocket(): void {
  beforeEach(() => {
    FakeWebSocket.all = [];
    vi.stubGlobal("WebSocket", FakeWebSocket);
  });
  afterEach(() => live.reset());
}
