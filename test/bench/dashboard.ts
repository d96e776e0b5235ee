/**
 * `pnpm bench:dashboard`: what the dashboard costs a user.
 *
 * 1. The gzip size of the initial JavaScript and CSS (the entry script, the modules it
 *    preloads and the stylesheets index.html links), as the collector serves them
 *    (target ≤ 200 KB).
 * 2. In headless Chromium, with 1,000,000 events stored (a day of HTTP checks, Reddit
 *    mentions, cache operations and SMS messages, plus keywords, jobs and alert rules),
 *    the time from navigation start to each page's first meaningful render: the page's
 *    `markReady()` (dashboard/src/lib/ready.ts), after its data arrived and was drawn.
 *    Target ≤ 500 ms each. The baseline, measured in the same runs and interleaved, is
 *    the sign-in page: the same app, shell and bundle, with no data to fetch, so the
 *    ratio shows what each page's data adds.
 *
 * Knobs: BENCH_DASHBOARD_EVENTS (1,000,000), BENCH_DASHBOARD_RUNS (5).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { uuidv7 } from "@vigil/plugin-sdk";
import type { Browser, Page } from "playwright-core";
import { launchBrowser, newContext, waitReady } from "../support/browser.js";
import { callApi, REPO_ROOT, type CollectorProcess } from "../support/collector-process.js";
import { ADMIN_EMAIL, ADMIN_PASSWORD, ALL_COLLECTOR_PARTS } from "../support/dashboard-stack.js";
import { gzipNdjson, realisticEvent } from "../support/events.js";
import { signIn } from "../support/session-client.js";
import { postUntilStored, waitForStored } from "./support/collector-client.js";
import { withCollector } from "./support/collector-run.js";
import { formatCount, printFigures, progress, spread, versusBaseline, type Figure } from "./support/figures.js";
import { envInt } from "./support/knobs.js";

const EVENTS = envInt("BENCH_DASHBOARD_EVENTS", 1_000_000);
const RUNS = envInt("BENCH_DASHBOARD_RUNS", 5);
const BATCH = 10_000;
const DIST = join(REPO_ROOT, "dashboard/dist");
const DAY_MS = 23 * 3600_000;
const CAMPAIGNS = ["spring-sale", "welcome-series", "reactivation", "black-friday", "newsletter"];
const KEYWORDS = ["vigil", "observability", "clickhouse", "svelte", "prometheus", "grafana", "alerting", "kubernetes", "helm", "opentelemetry"];

/** The pages to time, by the name each passes to markReady. `/sms/:id` opens the first campaign. */
const PAGES = [
  { name: "overview", path: "/" },
  { name: "agents", path: "/agents" },
  { name: "events", path: "/events" },
  { name: "reddit", path: "/reddit" },
  { name: "social", path: "/social" },
  { name: "cache", path: "/cache" },
  { name: "sms", path: "/sms" },
  { name: "sms-campaign", path: `/sms/${CAMPAIGNS[0]}` },
  { name: "alerts", path: "/alerts" },
  { name: "users", path: "/admin/users" },
  { name: "keys", path: "/admin/keys" },
] as const;

