import { flushSync } from "svelte";
import { describe, expect, test, vi } from "vitest";
// The collector's own rule templates, as the templates dialog lists them.
import { coreTemplates } from "../../collector/src/alerts/templates.js";
import RuleForm from "../src/pages/alerts/RuleForm.svelte";
import { draftFromRule, toRuleBody } from "../src/pages/alerts/rule-form.js";
import type { RuleView } from "../src/pages/alerts/types.js";
import { button, choose, click, control, labelled, render, type, until } from "./support/dom.js";
import { json, fakeApi, type Recorded } from "./support/fake-api.js";

// The rule builder: what the user types becomes the API's rule body (for each kind), the
// preview is asked once the user pauses and shows the server's per-group values, and the
// server's validation problems land next to their fields.

const noPreview = { evaluated_at: "2026-11-27T10:00:00.000Z", samples: [], no_data: false };

/** A collector that previews everything as "nothing now" and echoes created rules. */
function server() {
  return fakeApi({
    "POST /api/alerts/rules/preview": noPreview,
    "POST /api/alerts/rules": (r: Recorded) => json({ ...(r.body as object), id: "rule_1", origin: "api", updated_at: null, status: { states: {}, last_eval_at: null, last_duration_ms: null, last_error: null } }, 201),
  });
}

async function submitAndRead(view: { target: HTMLElement }, api: ReturnType<typeof server>, onsaved: ReturnType<typeof vi.fn>) {
  click(button(view.target, "Create rule"));
  await until(() => expect(onsaved).toHaveBeenCalled());
  return api.calls("POST /api/alerts/rules")[0]!.body;
}

