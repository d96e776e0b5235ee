import { describe, expect, test } from "vitest";
import { router } from "../src/lib/router.svelte.js";
import Events from "../src/pages/Events.svelte";
import { button, click, render, type, until } from "./support/dom.js";
import { fakeApi } from "./support/fake-api.js";
import { FakeWebSocket, useFakeWebSocket } from "./support/live.js";

const stored = (n: number, type = "http.check") => ({
  id: `019ac3a0-0000-7000-8000-00000000000${n}`,
  ts: new Date(Date.UTC(2026, 10, 27, 10, 0, n)).toISOString(),
  received_at: new Date(Date.UTC(2026, 10, 27, 10, 0, n)).toISOString(),
  source: "http",
  type,
  severity: n === 2 ? "error" : "info",
  agent: "key_1",
  attrs: { url_host: "example.com", status: String(200 + n) },
  body: `check ${n}`,
});

useFakeWebSocket();

describe("Events page", () => {
  test("lists stored events, applies filters through the URL, and tails live events on top", async () => {
    router.navigate("/events");
    const server = fakeApi({ "GET /api/events": { events: [stored(2), stored(1)], next_cursor: null } });
    const view = render(Events);

    await until(() => expect(view.target.querySelectorAll("details.event")).toHaveLength(2));
    expect(view.text()).toContain("check 2");
    expect(view.text()).toContain("error"); // severity other than info is shown
    const first = server.calls("GET /api/events")[0]!.url.searchParams;
    expect(first.get("limit")).toBe("100");
    expect(Number(first.get("since"))).toBeGreaterThan(Date.now() - 86_400_000 - 60_000); // default: last 24 h

    // Filter: source and an attribute, applied on submit.
    const form = view.target.querySelector("form")!;
    const inputs = [...form.querySelectorAll("input")];
    type(inputs[0]!, "http");
    type(inputs[3]!, "status=202");
    click(button(form, "Apply"));
    expect(location.search).toBe("?source=http&attrs=status%3D202");
    await until(() => expect(server.calls("GET /api/events")).toHaveLength(2));
    const second = server.calls("GET /api/events")[1]!.url.searchParams;
    expect([second.get("source"), second.get("attr.status")]).toEqual(["http", "202"]);

    // Live tail: subscribes with the filters the topic knows; attributes filter in the browser.
    click(button(view.target, "Live tail"));
    const socket = FakeWebSocket.last!;
    expect(socket.url).toBe(`ws://${location.host}/api/live`);
    socket.open();
    expect(socket.sent).toEqual([{ type: "subscribe", id: expect.any(String), topic: "events", params: { source: "http" } }]);
    const id = socket.sent[0]!.id;
    const live = (status: string, body: string) => ({ ts: "2026-11-27T10:01:00.000Z", source: "http", type: "http.check", agent: "key_1", attrs: { status }, body });
    socket.push({ type: "data", id, topic: "events", at: "x", data: { events: [live("202", "live match"), live("500", "live other")], skipped: 0 } });
    await until(() => expect(view.target.querySelector("details.event")?.textContent).toContain("live match"));
    expect(view.text()).not.toContain("live other");

    // Pause: new events wait, counted.
    click(button(view.target, "Pause"));
    socket.push({ type: "data", id, topic: "events", at: "x", data: { events: [live("202", "while paused")], skipped: 0 } });
    await until(() => expect(view.text()).toContain("Paused — 1 new"));
    expect(view.text()).not.toContain("while paused");
    click(button(view.target, "Resume"));
    await until(() => expect(view.target.querySelector("details.event")?.textContent).toContain("while paused"));
  });
});
