// The dashboard's cache monitor and SMS campaign pages in real Chromium, against a real
// collector (every plugin's collector part) and a real agent running the cache-db agent
// part. The data comes the way it does in production: an app's cache monitor (the
// cache-db SDK) and an SMS sender (the SMS SDK) post to the agent's intake, which ships
// to the collector. The cache monitor's switch is flipped in the UI and checked through
// the API and in the app itself; the SMS campaign view must update live, without a
// reload, as more messages are delivered.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSmsTracker, type SmsTracker } from "@vigil/plugin-sms/sdk";
import { startAgentProcess, testAgentConfig, writeAgentConfig, type AgentProcess } from "./support/agent-process.js";
import { callApi, REPO_ROOT, tempDir } from "./support/collector-process.js";
import { startDashboardStack, type DashboardStack } from "./support/dashboard-stack.js";
import { eventually } from "./support/eventually.js";

const CACHE_AGENT_PART = join(REPO_ROOT, "plugins/cache-db/dist/agent.js");
const CACHE_SDK = join(REPO_ROOT, "plugins/cache-db/dist/sdk.js");
const CAMPAIGN = "dash-e2e-spring";
const TOTAL = 200;

/** The part of the cache-db SDK this test drives (plugins/cache-db/src/sdk/types.ts). */
interface Monitor {
  logCacheRead(key: string, r: { hit?: boolean; partial?: boolean; count?: number; durationMs: number; source?: string }): void;
  logCacheWrite(key: string, r: { durationMs: number }): void;
  logDbRead(key: string, r: { count?: number; durationMs: number }): void;
  logDbWrite(key: string, r: { durationMs: number }): void;
  logHybridQuery(key: string, r: { cacheCount: number; dbCount: number; cacheMs: number; dbMs: number }): void;
  mode(): string;
  flush(): Promise<void>;
  close(): Promise<void>;
}
type CreateMonitor = (options: { app: string; agentUrl: string; pluginId: string; settingsPollMs: number; flushIntervalMs: number }) => Monitor;

let stack: DashboardStack;
let agent: AgentProcess;
let monitor: Monitor | undefined;
let tracker: SmsTracker | undefined;
const dir = tempDir("vigil-dash-cache-sms-");

const api = (method: string, path: string, body?: unknown) => callApi(stack.collector, method, path, body);

beforeAll(async () => {
  stack = await startDashboardStack();
  agent = await startAgentProcess(
    writeAgentConfig(dir.path, testAgentConfig(stack.collector, join(dir.path, "agent"), { name: "dash-e2e", plugins: [{ id: "cache-db", use: CACHE_AGENT_PART }] })),
  );
  // The app reads its settings from the agent: wait until the agent publishes them.
  await eventually(() => fetch(`${agent.intakeUrl}/v1/plugins/cache-db/settings`).then((r) => r.status), (s) => s === 200, 30_000, "the agent's cache settings");
  await eventually(async () => (await agent.status()).channel.push_connected, (c) => c === true, 30_000, "the agent's push connection");
});

afterAll(async () => {
  await monitor?.close();
  await tracker?.close();
  await agent?.kill();
  await stack?.close();
  dir.remove();
});

/** The value of the stat card labelled exactly `label` (inside `scope`). */
const stat = (page: Page, label: string, scope = "main") => page.locator(`${scope} .stat:has(.label:text-is("${label}")) .value`);

/** Nothing wider than the window: at 360 px tables scroll inside their frames, rows wrap. */
async function expectNoSidewaysScroll(page: Page): Promise<void> {
  const widths = await page.evaluate(() => {
    const root = (globalThis as any).document.documentElement;
    return { scroll: root.scrollWidth as number, client: root.clientWidth as number };
  });
  expect(widths.scroll, `page is ${widths.scroll}px wide in a ${widths.client}px window`).toBeLessThanOrEqual(widths.client + 1);
}

