import { flushSync } from "svelte";
import { beforeEach, describe, expect, test } from "vitest";
import { router } from "../src/lib/router.svelte.js";
import Alerts from "../src/pages/alerts/Alerts.svelte";
import HistoryTab from "../src/pages/alerts/HistoryTab.svelte";
import RoutesTab from "../src/pages/alerts/RoutesTab.svelte";
import RulesTab from "../src/pages/alerts/RulesTab.svelte";
import { button, choose, click, control, labelled, render, textOf, type, until } from "./support/dom.js";
import { fakeApi, json, type Recorded } from "./support/fake-api.js";
import { useFakeWebSocket } from "./support/live.js";
import { signIn } from "./support/session.js";

// The Alerts page as a whole: its tabs (keyboard and URL), which controls each role gets,
// templates, the notification history's pages and the routes editor.

const status = { states: {}, last_eval_at: "2026-11-27T10:00:00.000Z", last_duration_ms: 12, last_error: null };
const rule = { id: "rule_1", kind: "threshold", name: "Checkout errors", aggregation: "count", condition: ">", threshold: 5, origin: "api", updated_at: null, status: { ...status, states: { firing: 2 } } };
const fileRule = { ...rule, id: "rule_f", name: "From git", origin: "file:/etc/vigil/rules.yaml", status: { ...status, last_error: "query timed out" } };
const alert = {
  fingerprint: "fp1",
  rule_id: "rule_1",
  rule_name: "Checkout errors",
  kind: "threshold",
  state: "firing",
  labels: { alertname: "Checkout errors" },
  annotations: {},
  value: 9,
  active_since: null,
  firing_since: "2026-11-27T10:00:00.000Z",
  silenced: false,
  message: null,
};
const channel = { id: "ch_1", name: "Ops hook", kind: "webhook", config: {}, secrets_set: ["url"], origin: "api", updated_at: null };
const route = { id: "route_1", name: "All to ops", matchers: [], channels: ["ch_1"], group_by: ["alertname"], group_wait: "30s", group_interval: "5m", repeat_interval: "4h", send_resolved: true, continue: false, position: 100, origin: "api", updated_at: null };
const silence = { id: "sil_1", matchers: [{ label: "alertname", op: "=", value: "X" }], starts_at: null, ends_at: "2099-01-01T00:00:00.000Z", comment: "c", created_by: "user:a", state: "active", updated_at: null };
const notification = (n: number) => ({
  id: `n${n}`,
  channel_id: "ch_1",
  channel_name: "Ops hook",
  route_id: "route_1",
  group_key: "g",
  status: n === 1 ? "failed" : "sent",
  alert_status: "firing",
  alerts: [{ fingerprint: "fp1", rule_id: "rule_1", status: "firing", labels: { alertname: "Checkout errors" }, summary: `summary ${n}` }],
  attempts: n === 1 ? 16 : 1,
  last_error: n === 1 ? "HTTP 500 from receiver" : null,
  created_at: "2026-11-27T10:00:00.000Z",
  sent_at: n === 1 ? null : "2026-11-27T10:00:01.000Z",
  next_attempt_at: null,
});

/** Every read the page's tabs make, each with one item. */
function everything() {
  return fakeApi({
    "GET /api/alerts": { alerts: [alert], evaluation_paused: null },
    "GET /api/alerts/rules": { rules: [rule, fileRule], next_cursor: null },
    "GET /api/alerts/notifications": { notifications: [notification(1)], next_cursor: null },
    "GET /api/alerts/silences": { silences: [silence], next_cursor: null },
    "GET /api/alerts/channels": { channels: [channel], next_cursor: null },
    "GET /api/alerts/routes": { routes: [route], next_cursor: null },
  });
}

const tabs = (root: Element) => [...root.querySelectorAll<HTMLButtonElement>('[role="tab"]')];
const selectedTab = (root: Element) => tabs(root).find((t) => t.getAttribute("aria-selected") === "true")!;
const buttonTexts = (root: Element) => [...root.querySelectorAll("button")].map((b) => b.textContent?.trim());

// The live topics' socket is never opened: these tests are not about live updates.
useFakeWebSocket();
beforeEach(() => router.navigate("/alerts"));

