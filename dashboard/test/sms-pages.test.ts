import { afterEach, describe, expect, test, vi } from "vitest";
import Campaign from "../src/pages/sms/Campaign.svelte";
import Campaigns from "../src/pages/sms/Campaigns.svelte";
import type { CampaignReport, CampaignStats, SystemView } from "../src/pages/sms/types.js";
import { render, until } from "./support/dom.js";
import { apiError, fakeApi } from "./support/fake-api.js";
import { springSale as SPRING_SALE } from "./support/fixtures.js";
import { FakeWebSocket, useFakeWebSocket } from "./support/live.js";

/** Still sending: its last activity is now. */
const springSale: CampaignStats = { ...SPRING_SALE, last_activity_at: new Date().toISOString() };

const winterSale: CampaignStats = { ...springSale, campaign_id: "winter", name: null, user: null, status: "completed", completed_at: "2026-11-20T10:00:00.000Z", eta: null, eta_s: null, delivered: 100, failed_total: 0, failed: 0, undelivered: 0, pending: 0, final: 100, total: 100, messages: 100, progress_pct: 100 };

const system: SystemView = {
  since: "2026-11-26T14:11:26.284Z",
  as_of: "2026-11-27T14:11:26.284Z",
  totals: { messages: 41230, queued: 0, sent: 133, delivered: 39025, undelivered: 928, failed: 1144, failed_total: 2072, final: 41097, dispatched: 41230, delivery_rate: 0.9496, failure_rate: 0.0504, throughput_last_minute: 344 },
  campaigns: { seen: 2, active: 1, active_list: [springSale] },
  servers: {
    total: 3,
    up: 2,
    degraded: 0,
    down: 1,
    not_up: [{ server_kind: "smtp", server_id: "gw-1", status: "down", since: "2026-11-27T13:59:25.393Z", last_report_at: "2026-11-27T14:10:20.393Z", last_error: { error: "421 4.7.0 Try again later", at: "2026-11-27T14:10:20.393Z" } }],
  },
  top_error_categories: [{ category: "carrier_filtering", count: 971, share: 0.4686, severity: "high", recommendation: "Register the sender." }],
  receipts_without_campaign: 0,
};

const report: CampaignReport = {
  campaign: springSale,
  carriers: [{ carrier: "verizon", messages: 13744, share: 0.3333, queued: 0, sent: 39, delivered: 12997, undelivered: 292, failed: 416, final: 13705, success_rate: 0.9483, failure_rate: 0.0517, send_ms: { p50: 301, p95: 479 } }],
  servers: [
    {
      server_kind: "smtp",
      server_id: "gw-1",
      status: "down",
      since: "2026-11-27T13:59:25.393Z",
      last_report_at: "2026-11-27T14:10:20.393Z",
      last_error: { error: "421 4.7.0 Try again later", at: "2026-11-27T14:10:20.393Z" },
      messages: 13743,
      delivered: 12983,
      undelivered: 333,
      failed: 378,
      final: 13694,
      success_rate: 0.9481,
      send_ms: { p50: 300, p95: 480 },
      samples: 102,
      latency_ms: { p50: 176, p95: 271 },
      sample_statuses: { up: 91, degraded: 0, down: 11 },
    },
  ],
  errors: {
    campaign_id: "spring-sale",
    since: null,
    until: null,
    messages: 41230,
    final: 41097,
    failed: 2072,
    failure_rate: 0.0504,
    categories: [
      {
        category: "network",
        count: 531,
        share: 0.2563,
        severity: "high",
        retryable: true,
        recommendation: "The server or the handset could not be reached: retry with backoff.",
        top_codes: [{ namespace: "twilio", code: "30003", title: "Unreachable destination handset", known: true, count: 283, share: 0.533, severity: "medium", retryable: true, recommendation: "The phone is off: retry later." }],
        other_codes: 0,
      },
    ],
    trends: { interval: "hour", buckets: [] },
    retry: {
      by_attempt: [],
      by_category: [{ category: "network", failed_first: 926, retried: 640, retried_delivered: 395, retried_failed: 245, retried_pending: 0, retry_success_rate: 0.6172, retryable: true, worth_retrying: true, basis: "observed" }],
    },
  },
  hourly: [],
};

