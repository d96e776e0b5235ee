import { describe, expect, test } from "vitest";
import Reddit from "../src/pages/reddit/Reddit.svelte";
import { button, click, render, type, until } from "./support/dom.js";
import { fakeApi, json } from "./support/fake-api.js";
import { FakeWebSocket, useFakeWebSocket } from "./support/live.js";
import { CSRF, signIn } from "./support/session.js";

const keyword = (over: Record<string, unknown> = {}) => ({
  id: "kw-1",
  keyword: "vigil",
  platform: "reddit",
  mode: "phrase",
  subreddit: "selfhosted",
  exclude: [],
  is_active: true,
  created_by: "key_1",
  created_at: "2026-11-27T10:00:00.000Z",
  updated_at: "2026-11-27T10:00:00.000Z",
  ...over,
});

const status = { desired_state: "running", is_running: false, monitored_keywords_count: 0, last_check: null, check_interval_seconds: 300, immediate_updates_enabled: false, stream_monitoring_active: false, active_streams: 0, agents: [] };

function routes(keywords: unknown[] = []) {
  return {
    "GET /api/keywords": { keywords },
    "GET /api/mentions": { mentions: [], next_cursor: null },
    "GET /api/mentions/counts": { interval: "hour", since: "2026-11-26T10:00:00.000Z", until: "2026-11-27T10:00:00.000Z", keywords: [] },
    "GET /api/auto-monitor/status": status,
  };
}

useFakeWebSocket();

