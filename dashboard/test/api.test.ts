import { afterEach, describe, expect, test, vi } from "vitest";
import { api, ApiFailure, buildUrl, onApiEvent, setCsrfToken, type ApiEvent } from "../src/lib/api.js";
import { apiError, fakeApi, json } from "./support/fake-api.js";

afterEach(() => {
  setCsrfToken(null);
  vi.unstubAllGlobals();
});

describe("api", () => {
  test("GET sends the query, same-origin credentials, and no CSRF header", async () => {
    const server = fakeApi({ "GET /api/events": { events: [], next_cursor: null } });
    setCsrfToken("t0k3n");
    const answer = await api.get<{ events: unknown[] }>("/api/events", { source: "reddit", q: "", limit: 50, "attr.status": ["500", "502"], cursor: undefined });
    expect(answer).toEqual({ events: [], next_cursor: null });
    const [request] = server.requests;
    expect(request!.url.search).toBe("?source=reddit&limit=50&attr.status=500&attr.status=502");
    expect(request!.headers.get("X-CSRF-Token")).toBeNull();
    const init = vi.mocked(fetch).mock.calls[0]![1]!;
    expect(init.credentials).toBe("same-origin");
  });

  test("every state-changing method carries the CSRF token and a JSON body", async () => {
    const server = fakeApi({
      "POST /api/users": () => json({ user: { id: "u1" } }, 201),
      "PUT /api/users/u1": { user: { id: "u1" } },
      "PATCH /api/things/1": {},
      "DELETE /api/users/u1": () => new Response(null, { status: 204 }),
    });
    setCsrfToken("t0k3n");
    await api.post("/api/users", { email: "a@example.com" });
    await api.put("/api/users/u1", { role: "editor" });
    await api.patch("/api/things/1", { x: 1 });
    expect(await api.del("/api/users/u1")).toBeUndefined();
    expect(server.requests.map((r) => [r.method, r.headers.get("X-CSRF-Token")])).toEqual([
      ["POST", "t0k3n"],
      ["PUT", "t0k3n"],
      ["PATCH", "t0k3n"],
      ["DELETE", "t0k3n"],
    ]);
    expect(server.requests[0]!.body).toEqual({ email: "a@example.com" });
    expect(server.requests[0]!.headers.get("Content-Type")).toBe("application/json");
  });

  test("error answers become ApiFailure with the server's code, message, details and Retry-After", async () => {
    fakeApi({
      "POST /api/keys": () => json({ error: { code: "invalid_argument", message: "name: name is required", details: [{ path: "name", message: "name is required" }] } }, 400),
      "POST /api/session": () => apiError(429, "resource_exhausted", "too many attempts", { "Retry-After": "42" }),
      "GET /api/stats": () => new Response("<html>Bad gateway</html>", { status: 502, statusText: "Bad Gateway" }),
    });
    const bad = await api.post("/api/keys", {}).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ApiFailure);
    expect(bad).toMatchObject({ status: 400, code: "invalid_argument", message: "name: name is required", details: [{ path: "name", message: "name is required" }] });

    const limited = (await api.post("/api/session", {}).catch((e: unknown) => e)) as ApiFailure;
    expect(limited.retryAfter).toBe(42);

    const gateway = (await api.get("/api/stats").catch((e: unknown) => e)) as ApiFailure;
    expect(gateway).toMatchObject({ status: 502, code: "internal" });
    expect(gateway.message).toContain("502");
  });

  test("a network failure is status 0 with a message a person can act on; an abort stays an abort", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const failure = (await api.get("/api/stats").catch((e: unknown) => e)) as ApiFailure;
    expect(failure).toMatchObject({ status: 0, code: "network" });
    expect(failure.message).toMatch(/Cannot reach the collector/);

    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new DOMException("aborted", "AbortError"))));
    const aborted = (await api.get("/api/stats").catch((e: unknown) => e)) as Error;
    expect(aborted.name).toBe("AbortError");
  });

  test("401, 503 unavailable and success are announced; session:false keeps a 401 quiet", async () => {
    const events: ApiEvent[] = [];
    const stop = onApiEvent((e) => events.push(e));
    fakeApi({
      "GET /api/agents": () => apiError(401, "unauthenticated", "log in"),
      "GET /api/stats": () => apiError(503, "unavailable", "storage is not ready"),
      "GET /api/alerts": { alerts: [] },
      "POST /api/session": () => apiError(401, "unauthenticated", "wrong password"),
    });
    await api.get("/api/agents").catch(() => undefined);
    await api.get("/api/stats").catch(() => undefined);
    await api.get("/api/alerts");
    await api.post("/api/session", {}, { session: false }).catch(() => undefined);
    stop();
    expect(events).toEqual([{ type: "unauthenticated" }, { type: "unavailable", message: "storage is not ready" }, { type: "ok" }]);
  });

  test("buildUrl appends to an existing query and skips empty values", () => {
    expect(buildUrl("/a?x=1", { y: 2, z: null })).toBe("/a?x=1&y=2");
    expect(buildUrl("/a", { y: "" })).toBe("/a");
    expect(buildUrl("/a", { flag: false })).toBe("/a?flag=false");
  });
});