describe("cache monitor page", () => {
  it("shows the app's figures and colour-coded log, filters by key label, and flips the switch for real", { timeout: 150_000 }, async () => {
    const createMonitor = ((await import(pathToFileURL(CACHE_SDK).href)) as { createMonitor: CreateMonitor }).createMonitor;
    monitor = createMonitor({ app: "checkout", agentUrl: agent.intakeUrl, pluginId: "cache-db", settingsPollMs: 200, flushIntervalMs: 500 });
    for (let i = 0; i < 6; i++) monitor.logCacheRead(`user:${i}`, { hit: true, durationMs: 0.4, source: "redis" });
    monitor.logCacheRead("user:40", { hit: false, durationMs: 0.6, source: "redis" });
    monitor.logCacheRead("user:41", { hit: false, durationMs: 0.7, source: "redis" });
    monitor.logCacheRead("user:42", { partial: true, count: 3, durationMs: 0.9, source: "redis" });
    monitor.logCacheWrite("cart:1", { durationMs: 0.5 });
    monitor.logCacheWrite("cart:2", { durationMs: 0.5 });
    for (let i = 0; i < 3; i++) monitor.logDbRead("orders", { count: 2, durationMs: 4 });
    monitor.logDbWrite("orders", { durationMs: 6 });
    monitor.logHybridQuery("cart:42", { cacheCount: 3, dbCount: 1, cacheMs: 0.8, dbMs: 4.2 });
    await monitor.flush();
    await eventually(
      () => api("GET", "/api/cache-monitor?app=checkout"),
      (r) => r.json?.apps?.[0]?.summary?.hits === 6 && r.json.apps[0].recent.length === 16,
      30_000,
      "the app's operations in the monitor",
    );

    const page = await stack.open();
    await page.goto("/cache");
    await stack.ready(page, "cache");
    const panel = "section.app";
    await expect.poll(() => stat(page, "Hits", panel).textContent()).toBe("6");
    expect(await stat(page, "Misses", panel).textContent()).toBe("2");
    expect(await stat(page, "Partial hits", panel).textContent()).toBe("1");
    expect(await stat(page, "Cache writes", panel).textContent()).toBe("2");
    expect(await stat(page, "DB reads", panel).textContent()).toBe("3");
    expect(await stat(page, "DB writes", panel).textContent()).toBe("1");
    expect(await stat(page, "Hybrid queries", panel).textContent()).toBe("1");
    expect(await stat(page, "Hit rate", panel).textContent()).toBe("66.7%");
    expect((await page.locator(`${panel} [data-mode]`).textContent())?.replace(/\s+/g, " ").trim()).toBe("mode detailed");

    // The log: every operation (detailed mode logs them all), each coloured by its class.
    await expect.poll(() => page.locator(".log li").count()).toBe(16);
    const classes = await page.locator(".log li").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-class")));
    const count = (c: string) => classes.filter((x) => x === c).length;
    expect([count("hit"), count("miss"), count("partial"), count("write"), count("db-read"), count("hybrid")]).toEqual([6, 2, 1, 3, 3, 1]);
    // Really coloured, in the light theme's palette: hits green (--ok), misses red (--bad).
    const edge = (cls: string) => page.locator(`.log li[data-class="${cls}"]`).first().evaluate((el) => (globalThis as any).getComputedStyle(el).borderLeftColor as string);
    expect(await edge("hit")).toBe("rgb(22, 101, 52)");
    expect(await edge("miss")).toBe("rgb(185, 28, 28)");
    await stack.screenshot(page, "cache");

    // Filter by key label: the figures and the log narrow to it.
    const labelFilter = page.getByRole("combobox", { name: "Key label", exact: true });
    await labelFilter.fill("orders");
    await labelFilter.press("Enter");
    await expect.poll(() => page.locator(".log li").count()).toBe(4);
    expect(await stat(page, "Hits", panel).textContent()).toBe("0");
    expect(await stat(page, "DB reads", panel).textContent()).toBe("3");
    await page.getByRole("button", { name: "Clear the key label filter" }).click();
    await expect.poll(() => page.locator(".log li").count()).toBe(16);

    // The switch: off in the UI → stored (API) → relayed by the agent → the app stops → the UI's mode says so.
    const toggle = page.getByRole("switch");
    expect(await toggle.getAttribute("aria-checked")).toBe("true");
    await toggle.click();
    await expect.poll(() => toggle.getAttribute("aria-checked")).toBe("false");
    const stored = await api("GET", "/api/cache-monitor/settings");
    expect(stored.json.apps["*"].enabled).toBe(false);
    expect(await page.locator(panel).textContent()).toContain("switch off");
    await eventually(() => monitor!.mode(), (m) => m === "disabled", 15_000, "the app applying the switch");
    await monitor.flush();
    await expect.poll(() => page.locator(`${panel} [data-mode]`).textContent(), { timeout: 20_000 }).toContain("disabled");

    // And back on, from the UI again.
    await toggle.click();
    await expect.poll(() => toggle.getAttribute("aria-checked")).toBe("true");
    expect((await api("GET", "/api/cache-monitor/settings")).json.apps["*"].enabled).toBe(true);
    await eventually(() => monitor!.mode(), (m) => m === "detailed", 15_000, "the app switched on again");
    await page.context().close();
  });

  it("a viewer sees the state but no switch; the page fits a 360 px phone", { timeout: 60_000 }, async () => {
    const created = await api("POST", "/api/users", { email: "vera@example.com", name: "Vera", role: "viewer", password: "viewer password 1" });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const page = await stack.open({ email: "vera@example.com", password: "viewer password 1", width: 360, colorScheme: "dark" });
    await page.goto("/cache");
    await stack.ready(page, "cache");
    await expect.poll(() => page.locator("section.app").count()).toBe(1);
    expect(await page.getByRole("switch").count()).toBe(0);
    expect(await page.locator('[aria-label="Monitoring switch"]').textContent()).toContain("Editors and admins can switch it");
    // A viewer's PUT would be refused anyway; the UI does not offer it.
    await expectNoSidewaysScroll(page);
    await stack.screenshot(page, "cache-phone-dark");
    await page.context().close();
  });
});

