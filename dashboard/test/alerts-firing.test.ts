import { beforeEach, describe, expect, test } from "vitest";
import { router } from "../src/lib/router.svelte.js";
import type { ActiveAlert } from "../src/lib/types.js";
import Alerts from "../src/pages/alerts/Alerts.svelte";
import { mergeLive } from "../src/pages/alerts/firing.js";
import { matchersFromLabels, silenceBody, emptySilence } from "../src/pages/alerts/silence.js";
import SilencesTab from "../src/pages/alerts/SilencesTab.svelte";
import { button, choose, click, control, labelled, render, textOf, type, until } from "./support/dom.js";
import { fakeApi, json, type Recorded } from "./support/fake-api.js";
import { FakeWebSocket, useFakeWebSocket } from "./support/live.js";
import { signIn } from "./support/session.js";

// "Firing now": the list follows the `alerts` live topic without reloading, the REST answer
// fills in silences; "Silence" on a row opens a silence pre-filled from that alert's labels.

const checkout: ActiveAlert = {
  fingerprint: "fp-checkout",
  rule_id: "rule_1",
  rule_name: "Checkout errors",
  kind: "threshold",
  state: "firing",
  labels: { alertname: "Checkout errors", severity: "critical", check_name: "checkout" },
  annotations: { summary: "5xx rate is 12%" },
  value: 0.12,
  active_since: "2026-11-27T09:58:00.000Z",
  firing_since: "2026-11-27T10:00:00.000Z",
  silenced: false,
  message: null,
};

const toLive = (a: ActiveAlert) => ({ fingerprint: a.fingerprint, rule_id: a.rule_id, rule_name: a.rule_name, state: a.state, labels: a.labels, summary: a.annotations.summary ?? "", value: a.value, firing_since: a.firing_since });

useFakeWebSocket();
beforeEach(() => {
  signIn("editor");
  router.navigate("/alerts");
});

