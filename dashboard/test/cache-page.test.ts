import { afterEach, describe, expect, test, vi } from "vitest";
import CacheMonitor from "../src/pages/cache/CacheMonitor.svelte";
import type { MonitorAnswer } from "../src/pages/cache/types.js";
import { button, click, render, type, until } from "./support/dom.js";
import { apiError, fakeApi, json } from "./support/fake-api.js";
import { cacheDefaults, cacheSummary } from "./support/fixtures.js";
import { FakeWebSocket, useFakeWebSocket } from "./support/live.js";
import { CSRF, signIn } from "./support/session.js";

const recent = (ms: number, op: string, key_label: string, result: string | null, extra: Record<string, unknown> = {}) => ({
  ts: new Date(Date.UTC(2026, 10, 27, 10, 58, 8, ms)).toISOString(),
  op,
  key_label,
  result,
  count: 1,
  duration_ms: 0.5,
  sample_rate: 1,
  mode: "detailed",
  origin: "redis",
  ...extra,
});

function answer(over: Partial<MonitorAnswer> = {}): MonitorAnswer {
  return {
    since: "2026-11-27T10:57:00.000Z",
    until: "2026-11-27T10:58:11.005Z",
    apps: [
      {
        app: "checkout",
        mode: "detailed",
        enabled: true,
        ops_per_s: 34.21,
        last_seen: new Date().toISOString(),
        dropped_events: 0,
        summary: { ...cacheSummary, window_s: 71, hybrid_queries: 3, latency_ms: { cache_read: { p50: 0.838, p95: 7.875, p99: 24.25, avg: 2.084 } } },
        key_labels: [
          { key_label: "user", ops: 215, hit_rate: 0.9563 },
          { key_label: "cart", ops: 34, hit_rate: 0 },
        ],
        recent: [
          recent(900, "hybrid", "cart", null, { origin: null }),
          recent(800, "db_read", "orders", null, { origin: "pg", sample_rate: 0.05, mode: "sampled" }),
          recent(700, "db_write", "orders", null),
          recent(600, "cache_write", "cart", null),
          recent(500, "cache_read", "user", "partial"),
          recent(400, "cache_read", "cart", "miss"),
          recent(300, "cache_read", "user", "hit"),
        ],
      },
    ],
    settings: { "*": cacheDefaults },
    settings_version: "fae7648bc7226152",
    ...over,
  };
}

const series = { step: "minute", since: "", until: "", points: [] };

const liveOp = (attrs: Record<string, string>) => ({
  ts: new Date(Date.UTC(2026, 10, 27, 10, 59, 0)).toISOString(),
  source: "cache",
  type: "cache.op",
  agent: "key_1",
  attrs: { app: "checkout", op: "cache_read", count: "1", duration_ms: "0.3", sample_rate: "1", mode: "detailed", ...attrs },
  body: "",
});

useFakeWebSocket();
afterEach(() => vi.useRealTimers());

