import WebSocket from "ws";

/**
 * A client of the collector's live WebSocket for tests: connects with a key (header or
 * the browsers' subprotocol form), keeps every message, and waits for the ones asked for.
 */
export interface LiveClient {
  messages: any[];
  send(message: unknown): void;
  /** Sends text as it is (to test what the server does with bad frames). */
  sendRaw(text: string): void;
  /** The first message (from the start) that `match` accepts and was not taken before. */
  next(match: (message: any) => boolean, timeoutMs?: number): Promise<any>;
  close(): Promise<void>;
}

/** `token` is an API key, or with `via: "cookie"` a `Cookie` header value (sent with `origin`, as a browser would). */
export async function connectLive(baseUrl: string, token: string, options: { via?: "header" | "subprotocol" | "cookie"; origin?: string } = {}): Promise<LiveClient> {
  const url = `${baseUrl.replace(/^http/, "ws")}/api/live`;
  const ws =
    options.via === "subprotocol"
      ? new WebSocket(url, ["vigil.v1", `bearer.${token}`])
      : options.via === "cookie"
        ? new WebSocket(url, ["vigil.v1"], { headers: { cookie: token, ...(options.origin ? { origin: options.origin } : {}) } })
        : new WebSocket(url, ["vigil.v1"], { headers: { authorization: `Bearer ${token}` } });
  const messages: any[] = [];
  const taken = new Set<number>();
  const waiters: (() => void)[] = [];
  ws.on("message", (data) => {
    messages.push(JSON.parse(data.toString()));
    for (const wake of waiters.splice(0)) wake();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c));
      res.on("end", () => reject(Object.assign(new Error(`live connection refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
    });
    ws.once("error", reject);
  });
  return {
    messages,
    send: (message) => ws.send(JSON.stringify(message)),
    sendRaw: (text) => ws.send(text),
    async next(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const index = messages.findIndex((m, i) => !taken.has(i) && match(m));
        if (index >= 0) {
          taken.add(index);
          return messages[index];
        }
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching live message in ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 1500)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (ws.readyState === ws.CLOSED) return resolve();
        ws.once("close", () => resolve());
        ws.close();
      }),
  };
}