describe("SMS campaign pages", () => {
  it("lists the campaign with its progress, and its view follows new deliveries live, without a reload", { timeout: 120_000 }, async () => {
    tracker = createSmsTracker({ agentUrl: agent.intakeUrl, app: "dash-e2e", flushIntervalMs: 100 });
    tracker.trackCampaign({ id: CAMPAIGN, name: "Dashboard spring sale", total: TOTAL, user: "ann", status: "started" });
    tracker.trackServer({ kind: "api", id: "twilio-1", status: "up", latencyMs: 120 });
    tracker.trackServer({ kind: "smtp", id: "gw-1", status: "down", error: "421 4.7.0 Try again later" });
    let next = 0;
    const send = (n: number, outcome: (i: number) => { status: "sent" | "delivered" | "failed"; code?: string }) => {
      for (let k = 0; k < n; k++, next++) {
        const i = next;
        const server = i % 5 === 0 ? { kind: "smtp" as const, id: "gw-1" } : { kind: "api" as const, id: "twilio-1" };
        const base = { campaignId: CAMPAIGN, messageId: `m-${i}`, to: `+44 7700 9${String(i).padStart(5, "0")}`, carrier: i % 2 ? "EE" : "Vodafone", server, attempt: 1, sendMs: 200 };
        tracker!.trackMessage({ ...base, status: "sent" });
        const o = outcome(i);
        if (o.status !== "sent") tracker!.trackMessage({ ...base, status: o.status, ...(o.code ? { errorCode: o.code, errorText: "failed" } : {}) });
      }
    };
    // 100 messages: 80 delivered, 10 failed (unreachable handsets), 10 awaiting a receipt.
    send(100, (i) => (i < 80 ? { status: "delivered" } : i < 90 ? { status: "failed", code: "30003" } : { status: "sent" }));
    await tracker.flush();
    await eventually(() => api("GET", `/api/sms/campaigns/${CAMPAIGN}`), (r) => r.json?.delivered === 80 && r.json.failed_total === 10, 30_000, "the first messages stored");

    const page = await stack.open();
    await page.goto("/sms");
    await stack.ready(page, "sms");
    const row = page.locator("tbody tr", { hasText: "Dashboard spring sale" });
    expect(await row.locator('[role="img"]').getAttribute("aria-label")).toBe("45% done: 80 delivered, 10 failed, 110 pending");
    expect(await row.textContent()).toContain("running");
    await stack.screenshot(page, "sms");

    // Into the campaign, in the app (no page load).
    await row.getByRole("link", { name: "Dashboard spring sale" }).click();
    await page.waitForURL(`**/sms/${CAMPAIGN}`);
    await stack.ready(page, "sms-campaign");
    await page.evaluate(() => ((globalThis as any).__sameDocument = true));
    expect(await stat(page, "Delivered").textContent()).toBe("80");
    expect(await stat(page, "Failed").textContent()).toBe("10");
    expect(await stat(page, "Pending").textContent()).toBe("110");
    await expect.poll(() => page.locator(".live-note").count(), { timeout: 15_000 }).toBe(1);
    const servers = page.locator('[aria-label="Sending servers"]');
    expect(await servers.textContent()).toContain("gw-1");
    expect(await servers.locator("tr", { hasText: "gw-1" }).textContent()).toContain("down");
    expect(await page.locator('[aria-label="Carriers"]').textContent()).toContain("Vodafone");
    expect(await page.locator("main").textContent()).toContain("retry with backoff"); // the network category's advice (30003)

    // More deliveries: the figures move on the open page.
    send(60, () => ({ status: "delivered" }));
    await tracker.flush();
    await expect.poll(() => stat(page, "Delivered").textContent(), { timeout: 20_000 }).toBe("140");
    expect(await stat(page, "Pending").textContent()).toBe("50");
    expect(await page.locator('main .progress [role="img"]').first().getAttribute("aria-label")).toBe("75% done: 140 delivered, 10 failed, 50 pending");
    expect(await page.evaluate(() => (globalThis as any).__sameDocument)).toBe(true);
    // The bar is drawn, in proportion: 140, 10 and 50 of 200.
    const bar = page.locator("main .progress .bar").first();
    const barBox = (await bar.boundingBox())!;
    expect(barBox.height).toBeGreaterThan(5);
    const share = async (kind: string) => (await bar.locator(`.part.${kind}`).boundingBox())!.width / barBox.width;
    // (Polled: the parts' widths ease to their new size.)
    await expect.poll(() => share("delivered")).toBeCloseTo(0.7, 1);
    expect(await share("failed")).toBeCloseTo(0.05, 1);
    expect(await share("pending")).toBeCloseTo(0.25, 1);
    // The rest of the report (hours, servers, carriers, errors) follows within 10 s of the last change.
    await expect.poll(() => page.locator("main figure").first().textContent(), { timeout: 20_000 }).toMatch(/All within the hour from \d\d:00 so far: 160 sent, 140 delivered, 10 failed/);
    await stack.screenshot(page, "sms-campaign");

    // The same view on a phone.
    const phone = await stack.open({ width: 360 });
    await phone.goto(`/sms/${CAMPAIGN}`);
    await stack.ready(phone, "sms-campaign");
    await expectNoSidewaysScroll(phone);
    await phone.context().close();
    await page.context().close();
  });
});
