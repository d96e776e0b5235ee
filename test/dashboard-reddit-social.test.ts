// The Reddit and Social jobs pages of the dashboard, end to end in real Chromium: a real
// collector serving the built dashboard (test/support/dashboard-stack.ts), a real agent
// process running the Reddit and social plugins, and the fake platforms of test/fakes as
// the only stand-ins. Everything is done through the UI as a user would; the fakes play
// Reddit and YouTube. Build the dashboard first (see dashboard/README.md):
//   npx tsc -b && (cd dashboard && npx vite build --outDir /tmp/dash && cd ..) && VIGIL_DASHBOARD_DIR=/tmp/dash npx vitest run test/dashboard-reddit-social.test.ts
import { join } from "node:path";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeCredentials } from "./fakes/reddit/server.js";
import { makeChannelId, startSocialFakes, type SocialFakes } from "./fakes/social/index.js";
import { startAgentProcess, writeAgentConfig, type AgentProcess } from "./support/agent-process.js";
import { callApi, REPO_ROOT, tempDir } from "./support/collector-process.js";
import { startDashboardStack, type DashboardStack } from "./support/dashboard-stack.js";
import { eventually } from "./support/eventually.js";

const SUB = "vigiltest";
const SOCIAL_AGENT_PART = join(REPO_ROOT, "plugins/social/dist/agent.js");

let stack: DashboardStack;
let fakes: SocialFakes;
let agent: AgentProcess;
const dirs: { remove(): void }[] = [];

beforeAll(async () => {
  fakes = await startSocialFakes();
  stack = await startDashboardStack();
  const ingest = await callApi(stack.collector, "POST", "/api/keys", { name: "dashboard-agent", scopes: ["ingest"] });
  expect(ingest.status).toBe(201);
  const dir = tempDir("vigil-dashboard-agent-");
  dirs.push(dir);
  agent = await startAgentProcess(
    writeAgentConfig(dir.path, {
      collector: { url: stack.collector.url, api_key: ingest.json.token, timeout: "5s" },
      agent: { name: "dashboard-e2e", data_dir: join(dir.path, "data") },
      intake: { address: "127.0.0.1:0" },
      shipper: { flush_interval: "100ms", max_backoff: "1s" },
      heartbeat_interval: "1s",
      log: { format: "json", level: "info" },
      plugins: [
        {
          id: "reddit",
          use: "@vigil/plugin-reddit",
          config: {
            credentials: fakeCredentials("test:vigil-dashboard:1.0.0 (by /u/fake-user)"),
            subreddits: [SUB],
            poll_min: "100ms",
            poll_max: "400ms",
            auth_base: fakes.reddit.url,
            api_base: fakes.reddit.url,
          },
        },
        { id: "social", use: SOCIAL_AGENT_PART, config: { base_urls: fakes.baseUrls } },
      ],
    }),
  );
  // Keyword and job changes reach the agent through its push connection.
  await eventually(async () => (await agent.status()).channel.push_connected, (c) => c === true, 15_000, "the push connection");
}, 120_000);

afterAll(async () => {
  await agent?.stop();
  await stack?.close();
  await fakes?.close();
  for (const dir of dirs) dir.remove();
});

async function pluginDetails(id: string): Promise<Record<string, any>> {
  const status = await agent.status();
  return status.plugins.find((p: { id: string }) => p.id === id)?.details ?? {};
}

/** No sideways scrolling of the whole page at a phone's width (tables scroll inside their frame). */
async function fitsWidth(page: Page): Promise<void> {
  // Runs in the page (the tests compile without the DOM library, hence `globalThis`).
  const { overflow, culprits } = await page.evaluate(() => {
    const document = (globalThis as any).document;
    const width: number = document.documentElement.clientWidth;
    // The outermost elements that stick out, to say what is too wide when it fails.
    const wide: any[] = [...document.querySelectorAll("body *")].filter((e: any) => e.getBoundingClientRect().right > width + 1);
    const outermost = wide.filter((e) => !wide.some((o) => o !== e && o.contains(e)));
    return {
      overflow: (document.documentElement.scrollWidth as number) - width,
      culprits: outermost.slice(0, 5).map((e) => `${e.tagName.toLowerCase()}.${[...e.classList].join(".")} "${(e.textContent ?? "").trim().slice(0, 40)}" right=${Math.round(e.getBoundingClientRect().right)}`) as string[],
    };
  });
  expect(overflow, culprits.join("\n")).toBeLessThanOrEqual(0);
}