describe("Firing now", () => {
  test("follows the live topic, then silences an alert from its row with matchers from its labels", async () => {
    let silenced = false;
    const server = fakeApi({
      "GET /api/alerts": () => json({ alerts: [{ ...checkout, silenced }], evaluation_paused: null }),
      "POST /api/alerts/silences": (r: Recorded) => {
        silenced = true;
        return json({ id: "sil_1", ...(r.body as object), state: "active", matches_now: 1 }, 201);
      },
    });
    const view = render(Alerts);

    await until(() => expect(textOf(view.target.querySelector("tbody"))).toContain("Checkout errors"));
    const row = () => [...view.target.querySelectorAll("tbody tr")].map(textOf);
    expect(row()[0]).toContain("firing");
    expect(row()[0]).toContain("check_name=checkout");
    expect(row()[0]).toContain("severity=critical");
    expect(row()[0]).not.toContain("alertname="); // the rule's name is shown already
    expect(row()[0]).toContain("0.12");
    expect(document.body.dataset.ready).toBe("alerts");

    // Live: the page subscribed to the alerts topic; a new alert appears without reloading.
    const socket = FakeWebSocket.last!;
    socket.open();
    expect(socket.sent).toEqual([{ type: "subscribe", id: expect.any(String), topic: "alerts", params: {} }]);
    const id = socket.sent[0]!.id;
    const disk: ActiveAlert = { ...checkout, fingerprint: "fp-disk", rule_id: "rule_2", rule_name: "Disk full", labels: { alertname: "Disk full", host: "db-1" }, annotations: { summary: "98% used" }, value: 98, firing_since: "2026-11-27T10:05:00.000Z" };
    socket.push({ type: "data", id, topic: "alerts", at: "x", data: [toLive(checkout), toLive(disk)] });
    await until(() => expect(row()).toHaveLength(2));
    expect(row()[0]).toContain("Disk full"); // newest first
    expect(row()[0]).toContain("98% used");
    // The topic has no silences: the REST list is asked again for the alert it did not know.
    await until(() => expect(server.calls("GET /api/alerts")).toHaveLength(2));

    // A resolved alert leaves the list, still without reloading.
    socket.push({ type: "data", id, topic: "alerts", at: "x", data: [toLive(checkout)] });
    await until(() => expect(row()).toHaveLength(1));

    // Silence it from its row: the dialog starts with one matcher per label, alertname first.
    click(button(view.target, "Silence"));
    const dialog = document.querySelector("dialog[open]")!;
    expect(dialog).not.toBeNull();
    const matchers = [1, 2, 3].map((i) => [labelled(dialog, `Label of matcher ${i}`).value, labelled(dialog, `Operator of matcher ${i}`).value, labelled(dialog, `Value of matcher ${i}`).value]);
    expect(matchers).toEqual([
      ["alertname", "=", "Checkout errors"],
      ["check_name", "=", "checkout"],
      ["severity", "=", "critical"],
    ]);
    click(labelled(dialog, "Remove matcher 3")); // too specific
    choose(control(dialog, "For"), "4h");
    type(control(dialog, "Comment"), "deploying the fix");
    const before = Date.now();
    click(button(dialog, "Create silence"));

    await until(() => expect(server.calls("POST /api/alerts/silences")).toHaveLength(1));
    const body = server.calls("POST /api/alerts/silences")[0]!.body as { matchers: unknown; ends_at: string; comment: string };
    expect(body.matchers).toEqual([
      { label: "alertname", op: "=", value: "Checkout errors" },
      { label: "check_name", op: "=", value: "checkout" },
    ]);
    expect(body.comment).toBe("deploying the fix");
    const end = Date.parse(body.ends_at);
    expect(end).toBeGreaterThanOrEqual(before + 4 * 3_600_000);
    expect(end).toBeLessThan(Date.now() + 4 * 3_600_000 + 1000);

    // The list is asked again: the alert now shows silenced, and offers no second silence.
    await until(() => expect(row()[0]).toContain("silenced"));
    expect([...view.target.querySelectorAll("tbody button")].map((b) => b.textContent)).not.toContain("Silence");
  });

  test("nothing firing: the empty state points a newcomer to the rules", async () => {
    fakeApi({ "GET /api/alerts": { alerts: [], evaluation_paused: "storage is down" } });
    const view = render(Alerts);
    await until(() => expect(view.text()).toContain("Nothing is firing"));
    expect(view.text()).toContain("Evaluation is paused: storage is down");
    expect(document.body.dataset.ready).toBe("alerts");
    click(button(view.target, "Go to rules"));
    expect(location.search).toBe("?tab=rules");
  });

  test("merging: the topic decides which alerts and their state; REST fills in silences; unknown ones mark it stale", () => {
    const merged = mergeLive([{ ...checkout, silenced: true, message: "m" }], [toLive({ ...checkout, state: "firing", value: 0.5 })]);
    expect(merged.stale).toBe(false);
    expect(merged.alerts).toEqual([{ ...checkout, silenced: true, message: "m", value: 0.5 }]);
    expect(mergeLive([checkout], [toLive({ ...checkout, state: "flapping" })]).stale).toBe(true);
    const fresh = mergeLive([], [toLive(checkout)]);
    expect(fresh.stale).toBe(true);
    expect(fresh.alerts[0]).toMatchObject({ fingerprint: "fp-checkout", silenced: false, annotations: { summary: "5xx rate is 12%" } });
  });
});