/** Gzip sizes of what the first page load needs, read from the built index.html. */
function initialAssets(): { files: { file: string; gzip: number }[]; total: number } {
  const html = readFileSync(join(DIST, "index.html"), "utf8");
  const refs = new Set<string>();
  for (const match of html.matchAll(/<script[^>]*\ssrc="([^"]+)"/g)) refs.add(match[1]!);
  for (const match of html.matchAll(/<link[^>]*rel="(?:modulepreload|stylesheet)"[^>]*href="([^"]+)"/g)) refs.add(match[1]!);
  for (const match of html.matchAll(/<link[^>]*href="([^"]+)"[^>]*rel="(?:modulepreload|stylesheet)"/g)) refs.add(match[1]!);
  const files = [...refs].map((ref) => ({ file: ref, gzip: gzipSync(readFileSync(join(DIST, ref.replace(/^\//, ""))), { level: 9 }).length }));
  files.push({ file: "/index.html", gzip: gzipSync(Buffer.from(html), { level: 9 }).length });
  return { files, total: files.reduce((n, f) => n + f.gzip, 0) };
}

/** One of a day's events: 70 % HTTP checks, 10 % each Reddit mentions, cache operations and SMS messages. */
function dashboardEvent(i: number, now: number): object {
  const ts = now - Math.floor((i * DAY_MS) / EVENTS);
  switch (i % 10) {
    case 0: {
      const keyword = KEYWORDS[i % KEYWORDS.length]!;
      return { id: uuidv7(ts), ts, source: "reddit", type: "reddit.mention", attrs: { keyword_id: `kw-${keyword}`, keyword, subreddit: ["programming", "devops", "selfhosted"][i % 3], kind: i % 20 === 0 ? "post" : "comment", fullname: `t1_${i.toString(36)}`, permalink: `https://www.reddit.com/r/devops/comments/${i.toString(36)}`, author: `user${i % 997}`, matched_in: "body" }, body: `… we moved our ${keyword} setup last week and it has been …` };
    }
    case 1: {
      const op = (["cache_read", "cache_read", "cache_read", "cache_write", "db_read", "db_write", "hybrid"] as const)[i % 7]!;
      const result = op === "cache_read" ? (["hit", "hit", "miss", "partial"] as const)[i % 4] : undefined;
      return { id: uuidv7(ts), ts, source: "cache", type: "cache.op", attrs: { app: ["shop", "api"][i % 2], op, key_label: ["user", "cart", "product", "session"][i % 4], ...(result ? { result } : {}), count: 1 + (i % 5), duration_ms: 0.3 + (i % 40) / 10, sample_rate: 1, mode: "detailed" } };
    }
    case 2: {
      const status = (["delivered", "delivered", "delivered", "delivered", "sent", "failed", "undelivered"] as const)[i % 7]!;
      const failed = status === "failed" || status === "undelivered";
      return { id: uuidv7(ts), ts, source: "sms", type: "sms.message", attrs: { campaign_id: CAMPAIGNS[i % CAMPAIGNS.length]!, message_id: `m-${i}`, to_hash: `h${(i * 2654435761) % 1e9}`, carrier: ["att", "verizon", "tmobile"][i % 3]!, server_kind: "api", server_id: `twilio-${i % 2}`, status, error_code: failed ? "30003" : "", error_text: failed ? "Unreachable destination handset" : "", error_category: failed ? "invalid_number" : "", attempt: 1, queued_ms: ts - 2_000, send_ms: 120 + (i % 300), reporter: "app" } };
    }
    default:
      return { ...realisticEvent(i, ts), id: uuidv7(ts), ts };
  }
}

async function seed(collector: CollectorProcess): Promise<void> {
  const api = (method: string, path: string, body?: unknown) => callApi(collector, method, path, body);
  const now = Date.now();
  const started = performance.now();
  const campaigns = CAMPAIGNS.map((id, n) => ({ id: uuidv7(now - DAY_MS), ts: now - DAY_MS, source: "sms", type: "sms.campaign", attrs: { campaign_id: id, name: id.replace("-", " "), total: EVENTS / 10 / CAMPAIGNS.length, user: `team-${n}`, status: "started" } }));
  await postUntilStored(collector, { id: uuidv7(), body: gzipNdjson(campaigns) }, Date.now() + 60_000);
  for (let first = 0; first < EVENTS; first += BATCH) {
    const items = [];
    for (let i = first; i < Math.min(first + BATCH, EVENTS); i++) items.push(dashboardEvent(i, now));
    await postUntilStored(collector, { id: uuidv7(), body: gzipNdjson(items) }, Date.now() + 120_000);
    if ((first / BATCH) % 20 === 0) progress(`  stored ${formatCount(first + items.length)} of ${formatCount(EVENTS)} events (${formatCount((first + items.length) / ((performance.now() - started) / 1000))}/s)`);
  }
  await waitForStored(collector, EVENTS + campaigns.length, Date.now() + 120_000);
  for (const keyword of KEYWORDS) {
    const created = await api("POST", "/api/keywords", { keyword });
    if (created.status !== 201) throw new Error(`keyword not created: ${created.status} ${JSON.stringify(created.json)}`);
  }
  for (let n = 0; n < 5; n++) {
    const job = await api("POST", "/api/monitoring/jobs", { name: `Release feed ${n + 1}`, platform: "rss", target_type: "feed", target_url: `https://example.com/releases-${n}.atom`, frequency: "hourly" });
    if (job.status !== 201) throw new Error(`job not created: ${job.status} ${JSON.stringify(job.json)}`);
  }
  for (let n = 0; n < 10; n++) {
    const rule = await api("POST", "/api/alerts/rules", { kind: "threshold", name: `Slow checks ${n}`, source: "http", type: "http.check", aggregation: "p95", field: "latency_ms", group_by: ["url_host"], condition: ">", threshold: 150 + n * 10, window: "5m", interval: "30s" });
    if (rule.status !== 201) throw new Error(`rule not created: ${rule.status} ${JSON.stringify(rule.json)}`);
  }
  progress(`seeded ${formatCount(EVENTS)} events, keywords, jobs and rules in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/** Navigates and returns ms from navigation start to the page's markReady. */
async function renderTime(page: Page, path: string, name: string): Promise<number> {
  await page.goto(path, { waitUntil: "commit" });
  await waitReady(page, name, { timeout: 30_000, polling: "raf" });
  return page.evaluate(() => {
    const [mark] = (globalThis as any).performance.getEntriesByName("vigil:ready") as { startTime: number }[];
    return mark!.startTime;
  });
}

async function measure(browser: Browser, collector: CollectorProcess): Promise<{ pages: Map<string, number[]>; baseline: number[] }> {
  const session = await signIn(collector.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  const [name, value] = session.cookie.split("=") as [string, string];
  const pages = new Map<string, number[]>(PAGES.map((p) => [p.name, []]));
  const baseline: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    // A fresh profile per run: the first navigation fetches the bundle, later ones reuse it, as for a user.
    const anonymous = await (await newContext(browser, collector.url)).newPage();
    const signedIn = await newContext(browser, collector.url);
    await signedIn.addCookies([{ name, value, url: collector.url }]);
    const page = await signedIn.newPage();
    // Warm-up: the first load in a profile also pays for the browser's own start-up.
    await renderTime(page, "/", "overview");
    await renderTime(anonymous, "/login", "login");
    for (const target of PAGES) {
      baseline.push(await renderTime(anonymous, "/login", "login"));
      pages.get(target.name)!.push(await renderTime(page, target.path, target.name));
    }
    await anonymous.context().close();
    await signedIn.close();
    progress(`  run ${run + 1}/${RUNS}: ${PAGES.map((p) => `${p.name} ${Math.round(pages.get(p.name)!.at(-1)!)} ms`).join(", ")}`);
  }
  return { pages, baseline };
}

async function main(): Promise<void> {
  const assets = initialAssets();
  progress(`initial assets (gzip): ${assets.files.map((f) => `${f.file} ${(f.gzip / 1024).toFixed(1)} KB`).join(", ")}`);
  process.env.VIGIL_ADMIN_EMAIL = ADMIN_EMAIL;
  process.env.VIGIL_ADMIN_PASSWORD = ADMIN_PASSWORD;
  const browser = await launchBrowser();
  try {
    const { pages, baseline } = await withCollector("vigil-bench-dashboard-", ALL_COLLECTOR_PARTS.flatMap((part) => ["--plugin", part]), async (collector) => {
      progress(`storing ${formatCount(EVENTS)} events…`);
      await seed(collector);
      return measure(browser, collector);
    });
    const base = spread(baseline);
    const figures: Figure[] = [
      { bench: "dashboard", metric: "initial_kb_gzip", value: Number((assets.total / 1024).toFixed(1)), unit: "KB", target: 200, files: assets.files.length },
    ];
    let slowest = { name: "", value: 0 };
    for (const target of PAGES) {
      const measured = spread(pages.get(target.name)!);
      if (measured.value > slowest.value) slowest = { name: target.name, value: measured.value };
      figures.push({ bench: "dashboard", metric: `render_ms_${target.name.replace("-", "_")}`, ...versusBaseline(measured, base), unit: "ms", baseline_is: "login_page_render", target: 500, runs: RUNS, stored_events: EVENTS });
    }
    figures.push({ bench: "dashboard", metric: "render_ms_max", value: Math.round(slowest.value), unit: "ms", page: slowest.name, baseline: Math.round(base.value), baseline_is: "login_page_render", ratio: Number((slowest.value / base.value).toFixed(3)), target: 500, runs: RUNS, stored_events: EVENTS });
    printFigures(figures);
  } finally {
    await browser.close();
  }
}

await main();
