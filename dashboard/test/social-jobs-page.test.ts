import { describe, expect, test } from "vitest";
import Jobs from "../src/pages/social/Jobs.svelte";
import { button, click, control, render, textOf, type, until } from "./support/dom.js";
import { fakeApi, json } from "./support/fake-api.js";
import { CSRF, signIn } from "./support/session.js";

const job = (over: Record<string, unknown> = {}) => ({
  id: "job-1",
  user: "key_1",
  name: "Vigil channel",
  platform: "youtube",
  target_url: "https://www.youtube.com/channel/UC0123456789abcdefghijkl",
  target_type: "channel",
  frequency: "daily",
  interval_minutes: null,
  cron: null,
  timezone: "UTC",
  max_items_per_run: 50,
  status: "active",
  last_run_at: null,
  next_run_at: new Date(Date.now() + 3_700_000).toISOString(),
  total_runs: 0,
  successful_runs: 0,
  failed_runs: 0,
  notify_on_new_content: false,
  notify_on_failure: false,
  notification_email: null,
  created_at: "2026-11-27T10:00:00.000Z",
  updated_at: "2026-11-27T10:00:00.000Z",
  ...over,
});

const run = (over: Record<string, unknown> = {}) => ({
  id: "run-1",
  job_id: "job-1",
  status: "failed",
  start_time: new Date(Date.now() - 60_000).toISOString(),
  end_time: new Date(Date.now() - 59_000).toISOString(),
  items_found: 0,
  items_processed: 0,
  new_items_downloaded: 0,
  error_message: "YouTube answered 404 for channel UC0123456789abcdefghijkl: check that the channel id is right",
  trigger: "schedule",
  agent: "key_2",
  ...over,
});

const rowsText = (root: ParentNode, selector = "tbody tr") => [...root.querySelectorAll(selector)].map(textOf);