describe("dashboard: Reddit and Social jobs pages", () => {
  it("adds a keyword in the UI and shows its mention in the live feed without reloading", async () => {
    const page = await stack.open();
    await page.goto("/reddit");
    await stack.ready(page, "reddit");
    await expect.poll(() => page.getByText("No keywords yet — add one").count()).toBe(1);
    // Marks this document: a reload would lose it.
    await page.evaluate(() => ((globalThis as any).noReload = true));

    await page.getByRole("button", { name: "Add the first keyword" }).click();
    const dialog = page.getByRole("dialog", { name: "Add a keyword" });
    await dialog.getByLabel("Keyword", { exact: true }).fill("vigil dashboard");
    await dialog.getByLabel("Subreddits", { exact: true }).fill(`r/${SUB}`);
    await dialog.getByRole("button", { name: "Add keyword" }).click();
    await dialog.waitFor({ state: "hidden" });
    const row = page.getByRole("row").filter({ hasText: "vigil dashboard" });
    await expect.poll(() => row.textContent()).toContain(`r/${SUB}`);

    // Pushed to the agent at once; wait until its streams have polled with the keyword
    // (a stream starts at the newest item: a comment from before would not be searched).
    await eventually(() => pluginDetails("reddit"), (d) => d.monitored_keywords_count === 1 && d.active_streams > 0 && d.last_check !== "", 30_000, "the keyword on the agent");
    const since = Date.now();
    await eventually(() => pluginDetails("reddit"), (d) => Date.parse(d.last_check) > since + 200, 30_000, "a fresh poll");

    const comment = fakes.reddit.addComment(SUB, { body: "We switched our alerts to Vigil Dashboard last week and it is great", author: "alice_e2e" });
    const first = page.locator("ol.mentions li").first();
    await first.waitFor({ timeout: 30_000 });
    await expect.poll(() => first.textContent(), { timeout: 30_000 }).toContain("switched our alerts to Vigil Dashboard");
    expect(await first.textContent()).toContain("alice_e2e");
    expect(await first.locator("a").getAttribute("href")).toBe(`https://www.reddit.com${comment.permalink}`);
    expect(await page.evaluate(() => (globalThis as any).noReload as boolean | undefined)).toBe(true);

    await stack.screenshot(page, "reddit");

    const phone = await stack.open({ width: 360 });
    await phone.goto("/reddit");
    await stack.ready(phone, "reddit");
    await phone.locator("ol.mentions li").first().waitFor();
    await fitsWidth(phone);
    await stack.screenshot(phone, "reddit-phone");
    await phone.context().close();
    await page.context().close();
  }, 120_000);

  it("creates a job in the UI with a schedule preview, runs it now, and shows the run in its history", async () => {
    const channel = makeChannelId();
    fakes.youtube.addChannel(channel, "Vigil Channel");
    fakes.youtube.addVideo(channel, { title: "Release 1.0", publishedAt: Date.now() - 120_000 });
    fakes.youtube.addVideo(channel, { title: "Release 1.1", publishedAt: Date.now() - 60_000 });

    const page = await stack.open();
    await page.goto("/social");
    await stack.ready(page, "social");
    await expect.poll(() => page.getByText("No monitoring jobs yet").count()).toBe(1);

    await page.getByRole("button", { name: "New job" }).first().click();
    const dialog = page.getByRole("dialog", { name: "New monitoring job" });
    await dialog.getByLabel("Name", { exact: true }).fill("Vigil channel e2e");
    await dialog.getByLabel("Platform", { exact: true }).selectOption("youtube");
    await dialog.getByLabel("Target type", { exact: true }).selectOption("channel");
    await dialog.getByLabel("Target URL", { exact: true }).fill(`https://www.youtube.com/channel/${channel}`);
    await dialog.getByLabel("Runs", { exact: true }).selectOption("cron");
    // An invalid expression says why, as the collector would.
    await dialog.getByLabel("Cron expression", { exact: true }).fill("0 0 1 13 *");
    await expect.poll(() => dialog.getByTestId("schedule-error").textContent()).toMatch(/^cannot parse: /);
    // Once a year (only "Run now" runs it in this test): the next five 1 January midnights.
    await dialog.getByLabel("Cron expression", { exact: true }).fill("0 0 1 1 *");
    const times = dialog.getByTestId("schedule-runs").locator("time");
    await expect.poll(() => times.count()).toBe(5);
    const year = new Date().getUTCFullYear();
    expect(await times.evaluateAll((els) => els.map((e) => e.getAttribute("datetime")))).toEqual([1, 2, 3, 4, 5].map((i) => `${year + i}-01-01T00:00:00.000Z`));
    await stack.screenshot(page, "social-dialog");
    await dialog.getByRole("button", { name: "Create job" }).click();
    await dialog.waitFor({ state: "hidden" });
    const row = page.getByRole("row").filter({ hasText: "Vigil channel e2e" });
    await expect.poll(() => row.textContent()).toContain("cron 0 0 1 1 * (UTC)");

    // The agent has the job (pushed at once); "Run now" reaches it.
    await eventually(() => pluginDetails("social"), (d) => d.jobs_active === 1, 15_000, "the job on the agent");
    await row.getByRole("button", { name: "Run now: Vigil channel e2e" }).click();
    await expect.poll(() => page.getByTestId("execute-notice").textContent()).toContain("sent to 1 connected agent stream(s)");
    const history = page.locator("section.history");
    await history.waitFor();
    const run = history.getByRole("row").filter({ hasText: "execute" });
    await expect.poll(() => run.textContent(), { timeout: 30_000 }).toContain("completed");
    // Found 2, both new (the first run reports every item it finds).
    expect((await run.locator("td").allTextContents()).map((t) => t.trim()).slice(1, 5)).toEqual(["completed", "execute", "2", "2"]);
    // The list's last-run column follows (polled every 15 s).
    await expect.poll(() => row.textContent(), { timeout: 30_000 }).toContain("2 found, 2 new");
    await stack.screenshot(page, "social");

    const phone = await stack.open({ width: 360 });
    await phone.goto("/social");
    await stack.ready(phone, "social");
    await fitsWidth(phone);
    await stack.screenshot(phone, "social-phone");
    await phone.context().close();
    await page.context().close();
  }, 120_000);
});
