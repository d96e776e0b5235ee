import { afterEach, describe, expect, test, vi } from "vitest";
import { api, ApiFailure } from "../src/lib/api.js";
import { roleAtLeast, session } from "../src/lib/session.svelte.js";
import { apiError, fakeApi } from "./support/fake-api.js";

const admin = { user: { id: "u1", email: "ada@example.com", name: "Ada", role: "admin", tenant: "t1" }, csrf_token: "csrf-1" };
const viewer = { user: { ...admin.user, id: "u2", role: "viewer" }, csrf_token: "csrf-2" };

afterEach(() => vi.unstubAllGlobals());

describe("session", () => {
  test("roles are ordered viewer < editor < admin", () => {
    expect(roleAtLeast("admin", "editor")).toBe(true);
    expect(roleAtLeast("editor", "editor")).toBe(true);
    expect(roleAtLeast("viewer", "editor")).toBe(false);
    expect(roleAtLeast(null, "viewer")).toBe(false);
  });

  test("refresh: 401 is anonymous, 200 is the user with role flags", async () => {
    const server = fakeApi({ "GET /api/session": () => apiError(401, "unauthenticated", "no session") });
    await session.refresh();
    expect(session.status).toBe("anonymous");
    expect(session.ended).toBeNull(); // never logged in: nothing "expired"

    server.on("GET /api/session", viewer);
    await session.refresh();
    expect(session.status).toBe("authenticated");
    expect(session.user?.email).toBe("ada@example.com");
    expect([session.canWrite, session.isAdmin]).toEqual([false, false]);
  });

  test("login stores the CSRF token that later writes send; a 401 elsewhere ends the session", async () => {
    const server = fakeApi({ "POST /api/session": admin, "POST /api/keys": { key: {}, token: "vgl_x" }, "GET /api/agents": () => apiError(401, "unauthenticated", "expired") });
    await session.login("ada@example.com", "pw");
    expect(server.calls("POST /api/session")[0]!.body).toEqual({ email: "ada@example.com", password: "pw" });
    expect([session.canWrite, session.isAdmin]).toEqual([true, true]);

    await api.post("/api/keys", { name: "k" });
    expect(server.calls("POST /api/keys")[0]!.headers.get("X-CSRF-Token")).toBe("csrf-1");

    await api.get("/api/agents").catch(() => undefined);
    expect(session.status).toBe("anonymous");
    expect(session.ended).toBe("expired");
    expect(session.csrf).toBeNull();
  });

  test("a wrong password is thrown to the form and does not count as an expired session", async () => {
    fakeApi({ "POST /api/session": () => apiError(401, "unauthenticated", "email or password is wrong") });
    session.clear("logout");
    const failure = await session.login("ada@example.com", "nope").catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ApiFailure);
    expect((failure as ApiFailure).message).toBe("email or password is wrong");
    expect(session.ended).toBe("logout");
  });

  test("logout sends DELETE with the CSRF header and ends the session even if the server fails", async () => {
    const server = fakeApi({ "POST /api/session": admin, "DELETE /api/session": () => new Response(null, { status: 204 }) });
    await session.login("ada@example.com", "pw");
    await session.logout();
    expect(server.calls("DELETE /api/session")[0]!.headers.get("X-CSRF-Token")).toBe("csrf-1");
    expect(session.status).toBe("anonymous");
    expect(session.ended).toBe("logout");

    server.on("DELETE /api/session", () => apiError(503, "unavailable", "down"));
    await session.login("ada@example.com", "pw");
    await expect(session.logout()).rejects.toBeInstanceOf(ApiFailure);
    expect(session.status).toBe("anonymous");
  });
});
