// The social plugin end to end: a real collector (embedded ClickHouse, the plugin's
// collector part loaded), a real agent process running the plugin's agent part, and the
// fake YouTube in test/fakes/social as the only stand-in. Jobs are made through the
// collector's API; what the agent did is read back from the collector's runs and events.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { makeChannelId, startFakeYouTube, type FakeYouTube } from "./fakes/social/youtube.js";
import { AGENT_BIN, startAgentProcess, writeAgentConfig, type AgentProcess } from "./support/agent-process.js";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess, callApi } from "./support/collector-process.js";
import { eventually } from "./support/eventually.js";

const AGENT_PART = join(REPO_ROOT, "plugins/social/dist/agent.js");
const COLLECTOR_PART = join(REPO_ROOT, "plugins/social/dist/collector.js");
/** Every two seconds: second-level cron keeps the test short. */
const EVERY_2S = "*/2 * * * * *";
/** Once a year: a job that only runs when executed. */
const YEARLY = "0 0 1 1 *";

let youtube: FakeYouTube;
let collector: CollectorProcess;
let ingestKey: string;
const dirs: { remove(): void }[] = [];
const agents: AgentProcess[] = [];

beforeAll(async () => {
  youtube = await startFakeYouTube();
  const dir = tempDir("vigil-social-e2e-");
  dirs.push(dir);
  collector = await startCollectorProcess({ dataDir: join(dir.path, "collector"), args: ["--plugin", COLLECTOR_PART] });
  ingestKey = (await api("POST", "/api/keys", { name: "social-agents", scopes: ["ingest"] })).json.token;
});

afterEach(async () => {
  while (agents.length) await agents.pop()!.stop();
  for (const job of (await api("GET", "/api/monitoring/jobs?limit=100")).json.jobs) await api("DELETE", `/api/monitoring/jobs/${job.id}`);
  youtube.faults.clear();
});

afterAll(async () => {
  await collector?.kill();
  await youtube?.close();
  for (const dir of dirs) dir.remove();
});

/** The collector's API with its admin token (the collector starts in beforeAll). */
const api = (method: string, path: string, body?: unknown) => callApi(collector, method, path, body);

function newDir(): string {
  const dir = tempDir("vigil-social-agent-");
  dirs.push(dir);
  return dir.path;
}

function agentConfig(dataDir: string, plugin: Record<string, unknown> = {}) {
  return {
    collector: { url: collector.url, api_key: ingestKey, timeout: "5s" },
    agent: { name: "social-e2e", data_dir: dataDir },
    intake: { address: "127.0.0.1:0" },
    shipper: { flush_interval: "100ms", max_backoff: "1s" },
    heartbeat_interval: "1s",
    log: { format: "json", level: "info" },
    plugins: [{ id: "social", use: AGENT_PART, config: { base_urls: { youtube: youtube.url }, ...plugin } }],
  };
}

async function startAgent(dataDir = join(newDir(), "data"), plugin?: Record<string, unknown>): Promise<{ agent: AgentProcess; dataDir: string }> {
  const agent = await startAgentProcess(writeAgentConfig(newDir(), agentConfig(dataDir, plugin)));
  agents.push(agent);
  // Pushed job changes reach only an agent that holds its push connection.
  await eventually(async () => (await agent.status()).channel.push_connected, (c) => c === true, 10_000, "the push connection");
  return { agent, dataDir };
}

async function stopAgent(agent: AgentProcess): Promise<void> {
  agents.splice(agents.indexOf(agent), 1);
  await agent.stop();
}


const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function createJob(fields: Record<string, unknown>): Promise<any> {
  const response = await api("POST", "/api/monitoring/jobs", { name: "Vigil channel", platform: "youtube", target_type: "channel", frequency: "custom", ...fields });
  expect(response.status, JSON.stringify(response.json)).toBe(201);
  return response.json;
}

