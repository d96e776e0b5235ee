import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { REPO_ROOT } from "./collector-process.js";

/**
 * Headless Chromium (Debian's `chromium`, driven by playwright-core) for the dashboard's
 * end-to-end tests and bench. The flags keep it from reaching out to Google's services,
 * which this machine's closed network refuses, and `--no-sandbox` lets it run as root.
 */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = join(REPO_ROOT, "test-results/screenshots");

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
  });
}

export async function newContext(browser: Browser, baseURL: string, options: { width?: number; height?: number; colorScheme?: "light" | "dark" } = {}): Promise<BrowserContext> {
  return browser.newContext({ baseURL, viewport: { width: options.width ?? 1280, height: options.height ?? 800 }, colorScheme: options.colorScheme ?? "light" });
}

/** Signs in through the login form, as a user would, and waits for the app to leave /login. */
export async function signInPage(page: Page, email: string, password: string): Promise<void> {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL((url) => !url.pathname.startsWith("/login"));
}

/**
 * Waits for the page's first meaningful render (dashboard/src/lib/ready.ts): its
 * `markReady(name)`, or any page's when no name is given. Runs in the page (the tests
 * compile without the DOM library, hence `globalThis`).
 */
export async function waitReady(page: Page, name?: string, options: { timeout?: number; polling?: "raf" | number } = {}): Promise<void> {
  await page.waitForFunction(
    (want) => {
      const ready = (globalThis as any).document.body.dataset.ready as string | undefined;
      return want ? ready === want : Boolean(ready);
    },
    name,
    { timeout: options.timeout ?? 20_000, ...(options.polling !== undefined ? { polling: options.polling } : {}) },
  );
}

/** Writes a full-page screenshot to test-results/screenshots/<name>.png (untracked). */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
