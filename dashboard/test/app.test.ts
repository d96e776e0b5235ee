import { beforeEach, describe, expect, test } from "vitest";
import App from "../src/App.svelte";
import { session } from "../src/lib/session.svelte.js";
import { apiError, fakeApi, json } from "./support/fake-api.js";
import { button, click, render, type, until } from "./support/dom.js";

const viewer = { user: { id: "u2", email: "vic@example.com", name: "Vic", role: "viewer", tenant: "t1" }, csrf_token: "c2" };
const healthy = { status: "ok", storage: "ok", version: "0.1.0", uptime_s: 60, alerting: "running" };

describe("App shell", () => {
  // Each test is a fresh page load: the app starts not knowing who is logged in.
  beforeEach(() => {
    session.user = null;
    session.status = "unknown";
  });

  test("logged out: any page redirects to login, and login returns to it", async () => {
    history.replaceState(null, "", "/agents?x=1");
    const server = fakeApi({
      "GET /health": healthy,
      "GET /api/session": () => apiError(401, "unauthenticated", "no session"),
      "POST /api/session": viewer,
      "GET /api/agents": { agents: [], next_cursor: null },
    });
    const view = render(App);
    await until(() => expect(location.pathname + location.search).toBe(`/login?next=${encodeURIComponent("/agents?x=1")}`));
    await until(() => expect(view.text()).toContain("Sign in to Vigil"));
    expect(view.target.querySelector("nav")).toBeNull(); // no navigation before login

    const [email, password] = [...view.target.querySelectorAll("input")];
    type(email!, "vic@example.com");
    type(password!, "pw");
    click(button(view.target, "Sign in"));
    await until(() => expect(location.pathname + location.search).toBe("/agents?x=1"));
    await until(() => expect(view.text()).toContain("No agents yet"));
    expect(document.title).toBe("Agents · Vigil");
    expect(server.calls("GET /api/agents")).toHaveLength(1);
  });

  test("a viewer sees no admin pages, and is told why when opening one", async () => {
    history.replaceState(null, "", "/admin/users");
    fakeApi({ "GET /health": healthy, "GET /api/session": viewer });
    const view = render(App);
    await until(() => expect(view.text()).toContain("This page needs the admin role"));
    const links = [...view.target.querySelectorAll("nav a")].map((a) => a.textContent);
    expect(links).toEqual(["Overview", "Agents", "Events", "Alerts", "Reddit", "Social jobs", "SMS campaigns", "Cache monitor"]);
    expect(view.text()).toContain("viewer");
  });

  test("storage down: the banner says data is buffered, and clears when it is back", async () => {
    history.replaceState(null, "", "/nowhere");
    const server = fakeApi({
      "GET /health": () => json({ ...healthy, status: "unavailable", storage: "ClickHouse did not answer within 5s" }, 503),
      "GET /api/session": viewer,
    });
    const view = render(App);
    await until(() => expect(view.text()).toContain("Storage is unavailable — the collector keeps agents buffering; data will appear when it is back"));
    expect(view.text()).toContain("ClickHouse did not answer within 5s");
    expect(view.text()).toContain("Page not found");

    server.on("GET /health", healthy);
    const { availability } = await import("../src/lib/availability.svelte.js");
    await availability.check();
    await until(() => expect(view.text()).not.toContain("Storage is unavailable"));
  });
});