/** A channel on the fake with `videos` uploads, and a job watching it. */
async function channelJob(cron: string, videos = 0, fields: Record<string, unknown> = {}): Promise<{ job: any; channel: string }> {
  const channel = makeChannelId();
  youtube.addChannel(channel, "Vigil Channel");
  for (let i = 0; i < videos; i++) youtube.addVideo(channel, { title: `Video ${i}`, publishedAt: Date.now() - (videos - i) * 60_000 });
  const job = await createJob({ target_url: `https://www.youtube.com/channel/${channel}`, cron, ...fields });
  return { job, channel };
}

async function runs(jobId: string): Promise<any[]> {
  const response = await api("GET", `/api/monitoring/jobs/${jobId}/runs?limit=100`);
  expect(response.status).toBe(200);
  return response.json.runs;
}

async function events(type: string, jobId: string): Promise<any[]> {
  const response = await api("GET", `/v1/events?type=${type}&attr.job_id=${jobId}&limit=1000`);
  expect(response.status).toBe(200);
  return response.json.events;
}

const ended = (list: any[]) => list.filter((run) => run.status !== "in_progress");

describe("social jobs on an agent", () => {
  it("runs a job at each time of its schedule; each run is a row with its counts and each new item an event", async () => {
    await startAgent();
    const { job } = await channelJob(EVERY_2S, 3);
    const list = await eventually(() => runs(job.id), (r) => ended(r).length >= 3, 20_000, "three ended runs");
    const done = ended(list).reverse();
    expect(done[0]).toMatchObject({ job_id: job.id, status: "completed", items_found: 3, items_processed: 3, new_items_downloaded: 3, trigger: "schedule", error_message: null });
    expect(done[1]).toMatchObject({ status: "completed", items_found: 3, new_items_downloaded: 0 });
    // On the slots: each run started on an even second.
    for (const run of done.slice(0, 3)) expect(new Date(run.start_time).getUTCSeconds() % 2).toBe(0);
    const items = await events("social.item", job.id);
    expect(items).toHaveLength(3);
    expect(items.map((e) => e.attrs.title).sort()).toEqual(["Video 0", "Video 1", "Video 2"]);
    expect(items[0].attrs).toMatchObject({ platform: "youtube", job_id: job.id, job_name: "Vigil channel", author: "Vigil Channel" });
    expect(items[0].attrs.url).toMatch(/^https:\/\/www\.youtube\.com\/watch\?v=/);
    expect(Number(items[0].attrs.published_at)).toBeGreaterThan(0);
    // The job as the API shows it follows its runs.
    const shown = (await api("GET", `/api/monitoring/jobs/${job.id}`)).json;
    expect(shown.total_runs).toBeGreaterThanOrEqual(3);
    expect(Date.parse(shown.next_run_at)).toBeGreaterThan(Date.now() - 2_000);
  });

  it("reports an item once across an agent restart, and what is new after it", async () => {
    const { agent, dataDir } = await startAgent();
    const { job, channel } = await channelJob(EVERY_2S, 2);
    await eventually(() => runs(job.id), (r) => ended(r).length >= 2, 20_000, "two ended runs");
    await stopAgent(agent);
    youtube.addVideo(channel, { title: "While away" });
    await startAgent(dataDir);
    const before = ended(await runs(job.id)).length;
    await eventually(() => runs(job.id), (r) => ended(r).length >= before + 2, 20_000, "two runs after the restart");
    youtube.addVideo(channel, { title: "After restart" });
    await eventually(() => events("social.item", job.id), (e) => e.length >= 4, 20_000, "the newest item");
    await sleep(2_500);
    const titles = (await events("social.item", job.id)).map((e) => e.attrs.title).sort();
    expect(titles).toEqual(["After restart", "Video 0", "Video 1", "While away"]);
  });

  it("starts an executed run within a second, under the run id the API gave, and refuses an overlapping one", async () => {
    const { agent } = await startAgent();
    const { job } = await channelJob(YEARLY, 1);
    await eventually(async () => (await agent.status()).plugins[0].details.jobs_active, (n) => n === 1, 10_000, "the job on the agent");
    // Each run now takes three seconds: the second execute finds the first in progress.
    youtube.faults.slow(3_000);
    const sent = Date.now();
    const first = await api("POST", `/api/monitoring/jobs/${job.id}/execute`, {});
    expect(first.status).toBe(202);
    expect(first.json.delivered).toBe(1);
    const second = await api("POST", `/api/monitoring/jobs/${job.id}/execute`, {});
    expect(second.status).toBe(202);
    const [run] = await eventually(() => runs(job.id), (r) => r.length === 1, 10_000, "the executed run");
    expect(run).toMatchObject({ id: first.json.run_id, trigger: "execute" });
    expect(Date.parse(run.start_time) - sent).toBeLessThan(1_000);
    const refused = await agent.waitForLog((r) => r.msg === "execute refused: a run of this job is in progress; runs of one job never overlap", 5_000);
    expect(refused).toMatchObject({ job_id: job.id, run_id: second.json.run_id, running_run_id: first.json.run_id, outcome: "refused" });
    await eventually(() => runs(job.id), (r) => r[0].status === "completed", 10_000, "the run's end");
    expect((await runs(job.id)).map((r) => r.id)).toEqual([first.json.run_id]);
    expect((await agent.status()).plugins[0].details.runs_refused).toBe(1);
  });

  it("stops running a paused job and a deleted one", async () => {
    await startAgent();
    const { job: paused } = await channelJob(EVERY_2S, 1);
    const { job: deleted } = await channelJob(EVERY_2S, 1);
    await eventually(() => runs(paused.id), (r) => ended(r).length >= 1, 20_000, "a run of the first job");
    await eventually(() => runs(deleted.id), (r) => ended(r).length >= 1, 20_000, "a run of the second job");
    expect((await api("PUT", `/api/monitoring/jobs/${paused.id}`, { status: "paused" })).status).toBe(200);
    expect((await api("DELETE", `/api/monitoring/jobs/${deleted.id}`)).status).toBeLessThan(300);
    // A run that had started before the change may still end.
    await sleep(2_500);
    const counts = { paused: (await runs(paused.id)).length, deleted: (await runs(deleted.id)).length };
    await sleep(5_000);
    expect((await runs(paused.id)).length).toBe(counts.paused);
    expect((await runs(deleted.id)).length).toBe(counts.deleted);
    // Resumed, it runs again.
    expect((await api("PUT", `/api/monitoring/jobs/${paused.id}`, { status: "active" })).status).toBe(200);
    await eventually(() => runs(paused.id), (r) => r.length > counts.paused, 10_000, "a run after resuming");
  });

  it("fails a run with the platform's reason when the target does not exist, and notifies", async () => {
    await startAgent();
    const job = await createJob({ target_url: `https://www.youtube.com/channel/${makeChannelId()}`, cron: EVERY_2S, notify_on_failure: true, notification_email: "ops@example.com" });
    const [run] = ended(await eventually(() => runs(job.id), (r) => ended(r).length >= 1, 20_000, "a failed run"));
    expect(run.status).toBe("failed");
    expect(run.error_message).toMatch(/^YouTube answered 404 for channel UC.*: check that the channel id is right/);
    const [notice] = await eventually(() => events("social.run_failed", job.id), (e) => e.length >= 1, 10_000, "the failure notification");
    expect(notice.attrs).toMatchObject({ job_id: job.id, job_name: "Vigil channel", notification_email: "ops@example.com", error_message: run.error_message });
  });

  it("ends a run the agent was killed in as failed at its next start, under the same run id", async () => {
    const { agent, dataDir } = await startAgent();
    const { job } = await channelJob(YEARLY, 1);
    await eventually(async () => (await agent.status()).plugins[0].details.jobs_active, (n) => n === 1, 10_000, "the job on the agent");
    youtube.faults.slow(10_000);
    const executed = await api("POST", `/api/monitoring/jobs/${job.id}/execute`, {});
    await eventually(() => runs(job.id), (r) => r[0]?.status === "in_progress", 10_000, "the run in progress");
    agents.splice(agents.indexOf(agent), 1);
    await agent.kill();
    youtube.faults.clear();
    await startAgent(dataDir);
    const [run] = await eventually(() => runs(job.id), (r) => r[0]?.status === "failed", 10_000, "the interrupted run's end");
    expect(run).toMatchObject({ id: executed.json.run_id, trigger: "execute", error_message: "the agent stopped (or crashed) during this run, so it did not finish" });
  });

  it("runs a job whose slots passed while the agent was down once, as a catch-up", async () => {
    const { agent, dataDir } = await startAgent();
    const { job } = await channelJob(EVERY_2S, 1);
    await eventually(() => runs(job.id), (r) => ended(r).length >= 1, 20_000, "a run");
    await stopAgent(agent);
    const stoppedAt = Date.now();
    await sleep(7_000); // three or four slots pass
    const before = (await runs(job.id)).length;
    await startAgent(dataDir);
    const after = await eventually(() => runs(job.id), (r) => ended(r).length >= before + 3, 20_000, "runs after the restart");
    const catchUps = after.filter((run) => run.trigger === "catch_up");
    expect(catchUps).toHaveLength(1);
    // The catch-up came first, then the schedule went on.
    const fresh = after.filter((run) => Date.parse(run.start_time) > stoppedAt).reverse();
    expect(fresh[0].trigger).toBe("catch_up");
    expect(fresh.slice(1).every((run: any) => run.trigger === "schedule")).toBe(true);
  });
});

