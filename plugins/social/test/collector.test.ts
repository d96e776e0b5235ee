import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { openAgentStream } from "../../../collector/test/support/agent-stream.js";
import { REPO_ROOT, TEST_TOKEN } from "../../../test/support/collector-process.js";
import { startInProcess } from "../../../test/support/in-process.js";
import { JOBS_CHANGED, RUN_JOB, SYNC_PATH, syncResponseSchema } from "../src/jobs-protocol.js";
import { ingest, jobBody, runEvent } from "./run-events.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
let otherTenant: string;
let ingestKey: string;
let readKey: string;

const MINUTE = 60_000;

beforeAll(async () => {
  env = await startInProcess({ plugins: [join(REPO_ROOT, "plugins/social/dist/collector.js")] });
  otherTenant = (await env.request("POST", "/api/tenants", { body: { id: "tenant-b", name: "B" } })).json.token;
  ingestKey = (await env.request("POST", "/api/keys", { body: { name: "agent", scopes: ["ingest"] } })).json.token;
  readKey = (await env.request("POST", "/api/keys", { body: { name: "viewer", scopes: ["read"] } })).json.token;
});
afterAll(async () => {
  await env?.close();
});

async function createJob(overrides: Record<string, unknown> = {}, token?: string) {
  const res = await env.request("POST", "/api/monitoring/jobs", { ...(token ? { token } : {}), body: jobBody(overrides) });
  expect(res.status, res.text).toBe(201);
  return res.json;
}

async function getJob(id: string) {
  const res = await env.request("GET", `/api/monitoring/jobs/${id}`);
  expect(res.status, res.text).toBe(200);
  return res.json;
}

async function syncedJobs(token = ingestKey) {
  const res = await env.request("GET", SYNC_PATH, { token });
  expect(res.status, res.text).toBe(200);
  return syncResponseSchema.parse(res.json).jobs;
}

const listIds = async (query = "") => (await env.request("GET", `/api/monitoring/jobs${query}`)).json.jobs.map((j: { id: string }) => j.id);

/**
 * The first time at or after `from` (stepping `stepMs` from a multiple of it) whose wall
 * clock in `timeZone` satisfies `wanted`: an independent check of croner's answers.
 */
function firstWallClock(from: number, stepMs: number, timeZone: string, wanted: (t: { weekday: string; day: number; hour: number; minute: number }) => boolean): number {
  const format = new Intl.DateTimeFormat("en-US", { timeZone, weekday: "short", day: "numeric", hour: "numeric", minute: "numeric", hourCycle: "h23" });
  for (let t = Math.ceil(from / stepMs) * stepMs; t < from + 40 * 1_440 * MINUTE; t += stepMs) {
    const parts = Object.fromEntries(format.formatToParts(t).map((p) => [p.type, p.value]));
    if (wanted({ weekday: parts.weekday!, day: Number(parts.day), hour: Number(parts.hour), minute: Number(parts.minute) })) return t;
  }
  throw new Error("no such time within 40 days");
}

