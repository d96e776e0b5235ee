// Dashboard users and sessions against a real collector over HTTP: the first admin from
// the bootstrap, sign-in with a rate limit, the cookie's attributes, CSRF on every
// state-changing request, roles enforced by the server, role changes and deletions
// applying to open sessions, the last admin kept, tenants kept apart, and what is stored.
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startInProcess } from "../../test/support/in-process.js";
import { connectLive } from "../../test/support/live-client.js";
import { signIn, type SessionClient } from "../../test/support/session-client.js";

const ADMIN = { email: "ops@example.com", password: "correct horse battery" };
let env: Awaited<ReturnType<typeof startInProcess>>;
let url: string;
let admin: SessionClient;

const silence = () => ({ matchers: [{ label: "team", value: "web" }], ends_at: new Date(Date.now() + 3600_000).toISOString(), comment: "maintenance" });

async function createUser(role: string, email = `${role}-${Math.random().toString(36).slice(2, 8)}@example.com`, password = "a long enough password") {
  const created = await admin.request("POST", "/api/users", { email, name: role, role, password });
  expect(created.status).toBe(201);
  return { ...created.json.user, password };
}

beforeAll(async () => {
  // One trusted proxy hop: without X-Forwarded-For the socket's address counts, as before.
  env = await startInProcess({ adminEmail: ADMIN.email, adminPassword: ADMIN.password, trustProxyHops: 1 });
  url = env.collector.url;
  admin = await signIn(url, ADMIN.email, ADMIN.password);
});
afterAll(async () => {
  await env?.close();
});

describe("signing in", () => {
  it("creates the first admin from the bootstrap, and signs in with an HttpOnly SameSite=Strict cookie", async () => {
    expect(env.collector.bootstrapAdmin).toEqual({ email: ADMIN.email });
    expect(admin.user).toMatchObject({ email: ADMIN.email, role: "admin", tenant: "default" });
    const response = await fetch(`${url}/api/session`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: " OPS@example.com ", password: ADMIN.password }) });
    expect(response.status).toBe(200);
    const cookie = response.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^vigil_session=[A-Za-z0-9_-]{40,};/);
    expect(cookie).toContain("HttpOnly");
    expect(cookie).toContain("SameSite=Strict");
    expect(cookie).toContain("Path=/");
    const session = await admin.request("GET", "/api/session");
    expect(session.json).toEqual({ user: admin.user, csrf_token: admin.csrf });
  });

  it("answers a wrong password and an unknown email alike, and a malformed body by field", async () => {
    const wrong = await fetch(`${url}/api/session`, { method: "POST", body: JSON.stringify({ email: ADMIN.email, password: "nope nope nope" }) });
    const unknown = await fetch(`${url}/api/session`, { method: "POST", body: JSON.stringify({ email: "nobody@example.com", password: "nope nope nope" }) });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await wrong.json()).toEqual(await unknown.json());
    const bad = await fetch(`${url}/api/session`, { method: "POST", body: JSON.stringify({ email: ADMIN.email }) });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain("password");
  });

  it("refuses a signed-out request, and a request after signing out", async () => {
    expect((await fetch(`${url}/api/session`)).status).toBe(401);
    const session = await signIn(url, ADMIN.email, ADMIN.password);
    expect((await session.request("DELETE", "/api/session")).status).toBe(204);
    const after = await session.request("GET", "/api/alerts/rules");
    expect(after.status).toBe(401);
    expect(after.json.error.message).toContain("sign in again");
  });

  it("rate-limits failed sign-ins per account, even for the right password, with Retry-After", async () => {
    const victim = await createUser("viewer");
    for (let i = 0; i < 5; i++) {
      expect((await fetch(`${url}/api/session`, { method: "POST", body: JSON.stringify({ email: victim.email, password: `guess number ${i}` }) })).status).toBe(401);
    }
    const limited = await fetch(`${url}/api/session`, { method: "POST", body: JSON.stringify({ email: victim.email, password: victim.password }) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(800);
    expect(((await limited.json()) as any).error.message).toMatch(/too many failed sign-ins: try again in \d+ s/);
    // Another account from the same address is not locked by these five.
    await signIn(url, ADMIN.email, ADMIN.password);
    // Guesses sent all at once are counted before their passwords are checked: at most five get a check.
    const other = await createUser("viewer");
    const burst = await Promise.all(
      Array.from({ length: 12 }, (_, i) => fetch(`${url}/api/session`, { method: "POST", body: JSON.stringify({ email: other.email, password: `parallel guess ${i}` }) })),
    );
    const statuses = burst.map((r) => r.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(7);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/vigil_dashboard_logins_total\{outcome="failed"\} \d+/);
  });
});

