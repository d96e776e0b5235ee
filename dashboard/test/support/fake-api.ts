import { vi } from "vitest";

/**
 * A stand-in for the collector behind `fetch` (a browser API, not our code): routes
 * keyed by "METHOD /path" answer with JSON, and every request is recorded so tests
 * can check what the dashboard sent (method, URL, headers, body).
 */
export interface Recorded {
  method: string;
  url: URL;
  headers: Headers;
  body: unknown;
}

type Handler = (request: Recorded) => Response | Promise<Response>;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });
}

export function apiError(status: number, code: string, message: string, headers: Record<string, string> = {}): Response {
  return json({ error: { code, message, details: [] } }, status, headers);
}

export function fakeApi(routes: Record<string, Handler | unknown> = {}) {
  const requests: Recorded[] = [];
  const table = new Map<string, Handler | unknown>(Object.entries(routes));

  const fetchStub = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), location.origin);
    const method = (init.method ?? "GET").toUpperCase();
    const text = typeof init.body === "string" ? init.body : null;
    const recorded: Recorded = { method, url, headers: new Headers(init.headers), body: text ? JSON.parse(text) : undefined };
    requests.push(recorded);
    const route = table.get(`${method} ${url.pathname}`);
    if (route === undefined) return apiError(404, "not_found", `no fake route ${method} ${url.pathname}`);
    return typeof route === "function" ? (route as Handler)(recorded) : json(route);
  });
  vi.stubGlobal("fetch", fetchStub);

  return {
    requests,
    /** Add or replace a route. */
    on(key: string, handler: Handler | unknown) {
      table.set(key, handler);
    },
    /** The requests made to one "METHOD /path". */
    calls(key: string) {
      return requests.filter((r) => `${r.method} ${r.url.pathname}` === key);
    },
  };
}