describe("Social jobs page", () => {
  test("a viewer: the empty state says what to do, the page is ready, and no write control is offered", async () => {
    signIn("viewer");
    fakeApi({ "GET /api/monitoring/jobs": { jobs: [], next_cursor: null } });
    const view = render(Jobs);
    await until(() => expect(view.text()).toContain("No monitoring jobs yet"));
    expect(view.text()).toContain('An editor or admin creates jobs here; an agent running the social plugin (use: "@vigil/plugin-social") then runs them — see plugins/social/README.md.');
    await until(() => expect(document.body.dataset.ready).toBe("social"));
    expect(() => button(view.target, "New job")).toThrow();
  });

  test("a viewer reads a job, its last run and its history, without Run now / Pause / Edit / Delete", async () => {
    signIn("viewer");
    const ran = job({ last_run_at: run().start_time, total_runs: 3, successful_runs: 2, failed_runs: 1, cron: "0 9 * * 1-5", timezone: "America/New_York" });
    const server = fakeApi({
      "GET /api/monitoring/jobs": { jobs: [ran, job({ id: "job-2", name: "Paused feed", platform: "rss", target_type: "feed", target_url: "https://example.com/feed.xml", status: "paused", next_run_at: null, frequency: "custom", interval_minutes: 90 })], next_cursor: null },
      "GET /api/monitoring/jobs/job-1/runs": (r: { url: URL }) =>
        json({ runs: r.url.searchParams.get("limit") === "1" ? [run()] : [run(), run({ id: "run-0", status: "completed", items_found: 12, items_processed: 12, new_items_downloaded: 3, error_message: null, start_time: new Date(Date.now() - 7_200_000).toISOString(), end_time: new Date(Date.now() - 7_196_000).toISOString() })], next_cursor: null }),
    });
    const view = render(Jobs);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2));
    // The last run's result comes from its runs (the job only says when).
    await until(() => expect(rowsText(view.target)[0]).toContain("YouTube answered 404"));
    const [first, second] = rowsText(view.target);
    expect(first).toContain("cron 0 9 * * 1-5 (America/New_York)");
    expect(first).toContain("in 1h");
    expect(first).toContain("2 ok · 1 failed");
    expect(second).toContain("every 1h 30m");
    expect(second).toContain("paused");
    expect(second).toContain("never");
    expect(server.calls("GET /api/monitoring/jobs/job-1/runs")[0]!.url.searchParams.get("limit")).toBe("1");
    const labels = [...view.target.querySelectorAll("tbody button")].map((b) => b.textContent?.trim());
    expect(labels).toEqual(["History", "History"]);

    click(button(view.target.querySelector("tbody tr")!, "History"));
    const history = () => view.target.querySelector("section.history")!;
    await until(() => expect(history().querySelectorAll("tbody tr")).toHaveLength(2));
    expect(history().textContent).toContain("3 in all · 2 completed · 1 failed");
    const runs = rowsText(history());
    expect(runs[0]).toMatch(/failed schedule 0 0 1s YouTube answered 404/);
    expect(runs[1]).toMatch(/completed schedule 12 3 4s —/);
  });

  test("an editor creates a job with a live schedule preview, and runs it now", async () => {
    signIn("editor");
    const created = job({ id: "job-7", name: "Weekday videos", cron: "0 9 * * 1-5", timezone: "America/New_York" });
    let delivered = 0;
    let listed: unknown[] = [];
    const server = fakeApi({
      "GET /api/monitoring/jobs": () => json({ jobs: listed, next_cursor: null }),
      "POST /api/monitoring/jobs": () => json(created, 201),
      "POST /api/monitoring/jobs/job-7/execute": () =>
        json(
          delivered === 0
            ? { job_id: "job-7", run_id: "run-a", delivered: 0, message: "no agent of this tenant is connected to this collector, so nothing will run it now (commands are not queued); start an agent with the social plugin, or execute again once it is connected" }
            : { job_id: "job-7", run_id: "run-b", delivered: 1, message: "sent to 1 connected agent stream(s); the run appears under /api/monitoring/jobs/job-7/runs" },
          202,
        ),
      "GET /api/monitoring/jobs/job-7/runs": { runs: [], next_cursor: null },
    });
    const view = render(Jobs);
    await until(() => expect(view.text()).toContain("Create one with “New job”"));
    click(button(view.target, "New job"));
    // The dialog's code (with the cron parser) loads on first use.
    await until(() => expect(document.querySelector("dialog[open]")).not.toBeNull());
    const dialog = document.querySelector("dialog[open]")!;
    expect(dialog.textContent).toContain("New monitoring job");

    type(control(dialog, "Name"), "Weekday videos");
    type(control(dialog, "Target URL"), "https://www.youtube.com/channel/UC0123456789abcdefghijkl");
    // Daily by default: a new interval job runs at once, then every 24 h.
    const preview = () => [...dialog.querySelectorAll('[data-testid="schedule-runs"] li')].map((li) => li.textContent!.replace(/\s+/g, " ").trim());
    await until(() => expect(preview()).toHaveLength(5));
    expect(preview()[0]).toContain("at once");
    expect(preview()[1]).toContain("in 1d");

    type(control(dialog, "Runs"), "cron");
    type(control(dialog, "Cron expression"), "61 * * * *");
    await until(() => expect(dialog.querySelector('[data-testid="schedule-error"]')?.textContent).toMatch(/^cannot parse: /));
    expect(preview()).toHaveLength(0);
    type(control(dialog, "Cron expression"), "0 9 * * 1-5");
    type(control(dialog, "Time zone"), "America/New_York");
    await until(() => expect(preview()).toHaveLength(5));
    // Each run at 09:00 in New York, whatever the browser's zone.
    for (const line of preview()) expect(line).toMatch(/ 09:00:00 America\/New_York$/);
    expect(dialog.querySelector('[data-testid="schedule-error"]')).toBeNull();

    listed = [created];
    click(button(dialog, "Create job"));
    await until(() => expect(server.calls("POST /api/monitoring/jobs")).toHaveLength(1));
    const [request] = server.calls("POST /api/monitoring/jobs");
    expect(request!.body).toMatchObject({ name: "Weekday videos", platform: "youtube", target_type: "channel", cron: "0 9 * * 1-5", timezone: "America/New_York", status: "active" });
    expect(request!.headers.get("X-CSRF-Token")).toBe(CSRF);
    await until(() => expect(rowsText(view.target)[0]).toContain("Weekday videos"));

    // No agent connected: the collector's message is shown, nothing waits.
    click(button(view.target, "Run now"));
    await until(() => expect(view.target.querySelector('[data-testid="execute-notice"]')?.textContent).toContain("no agent of this tenant is connected"));
    expect(view.target.querySelector("section.history")).toBeNull();

    // Delivered: the history opens and waits for that run.
    delivered = 1;
    click(button(view.target, "Run now"));
    await until(() => expect(view.target.querySelector('[data-testid="execute-notice"]')?.textContent).toContain("sent to 1 connected agent stream(s)"));
    await until(() => expect(view.target.querySelector("section.history")?.textContent).toContain("Waiting for the agent to report the run"));
    server.on("GET /api/monitoring/jobs/job-7/runs", { runs: [run({ id: "run-b", job_id: "job-7", status: "completed", trigger: "execute", items_found: 2, new_items_downloaded: 2, error_message: null })], next_cursor: null });
    await until(() => expect(view.target.querySelector("section.history tbody")?.textContent).toContain("execute"), 5000);
    expect(view.target.querySelector("section.history")?.textContent).not.toContain("Waiting for the agent");
  });

  test("editing sends the changed job without its status, and shows the collector's refusal by its field", async () => {
    signIn("editor");
    const refusal = "this is not a channel URL; for youtube channel targets, target_url looks like https://www.youtube.com/channel/UC…";
    const server = fakeApi({
      "GET /api/monitoring/jobs": { jobs: [job({ status: "paused", next_run_at: null, frequency: "custom", interval_minutes: 30, last_run_at: new Date(Date.now() - 10 * 60_000).toISOString() })], next_cursor: null },
      "PUT /api/monitoring/jobs/job-1": () => json({ error: { code: "invalid_argument", message: `target_url: ${refusal}`, details: [{ path: "target_url", message: refusal }] } }, 400),
    });
    const view = render(Jobs);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(1));
    click(button(view.target, "Edit"));
    await until(() => expect(document.querySelector("dialog[open]")).not.toBeNull());
    const dialog = document.querySelector("dialog[open]")!;
    expect((control(dialog, "Minutes between runs") as HTMLInputElement).value).toBe("30");
    // It ran 10 minutes ago: next in 20 minutes, then every 30.
    const preview = [...dialog.querySelectorAll('[data-testid="schedule-runs"] li')].map((li) => li.textContent!.replace(/\s+/g, " ").trim());
    expect(preview[0]).toContain("in 20m");
    expect(preview[1]).toContain("in 50m");

    type(control(dialog, "Target URL"), "https://www.youtube.com/@vigil");
    click(button(dialog, "Save job"));
    await until(() => expect(dialog.textContent).toContain(refusal));
    const body = server.calls("PUT /api/monitoring/jobs/job-1")[0]!.body as Record<string, unknown>;
    expect(body).toMatchObject({ target_url: "https://www.youtube.com/@vigil", frequency: "custom", interval_minutes: 30, cron: null });
    expect(body).not.toHaveProperty("status");
    expect(control(dialog, "Target URL").getAttribute("aria-invalid")).toBe("true");
  });

  test("pause, resume and delete (with confirmation)", async () => {
    signIn("admin");
    const server = fakeApi({
      "GET /api/monitoring/jobs": { jobs: [job()], next_cursor: null },
      "PUT /api/monitoring/jobs/job-1": (r: { body: any }) => json(job({ status: r.body.status, next_run_at: r.body.status === "paused" ? null : new Date().toISOString() })),
      "DELETE /api/monitoring/jobs/job-1": () => new Response(null, { status: 204 }),
    });
    const view = render(Jobs);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(1));
    click(button(view.target, "Pause"));
    await until(() => expect(rowsText(view.target)[0]).toMatch(/paused/));
    expect(server.calls("PUT /api/monitoring/jobs/job-1")[0]!.body).toEqual({ status: "paused" });
    click(button(view.target, "Resume"));
    await until(() => expect(server.calls("PUT /api/monitoring/jobs/job-1")).toHaveLength(2));
    expect(server.calls("PUT /api/monitoring/jobs/job-1")[1]!.body).toEqual({ status: "active" });

    click(button(view.target, "Delete"));
    const confirm = [...document.querySelectorAll("dialog[open]")].find((d) => d.textContent?.includes("Delete job"))!;
    expect(confirm.textContent).toContain("Its run history is kept.");
    expect(server.calls("DELETE /api/monitoring/jobs/job-1")).toHaveLength(0);
    click(button(confirm, "Delete job"));
    await until(() => expect(view.text()).toContain("No monitoring jobs yet"));
    expect(server.calls("DELETE /api/monitoring/jobs/job-1")).toHaveLength(1);
  });
});