const figure = (root: HTMLElement, label: string) => [...root.querySelectorAll(".stat")].find((c) => c.querySelector(".label")?.textContent === label)?.querySelector(".value")?.textContent;

useFakeWebSocket();
afterEach(() => vi.useRealTimers());

describe("SMS campaigns page", () => {
  test("no campaign yet: how to report one with createSmsTracker", async () => {
    fakeApi({ "GET /api/sms/campaigns": { campaigns: [], next_cursor: null }, "GET /api/sms/system": { ...system, totals: { ...system.totals, messages: 0 }, servers: { total: 0, up: 0, degraded: 0, down: 0, not_up: [] } } });
    const view = render(Campaigns);
    await until(() => expect(view.text()).toContain("No SMS campaigns yet"));
    expect(view.target.querySelector("pre")?.textContent).toContain('import { createSmsTracker } from "@vigil/plugin-sms/sdk"');
    expect(view.target.querySelector("pre")?.textContent).toContain("sms.trackCampaign(");
    expect(document.body.dataset.ready).toBe("sms");
  });

  test("each campaign with its progress bar, status, rate and ETA; the last 24 hours above, following sms.system", async () => {
    const server = fakeApi({ "GET /api/sms/campaigns": { campaigns: [springSale, winterSale], next_cursor: null }, "GET /api/sms/system": system });
    const view = render(Campaigns);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2));
    expect(document.body.dataset.ready).toBe("sms");

    const [spring, winter] = [...view.target.querySelectorAll("tbody tr")];
    expect(spring!.querySelector("a")?.getAttribute("href")).toBe("/sms/spring-sale");
    expect(spring!.querySelector('[role="img"]')?.getAttribute("aria-label")).toBe("82% done: 39,025 delivered, 2,072 failed, 8,903 pending");
    const parts = [...spring!.querySelectorAll(".part")] as HTMLElement[];
    expect(parts.map((p) => [p.classList[1], p.style.width])).toEqual([
      ["delivered", "78.05%"],
      ["failed", "4.144%"],
      ["pending", "17.806%"],
    ]);
    const text = spring!.textContent!.replace(/\s+/g, " ");
    expect(text).toContain("running");
    expect(text).toContain("347/min");
    expect(text).toContain("in 25m 16s");
    expect(text).toContain("95.0%");
    expect(winter!.textContent).toContain("completed");
    expect(winter!.textContent).toContain("done");
    expect(winter!.querySelector("a")?.textContent).toBe("winter"); // no name: the id
    expect(server.calls("GET /api/sms/campaigns")[0]!.url.searchParams.get("limit")).toBe("50");

    // The summary: the server that is down is named with its error.
    await until(() => expect(view.text()).toContain("Sending servers up"));
    expect(view.text()).toContain("2 of 3");
    expect(view.target.querySelector('[aria-label="Servers not up"]')?.textContent).toContain("421 4.7.0 Try again later");

    // sms.system replaces the summary as it changes.
    const socket = FakeWebSocket.all[0]!;
    socket.open();
    const id = socket.subscription("sms.system")!.id;
    socket.push({ type: "data", id, topic: "sms.system", at: "x", data: { kind: "system", view: { ...system, servers: { total: 3, up: 3, degraded: 0, down: 0, not_up: [] } } } });
    await until(() => expect(view.text()).toContain("3 of 3"));
    expect(view.target.querySelector('[aria-label="Servers not up"]')).toBeNull();

    // An error burst is told at once.
    socket.push({ type: "data", id, topic: "sms.system", at: "x", data: { kind: "events", server_changes: [], error_burst: { failures: 25, window_s: 10, by_category: { network: 20, opted_out: 5 } } } });
    await until(() => expect(view.target.querySelector(".burst")?.textContent).toContain("25 failures within 10 s (network 20, opted out 5)"));
  });
});

