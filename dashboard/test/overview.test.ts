import { describe, expect, test } from "vitest";
import Overview from "../src/pages/Overview.svelte";
import { fakeApi } from "./support/fake-api.js";
import { render, until } from "./support/dom.js";

const stats = {
  window_hours: 24,
  total_events: 1500,
  by_source: [
    { source: "http", events: 1200 },
    { source: "reddit", events: 300 },
  ],
  by_type: [
    { source: "http", type: "http.check", events: 1200 },
    { source: "reddit", type: "reddit.mention", events: 300 },
  ],
  ingest_rate_per_s: 2.5,
  rate_per_minute: Array.from({ length: 60 }, (_, i) => ({ minute: new Date(Date.now() - (59 - i) * 60_000).toISOString(), events_per_s: i === 59 ? 2.5 : 1 })),
  generated_at: new Date().toISOString(),
};

const firing = {
  fingerprint: "f1",
  rule_id: "r1",
  rule_name: "Collector down",
  kind: "threshold",
  state: "firing",
  labels: {},
  annotations: { summary: "health check failing for 5m" },
  value: 1,
  active_since: new Date(Date.now() - 600_000).toISOString(),
  firing_since: new Date(Date.now() - 300_000).toISOString(),
  silenced: false,
  message: null,
};

describe("Overview page", () => {
  test("24 h stats by source and type, the current rate, firing alerts, and the no-agent hint", async () => {
    fakeApi({
      "GET /api/stats": stats,
      "GET /api/agents": { agents: [], next_cursor: null },
      "GET /api/alerts": { alerts: [firing, { ...firing, fingerprint: "f2", silenced: true, rule_name: "Silenced one" }], evaluation_paused: null },
    });
    const view = render(Overview);
    await until(() => expect(view.text()).toContain("1,500 events"));
    expect(view.text()).toContain("now: 2.5/s");
    const sources = [...view.target.querySelectorAll("table")[0]!.querySelectorAll("tbody tr")].map((tr) => tr.textContent?.replace(/\s+/g, " ").trim());
    expect(sources).toEqual(["http 1,200 80%", "reddit 300 20%"]);
    expect(view.target.querySelector('a[href="/events?source=reddit&type=reddit.mention"]')).not.toBeNull();
    await until(() => expect(view.text()).toContain("Collector down"));
    expect(view.text()).toContain("health check failing for 5m");
    expect(view.text()).not.toContain("Silenced one"); // silenced alerts are not "firing now"
    await until(() => expect(view.text()).toContain("No agents yet"));
    expect(view.text()).toContain("0 of 0");
  });

  test("no events in 24 h: says so and how to get some", async () => {
    fakeApi({
      "GET /api/stats": { ...stats, total_events: 0, by_source: [], by_type: [], ingest_rate_per_s: 0, rate_per_minute: stats.rate_per_minute.map((p) => ({ ...p, events_per_s: 0 })) },
      "GET /api/agents": { agents: [], next_cursor: null },
      "GET /api/alerts": { alerts: [], evaluation_paused: null },
    });
    const view = render(Overview);
    await until(() => expect(view.text()).toContain("No events in the last 24 hours"));
    expect(view.text()).toContain("Nothing is firing");
    expect(view.text()).toContain("No events received in the last hour");
  });
});