describe("monitoring jobs (the social plugin's collector part)", () => {
  it("creates a job from the seed's body with its defaults, and lists, reads, changes and deletes it", async () => {
    const before = Date.now();
    const created = await createJob();
    expect(created).toMatchObject({
      name: "Fireship uploads",
      platform: "youtube",
      target_type: "channel",
      frequency: "daily",
      interval_minutes: null,
      cron: null,
      timezone: "UTC",
      max_items_per_run: 50,
      status: "active",
      last_run_at: null,
      total_runs: 0,
      successful_runs: 0,
      failed_runs: 0,
      notify_on_new_content: false,
      notify_on_failure: false,
      notification_email: null,
    });
    expect(created.user).toMatch(/\S/);
    expect(Date.parse(created.created_at)).toBeGreaterThanOrEqual(before - 1000);
    expect(created.updated_at).toBe(created.created_at);
    // Never run: an interval job is due at once.
    expect(Math.abs(Date.parse(created.next_run_at) - Date.now())).toBeLessThan(30_000);

    const id = created.id;
    expect(await listIds()).toContain(id);
    expect(await getJob(id)).toMatchObject({ id, name: "Fireship uploads", status: "active" });

    const put = await env.request("PUT", `/api/monitoring/jobs/${id}`, {
      body: { name: "Fireship", max_items_per_run: 10, notify_on_failure: true, notification_email: "ops@example.com" },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.json).toMatchObject({ name: "Fireship", max_items_per_run: 10, notify_on_failure: true, notification_email: "ops@example.com", frequency: "daily" });
    expect(Date.parse(put.json.updated_at)).toBeGreaterThanOrEqual(Date.parse(created.updated_at));
    expect((await getJob(id)).name).toBe("Fireship");

    // A client may PUT back what it read, computed fields included.
    const roundTrip = await env.request("PUT", `/api/monitoring/jobs/${id}`, { body: { ...(await getJob(id)), name: "Fireship channel" } });
    expect(roundTrip.status, roundTrip.text).toBe(200);
    expect(roundTrip.json).toMatchObject({ id, name: "Fireship channel", created_at: created.created_at });

    expect((await env.request("DELETE", `/api/monitoring/jobs/${id}`)).status).toBe(204);
  });

  it("filters the list by status and platform, newest first, a page at a time", async () => {
    const a = await createJob({ name: "rss a", platform: "rss", target_type: "feed", target_url: "https://blog.example.com/a.xml" });
    const b = await createJob({ name: "rss b", platform: "rss", target_type: "feed", target_url: "https://blog.example.com/b.xml", status: "paused" });
    const c = await createJob({ name: "rss c", platform: "rss", target_type: "feed", target_url: "https://blog.example.com/c.xml" });
    expect(await listIds("?platform=rss")).toEqual([c.id, b.id, a.id]);
    expect(await listIds("?platform=rss&status=paused")).toEqual([b.id]);

    const first = await env.request("GET", "/api/monitoring/jobs?platform=rss&limit=2");
    expect(first.json.jobs.map((j: { id: string }) => j.id)).toEqual([c.id, b.id]);
    const second = await env.request("GET", `/api/monitoring/jobs?platform=rss&limit=2&cursor=${first.json.next_cursor}`);
    expect(second.json.jobs.map((j: { id: string }) => j.id)).toEqual([a.id]);
    expect(second.json.next_cursor).toBeNull();

    for (const [query, path] of [
      ["?status=running", "status"],
      ["?platform=myspace", "platform"],
      ["?limit=0", "limit"],
      ["?cursor=nonsense", "cursor"],
      ["?colour=red", ""],
    ]) {
      const res = await env.request("GET", `/api/monitoring/jobs${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json.error.details.map((d: { path: string }) => d.path), query).toContain(path);
    }
  });

  it.each([
    [{ frequency: "custom" }, "interval_minutes", "a custom job needs interval_minutes ≥ 1"],
    [{ frequency: "custom", interval_minutes: 0 }, "interval_minutes", "at least 1"],
    [{ frequency: "custom", interval_minutes: 2.5 }, "interval_minutes", "whole number"],
    [{ cron: "61 * * * *" }, "cron", "cannot parse: "],
    [{ cron: "every day" }, "cron", "cannot parse: "],
    [{ cron: "*/5 * * * * * *" }, "cron", "cannot parse: "],
    [{ cron: "0 0 30 2 *" }, "cron", "cannot parse: it never runs again"],
    [{ timezone: "Mars/Olympus_Mons" }, "timezone", "is not an IANA time zone"],
    [{ target_url: "https://www.youtube.com/watch?v=dQw4w9WgXcQ" }, "target_url", "target_url looks like https://www.youtube.com/channel/UC"],
    [{ target_url: "not a url" }, "target_url", "not an http(s) URL"],
    [{ platform: "mastodon" }, "target_type", 'target_type "channel" does not suit platform mastodon'],
    [{ target_type: "hashtag" }, "target_type", "use channel or playlist"],
    [{ platform: "myspace" }, "platform", "platform is one of youtube"],
    [{ max_items_per_run: 0 }, "max_items_per_run", "between 1 and 1000"],
    [{ max_items_per_run: 1001 }, "max_items_per_run", "between 1 and 1000"],
    [{ notification_email: "not-an-email" }, "notification_email", "not a valid email address"],
    [{ frequency: "fortnightly" }, "frequency", "frequency is one of hourly, daily, weekly, monthly, custom"],
    [{ status: "deleted" }, "status", 'status is "active" or "paused"'],
    [{ name: "" }, "name", "name is empty"],
    [{ colour: "red" }, "", "colour"],
  ])("refuses %j with a 400 naming the field", async (overrides, path, message) => {
    const res = await env.request("POST", "/api/monitoring/jobs", { body: jobBody(overrides) });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe("invalid_argument");
    const detail = res.json.error.details.find((d: { path: string }) => d.path === path);
    expect(detail, res.text).toBeDefined();
    expect(path === "" ? res.json.error.message : detail.message).toContain(message);
  });

  it("checks the job as a whole after a PUT", async () => {
    const job = await createJob();
    const cases: [Record<string, unknown>, string][] = [
      [{ frequency: "custom" }, "interval_minutes"],
      [{ target_type: "playlist" }, "target_url"],
      [{ platform: "rss" }, "target_type"],
      [{ timezone: "Nowhere/Land", cron: "0 9 * * *" }, "timezone"],
      [{ status: "deleted" }, "status"],
    ];
    for (const [body, path] of cases) {
      const res = await env.request("PUT", `/api/monitoring/jobs/${job.id}`, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.details.map((d: { path: string }) => d.path), JSON.stringify(body)).toContain(path);
    }
    const ok = await env.request("PUT", `/api/monitoring/jobs/${job.id}`, { body: { frequency: "custom", interval_minutes: 15, notification_email: "" } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toMatchObject({ frequency: "custom", interval_minutes: 15, notification_email: null });
    expect((await env.request("PUT", `/api/monitoring/jobs/${uuidv7()}`, { body: { name: "x" } })).status).toBe(404);
  });

  it("computes next_run_at from the last run for each frequency, and from a cron in its time zone", async () => {
    const lastRun = Date.now() - 5 * MINUTE;
    const cases: [Record<string, unknown>, number][] = [
      [{ frequency: "hourly" }, lastRun + 60 * MINUTE],
      [{ frequency: "daily" }, lastRun + 1_440 * MINUTE],
      [{ frequency: "weekly" }, lastRun + 10_080 * MINUTE],
      [{ frequency: "custom", interval_minutes: 30 }, lastRun + 30 * MINUTE],
      [{ frequency: "monthly", timezone: "Europe/Paris" }, firstWallClock(lastRun + 1, 60 * MINUTE, "Europe/Paris", (t) => t.day === 1 && t.hour === 0 && t.minute === 0)],
    ];
    for (const [schedule, expected] of cases) {
      const job = await createJob(schedule);
      await ingest(env, [runEvent({ job_id: job.id, run_id: uuidv7(lastRun), status: "completed", start_time: lastRun, end_time: lastRun + 2000 })]);
      const read = await getJob(job.id);
      expect(read.last_run_at).toBe(new Date(lastRun).toISOString());
      expect(read.next_run_at, JSON.stringify(schedule)).toBe(new Date(expected).toISOString());
    }

    // A cron with a time zone (weekdays at 9 in New York) wins over the frequency; never run, it waits for its time.
    const weekdays = await createJob({ frequency: "daily", cron: "0 9 * * 1-5", timezone: "America/New_York" });
    const expected = firstWallClock(Date.now() + 1, MINUTE, "America/New_York", (t) => t.hour === 9 && t.minute === 0 && !["Sat", "Sun"].includes(t.weekday));
    expect(weekdays).toMatchObject({ cron: "0 9 * * 1-5", timezone: "America/New_York" });
    expect((await getJob(weekdays.id)).next_run_at).toBe(new Date(expected).toISOString());
    const synced = (await syncedJobs()).find((j) => j.id === weekdays.id);
    expect(synced?.schedule).toEqual({ kind: "cron", cron: "0 9 * * 1-5", timezone: "America/New_York" });

    // Overdue (the agent was down): due now.
    const overdue = await createJob({ frequency: "hourly" });
    await ingest(env, [runEvent({ job_id: overdue.id, run_id: uuidv7(), status: "completed", start_time: Date.now() - 3 * 60 * MINUTE, end_time: Date.now() - 3 * 60 * MINUTE + 1000 })]);
    expect(Math.abs(Date.parse((await getJob(overdue.id)).next_run_at) - Date.now())).toBeLessThan(30_000);
  });

  it("pauses and resumes: a paused job has no next run, and the agents keep it paused", async () => {
    const job = await createJob({ frequency: "hourly" });
    const paused = await env.request("PUT", `/api/monitoring/jobs/${job.id}`, { body: { status: "paused" } });
    expect(paused.json).toMatchObject({ status: "paused", next_run_at: null });
    expect((await getJob(job.id)).next_run_at).toBeNull();
    expect((await syncedJobs()).find((j) => j.id === job.id)?.status).toBe("paused");

    const resumed = await env.request("PUT", `/api/monitoring/jobs/${job.id}`, { body: { status: "active" } });
    expect(resumed.json.status).toBe("active");
    expect(resumed.json.next_run_at).not.toBeNull();
    expect((await syncedJobs()).find((j) => j.id === job.id)?.status).toBe("active");

    // Completed and failed jobs also stop, and leave the agents' jobs.
    await env.request("PUT", `/api/monitoring/jobs/${job.id}`, { body: { status: "completed" } });
    expect((await getJob(job.id)).next_run_at).toBeNull();
    expect((await syncedJobs()).map((j) => j.id)).not.toContain(job.id);
  });

  it("deletes softly: gone from the list and the agents' jobs, still readable by id as deleted", async () => {
    const job = await createJob({ notify_on_new_content: true, notify_on_failure: true, notification_email: "me@example.com" });
    const synced = (await syncedJobs()).find((j) => j.id === job.id);
    expect(synced).toEqual({
      id: job.id,
      name: "Fireship uploads",
      platform: "youtube",
      target_url: "https://www.youtube.com/channel/UCsBjURrPoezykLs9EqgamOA",
      target_type: "channel",
      schedule: { kind: "interval", every_ms: 1_440 * MINUTE },
      max_items_per_run: 50,
      notify_on_new_content: true,
      notify_on_failure: true,
      notification_email: "me@example.com",
      status: "active",
      updated_at: job.updated_at,
    });

    expect((await env.request("DELETE", `/api/monitoring/jobs/${job.id}`)).status).toBe(204);
    expect(await listIds()).not.toContain(job.id);
    expect(await listIds("?status=deleted")).toContain(job.id);
    expect((await syncedJobs()).map((j) => j.id)).not.toContain(job.id);
    expect(await getJob(job.id)).toMatchObject({ id: job.id, status: "deleted", next_run_at: null });
    expect((await env.request("DELETE", `/api/monitoring/jobs/${job.id}`)).status).toBe(204);

    const put = await env.request("PUT", `/api/monitoring/jobs/${job.id}`, { body: { status: "active" } });
    expect(put.status).toBe(409);
    expect(put.json.error.code).toBe("failed_precondition");
    expect((await env.request("DELETE", `/api/monitoring/jobs/${uuidv7()}`)).status).toBe(404);
  });

  it("files runs from the agents' social.run events, the final status once, and keeps the job's counters", async () => {
    const job = await createJob({ frequency: "hourly" });
    // Within the stuck-run limit (10 min), so the first run is still in progress when read.
    const t0 = Date.now() - 8 * MINUTE;
    const t1 = t0 + 2 * MINUTE;
    const first = uuidv7(t0);
    const second = uuidv7(t1);
    await ingest(env, [runEvent({ job_id: job.id, run_id: first, status: "in_progress", start_time: t0, trigger: "schedule" })]);
    expect((await env.request("GET", `/api/monitoring/jobs/${job.id}/runs`)).json.runs).toMatchObject([{ id: first, status: "in_progress", end_time: null }]);

    await ingest(env, [
      runEvent({ job_id: job.id, run_id: first, status: "completed", start_time: t0, end_time: t0 + 4000, items_found: 12, items_processed: 12, new_items_downloaded: 3 }),
      runEvent({ job_id: job.id, run_id: second, status: "in_progress", start_time: t1 }),
    ]);
    await ingest(env, [runEvent({ job_id: job.id, run_id: second, status: "failed", start_time: t1, end_time: t1 + 900, error_message: "YouTube answered 404 for channel UC…" })]);
    // A retried start arriving after the end does not undo it.
    await ingest(env, [runEvent({ job_id: job.id, run_id: first, status: "in_progress", start_time: t0 })]);

    const runs = await env.request("GET", `/api/monitoring/jobs/${job.id}/runs`);
    expect(runs.status, runs.text).toBe(200);
    expect(runs.json.runs).toEqual([
      {
        id: second,
        job_id: job.id,
        status: "failed",
        start_time: new Date(t1).toISOString(),
        end_time: new Date(t1 + 900).toISOString(),
        items_found: 0,
        items_processed: 0,
        new_items_downloaded: 0,
        error_message: "YouTube answered 404 for channel UC…",
        trigger: "schedule",
        agent: expect.any(String),
      },
      {
        id: first,
        job_id: job.id,
        status: "completed",
        start_time: new Date(t0).toISOString(),
        end_time: new Date(t0 + 4000).toISOString(),
        items_found: 12,
        items_processed: 12,
        new_items_downloaded: 3,
        error_message: null,
        trigger: "schedule",
        agent: expect.any(String),
      },
    ]);
    expect(runs.json.next_cursor).toBeNull();

    const page = await env.request("GET", `/api/monitoring/jobs/${job.id}/runs?limit=1`);
    expect(page.json.runs.map((r: { id: string }) => r.id)).toEqual([second]);
    const rest = await env.request("GET", `/api/monitoring/jobs/${job.id}/runs?limit=1&cursor=${page.json.next_cursor}`);
    expect(rest.json.runs.map((r: { id: string }) => r.id)).toEqual([first]);
    expect((await env.request("GET", `/api/monitoring/jobs/${job.id}/runs?status=completed`)).json.runs.map((r: { id: string }) => r.id)).toEqual([first]);

    const read = await getJob(job.id);
    expect(read).toMatchObject({ total_runs: 2, successful_runs: 1, failed_runs: 1, last_run_at: new Date(t1).toISOString() });
    expect(read.next_run_at).toBe(new Date(t1 + 60 * MINUTE).toISOString());
    const listed = (await env.request("GET", "/api/monitoring/jobs")).json.jobs.find((j: { id: string }) => j.id === job.id);
    expect(listed).toMatchObject({ total_runs: 2, successful_runs: 1, failed_runs: 1 });

    expect((await env.request("GET", `/api/monitoring/jobs/${uuidv7()}/runs`)).status).toBe(404);
  });

  it("execute pushes the run to the tenant's connected agents, and every change pushes the jobs", async () => {
    const job = await createJob();
    const none = await env.request("POST", `/api/monitoring/jobs/${job.id}/execute`);
    expect(none.status, none.text).toBe(202);
    expect(none.json).toMatchObject({ job_id: job.id, delivered: 0 });
    expect(none.json.run_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(none.json.message).toContain("no agent");

    const stream = await openAgentStream(env.collector.url, TEST_TOKEN, "social-agent-1");
    try {
      expect((await stream.next()).event).toBe("config");
      const executed = await env.request("POST", `/api/monitoring/jobs/${job.id}/execute`, { body: {} });
      expect(executed.status, executed.text).toBe(202);
      expect(executed.json.delivered).toBe(1);
      expect(await stream.next()).toEqual({ event: "command", data: { name: RUN_JOB, args: { job_id: job.id, run_id: executed.json.run_id } } });

      await env.request("PUT", `/api/monitoring/jobs/${job.id}`, { body: { status: "paused" } });
      expect(await stream.next()).toEqual({ event: "command", data: { name: JOBS_CHANGED, args: { id: job.id } } });
      // A paused job can still be run by hand.
      expect((await env.request("POST", `/api/monitoring/jobs/${job.id}/execute`)).json.delivered).toBe(1);
      expect((await stream.next()).data.name).toBe(RUN_JOB);

      const created = await createJob();
      expect(await stream.next()).toEqual({ event: "command", data: { name: JOBS_CHANGED, args: { id: created.id } } });
      await env.request("DELETE", `/api/monitoring/jobs/${created.id}`);
      expect(await stream.next()).toEqual({ event: "command", data: { name: JOBS_CHANGED, args: { id: created.id } } });

      const refused = await env.request("POST", `/api/monitoring/jobs/${created.id}/execute`);
      expect(refused.status).toBe(409);
      expect(refused.json.error).toMatchObject({ code: "failed_precondition", message: expect.stringContaining("deleted") });
    } finally {
      stream.close();
    }
    expect((await env.request("POST", `/api/monitoring/jobs/${uuidv7()}/execute`)).status).toBe(404);
  });

  it("gives each key its scope: the agents' read needs ingest, changes need admin", async () => {
    expect((await env.request("GET", "/api/monitoring/jobs", { token: readKey })).status).toBe(200);
    expect((await env.request("POST", "/api/monitoring/jobs", { token: readKey, body: jobBody() })).status).toBe(403);
    expect((await env.request("GET", SYNC_PATH, { token: readKey })).status).toBe(403);
    expect((await env.request("GET", SYNC_PATH, { token: ingestKey })).status).toBe(200);
    expect((await env.request("GET", "/api/monitoring/jobs", { token: null })).status).toBe(401);
  });

  it("keeps each tenant's jobs and runs to itself", async () => {
    const mine = await createJob({ name: "private to a" });
    await ingest(env, [runEvent({ job_id: mine.id, run_id: uuidv7(), status: "completed", start_time: Date.now() - MINUTE, end_time: Date.now() })]);
    // Tenant B's agent reporting a run under A's job id files it under B only.
    await ingest(env, [runEvent({ job_id: mine.id, run_id: uuidv7(), status: "failed", start_time: Date.now() - MINUTE, end_time: Date.now() })], otherTenant);

    const theirs = await env.request("GET", "/api/monitoring/jobs", { token: otherTenant });
    expect(theirs.json.jobs).toEqual([]);
    expect((await env.request("GET", SYNC_PATH, { token: otherTenant })).json.jobs).toEqual([]);
    for (const [method, path, body] of [
      ["GET", `/api/monitoring/jobs/${mine.id}`, undefined],
      ["PUT", `/api/monitoring/jobs/${mine.id}`, { status: "paused" }],
      ["DELETE", `/api/monitoring/jobs/${mine.id}`, undefined],
      ["GET", `/api/monitoring/jobs/${mine.id}/runs`, undefined],
      ["POST", `/api/monitoring/jobs/${mine.id}/execute`, undefined],
    ] as const) {
      expect((await env.request(method, path, { token: otherTenant, ...(body ? { body } : {}) })).status, `${method} ${path}`).toBe(404);
    }
    expect(await getJob(mine.id)).toMatchObject({ status: "active", total_runs: 1, successful_runs: 1, failed_runs: 0 });
  });
});