describe("SMS campaign page", () => {
  test("figures, servers, carriers and errors with advice; live figures replace them as they change", async () => {
    const server = fakeApi({ "GET /api/sms/campaigns/spring-sale/report": report });
    const view = render(Campaign, { params: { id: "spring-sale" } });
    await until(() => expect(figure(view.target, "Delivered")).toBe("39,025"));
    expect(document.body.dataset.ready).toBe("sms-campaign");
    expect(view.target.querySelector("h1")?.textContent).toBe("Spring sale");
    expect(figure(view.target, "Failed")).toBe("2,072");
    expect(figure(view.target, "Pending")).toBe("8,903");
    expect(figure(view.target, "Throughput")).toBe("347/min");
    expect(figure(view.target, "ETA")).toBe("in 25m 16s");
    const servers = view.target.querySelector('[aria-label="Sending servers"]')!.textContent!;
    expect(servers).toContain("gw-1");
    expect(servers).toContain("down");
    expect(servers).toContain("421 4.7.0 Try again later");
    expect(view.target.querySelector('[aria-label="Carriers"]')?.textContent).toContain("verizon");
    expect(view.text()).toContain("What to do: The server or the handset could not be reached: retry with backoff.");
    expect(view.text()).toContain("twilio 30003");
    expect(view.text()).toContain("The phone is off: retry later."); // a code's own advice, when it differs

    // Live: subscribed with the campaign's id; new figures show without another request.
    const socket = FakeWebSocket.all[0]!;
    socket.open();
    const sub = socket.subscription("sms.campaign")!;
    expect(sub.params).toEqual({ campaign_id: "spring-sale" });
    const { as_of: _asOf, ...stats } = springSale;
    socket.push({ type: "data", id: sub.id, topic: "sms.campaign", at: new Date().toISOString(), data: { found: true, ...stats, delivered: 40000, final: 42072, pending: 7928, progress_pct: 84.14 } });
    await until(() => expect(figure(view.target, "Delivered")).toBe("40,000"));
    expect(figure(view.target, "Pending")).toBe("7,928");
    expect(view.target.querySelector('.progress [role="img"]')?.getAttribute("aria-label")).toBe("84% done: 40,000 delivered, 2,072 failed, 7,928 pending");
    expect(view.text()).toContain("live: figures update as messages are reported");
    expect(server.calls("GET /api/sms/campaigns/spring-sale/report")).toHaveLength(1);

    // Completed: it stops following (a finished campaign does not change).
    socket.push({ type: "data", id: sub.id, topic: "sms.campaign", at: new Date().toISOString(), data: { found: true, ...stats, status: "completed", completed_at: new Date().toISOString(), eta: null, eta_s: null } });
    await until(() => expect(figure(view.target, "ETA")).toBe("done"));
    expect(socket.sent).toContainEqual({ type: "unsubscribe", id: sub.id });
  });

  test("the rest of the report is read again after the figures moved: at most every 10 s, the last change included", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"] });
    const server = fakeApi({ "GET /api/sms/campaigns/spring-sale/report": report });
    const reads = () => server.calls("GET /api/sms/campaigns/spring-sale/report").length;
    const view = render(Campaign, { params: { id: "spring-sale" } });
    await until(() => expect(figure(view.target, "Delivered")).toBe("39,025"));
    const socket = FakeWebSocket.all[0]!;
    socket.open();
    const sub = socket.subscription("sms.campaign")!;
    const { as_of: _asOf, ...stats } = springSale;
    const push = (delivered: number) =>
      socket.push({ type: "data", id: sub.id, topic: "sms.campaign", at: "x", data: { found: true, ...stats, delivered, final: delivered + stats.failed_total } });

    push(39_100);
    push(39_200); // a burst: one read for both
    await until(() => expect(figure(view.target, "Delivered")).toBe("39,200"));
    vi.advanceTimersByTime(9_000);
    await Promise.resolve();
    expect(reads()).toBe(1);
    vi.advanceTimersByTime(1_000);
    await until(() => expect(reads()).toBe(2));
    vi.advanceTimersByTime(60_000);
    await Promise.resolve();
    expect(reads()).toBe(2); // nothing moved since: no more reads
  });

  test("a campaign that does not exist says so, with the way back", async () => {
    fakeApi({ "GET /api/sms/campaigns/nope/report": () => apiError(404, "not_found", 'campaign "nope" not found') });
    const view = render(Campaign, { params: { id: "nope" } });
    await until(() => expect(view.text()).toContain("Campaign not found"));
    expect(view.target.querySelector('a[href="/sms"]')).not.toBeNull();
    expect(FakeWebSocket.all).toHaveLength(0);
    expect(document.body.dataset.ready).toBe("sms-campaign");
  });
});
