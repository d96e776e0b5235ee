// The dashboard in real headless Chromium against a real collector (embedded ClickHouse
// on a small real disk, every plugin's collector part) and a real agent: signing in, the
// core pages with live data, an admin adding a user, what a viewer can and cannot do (in
// the UI and at the API), the storage-down banner when the disk fills up, phone width and
// the dark theme. Screenshots of every page go to test-results/screenshots (untracked).
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgentProcess, testAgentConfig, writeAgentConfig, type AgentProcess } from "./support/agent-process.js";
import { callApi, tempDir } from "./support/collector-process.js";
import { ADMIN_EMAIL, ADMIN_PASSWORD, startDashboardStack, type DashboardStack } from "./support/dashboard-stack.js";
import { eventually } from "./support/eventually.js";
import { mountSmallDisk } from "./support/small-disk.js";

let disk: ReturnType<typeof mountSmallDisk>;
let stack: DashboardStack;
let agent: AgentProcess;
const agentDir = tempDir("vigil-dashboard-agent-");
const VIEWER = { email: "viewer@example.com", password: "viewer password 123" };

const api = (method: string, path: string, body?: unknown) => callApi(stack.collector, method, path, body);

beforeAll(async () => {
  disk = mountSmallDisk(300);
  stack = await startDashboardStack({ dataDir: join(disk.path, "collector") });
  const ingest = (await api("POST", "/api/keys", { name: "dashboard agent", scopes: ["ingest"] })).json.token;
  const config = testAgentConfig({ url: stack.collector.url, token: ingest }, join(agentDir.path, "data"), {
    name: "web-1",
    plugins: [{ id: "self", use: "@vigil/plugin-http-check", config: { checks: [{ name: "collector-health", url: `${stack.collector.url}/health`, interval: "1s" }] } }],
  });
  agent = await startAgentProcess(writeAgentConfig(agentDir.path, config));
  expect((await api("POST", "/api/users", { ...VIEWER, name: "Vera Viewer", role: "viewer" })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await stack?.close();
  disk?.remove();
  agentDir.remove();
});

async function visit(page: Page, path: string, ready: string): Promise<void> {
  await page.goto(path);
  await stack.ready(page, ready);
}

describe("the dashboard in Chromium", () => {
  it("signs in, refusing a wrong password with the server's message, and returns to the page asked for", async () => {
    const page = await stack.open({ signedIn: false });
    await page.goto("/agents");
    await page.waitForURL(/\/login/);
    await page.getByLabel("Email").fill(ADMIN_EMAIL);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByText("wrong email or password")).toBeTruthy();
    await page.getByText("wrong email or password").waitFor();
    await stack.screenshot(page, "login");
    await page.getByLabel("Password").fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.waitForURL((url) => url.pathname === "/agents");
    await stack.ready(page, "agents");
    await page.context().close();
  });

  it("shows the agent with its plugin, the overview's health, and events arriving live in the explorer", async () => {
    const page = await stack.open();
    await eventually(() => api("GET", "/api/agents"), (r) => r.json.agents.some((a: { online: boolean }) => a.online), 30_000, "the agent online");
    await visit(page, "/agents", "agents");
    await page.getByText("web-1").first().waitFor();
    // The plugin by its id, its package and state in the badge's title.
    await page.locator('[title^="@vigil/plugin-http-check ("]').first().waitFor();
    await stack.screenshot(page, "agents");

    await visit(page, "/", "overview");
    await page.getByText("Overview").first().waitFor();
    await stack.screenshot(page, "overview");

    await visit(page, "/events?source=http", "events");
    await page.getByRole("button", { name: /live/i }).first().click();
    // A check stored after the tail started shows up without a reload.
    const marker = `live-marker-${Date.now()}`;
    await api("POST", "/v1/events", [{ id: "019ac3a0-0000-7000-8000-0000000000aa", ts: Date.now(), source: "http", type: "http.check", attrs: { marker }, body: marker }]);
    await page.getByText(marker).first().waitFor({ timeout: 20_000 });
    await stack.screenshot(page, "events");
    await page.context().close();
  });

  it("lets an admin add a user and a key in the UI", async () => {
    const page = await stack.open();
    await visit(page, "/admin/users", "users");
    await page.getByRole("button", { name: "Add user" }).first().click();
    const dialog = page.getByRole("dialog");
    await dialog.getByLabel("Email").fill("editor@example.com");
    await dialog.getByLabel("Name").fill("Eddie Editor");
    await dialog.getByLabel("Role").selectOption("editor");
    await dialog.getByLabel("Password").fill("editor password 123");
    await dialog.getByRole("button", { name: "Add user" }).click();
    await page.getByRole("cell", { name: "editor@example.com" }).first().waitFor();
    const users = (await api("GET", "/api/users")).json.users;
    expect(users.find((u: { email: string }) => u.email === "editor@example.com")?.role).toBe("editor");
    await stack.screenshot(page, "users");
    await visit(page, "/admin/keys", "keys");
    await stack.screenshot(page, "keys");
    await page.context().close();
  });

  it("gives a viewer no way to change anything: controls hidden, admin pages closed, the API refuses", async () => {
    const page = await stack.open(VIEWER);
    await visit(page, "/", "overview");
    const nav = page.getByRole("navigation");
    expect(await nav.getByRole("link", { name: "Users" }).count()).toBe(0);
    expect(await nav.getByRole("link", { name: "API keys" }).count()).toBe(0);
    await page.goto("/admin/users");
    await page.getByText(/needs the admin role/i).waitFor();
    expect(await page.getByRole("button", { name: "Add user" }).count()).toBe(0);
    // The server decides, whatever the page shows: a write with the viewer's own session and CSRF token is refused.
    const answer = await page.evaluate(async () => {
      const session = (await (await fetch("/api/session")).json()) as { csrf_token: string };
      const response = await fetch("/api/alerts/silences", {
        method: "POST",
        headers: { "content-type": "application/json", "x-csrf-token": session.csrf_token },
        body: JSON.stringify({ matchers: [{ label: "a", value: "b" }], ends_at: new Date(Date.now() + 3600_000).toISOString(), comment: "sneaky" }),
      });
      return { status: response.status, body: (await response.json()) as { error: { message: string } } };
    });
    expect(answer.status).toBe(403);
    expect(answer.body.error.message).toContain('your role "viewer" cannot do this');
    await page.context().close();
  });

  it("fits a 360 px phone and renders the dark theme", async () => {
    const phone = await stack.open({ width: 360 });
    await visit(phone, "/agents", "agents");
    // Runs in the page (the tests compile without the DOM library, hence `globalThis`).
    const overflow = await phone.evaluate(() => {
      const root = (globalThis as any).document.documentElement;
      return (root.scrollWidth as number) - (root.clientWidth as number);
    });
    expect(overflow).toBeLessThanOrEqual(0);
    await phone.getByRole("button", { name: /menu/i }).first().click();
    await phone.getByRole("navigation").getByRole("link", { name: "Events" }).click();
    await stack.ready(phone, "events");
    await stack.screenshot(phone, "phone-events");
    await phone.context().close();
    const dark = await stack.open({ colorScheme: "dark" });
    await visit(dark, "/", "overview");
    const background = await dark.evaluate(() => (globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor as string);
    const [r, g, b] = background.match(/\d+/g)!.map(Number);
    expect(r! + g! + b!).toBeLessThan(3 * 80);
    await stack.screenshot(dark, "overview-dark");
    await dark.context().close();
  });

  it("shows a banner while storage is down (a full disk) and clears it once writes work again", async () => {
    const page = await stack.open();
    await visit(page, "/events", "events");
    disk.fill();
    // Keep it full: space the engine frees (a finished merge) would let a write through.
    const keepFull = setInterval(() => disk.fill(), 500);
    try {
      // The agent's next batch fails to store; the collector reports storage unavailable until a write lands.
      await eventually(async () => (await fetch(`${stack.collector.url}/health`)).status, (s) => s === 503, 30_000, "health 503 with a full disk");
      await page.getByText("Storage is unavailable").waitFor({ timeout: 25_000 });
      await page.getByText(/NOT_ENOUGH_SPACE/).first().waitFor();
      await stack.screenshot(page, "storage-down");
    } finally {
      clearInterval(keepFull);
      disk.free();
    }
    await page.getByText("Storage is unavailable").waitFor({ state: "detached", timeout: 30_000 });
    await page.context().close();
  });
});