describe("rule builder → API body", () => {
  test("threshold: selection, filters, p95 of a field, condition, timing, labels and summary", async () => {
    const api = server();
    const onsaved = vi.fn();
    const view = render(RuleForm, { onsaved, oncancel: vi.fn(), previewDelay: 10 });
    const t = view.target;
    type(control(t, "Name"), "Slow checkout");
    type(control(t, "Source"), "http");
    type(control(t, "Type"), "http.check");
    click(button(t, "Add filter"));
    type(labelled(t, "Attribute of filter 1"), "check_name");
    type(labelled(t, "Value of filter 1"), "checkout");
    click(button(t, "Add filter"));
    type(labelled(t, "Attribute of filter 2"), "status");
    choose(labelled(t, "Operator of filter 2"), ">=");
    type(labelled(t, "Value of filter 2"), "200");
    type(control(t, "Group by"), "region, host");
    choose(control(t, "Aggregation"), "p95");
    type(control(t, "Field"), "latency_ms");
    type(control(t, "Window"), "10m");
    choose(control(t, "Condition"), ">=");
    type(control(t, "Threshold"), "800");
    choose(control(t, "When no events"), "ok");
    type(control(t, "Evaluate every"), "30s");
    type(control(t, "Pending for"), "2m");
    type(labelled(t, "Label value 1"), "critical");
    type(control(t, "Summary"), "p95 is {{value}} ms");

    expect(await submitAndRead(view, api, onsaved)).toEqual({
      kind: "threshold",
      name: "Slow checkout",
      source: "http",
      type: "http.check",
      where: [
        { attr: "check_name", op: "=", value: "checkout" },
        { attr: "status", op: ">=", value: 200 },
      ],
      group_by: ["region", "host"],
      labels: { severity: "critical" },
      annotations: { summary: "p95 is {{value}} ms" },
      interval: "30s",
      for: "2m",
      aggregation: "p95",
      field: "latency_ms",
      window: "10m",
      condition: ">=",
      threshold: 800,
      no_data: "ok",
    });
    expect(onsaved).toHaveBeenCalledWith(expect.objectContaining({ id: "rule_1", name: "Slow checkout" }), true);
  });

  test("threshold ratio: numerator and denominator with their own filters; several types become a list", async () => {
    const api = server();
    const onsaved = vi.fn();
    const view = render(RuleForm, { onsaved, oncancel: vi.fn(), previewDelay: 10 });
    const t = view.target;
    type(control(t, "Name"), "Checkout down");
    type(control(t, "Type"), "http.check, http.probe");
    choose(control(t, "Aggregation"), "ratio");
    click(button(t, "Add numerator filter"));
    type(labelled(t, "Attribute of numerator filter 1"), "up");
    type(labelled(t, "Value of numerator filter 1"), "true");
    click(button(t, "Add denominator filter"));
    type(labelled(t, "Attribute of denominator filter 1"), "kind");
    choose(labelled(t, "Operator of denominator filter 1"), "in");
    type(labelled(t, "Value of denominator filter 1"), "a, b ,c");
    choose(control(t, "Condition"), "==");

    const body = (await submitAndRead(view, api, onsaved)) as Record<string, unknown>;
    expect(body).toMatchObject({
      kind: "threshold",
      type: ["http.check", "http.probe"],
      aggregation: "ratio",
      numerator: { where: [{ attr: "up", op: "=", value: "true" }] },
      denominator: { where: [{ attr: "kind", op: "in", value: ["a", "b", "c"] }] },
      condition: "==",
      threshold: 0,
      window: "5m",
    });
    expect(body).not.toHaveProperty("field");
  });

  test("absence of agent heartbeats: no selection fields; of events: group, lookback", async () => {
    const api = server();
    const onsaved = vi.fn();
    const view = render(RuleForm, { onsaved, oncancel: vi.fn(), previewDelay: 10 });
    const t = view.target;
    choose(control(t, "Kind"), "absence");
    type(control(t, "Name"), "Agent silent");
    type(control(t, "Source"), "http"); // typed, then hidden by the choice below: not sent
    choose(control(t, "Watch"), "agent_heartbeats");
    expect(() => control(t, "Source")).toThrow();
    type(control(t, "Absent for"), "45s");
    type(control(t, "Evaluate every"), "10s");

    expect(await submitAndRead(view, api, onsaved)).toEqual({
      kind: "absence",
      name: "Agent silent",
      labels: { severity: "warning" },
      interval: "10s",
      of: "agent_heartbeats",
      absent_for: "45s",
    });

    // Back to events: the selection comes back and is sent.
    choose(control(t, "Watch"), "events");
    type(control(t, "Group by"), "check_name");
    type(control(t, "Lookback"), "2d");
    click(button(t, "Create rule"));
    await until(() => expect(api.calls("POST /api/alerts/rules")).toHaveLength(2));
    expect(api.calls("POST /api/alerts/rules")[1]!.body).toEqual({
      kind: "absence",
      name: "Agent silent",
      source: "http",
      group_by: ["check_name"],
      labels: { severity: "warning" },
      interval: "10s",
      absent_for: "45s",
      lookback: "2d",
    });
  });

  test("anomaly: baseline, seasonality, z and direction (and no ratio)", async () => {
    const api = server();
    const onsaved = vi.fn();
    const view = render(RuleForm, { onsaved, oncancel: vi.fn(), previewDelay: 10 });
    const t = view.target;
    choose(control(t, "Aggregation"), "ratio");
    choose(control(t, "Kind"), "anomaly");
    // An anomaly has no ratio: the aggregation falls back to count.
    expect(control(t, "Aggregation").value).toBe("count");
    expect([...(control(t, "Aggregation") as HTMLSelectElement).options].map((o) => o.value)).not.toContain("ratio");
    type(control(t, "Name"), "Mention spike");
    type(control(t, "Source"), "reddit");
    type(control(t, "Group by"), "keyword");
    type(control(t, "Window"), "15m");
    type(control(t, "Baseline"), "7d");
    choose(control(t, "Seasonality"), "daily");
    type(control(t, "Band (z)"), "2.5");
    choose(control(t, "Direction"), "up");
    click(labelled(t, "Remove label name 1"));

    expect(await submitAndRead(view, api, onsaved)).toEqual({
      kind: "anomaly",
      name: "Mention spike",
      source: "reddit",
      group_by: ["keyword"],
      aggregation: "count",
      window: "15m",
      baseline: "7d",
      seasonality: "daily",
      z: 2.5,
      direction: "up",
    });
  });

  test("event: type, filters, keep firing for; no evaluation timing", async () => {
    const api = server();
    const onsaved = vi.fn();
    const view = render(RuleForm, { onsaved, oncancel: vi.fn(), previewDelay: 10 });
    const t = view.target;
    choose(control(t, "Kind"), "event");
    expect(() => control(t, "Evaluate every")).toThrow();
    expect(() => control(t, "Threshold")).toThrow();
    type(control(t, "Name"), "SMS server down");
    type(control(t, "Type"), "sms.server_status");
    click(button(t, "Add filter"));
    type(labelled(t, "Attribute of filter 1"), "status");
    type(labelled(t, "Value of filter 1"), "down");
    click(button(t, "Add filter")); // a blank row is not sent
    type(control(t, "Keep firing for"), "10m");
    click(t.querySelector('input[type="checkbox"]'));

    expect(await submitAndRead(view, api, onsaved)).toEqual({
      kind: "event",
      name: "SMS server down",
      enabled: false,
      type: "sms.server_status",
      where: [{ attr: "status", op: "=", value: "down" }],
      labels: { severity: "warning" },
      keep_firing_for: "10m",
    });
  });

  test("editing a rule keeps what the form has no input for, and PUTs to its id", async () => {
    const rule = {
      id: "rule_9",
      kind: "threshold",
      name: "Errors",
      where: [{ attr: "ok", value: false }],
      aggregation: "count",
      window: 300000,
      condition: ">",
      threshold: 5,
      flap: { window: "1h", max_changes: 4 },
      on_error: "firing",
      annotations: { summary: "s", runbook: "https://runbook" },
      origin: "api",
      updated_at: null,
      status: { states: {}, last_eval_at: null, last_duration_ms: null, last_error: null },
    } as unknown as RuleView;
    const api = fakeApi({ "POST /api/alerts/rules/preview": noPreview, "PUT /api/alerts/rules/rule_9": (r: Recorded) => json({ ...rule, ...(r.body as object) }) });
    const onsaved = vi.fn();
    const view = render(RuleForm, { rule, onsaved, oncancel: vi.fn(), previewDelay: 10 });
    expect(control(view.target, "Window").value).toBe("5m");
    type(control(view.target, "Threshold"), "7");
    click(button(view.target, "Save rule"));
    await until(() => expect(onsaved).toHaveBeenCalledWith(expect.objectContaining({ threshold: 7 }), false));
    expect(api.calls("PUT /api/alerts/rules/rule_9")[0]!.body).toEqual({
      kind: "threshold",
      name: "Errors",
      where: [{ attr: "ok", op: "=", value: "false" }],
      annotations: { runbook: "https://runbook", summary: "s" },
      flap: { window: "1h", max_changes: 4 },
      on_error: "firing",
      aggregation: "count",
      window: "5m",
      condition: ">",
      threshold: 7,
    });
  });

  test("a template's rule fills the form as it is (round trip)", () => {
    const rule = coreTemplates.find((t) => t.id === "http-check-down")!.rule;
    expect(toRuleBody(draftFromRule(rule as unknown as RuleView))).toEqual({
      ...rule,
      numerator: { where: [{ attr: "up", op: "=", value: "true" }] },
      denominator: { where: [] },
    });
  });
});

