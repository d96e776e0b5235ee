// The Alerts page end to end, in real Chromium against a real collector (embedded
// ClickHouse, every plugin's collector part) serving the built dashboard:
//
// - a webhook channel made in the UI, pointed at a real local receiver: "Send test" reaches it;
// - a route made in the UI sends every alert to it;
// - a threshold rule built in the UI, whose preview shows the current count per group;
// - events posted to /v1/events make it fire: it appears in "Firing now" without a reload
//   (live topic) and its notification reaches the receiver (and the History tab);
// - "Silence" on its row creates a silence from its labels: the API shows the silence and
//   the alert as silenced.
//
// Every tab is screenshotted (test-results/screenshots/alerts-*.png), and the page is checked
// at 360 px. To run it against a private build (concurrent builds write dashboard/dist):
//   (cd dashboard && npx vite build --outDir /tmp/dash-alerts --emptyOutDir)
//   VIGIL_DASHBOARD_DIR=/tmp/dash-alerts npx vitest run test/dashboard-alerts.test.ts
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { uuidv7 } from "@vigil/plugin-sdk";
import { callApi } from "./support/collector-process.js";
import { startDashboardStack, type DashboardStack } from "./support/dashboard-stack.js";
import { eventually } from "./support/eventually.js";
import { startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.js";

const RULE = "E2E checkout failures";
const SOURCE = "e2e";
const TYPE = "checkout.failed";

let stack: DashboardStack;
let hook: WebhookReceiver;

beforeAll(async () => {
  [stack, hook] = await Promise.all([startDashboardStack(), startWebhookReceiver()]);
});

afterAll(async () => {
  await Promise.all([stack?.close(), hook?.close()]);
});

/** Posts failed checkouts of a region, as an agent would. */
async function postFailures(region: string, count: number): Promise<void> {
  const events = Array.from({ length: count }, () => ({ id: uuidv7(), ts: Date.now(), source: SOURCE, type: TYPE, attrs: { region, status: 502 }, body: "payment gateway answered 502" }));
  const res = await callApi(stack.collector, "POST", "/v1/events", events);
  expect(res.status, JSON.stringify(res.json)).toBe(202);
}

/** What the rule under test counts now, asked the API way (events are queryable shortly after they are accepted). */
async function previewCount(): Promise<number | null> {
  const res = await callApi(stack.collector, "POST", "/api/alerts/rules/preview", { kind: "threshold", name: "probe", source: SOURCE, type: TYPE, aggregation: "count", window: "5m", condition: ">", threshold: 0, group_by: ["region"] });
  return (res.json?.samples as { value: number }[] | undefined)?.[0]?.value ?? null;
}

async function openTab(page: Page, name: string): Promise<void> {
  await page.getByRole("tab", { name }).click();
  // Runs in the page (these tests compile without the DOM library, hence `globalThis`).
  await page.waitForFunction((tab) => (globalThis as any).document.querySelector('[role="tab"][aria-selected="true"]')?.textContent?.trim() === tab, name);
}

describe("Alerts page in Chromium", () => {
  it("channel + Send test, route, rule with preview, live firing, silence from the row", async () => {
    const page = await stack.open();
    const consoleErrors: string[] = [];
    page.on("pageerror", (error) => consoleErrors.push(error.message));

    await page.goto("/alerts");
    await stack.ready(page, "alerts");
    await page.getByText("Nothing is firing").waitFor();
    await stack.screenshot(page, "alerts-firing-empty");

    // --- Channels: a webhook to the local receiver, tested from the UI --------------------
    await openTab(page, "Channels");
    await page.getByText("No channels yet").waitFor();
    await page.getByRole("button", { name: "Add channel" }).click();
    const channelDialog = page.getByRole("dialog", { name: "Add a channel" });
    await channelDialog.getByLabel("Name", { exact: true }).fill("E2E hook");
    await channelDialog.getByLabel("Kind", { exact: true }).selectOption("webhook");
    await channelDialog.getByLabel("URL", { exact: true }).fill(`${hook.url}/vigil`);
    await channelDialog.getByRole("button", { name: "Add channel" }).click();
    await channelDialog.waitFor({ state: "hidden" });
    const channelRow = page.getByRole("row", { name: /E2E hook/ });
    await channelRow.waitFor();
    // The URL is a secret: stored, never shown.
    expect(await page.locator("main").textContent()).not.toContain(hook.url);
    await expect.poll(() => channelRow.textContent()).toContain("Secrets stored: url");

    await page.getByRole("button", { name: "Send test to E2E hook" }).click();
    await channelRow.getByText("Delivered").waitFor({ timeout: 15_000 });
    expect(hook.deliveries()).toHaveLength(1);
    const test = JSON.parse(hook.deliveries()[0]!.rawBody) as { status: string; alerts: { labels: Record<string, string> }[] };
    expect(hook.deliveries()[0]!.path).toBe("/vigil");
    expect(test.status).toBe("firing");
    expect(test.alerts[0]!.labels.alertname).toBe("VigilTest");
    await stack.screenshot(page, "alerts-channels");

    // --- Routes: everything to that channel, quickly ---------------------------------------
    await openTab(page, "Routes");
    await page.getByText("No routes yet").waitFor();
    await page.getByRole("button", { name: "Add route" }).click();
    const routeDialog = page.getByRole("dialog", { name: "Add a route" });
    await routeDialog.getByLabel("Name", { exact: true }).fill("Everything to the hook");
    await routeDialog.getByLabel("E2E hook").check();
    await routeDialog.getByLabel("Group wait", { exact: true }).fill("1s");
    await routeDialog.getByLabel("Group interval", { exact: true }).fill("1s");
    await routeDialog.getByRole("button", { name: "Add route" }).click();
    await routeDialog.waitFor({ state: "hidden" });
    await page.getByRole("row", { name: /Everything to the hook/ }).waitFor();
    await stack.screenshot(page, "alerts-routes");

    // --- Rules: build one and watch its preview --------------------------------------------
    // One failure already stored, so the preview has something to count.
    await postFailures("eu", 1);
    await eventually(previewCount, (n) => n === 1, 30_000, "the first event to be queryable");

    await openTab(page, "Rules");
    await page.getByText("No rules yet — start from a template").waitFor();
    await stack.screenshot(page, "alerts-rules-empty");
    await page.getByRole("button", { name: "New rule" }).first().click();
    const form = page.locator("form.rule-form");
    await form.getByLabel("Kind", { exact: true }).selectOption("threshold");
    await form.getByLabel("Name", { exact: true }).fill(RULE);
    await form.getByLabel("Source", { exact: true }).fill(SOURCE);
    await form.getByLabel("Type", { exact: true }).fill(TYPE);
    await form.getByLabel("Group by", { exact: true }).fill("region");
    await form.getByLabel("Aggregation", { exact: true }).selectOption("count");
    await form.getByLabel("Window", { exact: true }).fill("2m");
    await form.getByLabel("Condition", { exact: true }).selectOption(">");
    await form.getByLabel("Threshold", { exact: true }).fill("2");
    await form.getByLabel("Evaluate every", { exact: true }).fill("5s");
    await form.getByLabel("Label value 1", { exact: true }).fill("critical");
    await form.getByLabel("Summary", { exact: true }).fill("{{value}} failed checkouts in {{labels.region}}");

    // The preview: the stored failure, per region, and the verdict against "> 2".
    const preview = page.locator("section.preview");
    await preview.getByText("Would not fire now (condition > 2).").waitFor({ timeout: 15_000 });
    expect((await preview.getByRole("listitem").allTextContents()).map((t) => t.replace(/\s+/g, " ").trim())).toEqual(["region=eu 1 ok"]);
    // A mistake is reported by the server at its field, as the user types.
    await form.getByLabel("Window", { exact: true }).fill("2 minutes");
    await form.getByText('expected a duration like "30s"').waitFor({ timeout: 15_000 });
    await form.getByLabel("Window", { exact: true }).fill("2m");
    await preview.getByText("region=eu").waitFor({ timeout: 15_000 });
    await stack.screenshot(page, "alerts-rule-builder");

    await form.getByRole("button", { name: "Create rule" }).click();
    await page.getByRole("row", { name: new RegExp(RULE) }).waitFor();
    const rules = await callApi(stack.collector, "GET", "/api/alerts/rules");
    const ruleId = (rules.json.rules as { id: string; name: string }[]).find((r) => r.name === RULE)!.id;
    expect(rules.json.rules[0]).toMatchObject({ kind: "threshold", source: SOURCE, type: TYPE, group_by: ["region"], aggregation: "count", window: "2m", interval: "5s", condition: ">", threshold: 2, labels: { severity: "critical" } });

    // --- Make it fire; Firing now shows it without a reload ---------------------------------
    await openTab(page, "Firing now");
    await page.getByText("Nothing is firing").waitFor();
    const navigations: string[] = [];
    page.on("framenavigated", (frame) => navigations.push(frame.url()));
    await postFailures("eu", 3);
    const alertRow = page.getByRole("row", { name: new RegExp(RULE) });
    await alertRow.waitFor({ timeout: 45_000 });
    await alertRow.getByText("firing", { exact: true }).waitFor({ timeout: 15_000 });
    await expect.poll(() => alertRow.textContent()).toContain("region=eu");
    await expect.poll(() => alertRow.textContent()).toContain("failed checkouts in eu");
    expect(navigations).toEqual([]); // the page was never reloaded

    // Its notification reaches the receiver through the route made above.
    const fired = await eventually(
      () => hook.notifications() as { status: string; alerts: { labels: Record<string, string> }[] }[],
      (list) => list.some((n) => n.status === "firing" && n.alerts.some((a) => a.labels.alertname === RULE)),
      45_000,
      "the rule's notification at the receiver",
    );
    expect(fired.find((n) => n.alerts.some((a) => a.labels.alertname === RULE))!.alerts[0]!.labels).toMatchObject({ region: "eu", severity: "critical" });
    await stack.screenshot(page, "alerts-firing");

    // --- Silence it from its row ---------------------------------------------------------
    await alertRow.getByRole("button", { name: `Silence ${RULE}` }).click();
    const silenceDialog = page.getByRole("dialog", { name: "Silence this alert" });
    expect(await silenceDialog.getByLabel("Label of matcher 1").inputValue()).toBe("alertname");
    expect(await silenceDialog.getByLabel("Value of matcher 1").inputValue()).toBe(RULE);
    await silenceDialog.getByLabel("For", { exact: true }).selectOption("1h");
    await silenceDialog.getByLabel("Comment", { exact: true }).fill("e2e: looking into it");
    await silenceDialog.getByRole("button", { name: "Create silence" }).click();
    await silenceDialog.waitFor({ state: "hidden" });
    await alertRow.getByText("silenced", { exact: true }).waitFor({ timeout: 15_000 });

    // The API agrees: an active silence on these labels, and the alert marked silenced.
    const silences = await callApi(stack.collector, "GET", "/api/alerts/silences?state=active");
    expect(silences.json.silences).toHaveLength(1);
    expect(silences.json.silences[0]).toMatchObject({ comment: "e2e: looking into it", created_by: "user:admin@example.com", state: "active" });
    expect(silences.json.silences[0].matchers).toEqual(expect.arrayContaining([{ label: "alertname", op: "=", value: RULE }, { label: "region", op: "=", value: "eu" }]));
    const endsIn = Date.parse(silences.json.silences[0].ends_at) - Date.now();
    expect(endsIn).toBeGreaterThan(55 * 60_000);
    expect(endsIn).toBeLessThanOrEqual(60 * 60_000);
    const firing = await callApi(stack.collector, "GET", `/api/alerts?rule_id=${ruleId}`);
    expect(firing.json.alerts).toHaveLength(1);
    expect(firing.json.alerts[0]).toMatchObject({ state: "firing", silenced: true, labels: { alertname: RULE, region: "eu" } });
    await stack.screenshot(page, "alerts-firing-silenced");

    // --- The other tabs, for the record ---------------------------------------------------
    await openTab(page, "Rules");
    const ruleRow = page.getByRole("row", { name: new RegExp(RULE) });
    await ruleRow.getByText("1 firing").waitFor({ timeout: 30_000 });
    await stack.screenshot(page, "alerts-rules");

    await openTab(page, "History");
    await page.getByRole("row", { name: /E2E hook/ }).first().waitFor({ timeout: 15_000 });
    expect(await page.getByRole("row", { name: /E2E hook/ }).first().textContent()).toContain("sent");
    await stack.screenshot(page, "alerts-history");

    await openTab(page, "Silences");
    await page.getByRole("row", { name: /e2e: looking into it/ }).waitFor();
    await stack.screenshot(page, "alerts-silences");

    // Reloading keeps the tab (it is in the URL).
    await page.reload();
    await stack.ready(page, "alerts");
    expect(await page.getByRole("tab", { selected: true }).textContent()).toContain("Silences");
    expect(consoleErrors).toEqual([]);
    await page.context().close();
  }, 240_000);

  it("works at 360 px: no sideways page scroll, tabs reachable", async () => {
    const page = await stack.open({ width: 360 });
    await page.goto("/alerts");
    await stack.ready(page, "alerts");
    const overflow = () =>
      page.evaluate(() => {
        const root = (globalThis as any).document.documentElement as { scrollWidth: number; clientWidth: number };
        return root.scrollWidth - root.clientWidth;
      });
    expect(await overflow()).toBeLessThanOrEqual(0);
    await stack.screenshot(page, "alerts-firing-360");
    // Keyboard: the selected tab takes focus, arrows move to the next ones.
    await page.getByRole("tab", { name: "Firing now" }).focus();
    await page.keyboard.press("ArrowRight");
    expect(await page.evaluate(() => (globalThis as any).document.activeElement?.textContent?.trim() as string | undefined)).toBe("Rules");
    await page.getByRole("row", { name: new RegExp(RULE) }).waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await stack.screenshot(page, "alerts-rules-360");
    await page.getByRole("button", { name: "New rule" }).click();
    await page.locator("form.rule-form").waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await stack.screenshot(page, "alerts-rule-builder-360");
    await page.context().close();
  }, 60_000);
});
