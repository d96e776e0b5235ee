import { describe, expect, test } from "vitest";
import Agents from "../src/pages/Agents.svelte";
import Login from "../src/pages/Login.svelte";
import Keys from "../src/pages/admin/Keys.svelte";
import Users from "../src/pages/admin/Users.svelte";
import { button, click, render, type, until } from "./support/dom.js";
import { apiError, fakeApi, json, type Recorded } from "./support/fake-api.js";
import { CSRF, signIn } from "./support/session.js";

const agent = {
  id: "agent-web-1",
  name: "web-1",
  version: "0.1.0",
  key_id: "k1",
  online: true,
  last_heartbeat: new Date(Date.now() - 20_000).toISOString(),
  uptime_s: 5400,
  config_version: 2,
  desired_config_version: 3,
  config_error: null,
  rejected_config_version: null,
  queue: { bytes: 1536, records: 12 },
  plugins: [
    { id: "checks", use: "@vigil/plugin-http-check", state: "ok", restarts: 0 },
    { id: "reddit", use: "@vigil/plugin-reddit", state: "failing", message: "401 from Reddit: check the credentials", restarts: 2 },
  ],
};

describe("Agents page", () => {
  test("no agents: tells a newcomer how to start one", async () => {
    fakeApi({ "GET /api/agents": { agents: [], next_cursor: null } });
    const view = render(Agents);
    await until(() => expect(view.text()).toContain("No agents yet"));
    expect(view.target.querySelector("pre")?.textContent).toBe("vigil-agent run --config agent.yaml");
  });

  test("an agent: state, plugins, config drift, queue and heartbeat", async () => {
    const server = fakeApi({ "GET /api/agents": { agents: [agent], next_cursor: null } });
    const view = render(Agents);
    await until(() => expect(view.text()).toContain("web-1"));
    const row = view.target.querySelector("tbody tr")!;
    const text = row.textContent!.replace(/\s+/g, " ");
    expect(text).toContain("online");
    expect(text).toContain("401 from Reddit: check the credentials");
    expect(text).toContain("v2 → v3");
    expect(text).toContain("12 events");
    expect(text).toContain("1.5 KB");
    expect(text).toContain("20s ago");
    expect(server.calls("GET /api/agents")[0]!.url.searchParams.get("limit")).toBe("200");
  });

  test("Load more: the next page from the cursor, less the agents the first page already shows", async () => {
    const web2 = { ...agent, id: "agent-web-2", name: "web-2" };
    const server = fakeApi({
      "GET /api/agents": (r: Recorded) => json(r.url.searchParams.get("cursor") === "c1" ? { agents: [agent, web2], next_cursor: null } : { agents: [agent], next_cursor: "c1" }),
    });
    const view = render(Agents);
    await until(() => expect(view.text()).toContain("web-1"));
    click(button(view.target, "Load more"));
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2));
    expect([...view.target.querySelectorAll("tbody tr strong")].map((s) => s.textContent)).toEqual(["web-1", "web-2"]);
    expect(server.calls("GET /api/agents")[1]!.url.searchParams.get("cursor")).toBe("c1");
    expect(() => button(view.target, "Load more")).toThrow(); // the last page
  });

  test("an error: the server's message and Retry", async () => {
    const server = fakeApi({ "GET /api/agents": () => apiError(403, "permission_denied", 'this key has scopes [ingest] but this needs "read"') });
    const view = render(Agents);
    await until(() => expect(view.text()).toContain('this key has scopes [ingest] but this needs "read"'));
    server.on("GET /api/agents", { agents: [agent], next_cursor: null });
    click(button(view.target, "Retry"));
    await until(() => expect(view.text()).toContain("web-1"));
  });
});

describe("Login page", () => {
  test("shows the server's message on bad credentials, and the wait on rate limiting", async () => {
    const server = fakeApi({ "POST /api/session": () => apiError(401, "unauthenticated", "the email or password is wrong") });
    const view = render(Login);
    click(button(view.target, "Sign in"));
    expect(view.target.querySelector('[role="alert"]')?.textContent).toBe("Enter your email and password.");
    expect(server.requests).toHaveLength(0);

    const [email, password] = [...view.target.querySelectorAll("input")];
    type(email!, "ada@example.com");
    type(password!, "wrong");
    click(button(view.target, "Sign in"));
    await until(() => expect(view.target.querySelector('[role="alert"]')?.textContent).toContain("the email or password is wrong"));
    expect(server.calls("POST /api/session")[0]!.body).toEqual({ email: "ada@example.com", password: "wrong" });

    server.on("POST /api/session", () => apiError(429, "resource_exhausted", "slow down", { "Retry-After": "90" }));
    click(button(view.target, "Sign in"));
    await until(() => expect(view.target.querySelector('[role="alert"]')?.textContent).toContain("Try again in 1m 30s"));
    expect(button(view.target, "Sign in").disabled).toBe(true);
  });
});