describe("vigil-agent jobs", () => {
  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [AGENT_BIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      child.once("exit", (code) => resolve({ code, stdout, stderr }));
    });
  }

  it("lists the running agent's jobs", async () => {
    const { agent } = await startAgent();
    const { job } = await channelJob(YEARLY, 0, { name: "Yearly channel" });
    await eventually(async () => (await fetch(`${agent.intakeUrl}/v1/plugins/social/jobs`)).json(), (body: any) => body.jobs?.length === 1, 10_000, "the published job list");
    const listed = await cli(["jobs", "list", "--url", agent.intakeUrl]);
    expect(listed.code).toBe(0);
    const [header, row] = listed.stdout.trim().split("\n");
    expect(header).toMatch(/^ID\s+NAME\s+PLATFORM\s+SCHEDULE\s+STATUS\s+LAST RUN\s+NEXT RUN$/);
    expect(row).toContain(job.id);
    expect(row).toContain("Yearly channel");
    expect(row).toMatch(/youtube\s+cron 0 0 1 1 \*\s+active\s+-\s+\d{4}-01-01 00:00:00Z/);
    const missing = await cli(["jobs", "list", "--url", agent.intakeUrl, "--plugin", "nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/no job list from a plugin "nope"/);
  });

  it("runs every due job once and exits, after the events reached the collector", async () => {
    // A custom job every minute that never ran is due at once; one that failed makes the exit code 1.
    const { job } = await channelJob("", 2, { cron: null, interval_minutes: 1 });
    const dir = newDir();
    const config = writeAgentConfig(dir, agentConfig(join(dir, "data")));
    const first = await cli(["jobs", "run", "--once", "--config", config]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("social: 1 due job run, 1 completed, 0 failed");
    // Delivered before it exited: the run and its items are at the collector now.
    expect(await runs(job.id)).toEqual([expect.objectContaining({ status: "completed", trigger: "cli", new_items_downloaded: 2 })]);
    expect(await events("social.item", job.id)).toHaveLength(2);
    // Run again at once: the job ran less than a minute ago, nothing is due.
    const second = await cli(["jobs", "run", "--once", "--config", config]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("social: 0 due jobs run");
    // A failing job: exit code 1.
    await createJob({ target_url: `https://www.youtube.com/channel/${makeChannelId()}`, interval_minutes: 1 });
    const third = await cli(["jobs", "run", "--once", "--config", config]);
    expect(third.code).toBe(1);
    expect(third.stdout).toContain("social: 1 due job run, 0 completed, 1 failed");
  });

  it("describes the jobs commands in --help", async () => {
    const help = await cli(["--help"]);
    expect(help.stdout).toMatch(/vigil-agent jobs list/);
    expect(help.stdout).toMatch(/vigil-agent jobs run --once/);
    expect(help.stdout).toMatch(/--interval SECONDS/);
  });
});