describe("Alerts page", () => {
  test("tabs: one tab stop, arrows / Home / End move and select, the tab is in the URL", async () => {
    signIn("editor");
    everything();
    const view = render(Alerts);
    const list = view.target.querySelector('[role="tablist"]')!;
    expect(list.getAttribute("aria-label")).toBe("Alerting");
    expect(tabs(view.target).map((t) => t.textContent?.trim())).toEqual(["Firing now", "Rules", "History", "Silences", "Channels", "Routes"]);
    expect(tabs(view.target).map((t) => t.tabIndex)).toEqual([0, -1, -1, -1, -1, -1]);
    const panel = view.target.querySelector('[role="tabpanel"]')!;
    expect(panel.getAttribute("aria-labelledby")).toBe(selectedTab(view.target).id);
    expect(selectedTab(view.target).getAttribute("aria-controls")).toBe(panel.id);

    const key = (k: string) => {
      (document.activeElement as HTMLElement).dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));
      flushSync();
    };
    selectedTab(view.target).focus();
    key("ArrowRight");
    expect(selectedTab(view.target).textContent?.trim()).toBe("Rules");
    expect(document.activeElement).toBe(selectedTab(view.target));
    expect(location.search).toBe("?tab=rules");
    await until(() => expect(textOf(panel)).toContain("Checkout errors"));
    key("End");
    expect(selectedTab(view.target).textContent?.trim()).toBe("Routes");
    key("ArrowRight"); // wraps
    expect(selectedTab(view.target).textContent?.trim()).toBe("Firing now");
    expect(location.search).toBe("");
    key("ArrowLeft");
    expect(selectedTab(view.target).textContent?.trim()).toBe("Routes");
    key("Home");
    expect(selectedTab(view.target).textContent?.trim()).toBe("Firing now");
    expect(tabs(view.target).filter((t) => t.tabIndex === 0)).toHaveLength(1);
  });

  test("a viewer gets no write control on any tab; an editor does", async () => {
    everything();
    signIn("viewer");
    const view = render(Alerts);
    const WRITE = ["Silence", "New rule", "Start from a template", "Browse templates", "Edit", "Delete", "Delete rule", "New silence", "End now", "End silence", "Add channel", "Send test", "Delete channel", "Add route", "Delete route", "Create silence"];
    // What an editor sees on each tab, once its data is on screen.
    const perTab: [string, string, string[]][] = [
      ["Firing now", "Checkout errors", ["Silence"]],
      ["Rules", "From git", ["New rule", "Start from a template", "Edit", "Delete"]],
      ["History", "summary 1", []],
      ["Silences", "alertname=X", ["New silence", "End now"]],
      ["Channels", "Ops hook", ["Add channel", "Send test", "Edit", "Delete"]],
      ["Routes", "All to ops", ["Add route", "Edit", "Delete"]],
    ];
    for (const [tab, content, writes] of perTab) {
      click(tabs(view.target).find((t) => t.textContent?.trim() === tab)!);
      await until(() => expect(textOf(view.target.querySelector('[role="tabpanel"] table'))).toContain(content));
      expect(buttonTexts(view.target).filter((t) => WRITE.includes(t!)), `${tab} as a viewer`).toEqual([]);
      expect(view.target.querySelector("th")?.parentElement?.textContent).not.toContain("Actions");

      signIn("editor");
      flushSync();
      for (const label of writes) expect(buttonTexts(view.target), `${tab} as an editor`).toContain(label);
      signIn("viewer");
      flushSync();
    }
    // Read-only empty states do not invite a viewer to do what they cannot.
    expect(document.body.dataset.ready).toBe("alerts");
  });
});

