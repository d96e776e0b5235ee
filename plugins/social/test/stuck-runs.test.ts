import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { REPO_ROOT } from "../../../test/support/collector-process.js";
import { startInProcess } from "../../../test/support/in-process.js";
import { ingest, jobBody, runEvent } from "./run-events.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
let otherTenant: string;
let readKey: string;

const MINUTE = 60_000;
const AUTO_REASON = "marked failed: in progress longer than 10 min (stuck)";

beforeAll(async () => {
  // Alerting off: its 30 s stuck-run task would mark runs these tests expect to see in progress.
  env = await startInProcess({ plugins: [join(REPO_ROOT, "plugins/social/dist/collector.js")], alerting: "off" });
  otherTenant = (await env.request("POST", "/api/tenants", { body: { id: "tenant-b", name: "B" } })).json.token;
  readKey = (await env.request("POST", "/api/keys", { body: { name: "viewer", scopes: ["read"] } })).json.token;
});
afterAll(async () => {
  await env?.close();
});

async function createJob(name: string) {
  const res = await env.request("POST", "/api/monitoring/jobs", { body: jobBody({ name, frequency: "hourly" }) });
  expect(res.status, res.text).toBe(201);
  return res.json as { id: string };
}

async function startRun(jobId: string, startedAgoMs: number): Promise<string> {
  const start = Date.now() - startedAgoMs;
  const runId = uuidv7(start);
  await ingest(env, [runEvent({ job_id: jobId, run_id: runId, status: "in_progress", start_time: start, trigger: "schedule" })]);
  return runId;
}

const stuckIds = async (query = "") => {
  const res = await env.request("GET", `/api/admin/stuck-jobs${query}`);
  expect(res.status, res.text).toBe(200);
  return res.json.stuck_jobs.map((r: { id: string }) => r.id);
};

const runOf = async (jobId: string, runId: string) =>
  (await env.request("GET", `/api/monitoring/jobs/${jobId}/runs`)).json.runs.find((r: { id: string }) => r.id === runId);