describe("Keys page", () => {
  test("creating a key sends name, scopes and the CSRF header, then shows the token once", async () => {
    signIn("admin");
    const created = { id: "key_2", tenant: "t1", name: "agent web-2", prefix: "vgl_AbCd", scopes: ["ingest", "read"], created_at: "2026-11-27T10:00:00Z" };
    const server = fakeApi({
      "GET /api/keys": { keys: [], next_cursor: null },
      "POST /api/keys": () => json({ key: created, token: "vgl_AbCdEfGh-secret" }, 201),
    });
    const view = render(Keys);
    await until(() => expect(view.text()).toContain("No API keys"));

    click(button(view.target, "Create key"));
    const dialog = document.querySelector("dialog")!;
    await until(() => expect(dialog.open).toBe(true));
    type(dialog.querySelector("input:not([type=checkbox])"), "agent web-2");
    click(dialog.querySelector('input[type=checkbox][value="read"]'));
    click(button(dialog, "Create key"));

    await until(() => expect(dialog.textContent).toContain("vgl_AbCdEfGh-secret"));
    expect(dialog.textContent).toContain("This is the only time the key is shown.");
    const [request] = server.calls("POST /api/keys");
    expect(request!.body).toEqual({ name: "agent web-2", scopes: ["ingest", "read"] });
    expect(request!.headers.get("X-CSRF-Token")).toBe(CSRF);
    // The list shows the new key (by its prefix only).
    await until(() => expect(view.target.querySelector("tbody")?.textContent).toContain("vgl_AbCd…"));
    expect(view.target.querySelector("tbody")?.textContent).not.toContain("secret");
  });
});

describe("Users page", () => {
  const ada = { id: "u1", email: "ada@example.com", name: "Ada", role: "admin", created_at: "2026-11-01T00:00:00Z" };
  const vic = { id: "u2", email: "vic@example.com", name: "Vic", role: "viewer", created_at: "2026-11-20T00:00:00Z" };

  test("edits send only what changed; the current admin cannot delete themself", async () => {
    signIn("admin"); // Ada, u1
    const server = fakeApi({
      "GET /api/users": { users: [ada, vic] },
      "PUT /api/users/u2": () => json({ user: { ...vic, role: "editor" } }),
    });
    const view = render(Users);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2));
    const [adaRow, vicRow] = [...view.target.querySelectorAll("tbody tr")];
    expect(adaRow!.textContent).toContain("(you)");
    expect(adaRow!.querySelector('button[aria-label^="Delete"]')).toBeNull();

    click(vicRow!.querySelector('button[aria-label="Edit vic@example.com"]'));
    const dialog = document.querySelector("dialog")!;
    await until(() => expect(dialog.open).toBe(true));
    type(dialog.querySelector("select"), "editor");
    click(button(dialog, "Save"));
    await until(() => expect(server.calls("PUT /api/users/u2")).toHaveLength(1));
    expect(server.calls("PUT /api/users/u2")[0]!.body).toEqual({ role: "editor" });
    await until(() => expect(view.target.querySelectorAll("tbody tr")[1]!.textContent).toContain("editor"));
  });

  test("validation problems from the server are shown next to their field", async () => {
    fakeApi({
      "GET /api/users": { users: [] },
      "POST /api/users": () => json({ error: { code: "invalid_argument", message: "email: not an email", details: [{ path: "email", message: "not an email address" }] } }, 400),
    });
    const view = render(Users);
    await until(() => expect(view.text()).toContain("No users"));
    click(button(view.target, "Add user"));
    const dialog = document.querySelector("dialog")!;
    const inputs = [...dialog.querySelectorAll("input")];
    type(inputs[0]!, "nope");
    type(inputs[1]!, "No One");
    type(inputs[2]!, "a long password");
    dialog.querySelector("form")!.dispatchEvent(new Event("submit", { bubbles: true, cancelable: true }));
    await until(() => expect(dialog.textContent).toContain("not an email address"));
    expect(inputs[0]!.getAttribute("aria-invalid")).toBe("true");
    expect(dialog.open).toBe(true);
  });
});
