import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, newContext, screenshot, signInPage, waitReady } from "./browser.js";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess } from "./collector-process.js";

export const ADMIN_EMAIL = "admin@example.com";
export const ADMIN_PASSWORD = "dashboard admin password";

/** Every plugin's collector part, as `npx -y pnpm@10 start` loads them. */
export const ALL_COLLECTOR_PARTS = ["reddit", "social", "cache-db", "sms"].map((name) => join(REPO_ROOT, `plugins/${name}/dist/collector.js`));

/**
 * What a dashboard end-to-end test runs against: a real collector process (embedded
 * ClickHouse, every plugin's collector part, a first admin with a known password) serving
 * the built dashboard, and headless Chromium. Agents and fakes are the test's own.
 */
export async function startDashboardStack(options: { env?: Record<string, string>; dataDir?: string } = {}) {
  const dir = tempDir("vigil-dashboard-e2e-");
  const collector: CollectorProcess = await startCollectorProcess({
    dataDir: options.dataDir ?? join(dir.path, "collector"),
    env: { VIGIL_ADMIN_EMAIL: ADMIN_EMAIL, VIGIL_ADMIN_PASSWORD: ADMIN_PASSWORD, ...options.env },
    args: ALL_COLLECTOR_PARTS.flatMap((part) => ["--plugin", part]),
  });
  const browser: Browser = await launchBrowser();

  /** A new browser tab (its own cookies), optionally signed in. */
  async function open(options: { email?: string; password?: string; signedIn?: boolean; width?: number; colorScheme?: "light" | "dark" } = {}): Promise<Page> {
    const context = await newContext(browser, collector.url, { ...(options.width ? { width: options.width } : {}), ...(options.colorScheme ? { colorScheme: options.colorScheme } : {}) });
    const page = await context.newPage();
    if (options.signedIn !== false) await signInPage(page, options.email ?? ADMIN_EMAIL, options.password ?? ADMIN_PASSWORD);
    return page;
  }

  /** Waits for the page's first meaningful render (see dashboard/src/lib/ready.ts). */
  const ready = (page: Page, name?: string) => waitReady(page, name);

  return {
    collector,
    browser,
    open,
    ready,
    screenshot,
    async close() {
      await browser.close().catch(() => undefined);
      await collector.kill();
      dir.remove();
    },
  };
}

export type DashboardStack = Awaited<ReturnType<typeof startDashboardStack>>;