describe("Rules tab", () => {
  test("status per rule: states, last evaluation, error; a file rule cannot be edited here", async () => {
    signIn("editor");
    everything();
    const view = render(RulesTab);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2));
    const [first, second] = [...view.target.querySelectorAll("tbody tr")];
    expect(textOf(first)).toContain("2 firing");
    expect(textOf(first)).toContain("took 12ms");
    expect(first!.querySelectorAll("button")).toHaveLength(2);
    expect(textOf(second)).toContain("from /etc/vigil/rules.yaml (change it there)");
    expect(textOf(second)).toContain("query timed out");
    expect(second!.querySelectorAll("button")).toHaveLength(0);
  });

  test("no rules: start from a template — install as is, or customise in the builder first", async () => {
    signIn("editor");
    const template = {
      id: "agent-silent",
      title: "An agent is silent for two heartbeats",
      description: "Fires per agent that sent no heartbeat for 30 s.",
      rule: { kind: "absence", name: "Agent silent", of: "agent_heartbeats", absent_for: "30s", interval: "10s", labels: { severity: "critical" } },
    };
    let rules: unknown[] = [];
    const server = fakeApi({
      "GET /api/alerts/rules": () => json({ rules, next_cursor: null }),
      "GET /api/alerts/templates": { templates: [template] },
      "POST /api/alerts/templates/agent-silent/install": (r: Recorded) => {
        rules = [{ ...template.rule, id: "rule_t", origin: "template:agent-silent", updated_at: null, status }];
        return json(rules[0], 201);
      },
      "POST /api/alerts/rules/preview": { evaluated_at: "2026-11-27T10:00:00.000Z", samples: [{ labels: { agent_id: "a1" }, value: 45, active: true }], no_data: false },
    });
    const view = render(RulesTab);
    await until(() => expect(view.text()).toContain("No rules yet — start from a template"));

    click(button(view.target, "Browse templates"));
    let dialog = document.querySelector("dialog[open]")!;
    await until(() => expect(textOf(dialog)).toContain("An agent is silent for two heartbeats"));
    click(button(dialog, "Install"));
    await until(() => expect(server.calls("POST /api/alerts/templates/agent-silent/install")).toHaveLength(1));
    expect(server.calls("POST /api/alerts/templates/agent-silent/install")[0]!.body).toEqual({ overrides: {} });
    await until(() => expect(textOf(view.target.querySelector("tbody"))).toContain("from template agent-silent"));

    // Customise: the builder opens with the template's rule, previewed.
    click(button(view.target, "Start from a template"));
    dialog = document.querySelector("dialog[open]")!;
    await until(() => expect(textOf(dialog)).toContain("An agent is silent"));
    click(button(dialog, "Customise"));
    await until(() => expect(view.target.querySelector("form.rule-form")).not.toBeNull());
    expect(control(view.target, "Name").value).toBe("Agent silent");
    expect(control(view.target, "Kind").value).toBe("absence");
    expect(control(view.target, "Watch").value).toBe("agent_heartbeats");
    expect(control(view.target, "Absent for").value).toBe("30s");
    await until(() => expect(textOf(view.target.querySelector("section.preview"))).toContain("Would fire for 1 of 1 group."), 3000);
    click(button(view.target, "Cancel"));
    expect(view.target.querySelector("form.rule-form")).toBeNull();
  });

  test("a viewer's empty state does not offer what they cannot do", async () => {
    signIn("viewer");
    fakeApi({ "GET /api/alerts/rules": { rules: [], next_cursor: null } });
    const view = render(RulesTab);
    await until(() => expect(view.text()).toContain("An editor or admin can add them."));
    expect(buttonTexts(view.target)).toEqual(["Refresh"]);
  });
});

describe("History tab", () => {
  test("pages of notifications with delivery state, filtered by status", async () => {
    signIn("viewer");
    const server = fakeApi({});
    server.on("GET /api/alerts/notifications", (r: Recorded) => {
      const cursor = r.url.searchParams.get("cursor");
      if (cursor === "c2") return json({ notifications: [notification(3)], next_cursor: null });
      return json({ notifications: [notification(1), notification(2)], next_cursor: "c2" });
    });
    const view = render(HistoryTab);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2));
    const first = textOf(view.target.querySelector("tbody tr"));
    expect(first).toContain("failed");
    expect(first).toContain("16");
    expect(first).toContain("HTTP 500 from receiver");
    expect(first).toContain("summary 1");
    expect(server.calls("GET /api/alerts/notifications")[0]!.url.searchParams.get("limit")).toBe("50");

    click(button(view.target, "Load older"));
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(3));
    expect(view.text()).toContain("That is all of the last 30 days.");

    choose(control(view.target, "Delivery"), "failed");
    await until(() => expect(server.calls("GET /api/alerts/notifications").at(-1)!.url.searchParams.get("status")).toBe("failed"));
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2)); // back to the first page
  });
});

describe("Routes tab", () => {
  test("adds a route: matchers, channels, grouping", async () => {
    signIn("editor");
    const server = fakeApi({
      "GET /api/alerts/routes": { routes: [], next_cursor: null },
      "GET /api/alerts/channels": { channels: [channel, { ...channel, id: "ch_2", name: "Mail" }], next_cursor: null },
      "POST /api/alerts/routes": (r: Recorded) => json({ ...route, ...(r.body as object), id: "route_2" }, 201),
    });
    const view = render(RoutesTab);
    await until(() => expect(view.text()).toContain("No routes yet"));
    click(button(view.target, "Add route"));
    const dialog = document.querySelector("dialog[open]")!;
    type(control(dialog, "Name"), "Critical to mail");
    click(button(dialog, "Add matcher"));
    type(labelled(dialog, "Label of matcher 1"), "severity");
    type(labelled(dialog, "Value of matcher 1"), "critical");
    click([...dialog.querySelectorAll("label")].find((l) => l.textContent?.includes("Mail"))!.querySelector("input"));
    type(control(dialog, "Group wait"), "10s");
    click(button(dialog, "Add route"));
    await until(() => expect(server.calls("POST /api/alerts/routes")).toHaveLength(1));
    expect(server.calls("POST /api/alerts/routes")[0]!.body).toEqual({
      name: "Critical to mail",
      matchers: [{ label: "severity", op: "=", value: "critical" }],
      channels: ["ch_2"],
      send_resolved: true,
      continue: false,
      group_wait: "10s",
    });
  });
});
