// How every adapter talks to its platform: one place that bounds each request by the
// run's deadline, follows redirects, waits out a 429 as the platform says (or fails the
// run when that wait would pass the deadline), and turns every other fault into a
// PlatformError whose message tells the user what to check.
import { HttpRequestError, type HttpResponse } from "@vigil/plugin-sdk";
import { PlatformError, type AdapterContext } from "../contract.js";
import { nextAllowedAt } from "./rate-limit.js";

/** What a request is about, in the user's words; every error message is built from it. */
export interface Subject {
  /** The platform's name as users know it, e.g. "YouTube". */
  platform: string;
  /** What was asked for, e.g. "channel UC…" or "account @alice on https://mastodon.social". */
  what: string;
  /** Said after a 404/410: what to check. */
  ifNotFound: string;
  /** Said after a 401/403: which credential or setting to check. */
  ifUnauthorized: string;
}

export interface PlatformRequest {
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  body?: string;
  /**
   * Reads a platform's own error answers before the generic status mapping, e.g. Bluesky
   * answers an unknown actor with 400 "Profile not found". Returns undefined to fall through.
   */
  explain?: (response: HttpResponse, detail: string | undefined) => PlatformError | undefined;
}

/** A single request may take this long at most, and never past the run's deadline. */
export const REQUEST_TIMEOUT_MS = 20_000;
/** Retries after 429 answers whose wait fits in the run. */
export const RATE_LIMIT_RETRIES = 2;
/** Assumed when a 429 does not say how long to wait. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;
const MAX_REDIRECTS = 5;

/** Sends a request; resolves with a 2xx answer, or throws a PlatformError (or the abort when the agent stops). */
export async function requestPlatform(ctx: AdapterContext, url: string, subject: Subject, request: PlatformRequest = {}): Promise<HttpResponse> {
  let target = url;
  let redirects = 0;
  let rateLimited = 0;
  for (;;) {
    const response = await sendWithinDeadline(ctx, target, subject, request);
    const location = response.headers.location;
    if (isRedirect(response.status) && location && (request.method ?? "GET") === "GET") {
      if (redirects >= MAX_REDIRECTS) {
        throw new PlatformError("unavailable", `${subject.platform} redirected the request for ${subject.what} more than ${MAX_REDIRECTS} times (last to ${location}): check the URL`);
      }
      target = new URL(location, target).toString();
      redirects++;
      continue;
    }
    if (response.status === 429) {
      await waitOutRateLimit(ctx, response, subject, rateLimited);
      rateLimited++;
      continue;
    }
    if (response.status >= 200 && response.status < 300) return response;
    const detail = platformDetail(response.text);
    throw request.explain?.(response, detail) ?? statusError(response.status, subject, detail);
  }
}

/** One request, its timeout bounded by the deadline, without retries; transport failures become PlatformErrors. */
export async function sendWithinDeadline(ctx: AdapterContext, url: string, subject: Subject, request: PlatformRequest = {}): Promise<HttpResponse> {
  const left = ctx.deadline - Date.now();
  if (left <= 0) throw deadlinePassed(subject);
  const timeoutMs = Math.min(REQUEST_TIMEOUT_MS, left);
  try {
    return await ctx.http.request(url, {
      method: request.method ?? "GET",
      headers: { accept: "*/*", ...request.headers },
      ...(request.body !== undefined ? { body: request.body } : {}),
      timeoutMs,
      // The adapter decides about retries: a 429 is waited out here, anything else fails the run.
      retries: 0,
      signal: ctx.signal,
    });
  } catch (error) {
    throw transportError(error, ctx, subject, timeoutMs, timeoutMs < REQUEST_TIMEOUT_MS);
  }
}

function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

async function waitOutRateLimit(ctx: AdapterContext, response: HttpResponse, subject: Subject, retriesSoFar: number): Promise<void> {
  const { allowedAt, when } = rateLimitWindow(response);
  if (retriesSoFar >= RATE_LIMIT_RETRIES) {
    throw new PlatformError("rate_limited", `${subject.platform} kept answering 429 (too many requests) for ${subject.what} after waiting as told, and ${when}: run the job less often or lower max_items_per_run`);
  }
  const tooLate = rateLimitPastDeadline(ctx, response, subject);
  if (tooLate) throw tooLate;
  const wait = allowedAt - Date.now();
  ctx.log.warn({ platform: subject.platform, wait_ms: wait }, "rate limited (429): waiting as the platform told");
  try {
    await sleep(wait, ctx.signal);
  } catch (error) {
    if (Date.now() >= ctx.deadline) throw deadlinePassed(subject);
    throw error;
  }
}