describe("behind a trusted proxy", () => {
  it("limits sign-ins by the client address X-Forwarded-For gives, not the proxy's, and ignores what the client wrote itself", async () => {
    const post = (forwardedFor: string, email: string, password: string) =>
      fetch(`${url}/api/session`, { method: "POST", headers: { "x-forwarded-for": forwardedFor }, body: JSON.stringify({ email, password }) });
    for (let i = 0; i < 20; i++) expect((await post("203.0.113.7", `nobody-${i}@example.com`, "wrong password")).status).toBe(401);
    expect((await post("203.0.113.7", ADMIN.email, ADMIN.password)).status).toBe(429);
    // Another client behind the same proxy signs in; so does one that put the limited address in front itself.
    expect((await post("198.51.100.9", ADMIN.email, ADMIN.password)).status).toBe(200);
    expect((await post("203.0.113.7, 198.51.100.10", ADMIN.email, ADMIN.password)).status).toBe(200);
  }, 60_000);
});

describe("CSRF", () => {
  it("refuses a sign-in posted from another site (login CSRF), and takes one from the dashboard's own origin", async () => {
    const host = new URL(url).host;
    const body = JSON.stringify({ email: ADMIN.email, password: ADMIN.password });
    for (const headers of [{ origin: "https://evil.example" }, { "sec-fetch-site": "cross-site" }, { origin: "null" }] as Record<string, string>[]) {
      const refused = await fetch(`${url}/api/session`, { method: "POST", headers: { "content-type": "text/plain", ...headers }, body });
      expect(refused.status).toBe(403);
      expect(refused.headers.get("set-cookie")).toBeNull();
    }
    const own = await fetch(`${url}/api/session`, { method: "POST", headers: { "content-type": "application/json", origin: `http://${host}`, "sec-fetch-site": "same-origin" }, body });
    expect(own.status).toBe(200);
  });

  it("refuses a state-changing request with the cookie but without the session's token", async () => {
    const missing = await admin.request("POST", "/api/alerts/silences", silence(), { csrf: false });
    expect(missing.status).toBe(403);
    expect(missing.json.error.message).toContain("X-CSRF-Token");
    const forged = await fetch(`${url}/api/alerts/silences`, { method: "POST", headers: { cookie: admin.cookie, "x-csrf-token": "forged", "content-type": "application/json" }, body: JSON.stringify(silence()) });
    expect(forged.status).toBe(403);
    const other = await signIn(url, ADMIN.email, ADMIN.password);
    const crossed = await fetch(`${url}/api/alerts/silences`, { method: "POST", headers: { cookie: admin.cookie, "x-csrf-token": other.csrf, "content-type": "application/json" }, body: JSON.stringify(silence()) });
    expect(crossed.status).toBe(403);
    expect((await admin.request("GET", "/api/alerts/silences")).json.silences).toHaveLength(0);
    const ok = await admin.request("POST", "/api/alerts/silences", silence());
    expect(ok.status).toBe(201);
    expect(ok.json.created_by).toBe(`user:${ADMIN.email}`);
  });
});

describe("roles", () => {
  it("lets a viewer read, an editor change configuration, and only an admin manage users and keys", async () => {
    const viewer = await createUser("viewer");
    const editor = await createUser("editor");
    const asViewer = await signIn(url, viewer.email, viewer.password);
    const asEditor = await signIn(url, editor.email, editor.password);

    expect((await asViewer.request("GET", "/api/alerts/rules")).status).toBe(200);
    const denied = await asViewer.request("POST", "/api/alerts/silences", silence());
    expect(denied.status).toBe(403);
    expect(denied.json.error.message).toContain('your role "viewer" cannot do this');
    expect((await asEditor.request("POST", "/api/alerts/silences", silence())).status).toBe(201);
    for (const client of [asViewer, asEditor]) {
      expect((await client.request("GET", "/api/users")).status).toBe(403);
      expect((await client.request("POST", "/api/keys", { name: "sneaky", scopes: ["admin"] })).status).toBe(403);
    }
    expect((await admin.request("GET", "/api/keys")).status).toBe(200);
  });

  it("applies a role change and a deletion to sessions already open", async () => {
    const user = await createUser("editor");
    const session = await signIn(url, user.email, user.password);
    expect((await session.request("POST", "/api/alerts/silences", silence())).status).toBe(201);
    expect((await admin.request("PUT", `/api/users/${user.id}`, { role: "viewer" })).json.user.role).toBe("viewer");
    expect((await session.request("POST", "/api/alerts/silences", silence())).status).toBe(403);
    expect((await session.request("GET", "/api/session")).json.user.role).toBe("viewer");
    expect((await admin.request("DELETE", `/api/users/${user.id}`)).status).toBe(204);
    expect((await session.request("GET", "/api/alerts/rules")).status).toBe(401);
    await expect(signIn(url, user.email, user.password)).rejects.toMatchObject({ status: 401 });
  });

  it("ends a user's sessions when their password changes", async () => {
    const user = await createUser("viewer");
    const session = await signIn(url, user.email, user.password);
    expect((await admin.request("PUT", `/api/users/${user.id}`, { password: "a brand new password" })).status).toBe(200);
    expect((await session.request("GET", "/api/session")).status).toBe(401);
    await expect(signIn(url, user.email, user.password)).rejects.toMatchObject({ status: 401 });
    await signIn(url, user.email, "a brand new password");
  });

  it("keeps the tenant's last admin, and an admin cannot delete themself", async () => {
    const demote = await admin.request("PUT", `/api/users/${admin.user.id}`, { role: "editor" });
    expect(demote.status).toBe(409);
    expect(demote.json.error.message).toContain("last admin");
    expect((await admin.request("DELETE", `/api/users/${admin.user.id}`)).status).toBe(400);
  });
});

