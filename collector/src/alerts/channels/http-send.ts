import { request, errors, type Dispatcher } from "undici";
import type { SendOutcome } from "../model.js";
import { VERSION } from "../../version.js";

export const SEND_TIMEOUT_MS = 10_000;
/** Enough of a destination's error text to say what was wrong, short enough for a history row. */
const MAX_ERROR_CHARS = 300;
/** Error answers are read this far; the rest is dropped unread. */
const MAX_ANSWER_CHARS = 16 * 1024;

export interface JsonPost {
  url: string;
  /** JSON text, serialised by the caller so a signature can cover exactly these bytes. */
  body: string;
  headers?: Record<string, string>;
  signal: AbortSignal;
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

/**
 * POSTs JSON and says what the answer means for the outbox: 2xx accepted; 429 wait as
 * long as the destination asked; 408, 5xx and no answer at all are worth retrying; any
 * other status cannot succeed unchanged. Webhook URLs embed their token, so messages
 * name the destination by its host only.
 */
export async function postJson(post: JsonPost): Promise<SendOutcome> {
  const host = destinationHost(post.url);
  const timeoutMs = post.timeoutMs ?? SEND_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const response = await request(post.url, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": `vigil-collector/${VERSION}`, ...lowerCaseNames(post.headers ?? {}) },
      body: post.body,
      signal: AbortSignal.any([post.signal, timeout]),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(post.dispatcher ? { dispatcher: post.dispatcher } : {}),
    });
    const status = response.statusCode;
    if (status >= 200 && status < 300) {
      await response.body.dump();
      return { ok: true };
    }
    const text = (await response.body.text()).slice(0, MAX_ANSWER_CHARS);
    return answerOutcome(host, status, flatHeaders(response.headers), text);
  } catch (error) {
    if (post.signal.aborted) return { ok: false, error: `sending to ${host} was cancelled`, permanent: false };
    if (timeout.aborted || error instanceof errors.HeadersTimeoutError || error instanceof errors.BodyTimeoutError) {
      return { ok: false, error: `${host} did not answer within ${timeoutMs / 1000} s`, permanent: false };
    }
    return { ok: false, error: `could not reach ${host}: ${scrub(networkReason(error), post.url)}`, permanent: false };
  }
}

/** The outcome of a non-2xx answer (exported for channels that speak HTTP some other way). */
export function answerOutcome(host: string, status: number, headers: Record<string, string>, text: string): SendOutcome {
  const detail = errorText(text);
  const error = `${host} answered ${status}${detail ? `: ${detail}` : ""}`;
  if (status === 429) {
    const retryAfterMs = retryAfterFrom(headers, text);
    return { ok: false, error, permanent: false, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  if (status === 408 || status >= 500) {
    const retryAfterMs = status === 503 ? retryAfterFrom(headers, text) : undefined;
    return { ok: false, error, permanent: false, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  // A redirect is not followed: a webhook that moved is a URL to fix, not a message to re-post.
  if (status >= 300 && status < 400) return { ok: false, error: `${error} (a redirect: check the URL)`, permanent: true };
  return { ok: false, error, permanent: true };
}

/**
 * How long the destination asked us to wait, in ms. Discord's JSON `retry_after` and
 * `X-RateLimit-Reset-After` are fractional seconds and win over `Retry-After`, which
 * Discord rounds up to whole seconds. `Retry-After` may also be an HTTP date.
 */
export function retryAfterFrom(headers: Record<string, string>, text: string, now = Date.now()): number | undefined {
  const fromBody = jsonRetryAfter(text);
  if (fromBody !== undefined) return fromBody;
  const resetAfter = seconds(headers["x-ratelimit-reset-after"]);
  if (resetAfter !== undefined) return resetAfter;
  const retryAfter = headers["retry-after"]?.trim();
  if (!retryAfter) return undefined;
  const asSeconds = seconds(retryAfter);
  if (asSeconds !== undefined) return asSeconds;
  const date = Date.parse(retryAfter);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The host (and port) of a URL: all of a destination a message may name. */
export function destinationHost(url: string): string {
  try {
    return new URL(url).host || "the destination";
  } catch {
    return "the destination";
  }
}

function jsonRetryAfter(text: string): number | undefined {
  if (!text.trimStart().startsWith("{")) return undefined;
  try {
    const parsed = JSON.parse(text) as { retry_after?: unknown };
    return typeof parsed.retry_after === "number" && parsed.retry_after >= 0 ? Math.ceil(parsed.retry_after * 1000) : undefined;
  } catch {
    return undefined;
  }
}

function seconds(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^\s*\d+(\.\d+)?\s*$/.test(raw)) return undefined;
  return Math.ceil(Number(raw) * 1000);
}

/** The destination's error body on one line, cut to a length a history row can hold. */
function errorText(text: string): string {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length > MAX_ERROR_CHARS ? `${oneLine.slice(0, MAX_ERROR_CHARS - 1)}…` : oneLine;
}

function flatHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  return flat;
}

// Header names are case-insensitive: lower-casing lets a configured User-Agent replace ours instead of adding a second one.
function lowerCaseNames(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

function networkReason(error: unknown): string {
  const err = error as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return err?.cause?.code ?? err?.code ?? err?.cause?.message ?? err?.message ?? String(error);
}

/** Removes the URL and its path from a message, in case a library quoted them. */
function scrub(message: string, url: string): string {
  let clean = message.split(url).join("<url>");
  try {
    const { pathname, search } = new URL(url);
    if (pathname.length > 1) clean = clean.split(pathname).join("<path>");
    if (search.length > 1) clean = clean.split(search).join("");
  } catch {
    // Not a URL: nothing more to hide than the text itself.
  }
  return clean;
}