/** The error that fails the run when a 429's wait would pass the run's deadline; undefined when it fits. */
export function rateLimitPastDeadline(ctx: AdapterContext, response: HttpResponse, subject: Subject): PlatformError | undefined {
  const { allowedAt, when, told } = rateLimitWindow(response);
  if (allowedAt < ctx.deadline) return undefined;
  const wait = told ? `${when} (in ${duration(allowedAt - Date.now())}), after this run's deadline` : `${when}; waiting ${duration(DEFAULT_RATE_LIMIT_WAIT_MS)} would pass this run's deadline`;
  return new PlatformError("rate_limited", `${subject.platform} answered 429 (too many requests) for ${subject.what} and ${wait}: the next run tries again; if this repeats, run the job less often`);
}

function rateLimitWindow(response: HttpResponse): { allowedAt: number; when: string; told: boolean } {
  const now = Date.now();
  const told = nextAllowedAt(response.headers, now);
  if (told === undefined) return { allowedAt: now + DEFAULT_RATE_LIMIT_WAIT_MS, when: "did not say when to retry", told: false };
  return { allowedAt: told, when: `allows the next request at ${new Date(told).toISOString()}`, told: true };
}

function transportError(error: unknown, ctx: AdapterContext, subject: Subject, timeoutMs: number, boundByDeadline: boolean): unknown {
  if (!(error instanceof HttpRequestError)) return error;
  if (error.kind === "aborted") {
    // The run's deadline aborts the signal; an agent stopping aborts it too, and that is no platform fault.
    return Date.now() >= ctx.deadline ? deadlinePassed(subject) : error;
  }
  if (error.kind === "timeout") {
    const limit = boundByDeadline ? `before the run's deadline (${duration(timeoutMs)} left)` : `within ${duration(timeoutMs)}`;
    return new PlatformError("timeout", `${subject.platform} did not answer ${limit} for ${subject.what}: it may be slow or down; the next run tries again`);
  }
  const origin = safeOrigin(error.url);
  return new PlatformError(
    "unavailable",
    `Could not reach ${subject.platform} at ${origin} for ${subject.what} (${error.kind}: ${error.message}): check the network${ctx.baseUrl ? " and the platform's configured base URL" : ""}`,
  );
}

export function deadlinePassed(subject: Subject): PlatformError {
  return new PlatformError("timeout", `The run reached its deadline before ${subject.platform} answered for ${subject.what}: it may be slow or down; the next run tries again`);
}

/**
 * The PlatformError for a non-2xx answer. `meaning` is the status it stands for when a
 * platform says "not found" or "unauthorized" with another one (Bluesky's 400s).
 */
export function statusError(status: number, subject: Subject, detail: string | undefined, meaning = status): PlatformError {
  const said = detail ? ` ("${detail}")` : "";
  const answered = `${subject.platform} answered ${status}${said} for ${subject.what}`;
  if (meaning === 404 || meaning === 410) return new PlatformError("not_found", `${answered}: ${subject.ifNotFound}`);
  if (meaning === 401 || meaning === 403) return new PlatformError("unauthorized", `${answered}: ${subject.ifUnauthorized}`);
  if (meaning === 400 || meaning === 422) return new PlatformError("invalid_target", `${answered}: check the job's target_url`);
  if (meaning >= 500) return new PlatformError("unavailable", `${answered}: the platform is having trouble; the next run tries again`);
  return new PlatformError("unavailable", `${answered}, which Vigil did not expect: the next run tries again`);
}

const DETAIL_FIELDS = ["message", "error_description", "detail", "error", "title", "reason"] as const;
const DETAIL_MAX_CHARS = 160;

/** The platform's own words about an error, from the usual JSON error fields; undefined for HTML and the like. */
export function platformDetail(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  // X: {"errors":[{"message":"…"}], "title": …, "detail": …}
  const nested = Array.isArray(record.errors) ? (record.errors[0] as Record<string, unknown> | undefined)?.message : undefined;
  for (const value of [nested, ...DETAIL_FIELDS.map((field) => record[field])]) {
    if (typeof value === "string" && value.trim() !== "") return clip(value.trim(), DETAIL_MAX_CHARS);
  }
  return undefined;
}

/** The first characters of a body, quoted in messages about malformed answers. */
export function firstBytes(body: string, max = 80): string {
  const flat = body.replace(/\s+/g, " ").trim();
  return JSON.stringify(clip(flat, max));
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : `${Math.ceil(ms / 1000)} s`;
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal.removeEventListener("abort", aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal.reason);
    }
    signal.addEventListener("abort", aborted, { once: true });
  });
}
