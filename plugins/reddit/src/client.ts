import { HttpRequestError, type HttpClient, type HttpResponse, type Logger } from "@vigil/plugin-sdk";
import type { RequestBudget } from "./budget.js";
import { grantFor, type Credentials } from "./credentials.js";

export const REDDIT_AUTH_BASE = "https://www.reddit.com";
export const REDDIT_API_BASE = "https://oauth.reddit.com";

/** Refresh this long before the token says it expires. */
const EARLY_REFRESH_MS = 60_000;

export class RedditApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = "RedditApiError";
  }
}

export interface RedditClientOptions {
  credentials: Credentials;
  http: HttpClient;
  budget: RequestBudget;
  log: Logger;
  authBase?: string;
  apiBase?: string;
  timeoutMs?: number;
  now?: () => number;
}

/**
 * Reddit's OAuth API over the agent's HTTP client. Every request goes through the
 * shared budget; the token is refreshed before it expires and once more after a 401;
 * rate-limit headers and 429s pause the whole budget.
 */
export function createRedditClient(options: RedditClientOptions) {
  const authBase = (options.authBase ?? REDDIT_AUTH_BASE).replace(/\/$/, "");
  const apiBase = (options.apiBase ?? REDDIT_API_BASE).replace(/\/$/, "");
  const now = options.now ?? Date.now;
  const headers = { "user-agent": options.credentials.userAgent };
  let token: { value: string; expiresAt: number } | undefined;
  let fetching: Promise<string> | undefined;

  function obeyRateLimit(response: HttpResponse): void {
    const remaining = Number(response.headers["x-ratelimit-remaining"]);
    const reset = Number(response.headers["x-ratelimit-reset"]);
    if (Number.isFinite(remaining) && remaining < 1 && Number.isFinite(reset)) options.budget.pauseUntil(now() + reset * 1000);
    if (response.status === 429) {
      const retryAfter = Number(response.headers["retry-after"]);
      const waitS = Number.isFinite(retryAfter) ? retryAfter : Number.isFinite(reset) ? reset : 60;
      options.budget.pauseUntil(now() + waitS * 1000);
      options.log.warn({ retry_after_s: waitS }, "Reddit answered 429; pausing every request of this client id");
    }
  }

  async function fetchToken(signal?: AbortSignal): Promise<string> {
    const basic = Buffer.from(`${options.credentials.clientId}:${options.credentials.clientSecret}`).toString("base64");
    await options.budget.take(signal);
    const response = await options.http.request(`${authBase}/api/v1/access_token`, {
      method: "POST",
      headers: { ...headers, authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(grantFor(options.credentials) as Record<string, string>).toString(),
      timeoutMs: options.timeoutMs ?? 15_000,
      retries: 0,
      ...(signal ? { signal } : {}),
    });
    obeyRateLimit(response);
    let body: { access_token?: string; expires_in?: number; error?: string } = {};
    try {
      body = JSON.parse(response.text) as typeof body;
    } catch {
      // not JSON: reported below by status
    }
    // Reddit may answer a refused grant with 200 and {"error": …}: read the body either way.
    if (response.status !== 200 || body.error || !body.access_token) {
      throw new RedditApiError(
        `Reddit refused the credentials (${response.status}${body.error ? ` ${body.error}` : ""}): check clientId, clientSecret and the grant fields (refreshToken, or username and password)`,
        response.status,
      );
    }
    token = { value: body.access_token, expiresAt: now() + (body.expires_in ?? 3600) * 1000 };
    return token.value;
  }

  function accessToken(signal?: AbortSignal): Promise<string> {
    if (token && token.expiresAt - EARLY_REFRESH_MS > now()) return Promise.resolve(token.value);
    fetching ??= fetchToken(signal).finally(() => (fetching = undefined));
    return fetching;
  }

  /** GET an API path (e.g. `/r/a+b/comments?limit=100`); parses JSON; throws RedditApiError or HttpRequestError. */
  async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const bearer = await accessToken(signal);
      await options.budget.take(signal);
      const response = await options.http.request(`${apiBase}${path}`, {
        headers: { ...headers, authorization: `Bearer ${bearer}` },
        timeoutMs: options.timeoutMs ?? 15_000,
        retries: 0,
        ...(signal ? { signal } : {}),
      });
      obeyRateLimit(response);
      if (response.status === 401 && attempt === 0) {
        // Expired or revoked early: one fresh token, then give up loudly.
        token = undefined;
        continue;
      }
      if (response.status === 429 && attempt < 3) continue;
      if (response.status !== 200) throw new RedditApiError(`Reddit answered ${response.status} for ${path.split("?")[0]}`, response.status);
      return JSON.parse(response.text) as T;
    }
  }

  return { get, accessToken };
}

export type RedditClient = ReturnType<typeof createRedditClient>;

export function isTransient(error: unknown): boolean {
  if (error instanceof HttpRequestError) return error.kind !== "aborted";
  return error instanceof RedditApiError && (error.status >= 500 || error.status === 429);
}
