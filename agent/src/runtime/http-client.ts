import { Agent, request as undiciRequest, errors } from "undici";
import { HttpRequestError, type HttpClient, type HttpFailureKind, type HttpRequest, type HttpResponse } from "@vigil/plugin-sdk";

const SAFE_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
const MAX_BODY_CHARS = 1024 * 1024;
const RETRY_BASE_MS = 200;

export interface HttpClientOptions {
  userAgent: string;
  /** origin → replacement origin, e.g. {"https://oauth.reddit.com": "http://127.0.0.1:9001"} */
  baseUrls?: Record<string, string>;
  dispatcher?: Agent;
}

/**
 * The HTTP client plugins get: undici with a User-Agent, a whole-request timeout, retries
 * with backoff where repeating is safe, and origin overrides so a plugin can be pointed at
 * a test server without code changes. Failures without an HTTP answer become an
 * `HttpRequestError` whose `kind` names the cause.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: 32 });
  const overrides = new Map(Object.entries(options.baseUrls ?? {}).map(([from, to]) => [new URL(from).origin, new URL(to).origin]));

  function rewrite(url: string): string {
    const parsed = new URL(url);
    const target = overrides.get(parsed.origin);
    if (!target) return url;
    const replaced = new URL(target);
    parsed.protocol = replaced.protocol;
    parsed.host = replaced.host;
    return parsed.toString();
  }

  async function once(url: string, req: HttpRequest, method: string): Promise<HttpResponse> {
    const started = performance.now();
    const timeoutMs = req.timeoutMs ?? 10_000;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = req.signal ? AbortSignal.any([timeout, req.signal]) : timeout;
    try {
      const response = await undiciRequest(url, {
        method: method as "GET",
        headers: { "user-agent": options.userAgent, ...req.headers },
        ...(req.body !== undefined ? { body: req.body } : {}),
        dispatcher,
        signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      let text = await response.body.text();
      if (text.length > MAX_BODY_CHARS) text = text.slice(0, MAX_BODY_CHARS);
      const headers: Record<string, string> = {};
      for (const [key, value] of Object.entries(response.headers)) {
        if (value !== undefined) headers[key] = Array.isArray(value) ? value.join(", ") : value;
      }
      return { status: response.statusCode, headers, text, durationMs: performance.now() - started, url };
    } catch (error) {
      const kind = req.signal?.aborted ? "aborted" : classify(error, timeout);
      throw new HttpRequestError(kind, describe(error, timeoutMs), url);
    }
  }

  return {
    async request(rawUrl, req = {}) {
      const url = rewrite(rawUrl);
      const method = (req.method ?? "GET").toUpperCase();
      const retries = SAFE_METHODS.has(method) || req.retryUnsafe ? (req.retries ?? 2) : 0;
      for (let attempt = 0; ; attempt++) {
        try {
          const response = await once(url, req, method);
          const retryable = response.status === 429 || response.status >= 500;
          if (!retryable || attempt >= retries) return response;
          await sleep(retryDelay(attempt, response.headers["retry-after"]));
        } catch (error) {
          if (attempt >= retries || (error instanceof HttpRequestError && error.kind === "aborted")) throw error;
          await sleep(retryDelay(attempt, undefined));
        }
      }
    },
  };
}

/** Exponential backoff with full jitter; a Retry-After in seconds wins when given. */
export function retryDelay(attempt: number, retryAfter: string | undefined, baseMs = RETRY_BASE_MS, capMs = 30_000): number {
  const seconds = retryAfter !== undefined ? Number(retryAfter) : Number.NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, capMs * 10);
  const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function classify(error: unknown, signal: AbortSignal): HttpFailureKind {
  const err = error as { code?: string; name?: string; cause?: { code?: string } };
  const code = err?.code ?? err?.cause?.code ?? "";
  if (signal.aborted || error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError || code === "UND_ERR_CONNECT_TIMEOUT") return "timeout";
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return "dns";
  if (code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENETUNREACH") return "connect";
  if (/CERT|SSL|TLS|SELF_SIGNED|ERR_TLS/i.test(code)) return "tls";
  if (err?.name === "AbortError") return "aborted";
  return "network";
}

function describe(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err?.name === "TimeoutError" || err?.code === "UND_ERR_HEADERS_TIMEOUT" || err?.code === "UND_ERR_BODY_TIMEOUT") return `no answer within ${timeoutMs} ms`;
  return err?.cause?.message ?? err?.message ?? String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
