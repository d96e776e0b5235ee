/**
 * The one way the dashboard talks to the collector's REST API.
 *
 * - JSON in and out, same-origin cookie (the session), CSRF header on every
 *   state-changing request (the server refuses them without it).
 * - Every failure becomes an `ApiFailure` carrying the server's own error code and
 *   message (`{"error":{"code","message","details"}}`), so pages can show what the
 *   server said instead of a generic "something went wrong".
 * - Cross-cutting reactions (a lost session, storage down, storage back) are not handled
 *   here but announced with `onApiEvent`, so this module stays free of UI state and the
 *   session module can depend on it without a cycle.
 */

export type QueryValue = string | number | boolean | null | undefined | readonly (string | number)[];
export type Query = Record<string, QueryValue>;

export interface RequestOptions {
  signal?: AbortSignal;
  /**
   * false: a 401 from this request is an answer (a wrong password), not a lost session,
   * so it does not log the user out. Default true.
   */
  session?: boolean;
}

/** A request that did not succeed: an HTTP error answer, or no answer at all (status 0). */
export class ApiFailure extends Error {
  override readonly name = "ApiFailure";
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: unknown[] = [],
    /** Seconds from a `Retry-After` header (429, 503), when the server sent one. */
    readonly retryAfter: number | null = null,
  ) {
    super(message);
  }
}

export type ApiEvent =
  | { type: "unauthenticated" }
  | { type: "unavailable"; message: string }
  | { type: "ok" };

const listeners = new Set<(event: ApiEvent) => void>();
let csrfToken: string | null = null;

/** Listen to session loss and storage availability as seen by API calls. Returns the unsubscribe. */
export function onApiEvent(listener: (event: ApiEvent) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function emit(event: ApiEvent): void {
  for (const listener of listeners) listener(event);
}

/** Set by the session store after login / refresh; null after logout. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** `path?query`, skipping empty values; arrays repeat the key (`?a=1&a=2`). */
export function buildUrl(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, String(item));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `${path}${path.includes("?") ? "&" : "?"}${text}` : path;
}

/** Used when an error answer has no JSON body (a proxy's HTML page, an empty 502). */
const FALLBACK_CODES: Record<number, string> = {
  400: "invalid_argument",
  401: "unauthenticated",
  403: "permission_denied",
  404: "not_found",
  409: "failed_precondition",
  413: "payload_too_large",
  429: "resource_exhausted",
  503: "unavailable",
};

function parseRetryAfter(header: string | null): number | null {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Number(header.trim());
  const at = Date.parse(header);
  return Number.isFinite(at) ? Math.max(0, Math.ceil((at - Date.now()) / 1000)) : null;
}

async function failureFrom(response: Response): Promise<ApiFailure> {
  const retryAfter = parseRetryAfter(response.headers.get("Retry-After"));
  let body: unknown;
  try {
    body = await response.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error.code === "string" && typeof error.message === "string") {
    return new ApiFailure(response.status, error.code, error.message, Array.isArray(error.details) ? error.details : [], retryAfter);
  }
  const code = FALLBACK_CODES[response.status] ?? (response.status >= 500 ? "internal" : "unknown");
  return new ApiFailure(response.status, code, `The collector answered ${response.status} ${response.statusText}`.trim(), [], retryAfter);
}

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

async function request<T>(method: string, path: string, body: unknown, query: Query | undefined, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (UNSAFE.has(method) && csrfToken) headers["X-CSRF-Token"] = csrfToken;

  let response: Response;
  try {
    response = await fetch(buildUrl(path, query), {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined ? null : JSON.stringify(body),
      signal: options.signal ?? null,
    });
  } catch (error) {
    // An abort is the caller's own doing: let it through unchanged so callers can ignore it.
    if ((error as Error).name === "AbortError") throw error;
    throw new ApiFailure(0, "network", "Cannot reach the collector: check that it is running and that this machine is online.");
  }

  if (!response.ok) {
    const failure = await failureFrom(response);
    if (failure.status === 401 && options.session !== false) emit({ type: "unauthenticated" });
    if (failure.status === 503 && failure.code === "unavailable") emit({ type: "unavailable", message: failure.message });
    throw failure;
  }
  emit({ type: "ok" });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: <T>(path: string, query?: Query, options?: RequestOptions) => request<T>("GET", path, undefined, query, options),
  post: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>("POST", path, body ?? {}, undefined, options),
  put: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>("PUT", path, body ?? {}, undefined, options),
  patch: <T>(path: string, body?: unknown, options?: RequestOptions) => request<T>("PATCH", path, body ?? {}, undefined, options),
  del: <T = void>(path: string, options?: RequestOptions) => request<T>("DELETE", path, undefined, undefined, options),
};

/** The message to show for any error a page caught (ApiFailure or not). */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** True for an aborted request: a superseded load, which pages should ignore silently. */
export function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}
