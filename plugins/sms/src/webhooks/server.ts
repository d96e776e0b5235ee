import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { EventInput, Logger } from "@vigil/plugin-sdk";
import type { ListenAddress, WebhooksConfig } from "./config.js";
import { BodyTooLargeError, formParams, jsonParams, mediaType, readBodyLimited, sendError, sendJson } from "./http.js";
import { receiptEvent, type Interpretation, type Outcome, type Provider } from "./receipt.js";
import type { Params } from "./signature.js";
import { interpretTwilio, TWILIO_SIGNATURE_HEADER, TWILIO_SIGNATURE_SETTINGS_HEADER, verifyTwilioSignature } from "./twilio.js";
import { interpretVonage, verifyVonageSignature } from "./vonage.js";

export const TWILIO_ROUTE = "/twilio/status";
export const VONAGE_ROUTE = "/vonage/receipt";

/** How long a provider waits before trying again after a 503 (Vonage retries; Twilio only with `#rc=` overrides). */
const RETRY_AFTER_SECONDS = "5";
/** A slow client may not hold a connection open forever: whole request, and headers. */
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 15_000;
/** A burst of bad signatures is logged once per provider per this period, with the count. */
const REJECTION_LOG_INTERVAL_MS = 30_000;

export interface WebhookServerOptions {
  /** The current configuration, read per request so a changed secret applies at once. */
  config(): WebhooksConfig;
  /** Queues the event; resolves once it is durable. */
  emit(event: EventInput): Promise<void>;
  /** Counts what became of a request to a provider's route. */
  record(provider: Provider, outcome: Outcome): void;
  log: Logger;
  /** The clock receipts are stamped with. */
  now?: () => number;
}

export interface WebhookServer {
  /** Binds the address; resolves with what it is bound to, "host:port". */
  listen(address: ListenAddress): Promise<string>;
  /** Stops accepting, waits for requests in flight (their events are queued), closes every connection. Safe twice. */
  close(): Promise<void>;
}

/** A provider route's answer: the status and body, and what it counts as. */
interface Answer {
  outcome: Outcome;
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

const errorBody = (code: string, message: string) => ({ error: { code, message } });
const invalid = (status: number, code: string, message: string): Answer => ({ outcome: "invalid", status, body: errorBody(code, message) });

/**
 * The receipts' HTTP server: `POST /twilio/status` and `GET|POST /vonage/receipt`, also
 * under public_url's path (`/sms/twilio/status`) for proxies that keep it. A receipt is
 * answered 200 only once its event is in the agent's disk queue.
 */
export function createWebhookServer(options: WebhookServerOptions): WebhookServer {
  const now = options.now ?? Date.now;
  const inFlight = new Set<Promise<void>>();
  const rejections = new Map<Provider, { lastLoggedAt: number; suppressed: number }>();
  let server: Server | undefined;
  let closing: Promise<void> | undefined;

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const work = route(req, res).catch((error: unknown) => {
      options.log.error({ reason: error instanceof Error ? error.message : String(error) }, "webhook request failed");
      if (!res.headersSent) sendError(res, 500, "internal", "the receipt could not be handled");
      else res.destroy();
    });
    inFlight.add(work);
    void work.finally(() => inFlight.delete(work));
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const config = options.config();
    const target = req.url ?? "/";
    const queryAt = target.indexOf("?");
    const path = queryAt === -1 ? target : target.slice(0, queryAt);
    // With its "?": a URL ending in a bare "?" was signed with it.
    const rawSearch = queryAt === -1 ? "" : target.slice(queryAt);
    const routePath = routeOf(path, config.public_url);
    const provider: Provider | undefined =
      routePath === TWILIO_ROUTE && config.twilio ? "twilio" : routePath === VONAGE_ROUTE && config.vonage ? "vonage" : undefined;
    if (provider === undefined) return sendError(res, 404, "not_found", `no such route: receipts are taken at ${routesOf(config)}`);

    const allowed = provider === "twilio" ? ["POST"] : ["GET", "POST"];
    if (!allowed.includes(req.method ?? "")) {
      return respond(res, provider, invalid(405, "method_not_allowed", `${routePath} takes ${allowed.join(" or ")}`), { allow: allowed.join(", ") });
    }

    let body = "";
    if (req.method === "POST") {
      try {
        body = await readBodyLimited(req, config.max_body_bytes);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        // The rest of the body is not read: the connection closes after the answer.
        return respond(res, provider, invalid(413, "payload_too_large", error.message), { connection: "close" });
      }
    }
    const query = new URLSearchParams(rawSearch);
    // Twilio signed the URL it called: public_url, the route, and the query exactly as received.
    const answer =
      provider === "twilio"
        ? await twilioAnswer(req, body, `${config.public_url!}${routePath}${rawSearch}`, query, config)
        : await vonageAnswer(req, body, query, config);
    respond(res, provider, answer);
  }

  async function twilioAnswer(req: IncomingMessage, body: string, url: string, query: URLSearchParams, config: WebhooksConfig): Promise<Answer> {
    if (mediaType(req) !== "application/x-www-form-urlencoded") {
      return invalid(415, "unsupported_media_type", "Twilio status callbacks are application/x-www-form-urlencoded");
    }
    const params = formParams(body);
    const signature = header(req, TWILIO_SIGNATURE_HEADER);
    if (!verifyTwilioSignature(config.twilio!.auth_token, signature, url, params)) {
      logRejection("twilio", twilioRejectionReason(req, signature, url));
      return { outcome: "rejected_signature", status: 403, body: errorBody("forbidden", signature ? "the X-Twilio-Signature does not match" : "the X-Twilio-Signature header is missing") };
    }
    return receive(interpretTwilio(params, query, now()), config);
  }