describe("Silences", () => {
  test("pre-fill from labels, and the body of a silence until a date", () => {
    expect(matchersFromLabels({ zone: "eu", alertname: "A", host: "h" }).map((m) => m.label)).toEqual(["alertname", "host", "zone"]);
    const draft = { ...emptySilence({ alertname: "A" }), duration: "until" as const, until: "2030-01-02T03:04", comment: " why " };
    expect(silenceBody(draft)).toEqual({ matchers: [{ label: "alertname", op: "=", value: "A" }], ends_at: new Date(2030, 0, 2, 3, 4).toISOString(), comment: "why" });
  });

  test("lists silences by state, creates one with matchers, end time and comment, and ends one", async () => {
    const silence = (id: string, state: string, value: string) => ({ id, matchers: [{ label: "severity", op: "=", value }], starts_at: "2026-11-27T10:00:00.000Z", ends_at: "2099-11-27T12:00:00.000Z", comment: `c ${id}`, created_by: "user:ed@example.com", state, updated_at: null });
    const server = fakeApi({
      "GET /api/alerts/silences": { silences: [silence("sil_old", "expired", "info"), silence("sil_1", "active", "critical")], next_cursor: null },
      "POST /api/alerts/silences": (r: Recorded) => json({ id: "sil_2", ...(r.body as object), state: "active", matches_now: 0 }, 201),
      "DELETE /api/alerts/silences/sil_1": () => new Response(null, { status: 204 }),
    });
    const view = render(SilencesTab);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2));
    const rows = [...view.target.querySelectorAll("tbody tr")].map(textOf);
    expect(rows[0]).toContain("severity=critical");
    expect(rows[0]).toContain("active");
    expect(rows[1]).toContain("expired");
    // Only a current silence can be ended.
    expect(view.target.querySelectorAll("tbody button")).toHaveLength(1);

    // The state filter goes to the server.
    choose(control(view.target, "State"), "expired");
    await until(() => expect(server.calls("GET /api/alerts/silences").at(-1)!.url.searchParams.get("state")).toBe("expired"));
    choose(control(view.target, "State"), "");
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2));

    // Create: a blank matcher row is dropped; "until" sends the date picked.
    click(button(view.target, "New silence"));
    const dialog = document.querySelector("dialog[open]")!;
    type(labelled(dialog, "Value of matcher 1"), "Disk full");
    click(button(dialog, "Add matcher"));
    type(labelled(dialog, "Label of matcher 2"), "host");
    choose(labelled(dialog, "Operator of matcher 2"), "=~");
    type(labelled(dialog, "Value of matcher 2"), "db-.*");
    click(button(dialog, "Add matcher"));
    choose(control(dialog, "For"), "until");
    type(control(dialog, "Ends at"), "2030-05-06T07:08");
    type(control(dialog, "Comment"), "maintenance");
    click(button(dialog, "Create silence"));
    await until(() => expect(server.calls("POST /api/alerts/silences")).toHaveLength(1));
    expect(server.calls("POST /api/alerts/silences")[0]!.body).toEqual({
      matchers: [
        { label: "alertname", op: "=", value: "Disk full" },
        { label: "host", op: "=~", value: "db-.*" },
      ],
      ends_at: new Date(2030, 4, 6, 7, 8).toISOString(),
      comment: "maintenance",
    });

    await until(() => expect(document.querySelector("dialog[open]")).toBeNull());
    await until(() => expect(server.calls("GET /api/alerts/silences").length).toBeGreaterThanOrEqual(4)); // reloaded after creating

    // End the active one (after confirming).
    click(button(view.target, "End now"));
    click(button(document.querySelector("dialog[open]")!, "End silence"));
    await until(() => expect(server.calls("DELETE /api/alerts/silences/sil_1")).toHaveLength(1));
  });

  test("the server's problems show at their fields", async () => {
    fakeApi({
      "GET /api/alerts/silences": { silences: [], next_cursor: null },
      "POST /api/alerts/silences": () =>
        json({ error: { code: "invalid_argument", message: "comment is required", details: [{ path: "comment", message: "comment is required: say why" }, { path: "matchers.0.label", message: "label is a label name" }] } }, 400),
    });
    const view = render(SilencesTab);
    await until(() => expect(view.text()).toContain("No silences"));
    click(button(view.target, "New silence"));
    const dialog = document.querySelector("dialog[open]")!;
    type(labelled(dialog, "Label of matcher 1"), "bad label");
    click(button(dialog, "Create silence"));
    await until(() => expect(control(dialog, "Comment").getAttribute("aria-invalid")).toBe("true"));
    expect(textOf(dialog)).toContain("comment is required: say why");
    expect(textOf(dialog)).toContain("label is a label name");
    expect(labelled(dialog, "Label of matcher 1").getAttribute("aria-invalid")).toBe("true");
  });
});
