// An HTTP endpoint standing in for a user's webhook consumer: it records every request
// (headers and the raw body), checks Vigil-Signature when given the secret, and counts
// deliveries against distinct Vigil-Notification-Id values, as a receiver that drops
// repeats would. Switches make it answer errors, answer slowly, or not at all.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyWebhookSignature } from "../../collector/src/alerts/channels/webhook.js";
import { readBody } from "../fakes/read-body.js";

export interface WebhookReceiverOptions {
  port?: number;
  /** The channel's hmac_secret: requests whose signature does not verify are answered 401. */
  secret?: string;
}

export interface ReceivedWebhook {
  /** ms since the epoch. */
  at: number;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
  notificationId: string | undefined;
  /** Whether Vigil-Signature verified; only when the receiver has a secret. */
  signatureValid?: boolean;
  /** Set once answered. */
  status?: number;
}

export interface WebhookReceiver {
  url: string;
  /** Every request, oldest first, answered or not. */
  readonly requests: readonly ReceivedWebhook[];
  /** Requests answered 2xx: what the sender counts as delivered. */
  deliveries(): ReceivedWebhook[];
  /** Distinct notification ids among the 2xx deliveries, in the order first seen. */
  uniqueIds(): string[];
  /** The parsed body of the first 2xx delivery of each notification id. */
  notifications(): unknown[];
  /** The next `count` requests get this status (and body) instead of 200. */
  answerNext(status: number, options?: { count?: number; body?: string; headers?: Record<string, string> }): void;
  /** Every answer waits `ms` first; 0 switches it off. */
  delay(ms: number): void;
  /** Requests from now on get no answer until `release()` (or `close()`): a stalled consumer. */
  hang(): void;
  /** Answers the held requests (200, or a pending `answerNext`) and stops holding new ones. */
  release(): void;
  close(): Promise<void>;
}

interface Pending {
  status: number;
  body: string;
  headers: Record<string, string>;
  count: number;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const requests: ReceivedWebhook[] = [];
  const pending: Pending[] = [];
  const held: { received: ReceivedWebhook; res: ServerResponse }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let delayMs = 0;
  let hanging = false;

  function answer(received: ReceivedWebhook, res: ServerResponse): void {
    if (res.destroyed) return;
    if (received.signatureValid === false) return reply(res, 401, JSON.stringify({ error: "signature does not verify" }), {});
    const next = pending[0];
    if (next) {
      next.count -= 1;
      if (next.count <= 0) pending.shift();
      return reply(res, next.status, next.body, next.headers);
    }
    reply(res, 200, JSON.stringify({ ok: true }), {});
  }

  function reply(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(body);
  }

  const server = createServer((req, res) => {
    void readBody(req).then((rawBody) => {
      const header = (name: string) => {
        const value = req.headers[name];
        return Array.isArray(value) ? value[0] : value;
      };
      const received: ReceivedWebhook = {
        at: Date.now(),
        method: req.method ?? "POST",
        path: req.url ?? "/",
        headers: req.headers,
        rawBody,
        notificationId: header("vigil-notification-id"),
        ...(options.secret !== undefined ? { signatureValid: verifyWebhookSignature(options.secret, header("vigil-timestamp"), rawBody, header("vigil-signature")) } : {}),
      };
      requests.push(received);
      res.on("finish", () => (received.status = res.statusCode));
      if (hanging) return void held.push({ received, res });
      if (delayMs === 0) return answer(received, res);
      const timer = setTimeout(() => {
        timers.delete(timer);
        answer(received, res);
      }, delayMs);
      timers.add(timer);
    }, () => res.destroy());
  });
  server.listen(options.port ?? 0, "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });

  const deliveries = () => requests.filter((r) => r.status !== undefined && r.status >= 200 && r.status < 300);
  const firstDeliveries = () => {
    const seen = new Map<string, ReceivedWebhook>();
    for (const delivery of deliveries()) if (delivery.notificationId !== undefined && !seen.has(delivery.notificationId)) seen.set(delivery.notificationId, delivery);
    return [...seen.values()];
  };

  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    deliveries,
    uniqueIds: () => firstDeliveries().map((d) => d.notificationId!),
    notifications: () => firstDeliveries().map((d) => JSON.parse(d.rawBody) as unknown),
    answerNext: (status, { count = 1, body = JSON.stringify({ error: `answered ${status} on purpose` }), headers = {} } = {}) => void pending.push({ status, body, headers, count }),
    delay: (ms) => void (delayMs = ms),
    hang: () => void (hanging = true),
    release: () => {
      hanging = false;
      for (const { received, res } of held.splice(0)) answer(received, res);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        held.length = 0;
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