  async function vonageAnswer(req: IncomingMessage, body: string, query: URLSearchParams, config: WebhooksConfig): Promise<Answer> {
    let params: Params;
    if (req.method === "GET" || body.trim() === "") params = [...query];
    else {
      const type = mediaType(req);
      const asJson = type === "application/json" || (type === "" && body.trimStart().startsWith("{"));
      const parsed = asJson ? jsonParams(body) : type === "application/x-www-form-urlencoded" || type === "" ? formParams(body) : undefined;
      if (parsed === undefined) {
        return asJson
          ? invalid(400, "invalid_argument", "the JSON body must be one flat object of strings")
          : invalid(415, "unsupported_media_type", "Vonage receipts are JSON, form-encoded or a query string");
      }
      params = parsed;
    }
    const { signature_secret: secret, signature_method: method } = config.vonage!;
    if (secret !== undefined && !verifyVonageSignature(secret, method, params)) {
      const sent = params.some(([name]) => name === "sig");
      logRejection("vonage", sent ? `sig does not match (signature_method ${method}): check the signature secret and method in the Vonage dashboard` : "sig is missing: enable signed webhooks for the account, or remove vonage.signature_secret");
      return { outcome: "rejected_signature", status: 403, body: errorBody("forbidden", sent ? "the sig does not match" : "the sig parameter is missing") };
    }
    return receive(interpretVonage(params, query, now()), config);
  }

  /** Queues the event of a receipt; 200 only once it is durable, 503 (retry) when it could not be. */
  async function receive(interpretation: Interpretation, config: WebhooksConfig): Promise<Answer> {
    if (interpretation.kind === "ignored") return { outcome: "ignored", status: 200, body: { status: "ignored", reason: interpretation.reason } };
    if (interpretation.kind === "invalid") return invalid(400, "invalid_argument", interpretation.reason);
    const { receipt } = interpretation;
    try {
      await options.emit(receiptEvent(receipt, config.hash_salt));
    } catch (error) {
      options.log.error({ provider: receipt.reporter, message_id: receipt.messageId, reason: error instanceof Error ? error.message : String(error) }, "receipt could not be queued; the provider is asked to retry");
      return { outcome: "queue_error", status: 503, body: errorBody("unavailable", "the receipt could not be queued; retry later"), headers: { "retry-after": RETRY_AFTER_SECONDS } };
    }
    return { outcome: "accepted", status: 200, body: { status: "accepted", message_id: receipt.messageId, message_status: receipt.status } };
  }

  function respond(res: ServerResponse, provider: Provider, answer: Answer, headers: Record<string, string> = {}): void {
    options.record(provider, answer.outcome);
    sendJson(res, answer.status, answer.body, { ...answer.headers, ...headers });
  }

  function logRejection(provider: Provider, reason: string): void {
    const entry = rejections.get(provider) ?? { lastLoggedAt: -Infinity, suppressed: 0 };
    rejections.set(provider, entry);
    if (now() - entry.lastLoggedAt < REJECTION_LOG_INTERVAL_MS) {
      entry.suppressed++;
      return;
    }
    options.log.warn({ provider, reason, rejected_since_last_log: entry.suppressed }, "webhook refused: bad or missing signature (answered 403, nothing stored)");
    entry.lastLoggedAt = now();
    entry.suppressed = 0;
  }

  return {
    listen(address) {
      return new Promise((resolve, reject) => {
        const created = createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: HEADERS_TIMEOUT_MS }, handle);
        created.once("error", (error: NodeJS.ErrnoException) => {
          reject(new Error(`the webhook server cannot listen on ${formatAddress(address)}: ${error.code ?? error.message}`));
        });
        created.listen(address.port, address.host, () => {
          server = created;
          const bound = created.address() as AddressInfo;
          resolve(formatAddress({ host: bound.address, port: bound.port }));
        });
      });
    },
    close() {
      closing ??= (async () => {
        const current = server;
        if (!current) return;
        const closed = new Promise<void>((resolve) => current.close(() => resolve()));
        current.closeIdleConnections();
        await Promise.allSettled([...inFlight]);
        current.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

/** The routes a configuration serves, for the 404 answer. */
function routesOf(config: WebhooksConfig): string {
  const routes = [...(config.twilio ? [`POST ${TWILIO_ROUTE}`] : []), ...(config.vonage ? [`GET|POST ${VONAGE_ROUTE}`] : [])];
  return routes.join(" and ");
}

/** Why a Twilio signature was refused, in words that say what to fix. */
function twilioRejectionReason(req: IncomingMessage, signature: string | undefined, url: string): string {
  if (!signature) return "X-Twilio-Signature is missing";
  if (header(req, TWILIO_SIGNATURE_SETTINGS_HEADER) !== undefined) {
    return "signed with a Webhook Rule's shared key (X-Twilio-Webhooks-Signature-Settings), which this receiver does not take: sign this URL with the account's Auth Token";
  }
  return `X-Twilio-Signature does not match for ${url}: public_url must be the base of the exact URL Twilio calls, and auth_token the account's`;
}

/** The route a request path names, with or without public_url's path in front (`/sms/twilio/status` → `/twilio/status`). */
function routeOf(path: string, publicUrl: string | undefined): string {
  const prefix = publicUrl === undefined ? "" : new URL(publicUrl).pathname.replace(/\/+$/, "");
  return prefix !== "" && path.startsWith(`${prefix}/`) ? path.slice(prefix.length) : path;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function formatAddress(address: ListenAddress): string {
  return address.host.includes(":") ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