describe("managing users", () => {
  it("validates input by field and keeps emails unique", async () => {
    const bad = await admin.request("POST", "/api/users", { email: "not-an-email", name: "", role: "owner", password: "short" });
    expect(bad.status).toBe(400);
    const fields = bad.json.error.details.map((d: { path: string }) => d.path).sort();
    expect(fields).toEqual(["email", "name", "password", "role"]);
    const user = await createUser("viewer");
    const twice = await admin.request("POST", "/api/users", { email: user.email.toUpperCase(), name: "again", role: "viewer", password: "a long enough password" });
    expect(twice.status).toBe(409);
    expect((await admin.request("PUT", "/api/users/usr_missing", { name: "x" })).status).toBe(404);
    expect((await admin.request("PUT", `/api/users/${user.id}`, {})).status).toBe(400);
  });

  it("stores only scrypt hashes and never returns a password or hash", async () => {
    const user = await createUser("viewer", "hashes@example.com", "this one is secret");
    const session = await signIn(url, user.email, user.password);
    const listed = await admin.request("GET", "/api/users");
    expect(JSON.stringify(listed.json)).not.toMatch(/password|scrypt/);
    expect(listed.json.users.map((u: { email: string }) => u.email)).toContain("hashes@example.com");
    const db = env.collector.services.db;
    const [row] = await db.query<{ password_hash: string }>(`SELECT password_hash FROM ${db.table("users")} FINAL WHERE email = 'hashes@example.com'`);
    expect(row!.password_hash).toMatch(/^scrypt\$17\$8\$1\$/);
    expect(row!.password_hash).not.toContain("this one is secret");
    const token = session.cookie.split("=")[1]!;
    const sessions = await db.query<{ hash: string }>(`SELECT hash FROM ${db.table("sessions")}`);
    expect(sessions.length).toBeGreaterThan(0);
    expect(JSON.stringify(sessions)).not.toContain(token);
  });

  it("keeps each tenant's users to itself", async () => {
    const tenant = await env.request("POST", "/api/tenants", { body: { id: "tenant-u", name: "U" } });
    const otherKey = tenant.json.token as string;
    const made = await env.request("POST", "/api/users", { token: otherKey, body: { email: "u-admin@example.com", name: "U", role: "admin", password: "a long enough password" } });
    expect(made.status).toBe(201);
    const theirs = await signIn(url, "u-admin@example.com", "a long enough password");
    expect(theirs.user.tenant).toBe("tenant-u");
    expect((await theirs.request("GET", "/api/users")).json.users.map((u: { email: string }) => u.email)).toEqual(["u-admin@example.com"]);
    expect((await theirs.request("PUT", `/api/users/${admin.user.id}`, { role: "viewer" })).status).toBe(404);
    expect((await theirs.request("DELETE", `/api/users/${admin.user.id}`)).status).toBe(404);
    expect((await admin.request("GET", "/api/users")).json.users.map((u: { email: string }) => u.email)).not.toContain("u-admin@example.com");
  });
});

describe("the live WebSocket with a session", () => {
  it("closes an open socket once its session ends", async () => {
    const user = await createUser("viewer");
    const session = await signIn(url, user.email, user.password);
    const ws = new WebSocket(`${url.replace(/^http/, "ws")}/api/live`, ["vigil.v1"], { headers: { cookie: session.cookie, origin: url } });
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    expect((await session.request("DELETE", "/api/session")).status).toBe(204);
    // Checked at the next ping (every 15 s), not only when a socket opens.
    expect(await closed).toBe(1008);
  }, 40_000);

  it("accepts the cookie from the collector's own origin only", async () => {
    const host = new URL(url).host;
    const client = await connectLive(url, admin.cookie, { via: "cookie", origin: `http://${host}` });
    const hello = await client.next((m) => m.type === "hello");
    expect(hello.tenant).toBe("default");
    await client.close();
    await expect(connectLive(url, admin.cookie, { via: "cookie", origin: "https://evil.example" })).rejects.toMatchObject({ status: 403 });
    await expect(connectLive(url, admin.cookie, { via: "cookie" })).rejects.toMatchObject({ status: 403 });
    await expect(connectLive(url, "vigil_session=not-a-session", { via: "cookie", origin: `http://${host}` })).rejects.toMatchObject({ status: 401 });
  });
});
