import { describe, expect, test } from "vitest";
import type { CampaignReport } from "../src/pages/sms/types.js";
import {
  applyLive,
  campaignPath,
  codeText,
  formatEta,
  formatThroughput,
  hourlyData,
  hourlySummary,
  isRunning,
  progressParts,
  progressText,
  reportOutdated,
  statusLabel,
  statusTone,
} from "../src/pages/sms/view.js";
import { springSale } from "./support/fixtures.js";

describe("SMS views: progress", () => {
  test("delivered, failed and pending as shares of the total, adding up to the whole bar", () => {
    const parts = progressParts(springSale);
    expect(parts.map((p) => [p.kind, p.count])).toEqual([
      ["delivered", 39025],
      ["failed", 2072],
      ["pending", 8903],
    ]);
    expect(parts.map((p) => Number(p.share.toFixed(4)))).toEqual([0.7805, 0.0414, 0.1781]);
    expect(parts.reduce((sum, p) => sum + p.share, 0)).toBeCloseTo(1, 10);
  });

  test("more messages than announced still fit the bar; an empty campaign is an empty bar", () => {
    const over = progressParts({ total: 10, delivered: 12, failed_total: 3, pending: 0 });
    expect(over.reduce((sum, p) => sum + p.share, 0)).toBeCloseTo(1, 10);
    expect(progressParts({ total: 0, delivered: 0, failed_total: 0, pending: 0 }).every((p) => p.share === 0)).toBe(true);
  });

  test("the bar in words", () => {
    expect(progressText(springSale)).toBe("82% done: 39,025 delivered, 2,072 failed, 8,903 pending");
    expect(progressText({ ...springSale, progress_pct: 0.5 })).toMatch(/^0\.5% done/);
  });
});

describe("SMS views: ETA and throughput", () => {
  test("while running: in how long, and when, at the last minute's rate", () => {
    const eta = formatEta(springSale);
    expect(eta.text).toBe("in 25m 16s");
    expect(eta.hint).toMatch(/^about 2026-11-27 \d\d:36:41, at the last minute's rate$/);
  });

  test("no ETA without a rate, none needed when all left the queue, done when completed", () => {
    expect(formatEta({ ...springSale, eta_s: null, eta: null })).toEqual({ text: "—", hint: "nothing left the queue in the last minute" });
    expect(formatEta({ ...springSale, eta_s: 0 }).text).toBe("all sent");
    const done = formatEta({ ...springSale, status: "completed", completed_at: "2026-11-27T15:00:00.000Z", duration_s: 9000, eta: null, eta_s: null });
    expect(done.text).toBe("done");
    expect(done.hint).toContain("after 2h 30m");
  });

  test("throughput per minute, with the average", () => {
    expect(formatThroughput(springSale)).toEqual({ text: "347/min", hint: "last minute; average 403.9/min" });
    expect(formatThroughput({ throughput: { last_minute: 25_000, avg_per_minute: null } })).toEqual({ text: "25K/min", hint: "messages that left the queue in the last minute" });
  });
});

describe("SMS views: status and live updates", () => {
  test("status words and tones", () => {
    expect([statusLabel("started"), statusTone("started")]).toEqual(["running", "info"]);
    expect([statusLabel("completed"), statusTone("completed")]).toEqual(["completed", "ok"]);
    expect([statusLabel("paused"), statusTone("paused")]).toEqual(["paused", "warn"]);
    expect([statusLabel(null), statusTone(null)]).toEqual(["not announced", "neutral"]);
  });

  test("an unannounced campaign runs while messages arrived in the last 5 minutes", () => {
    const now = Date.parse("2026-11-27T14:15:00.000Z");
    expect(isRunning(springSale, now)).toBe(true);
    expect(isRunning({ status: null, last_activity_at: "2026-11-27T14:11:00.000Z" }, now)).toBe(true);
    expect(isRunning({ status: null, last_activity_at: "2026-11-27T14:05:00.000Z" }, now)).toBe(false);
    expect(isRunning({ status: "completed", last_activity_at: "2026-11-27T14:14:00.000Z" }, now)).toBe(false);
  });

  test("the live topic's statistics replace the report's; an unknown campaign changes nothing", () => {
    const report = { campaign: springSale, carriers: [], servers: [], errors: {}, hourly: [] } as unknown as CampaignReport;
    const { as_of: _asOf, ...stats } = springSale;
    const next = applyLive(report, { found: true, ...stats, delivered: 39500, final: 41572, pending: 8428 });
    expect(next.campaign).toMatchObject({ delivered: 39500, final: 41572, pending: 8428, as_of: springSale.as_of });
    expect(next.servers).toBe(report.servers);
    expect(applyLive(report, { found: false, campaign_id: "spring-sale" })).toBe(report);
  });

  test("the rest of the report is worth re-reading when messages, final statuses or the status moved", () => {
    const { as_of: _asOf, ...stats } = springSale;
    expect(reportOutdated(springSale, { found: true, ...stats })).toBe(false);
    expect(reportOutdated(springSale, { found: true, ...stats, final: stats.final + 1 })).toBe(true);
    expect(reportOutdated(springSale, { found: true, ...stats, status: "completed" })).toBe(true);
    expect(reportOutdated(springSale, { found: false, campaign_id: "x" })).toBe(false);
  });

  test("the hourly chart: sent, delivered, failed + undelivered", () => {
    const data = hourlyData([
      { start: "2026-11-27T12:00:00.000Z", dispatched: 12400, delivered: 11747, undelivered: 294, failed: 336, final: 12377, delivery_rate: 0.9491 },
      { start: "2026-11-27T13:00:00.000Z", dispatched: 24265, delivered: 23030, undelivered: 544, failed: 686, final: 24260, delivery_rate: 0.9493 },
    ]);
    expect(data).toEqual([
      [Date.UTC(2026, 10, 27, 12) / 1000, Date.UTC(2026, 10, 27, 13) / 1000],
      [12400, 24265],
      [11747, 23030],
      [630, 1230],
    ]);
    expect(hourlyData([])).toEqual([[]]);
  });

  test("a single hour is said in words: one point would stretch the chart's time axis over years", () => {
    const hour = { start: "2026-11-27T12:00:00.000Z", dispatched: 160, delivered: 140, undelivered: 4, failed: 6, final: 150, delivery_rate: 0.93 };
    expect(hourlyData([hour])).toEqual([[]]);
    expect(hourlySummary([hour])).toMatch(/^All within the hour from \d\d:00 so far: 160 sent, 140 delivered, 10 failed\./);
    expect(hourlySummary([])).toBe("No message has left the queue yet.");
  });

  test("links and codes", () => {
    expect(campaignPath("spring sale/2")).toBe("/sms/spring%20sale%2F2");
    expect(codeText({ namespace: "twilio", code: "30003" })).toBe("twilio 30003");
    expect(codeText({ namespace: null, code: null })).toBe("no code");
  });
});