describe("stuck runs (the seeds' stuck-job check)", () => {
  it("lists a run in progress longer than the limit, and a reset marks it failed with the reason", async () => {
    const job = await createJob("stuck job");
    const stuck = await startRun(job.id, 11 * MINUTE);
    const recent = await startRun(job.id, 2 * MINUTE);

    const listed = await env.request("GET", "/api/admin/stuck-jobs");
    expect(listed.status, listed.text).toBe(200);
    expect(listed.json).toMatchObject({ stuck_after_ms: 10 * MINUTE, auto_fail_after_ms: 10 * MINUTE, next_cursor: null });
    expect(listed.json.stuck_jobs).toEqual([
      expect.objectContaining({ id: stuck, job_id: job.id, job_name: "stuck job", platform: "youtube", job_status: "active", status: "in_progress", trigger: "schedule" }),
    ]);
    expect(listed.json.stuck_jobs[0].in_progress_ms).toBeGreaterThanOrEqual(11 * MINUTE);
    expect(await stuckIds("?stuck_after=15m")).toEqual([]);
    expect(await stuckIds("?stuck_after=1m")).toEqual([recent, stuck]);

    const reset = await env.request("POST", `/api/admin/stuck-jobs/${stuck}/reset`);
    expect(reset.status, reset.text).toBe(200);
    expect(reset.json).toMatchObject({ id: stuck, status: "failed", error_message: "marked failed: reset by an administrator after 11 min in progress (stuck)" });
    expect(Date.parse(reset.json.end_time)).toBeGreaterThan(Date.now() - MINUTE);
    expect(await stuckIds()).toEqual([]);

    const again = await env.request("POST", `/api/admin/stuck-jobs/${stuck}/reset`);
    expect(again.status).toBe(404);
    expect(again.json.error.message).toContain("it is failed");
    expect((await env.request("POST", `/api/admin/stuck-jobs/${uuidv7()}/reset`)).status).toBe(404);

    // The administrator decides: a shorter run in progress can be reset too.
    expect((await env.request("POST", `/api/admin/stuck-jobs/${recent}/reset`)).json.status).toBe("failed");
    const read = (await env.request("GET", `/api/monitoring/jobs/${job.id}`)).json;
    expect(read).toMatchObject({ total_runs: 2, successful_runs: 0, failed_runs: 2 });
  });

  it("marks runs stuck past the limit failed on its own when jobs or runs are read", async () => {
    const job = await createJob("auto job");
    const stuck = await startRun(job.id, 11 * MINUTE);
    const running = await startRun(job.id, 3 * MINUTE);

    expect(await runOf(job.id, stuck)).toMatchObject({ status: "failed", error_message: AUTO_REASON });
    expect(await runOf(job.id, running)).toMatchObject({ status: "in_progress", end_time: null });
    expect(await stuckIds("?stuck_after=1m")).toEqual([running]);
    expect((await env.request("GET", `/api/monitoring/jobs/${job.id}`)).json).toMatchObject({ total_runs: 2, failed_runs: 1 });

    // Through the job list as well.
    const other = await createJob("auto job 2");
    const stuck2 = await startRun(other.id, 12 * MINUTE);
    const listed = (await env.request("GET", "/api/monitoring/jobs")).json.jobs.find((j: { id: string }) => j.id === other.id);
    expect(listed).toMatchObject({ total_runs: 1, failed_runs: 1 });
    expect(await runOf(other.id, stuck2)).toMatchObject({ status: "failed", error_message: AUTO_REASON });

    // The run's own end, arriving late after all, replaces the mark.
    const start = Date.now() - 11 * MINUTE;
    await ingest(env, [runEvent({ job_id: job.id, run_id: stuck, status: "completed", start_time: start, end_time: Date.now(), items_found: 4 })]);
    expect(await runOf(job.id, stuck)).toMatchObject({ status: "completed", error_message: null, items_found: 4 });
  });

  it("announces each run it marks stuck as social.run_stuck, and social.run_failed for jobs that ask", async () => {
    const quiet = await createJob("quiet stuck job");
    const loud = await env.request("POST", "/api/monitoring/jobs", {
      body: jobBody({ name: "loud stuck job", frequency: "hourly", notify_on_failure: true, notification_email: "ops@example.com" }),
    });
    expect(loud.status, loud.text).toBe(201);
    const quietRun = await startRun(quiet.id, 13 * MINUTE);
    const loudRun = await startRun(loud.json.id, 14 * MINUTE);
    await env.request("GET", "/api/monitoring/jobs");

    const events = async (type: string) => (await env.request("GET", `/v1/events?source=social&type=${type}`)).json.events as { agent?: string; attrs: Record<string, string> }[];
    // Earlier tests' stuck runs were announced too: look at this test's two.
    const stuck = (await events("social.run_stuck")).filter((e) => e.attrs.run_id === quietRun || e.attrs.run_id === loudRun);
    expect(stuck.map((e) => e.attrs.run_id).sort()).toEqual([quietRun, loudRun].sort());
    const loudStuck = stuck.find((e) => e.attrs.run_id === loudRun)!;
    expect(loudStuck.attrs).toMatchObject({ job_id: loud.json.id, job_name: "loud stuck job", platform: "youtube" });
    expect(Number(loudStuck.attrs.in_progress_ms)).toBeGreaterThanOrEqual(14 * MINUTE);
    const failed = (await events("social.run_failed")).filter((e) => e.attrs.run_id === loudRun || e.attrs.run_id === quietRun);
    expect(failed.map((e) => e.attrs)).toEqual([expect.objectContaining({ run_id: loudRun, notification_email: "ops@example.com", error_message: AUTO_REASON })]);

    // Marked once, announced once: a second read finds nothing new to mark.
    await env.request("GET", "/api/monitoring/jobs");
    expect((await events("social.run_stuck")).filter((e) => e.attrs.run_id === loudRun)).toHaveLength(1);
  });

  it("is for administrators, within their tenant", async () => {
    const job = await createJob("tenant a job");
    const stuck = await startRun(job.id, 20 * MINUTE);
    expect((await env.request("GET", "/api/admin/stuck-jobs", { token: otherTenant })).json.stuck_jobs).toEqual([]);
    expect((await env.request("POST", `/api/admin/stuck-jobs/${stuck}/reset`, { token: otherTenant })).status).toBe(404);
    expect((await env.request("GET", "/api/admin/stuck-jobs", { token: readKey })).status).toBe(403);
    expect((await env.request("POST", `/api/admin/stuck-jobs/${stuck}/reset`, { token: readKey })).status).toBe(403);
    for (const query of ["?stuck_after=soon", "?stuck_after=0s", "?limit=5000", "?colour=red"]) {
      expect((await env.request("GET", `/api/admin/stuck-jobs${query}`)).status, query).toBe(400);
    }
    expect(await stuckIds()).toEqual([stuck]);
  });
});