describe("Cache monitor page", () => {
  test("mode, figures, latency, key labels and a colour-coded log; ready once shown", async () => {
    signIn("viewer");
    const server = fakeApi({ "GET /api/cache-monitor": answer(), "GET /api/cache-monitor/series": series });
    const view = render(CacheMonitor);

    await until(() => expect(view.text()).toContain("checkout"));
    expect(document.body.dataset.ready).toBe("cache");
    const panel = view.target.querySelector("section.app")!;
    expect(panel.querySelector("[data-mode]")?.textContent?.replace(/\s+/g, " ").trim()).toBe("mode detailed");
    const cards = [...panel.querySelectorAll(".stat")].map((c) => `${c.querySelector(".label")?.textContent}=${c.querySelector(".value")?.textContent}`);
    expect(cards).toEqual(["Hit rate=87.6%", "Hits=197", "Misses=27", "Partial hits=1", "Cache writes=24", "DB reads=9", "DB writes=24", "Hybrid queries=3"]);
    expect(panel.textContent).toContain("7.88 ms"); // p95 of cache reads
    expect(panel.textContent).toContain("34.2/s now");

    // The log: newest first, each row classed (coloured) by what happened, and saying it in words.
    const rows = [...view.target.querySelectorAll(".log li")];
    expect(rows.map((r) => r.getAttribute("data-class"))).toEqual(["hybrid", "db-read", "write", "write", "partial", "miss", "hit"]);
    expect(rows.map((r) => r.querySelector(".tag")?.textContent)).toEqual(["hybrid", "db read", "write", "write", "partial", "miss", "hit"]);
    expect(rows[1]!.textContent).toContain("1/20"); // logged at 5 %
    expect(rows[0]!.textContent).toContain("checkout"); // every app shown: each row names its app

    const query = server.calls("GET /api/cache-monitor")[0]!.url.searchParams;
    expect([query.get("window"), query.get("limit"), query.get("app"), query.get("key_label")]).toEqual(["1m", "100", null, null]);
  });

  test("the key label filter narrows the API's answer and the live log", async () => {
    signIn("viewer");
    const server = fakeApi({ "GET /api/cache-monitor": answer(), "GET /api/cache-monitor/series": series });
    const view = render(CacheMonitor);
    await until(() => expect(view.target.querySelectorAll(".log li")).toHaveLength(7));
    const socket = FakeWebSocket.all[0]!;
    socket.open();
    expect(socket.subscription("events")?.params).toEqual({ source: "cache", type: "cache.op" });

    const input = view.target.querySelector<HTMLInputElement>('input[list]')!;
    type(input, "user");
    input.dispatchEvent(new Event("change", { bubbles: true }));
    await until(() => expect(server.calls("GET /api/cache-monitor").at(-1)!.url.searchParams.get("key_label")).toBe("user"));

    // The live topic sends every cache.op: the page keeps those of the label.
    await until(() => expect(socket.subscription("events")).toBeTruthy());
    const id = socket.subscription("events")!.id;
    socket.push({ type: "data", id, topic: "events", at: "x", data: { events: [liveOp({ key_label: "user", result: "hit" }), liveOp({ key_label: "cart", result: "miss" })], skipped: 0 } });
    await until(() => expect(view.target.querySelector(".log li")?.classList.contains("live")).toBe(true));
    const liveRows = [...view.target.querySelectorAll(".log li.live")];
    expect(liveRows).toHaveLength(1);
    expect(liveRows[0]!.textContent).toContain("user");

    // A key label in the table filters too.
    click(button(view.target, "cart"));
    await until(() => expect(server.calls("GET /api/cache-monitor").at(-1)!.url.searchParams.get("key_label")).toBe("cart"));
    expect(input.value).toBe("cart");
    click(button(view.target, "Clear"));
    await until(() => expect(server.calls("GET /api/cache-monitor").at(-1)!.url.searchParams.get("key_label")).toBeNull());
  });

  test("the refresh interval drives polling; Pause stops it and the live log, Resume reads at once", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    signIn("viewer");
    const server = fakeApi({ "GET /api/cache-monitor": answer(), "GET /api/cache-monitor/series": series });
    const view = render(CacheMonitor);
    await until(() => expect(view.text()).toContain("every 2 s"));
    const socket = FakeWebSocket.all[0]!;
    socket.open();
    const reads = () => server.calls("GET /api/cache-monitor").length;
    expect(reads()).toBe(1);

    vi.advanceTimersByTime(2000);
    await until(() => expect(reads()).toBe(2));

    const select = [...view.target.querySelectorAll("select")].find((s) => s.closest(".field")?.textContent?.includes("Refresh every"))!;
    expect([...select.options].map((o) => o.textContent)).toEqual(["1 s", "2 s", "3 s", "4 s", "5 s", "6 s", "7 s", "8 s", "9 s", "10 s"]);
    select.selectedIndex = 4; // 5 s
    select.dispatchEvent(new Event("change", { bubbles: true }));
    await until(() => expect(view.text()).toContain("every 5 s"));
    vi.advanceTimersByTime(4900);
    await Promise.resolve();
    expect(reads()).toBe(2);
    vi.advanceTimersByTime(100);
    await until(() => expect(reads()).toBe(3));

    click(button(view.target, "Pause"));
    expect(view.text()).toContain("Paused.");
    expect(socket.sent.some((m) => m.type === "unsubscribe")).toBe(true);
    vi.advanceTimersByTime(60_000);
    await Promise.resolve();
    expect(reads()).toBe(3);

    const subscriptions = socket.sent.filter((m) => m.type === "subscribe").length;
    click(button(view.target, "Resume"));
    await until(() => expect(reads()).toBe(4));
    expect(socket.sent.filter((m) => m.type === "subscribe").length).toBe(subscriptions + 1);
  });

  test("a viewer sees whether monitoring is on, but no switch", async () => {
    signIn("viewer");
    fakeApi({ "GET /api/cache-monitor": answer({ settings: { "*": { ...cacheDefaults, enabled: false } } }), "GET /api/cache-monitor/series": series });
    const view = render(CacheMonitor);
    await until(() => expect(view.text()).toContain("Editors and admins can switch it"));
    expect(view.target.querySelector('[role="switch"]')).toBeNull();
    expect(view.target.querySelector('[aria-label="Monitoring switch"]')?.textContent).toContain("off");
    expect(view.text()).not.toContain("Follow the defaults");
  });

  test("an editor flips the switch: the PUT, then the stored state; a refused change leaves it as it was", async () => {
    signIn("editor");
    let stored = true;
    const server = fakeApi({
      // As the plugin answers: each app's `enabled` is the switch of the settings it follows.
      "GET /api/cache-monitor": () => json(answer({ settings: { "*": { ...cacheDefaults, enabled: stored } }, apps: answer().apps.map((a) => ({ ...a, enabled: stored })) })),
      "GET /api/cache-monitor/series": series,
      "PUT /api/cache-monitor/settings": (request: { body: any }) => {
        stored = request.body.settings.enabled;
        return json({ app: request.body.app, settings: { ...cacheDefaults, enabled: stored }, version: "v2", agents_notified: 1 });
      },
    });
    const view = render(CacheMonitor);
    await until(() => expect(view.target.querySelector('[role="switch"]')).not.toBeNull());
    const toggle = view.target.querySelector<HTMLButtonElement>('[role="switch"]')!;
    expect(toggle.getAttribute("aria-checked")).toBe("true");
    expect(view.text()).toContain("for every app without settings of its own");

    click(toggle);
    await until(() => expect(toggle.getAttribute("aria-checked")).toBe("false"));
    const [put] = server.calls("PUT /api/cache-monitor/settings");
    expect(put!.body).toEqual({ app: "*", settings: { enabled: false } });
    expect(put!.headers.get("X-CSRF-Token")).toBe(CSRF);
    // The app follows "*": its badge follows at once, and the gap until it applies it is explained.
    await until(() => expect(view.target.querySelector("section.app")?.textContent).toContain("switch off"));
    expect(view.text()).toContain("switched off: waiting for the app to apply it");

    // One app selected: the switch is that app's.
    const appSelect = view.target.querySelector("select")!;
    appSelect.value = "checkout";
    appSelect.dispatchEvent(new Event("change", { bubbles: true }));
    await until(() => expect(server.calls("GET /api/cache-monitor").at(-1)!.url.searchParams.get("app")).toBe("checkout"));
    await until(() => expect(view.text()).toContain("for checkout"));
    server.on("PUT /api/cache-monitor/settings", () => apiError(400, "invalid_argument", "settings.enabled: Invalid input"));
    click(view.target.querySelector('[role="switch"]'));
    await until(() => expect(view.target.querySelector('[role="alert"]')?.textContent).toContain("Not changed: settings.enabled: Invalid input"));
    expect(server.calls("PUT /api/cache-monitor/settings").at(-1)!.body).toEqual({ app: "checkout", settings: { enabled: true } });
    expect(view.target.querySelector('[role="switch"]')?.getAttribute("aria-checked")).toBe("false");
  });

  test("no app has reported: the empty state says how to add the SDK and the agent part", async () => {
    signIn("admin");
    fakeApi({ "GET /api/cache-monitor": answer({ apps: [] }), "GET /api/cache-monitor/series": series });
    const view = render(CacheMonitor);
    await until(() => expect(view.text()).toContain("No application has reported yet"));
    expect(view.text()).toContain('import { createMonitor } from "@vigil/plugin-cache-db/sdk"');
    expect(view.text()).toContain('use: "@vigil/plugin-cache-db"');
    expect(document.body.dataset.ready).toBe("cache");
    // The switch is there already: monitoring can be set up before the first app reports.
    expect(view.target.querySelector('[role="switch"]')).not.toBeNull();
  });

  test("a collector without the plugin: says how to load it", async () => {
    signIn("viewer");
    fakeApi({ "GET /api/cache-monitor/series": series });
    const view = render(CacheMonitor);
    await until(() => expect(view.text()).toContain("start it with --plugin @vigil/plugin-cache-db"));
    expect(document.body.dataset.ready).toBeUndefined();
  });
});