describe("Reddit page", () => {
  test("a viewer: the empty state says what to do, the page is ready, and no write control is offered", async () => {
    signIn("viewer");
    const server = fakeApi(routes());
    const view = render(Reddit);
    await until(() => expect(view.text()).toContain("No keywords yet — an editor or admin adds them here"));
    expect(view.text()).toContain("plugins/reddit/README.md");
    await until(() => expect(document.body.dataset.ready).toBe("reddit"));
    await until(() => expect(view.text()).toContain("no agent")); // the monitor's status, and why
    expect(view.text()).toContain('No agent runs the Reddit plugin: add use: "@vigil/plugin-reddit"');
    expect(view.target.querySelector('[role="switch"]')).toBeNull();
    expect(() => button(view.target, /Add/)).toThrow();
    expect(server.calls("GET /api/keywords")).toHaveLength(1);
  });

  test("a viewer sees keywords without their actions", async () => {
    signIn("viewer");
    fakeApi(routes([keyword(), keyword({ id: "kw-2", keyword: "outage", subreddit: "all", mode: "word", is_active: false, exclude: ["planned outage"] })]));
    const view = render(Reddit);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2));
    const rows = [...view.target.querySelectorAll("tbody tr")].map((tr) => tr.textContent!.replace(/\s+/g, " ").trim());
    expect(rows[0]).toContain("r/selfhosted");
    expect(rows[1]).toContain("Whole word");
    expect(rows[1]).toContain("all monitored");
    expect(rows[1]).toContain("planned outage");
    expect(rows[1]).toContain("paused");
    expect(view.target.querySelectorAll("tbody button")).toHaveLength(0);
    expect(document.body.dataset.ready).toBe("reddit");
  });

  test("an editor adds a keyword, then its mention arrives on the live feed, newest on top, with pause", async () => {
    signIn("editor");
    const created = keyword({ id: "kw-9", subreddit: ["selfhosted", "homelab"] });
    const server = fakeApi({ ...routes(), "POST /api/keywords": () => json(created, 201) });
    const view = render(Reddit);
    await until(() => expect(view.text()).toContain("No keywords yet — add one; an agent with the Reddit plugin picks it up at once (see plugins/reddit/README.md)"));

    click(button(view.target, "Add keyword"));
    const dialog = document.querySelector("dialog[open]")!;
    expect(dialog.textContent).toContain("Add a keyword");
    const [text, subreddits] = [...dialog.querySelectorAll("input:not([type=checkbox])")];
    // A bad subreddit is caught before sending.
    type(text!, "vigil");
    type(subreddits!, "r/selfhosted, homelab, all");
    click(button(dialog, "Add keyword"));
    await until(() => expect(dialog.textContent).toContain('"all" means every monitored subreddit'));
    expect(server.calls("POST /api/keywords")).toHaveLength(0);
    type(subreddits!, "r/selfhosted, homelab");
    click(button(dialog, "Add keyword"));
    await until(() => expect(server.calls("POST /api/keywords")).toHaveLength(1));
    const [request] = server.calls("POST /api/keywords");
    expect(request!.body).toEqual({ keyword: "vigil", mode: "phrase", subreddit: ["selfhosted", "homelab"], exclude: [], is_active: true });
    expect(request!.headers.get("X-CSRF-Token")).toBe(CSRF);
    await until(() => expect(view.target.querySelector("tbody")?.textContent).toContain("r/selfhosted, r/homelab"));
    expect(button(view.target, "Pause").getAttribute("aria-label")).toBe("Pause vigil");

    // The live feed: subscribed to reddit mentions only.
    const socket = FakeWebSocket.last!;
    socket.open();
    const subscribe = socket.sent.find((m) => m.type === "subscribe")!;
    expect(subscribe).toMatchObject({ topic: "events", params: { source: "reddit", type: "reddit.mention" } });
    const mention = (n: number) => ({
      ts: new Date(Date.now() - 1000 * (10 - n)).toISOString(),
      source: "reddit",
      type: "reddit.mention",
      agent: "key_1",
      attrs: { keyword_id: "kw-9", keyword: "vigil", subreddit: "selfhosted", kind: "comment", fullname: `t1_${n}`, permalink: `https://www.reddit.com/r/selfhosted/c/${n}/`, author: "alice", matched_in: "body" },
      body: `has anyone tried vigil ${n}`,
    });
    socket.push({ type: "data", id: subscribe.id, topic: "events", at: "x", data: { events: [mention(1), mention(2)], skipped: 0 } });
    const feed = () => [...view.target.querySelectorAll("ol.mentions li .snippet")].map((p) => p.textContent);
    await until(() => expect(feed()).toEqual(["has anyone tried vigil 2", "has anyone tried vigil 1"]));
    expect(view.target.querySelector("ol.mentions a")?.getAttribute("href")).toBe("https://www.reddit.com/r/selfhosted/c/2/");

    const pauseFeed = [...view.target.querySelectorAll("section")].find((s) => s.textContent?.includes("Live mentions"))!;
    click(button(pauseFeed, "Pause"));
    socket.push({ type: "data", id: subscribe.id, topic: "events", at: "x", data: { events: [mention(3)], skipped: 0 } });
    await until(() => expect(pauseFeed.textContent).toContain("1 new waiting"));
    expect(feed()).toHaveLength(2);
    click(button(pauseFeed, /^Resume/));
    await until(() => expect(feed()[0]).toBe("has anyone tried vigil 3"));
  });

  test("an editor stops monitoring with the switch", async () => {
    signIn("admin");
    const server = fakeApi({ ...routes(), "POST /api/auto-monitor/stop": () => json({ desired_state: "stopped", agents_notified: 1 }, 202) });
    const view = render(Reddit);
    await until(() => expect(view.target.querySelector('[role="switch"]')).not.toBeNull());
    const toggle = view.target.querySelector('[role="switch"]')!;
    expect(toggle.getAttribute("aria-checked")).toBe("true");
    expect(toggle.textContent?.replace(/\s+/g, " ").trim()).toBe("Monitoring on");
    server.on("GET /api/auto-monitor/status", { ...status, desired_state: "stopped" });
    click(toggle);
    await until(() => expect(server.calls("POST /api/auto-monitor/stop")).toHaveLength(1));
    await until(() => expect(view.target.querySelector('[role="switch"]')?.getAttribute("aria-checked")).toBe("false"));
    expect(view.text()).toContain("stopped");
  });
});