describe("rule builder preview", () => {
  test("is asked once the user pauses, with the unsaved rule; shows per-group values and whether it would fire", async () => {
    const api = fakeApi({
      "POST /api/alerts/rules/preview": {
        evaluated_at: "2026-11-27T10:00:00.000Z",
        samples: [
          { labels: { check_name: "checkout" }, value: 950, active: true },
          { labels: { check_name: "home" }, value: 120.5, active: false },
        ],
        no_data: false,
      },
    });
    const view = render(RuleForm, { onsaved: vi.fn(), oncancel: vi.fn(), previewDelay: 150 });
    // Typing fast, letter by letter: one preview after the pause, not one per keystroke.
    for (const text of ["S", "Sl", "Slo", "Slow"]) type(control(view.target, "Name"), text);
    type(control(view.target, "Threshold"), "800");
    expect(api.calls("POST /api/alerts/rules/preview")).toHaveLength(0);
    await until(() => expect(api.calls("POST /api/alerts/rules/preview")).toHaveLength(1));
    expect(api.calls("POST /api/alerts/rules/preview")[0]!.body).toMatchObject({ kind: "threshold", name: "Slow", threshold: 800, aggregation: "count" });

    const panel = view.target.querySelector("section.preview")!;
    await until(() => expect(panel.textContent).toContain("Would fire for 1 of 2 groups."));
    const rows = [...panel.querySelectorAll("li")].map((li) => li.textContent!.replace(/\s+/g, " ").trim());
    expect(rows).toEqual(["check_name=checkout 950 would fire", "check_name=home 120.5 ok"]);

    // Nothing changed: no new request, however long we wait.
    await new Promise((r) => setTimeout(r, 300));
    expect(api.calls("POST /api/alerts/rules/preview")).toHaveLength(1);
  });

  test("an unnamed draft is previewed under a stand-in name; an answer overtaken by a newer edit is dropped", async () => {
    let release: (() => void) | undefined;
    const api = fakeApi({});
    api.on("POST /api/alerts/rules/preview", async (r: Recorded) => {
      const body = r.body as { threshold: number };
      // The first answer comes late, after the second.
      if (body.threshold === 1) await new Promise<void>((resolve) => (release = resolve));
      return json({ evaluated_at: "2026-11-27T10:00:00.000Z", samples: [{ labels: {}, value: body.threshold * 10, active: false }], no_data: false });
    });
    const view = render(RuleForm, { onsaved: vi.fn(), oncancel: vi.fn(), previewDelay: 20 });
    type(control(view.target, "Threshold"), "1");
    await until(() => expect(api.calls("POST /api/alerts/rules/preview")).toHaveLength(1));
    expect(api.calls("POST /api/alerts/rules/preview")[0]!.body).toMatchObject({ name: "Preview", threshold: 1 });
    type(control(view.target, "Threshold"), "2");
    const panel = view.target.querySelector("section.preview")!;
    await until(() => expect(panel.textContent).toContain("all matching events 20 ok"));
    release?.();
    await new Promise((r) => setTimeout(r, 50));
    flushSync();
    expect(panel.textContent).toContain("all matching events 20 ok");
    expect(panel.textContent).not.toContain(" 10 ");
  });

  test("the server's validation problems show next to their fields, and clear once fixed", async () => {
    const api = fakeApi({});
    api.on("POST /api/alerts/rules/preview", (r: Recorded) => {
      const body = r.body as { threshold?: unknown; where?: { value?: unknown }[] };
      const details = [];
      if (typeof body.threshold !== "number") details.push({ path: "threshold", message: "threshold must be a number" });
      if (body.where?.[0] && typeof body.where[0].value !== "number") details.push({ path: "where.0.value", message: 'op ">" compares numbers: value must be a number' });
      if (details.length) return json({ error: { code: "invalid_argument", message: details[0]!.message, details } }, 400);
      return json(noPreview);
    });
    const view = render(RuleForm, { onsaved: vi.fn(), oncancel: vi.fn(), previewDelay: 10 });
    const t = view.target;
    type(control(t, "Name"), "Bad");
    type(control(t, "Threshold"), "lots");
    click(button(t, "Add filter"));
    type(labelled(t, "Attribute of filter 1"), "status");
    choose(labelled(t, "Operator of filter 1"), ">");
    type(labelled(t, "Value of filter 1"), "five hundred");

    const threshold = control(t, "Threshold");
    await until(() => expect(threshold.getAttribute("aria-invalid")).toBe("true"));
    const thresholdError = document.getElementById(threshold.getAttribute("aria-describedby")!.split(" ").find((id) => id.endsWith("-error"))!);
    expect(thresholdError?.textContent).toBe("threshold must be a number");
    const filterValue = labelled(t, "Value of filter 1");
    expect(filterValue.getAttribute("aria-invalid")).toBe("true");
    expect(filterValue.closest(".filter")?.textContent).toContain('op ">" compares numbers: value must be a number');
    expect(view.target.querySelector("section.preview")?.textContent).toContain("Fix the fields marked in the form");

    type(threshold, "5");
    type(filterValue, "500");
    await until(() => expect(threshold.getAttribute("aria-invalid")).toBe("false"));
    expect(filterValue.getAttribute("aria-invalid")).toBe("false");
    await until(() => expect(view.target.querySelector("section.preview")?.textContent).toContain("No matching events now"));
  });
});
