// The Reddit plugin end to end: a real collector (embedded ClickHouse, the plugin's
// collector part loaded), real agents as processes running the plugin, and the fake
// Reddit in test/fakes/reddit as the only stand-in.
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { fakeCredentials, startFakeReddit, type FakeReddit } from "./fakes/reddit/server.js";
import { startAgentProcess, writeAgentConfig, type AgentProcess } from "./support/agent-process.js";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess, callApi } from "./support/collector-process.js";
import { eventually } from "./support/eventually.js";

const SUB = "vigiltest";
const OTHER_SUB = "vigilother";

let fake: FakeReddit;
let collector: CollectorProcess;
let ingestKey: string;
const dirs: { remove(): void }[] = [];
const agents: AgentProcess[] = [];

beforeAll(async () => {
  fake = await startFakeReddit();
  const dir = tempDir("vigil-reddit-e2e-");
  dirs.push(dir);
  collector = await startCollectorProcess({ dataDir: join(dir.path, "collector"), args: ["--plugin", join(REPO_ROOT, "plugins/reddit/dist/collector.js")] });
  ingestKey = (await api("POST", "/api/keys", { name: "reddit-agents", scopes: ["ingest"] })).json.token;
});

afterEach(async () => {
  // A clean stop: the agent's last heartbeat shows its plugins stopped.
  while (agents.length) await agents.pop()!.stop();
  // Each test starts from no keywords.
  for (const keyword of (await api("GET", "/api/keywords")).json.keywords) await api("DELETE", `/api/keywords/${keyword.id}`);
  fake.faults.clear();
});

afterAll(async () => {
  expect(fake.stats.requestsPerMinute()).toBeLessThanOrEqual(100);
  await collector?.kill();
  await fake?.close();
  for (const dir of dirs) dir.remove();
});

/** The collector's API with its admin token (the collector starts in beforeAll). */
const api = (method: string, path: string, body?: unknown) => callApi(collector, method, path, body);

function agentConfig(dataDir: string, plugin: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
  return {
    collector: { url: collector.url, api_key: ingestKey, timeout: "5s" },
    agent: { name: "reddit-e2e", data_dir: dataDir },
    intake: { address: "127.0.0.1:0" },
    shipper: { flush_interval: "100ms", max_backoff: "1s" },
    heartbeat_interval: "1s",
    log: { format: "json", level: "info" },
    plugins: [
      {
        id: "reddit",
        use: "@vigil/plugin-reddit",
        config: {
          credentials: fakeCredentials("test:vigil-e2e:1.0.0 (by /u/fake-user)"),
          subreddits: [SUB],
          poll_min: "100ms",
          poll_max: "400ms",
          auth_base: fake.url,
          api_base: fake.url,
          ...plugin,
        },
      },
    ],
    ...extra,
  };
}

async function startAgent(dataDir?: string, plugin?: Record<string, unknown>, extra?: Record<string, unknown>): Promise<{ agent: AgentProcess; dataDir: string }> {
  const dir = tempDir("vigil-reddit-agent-");
  dirs.push(dir);
  const data = dataDir ?? join(dir.path, "data");
  const agent = await startAgentProcess(writeAgentConfig(dir.path, agentConfig(data, plugin, extra)));
  agents.push(agent);
  return { agent, dataDir: data };
}


/** The plugin's details from the agent's own status endpoint. */
async function pluginDetails(agent: AgentProcess): Promise<Record<string, any>> {
  const status = await agent.status();
  return status.plugins.find((p: { id: string }) => p.id === "reddit")?.details ?? {};
}

/** Waits until the agent runs `keywords` keywords and every stream has polled at least once. */
async function monitoring(agent: AgentProcess, keywords: number): Promise<void> {
  await eventually(() => pluginDetails(agent), (d) => d.monitored_keywords_count === keywords && d.active_streams > 0 && d.last_check !== "", 30_000, `${keywords} keywords monitored`);
  // One more poll round, so each stream (posts and comments) has its cursor.
  const since = Date.now();
  await eventually(() => pluginDetails(agent), (d) => Date.parse(d.last_check) > since + 200, 30_000, "a fresh poll");
}

async function mentions(query = ""): Promise<any[]> {
  const all: any[] = [];
  let cursor: string | null = null;
  do {
    const page: { status: number; json: any } = await api("GET", `/api/mentions?limit=1000${query}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(page.status).toBe(200);
    all.push(...page.json.mentions);
    cursor = page.json.next_cursor;
  } while (cursor);
  return all;
}

async function mentionEvents(): Promise<any[]> {
  const all: any[] = [];
  let cursor: string | null = null;
  do {
    const page: { json: any } = await api("GET", `/v1/events?type=reddit.mention&limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
    all.push(...page.json.events);
    cursor = page.json.next_cursor;
  } while (cursor);
  return all;
}

describe("Reddit monitoring end to end", () => {
  it("applies keyword changes at once: an added keyword matches the next comment, a deactivated one stops", async () => {
    const { agent } = await startAgent();
    const vigil = (await api("POST", "/api/keywords", { keyword: "Vigil", platform: "reddit", subreddit: SUB })).json;
    await monitoring(agent, 1);

    const first = fake.addComment(SUB, { body: "Has anyone tried vigil for their homelab?", author: "alice" });
    const found = await eventually(() => mentions(), (m) => m.length === 1, 30_000, "the first mention");
    expect(found[0]).toMatchObject({
      keyword_id: vigil.id,
      keyword: "Vigil",
      fullname: first.name,
      subreddit: SUB,
      kind: "comment",
      author: "alice",
      permalink: `https://www.reddit.com${first.permalink}`,
    });
    expect(found[0].snippet).toContain("tried vigil for");

    // A second keyword on the same subreddit: the agent applies it within seconds of the API call.
    const added = await api("POST", "/api/keywords", { keyword: "grafana", subreddit: SUB });
    const appliedWithin = Date.now();
    await eventually(() => pluginDetails(agent), (d) => d.monitored_keywords_count === 2, 5_000, "the pushed keyword");
    expect(Date.now() - appliedWithin).toBeLessThan(5_000);
    fake.addComment(SUB, { body: "I moved from Grafana alerts last week", author: "bob" });
    await eventually(() => mentions(`&keyword_id=${added.json.id}`), (m) => m.length === 1, 30_000, "the new keyword's mention");

    // Deactivated: the next comment naming it is not a mention any more.
    expect((await api("PATCH", `/api/keywords/${vigil.id}`, { is_active: false })).status).toBe(200);
    await eventually(() => pluginDetails(agent), (d) => d.monitored_keywords_count === 1, 5_000, "the deactivation");
    fake.addComment(SUB, { body: "vigil again, and grafana again", author: "carol" });
    await eventually(() => mentions(`&keyword_id=${added.json.id}`), (m) => m.length === 2, 30_000, "the second grafana mention");
    expect(await mentions(`&keyword_id=${vigil.id}`)).toHaveLength(1);

    // Posts match too, on title or text, never on the author's name.
    fake.addPost(SUB, { title: "Weekly thread", selftext: "Post your Grafana dashboards", author: "grafana_fan" });
    fake.addPost(SUB, { title: "Nothing here", selftext: "no keyword", author: "grafana" });
    const posts = await eventually(() => mentions(`&kind=post`), (m) => m.length >= 1, 30_000, "the post mention");
    await new Promise((r) => setTimeout(r, 1500));
    expect((await mentions(`&kind=post`)).map((m) => m.author)).toEqual(["grafana_fan"]);
    expect(posts[0].snippet).toContain("Grafana dashboards");

    // Counts per keyword over time, from the rollup.
    const counts = (await api("GET", "/api/mentions/counts?interval=hour")).json;
    const byId = Object.fromEntries(counts.keywords.map((k: any) => [k.keyword_id, k.total]));
    expect(byId).toEqual({ [vigil.id]: 1, [added.json.id]: 3 });
  });

  it("emits each mention exactly once across an agent restart, and catches up on what arrived while it was down", async () => {
    const started = await startAgent();
    const keyword = (await api("POST", "/api/keywords", { keyword: "restart-proof", subreddit: SUB })).json;
    await monitoring(started.agent, 1);
    const before = Array.from({ length: 5 }, (_, i) => fake.addComment(SUB, { body: `restart-proof before ${i}`, author: "dave" }));
    await eventually(() => mentions(`&keyword_id=${keyword.id}`), (m) => m.length === 5, 30_000, "mentions before the restart");

    expect(await started.agent.stop()).toBe(0);
    agents.splice(agents.indexOf(started.agent), 1);
    const during = Array.from({ length: 5 }, (_, i) => fake.addComment(SUB, { body: `restart-proof while down ${i}`, author: "erin" }));
    const again = await startAgent(started.dataDir);
    const after = fake.addComment(SUB, { body: "restart-proof after", author: "frank" });

    const expected = [...before, ...during, after].map((c) => c.name).sort();
    const found = await eventually(() => mentions(`&keyword_id=${keyword.id}`), (m) => m.length >= expected.length, 30_000, "every mention");
    expect(found.map((m) => m.fullname).sort()).toEqual(expected);
    // Exactly once as events too: a clean restart re-emits nothing.
    await new Promise((r) => setTimeout(r, 1500));
    const events = (await mentionEvents()).filter((e) => e.attrs.keyword_id === keyword.id);
    expect(events.map((e) => e.attrs.fullname).sort()).toEqual(expected);
    expect((await pluginDetails(again.agent)).gaps).toBe(0);
  });

  it("shows each mention once after the agent is killed mid-burst (SIGKILL), though events may repeat", async () => {
    const started = await startAgent();
    const keyword = (await api("POST", "/api/keywords", { keyword: "crashtest", subreddit: SUB })).json;
    await monitoring(started.agent, 1);
    const burst = fake.addComments(SUB, 300, (i) => ({ body: `crashtest item ${i}`, author: "hank" }));
    await eventually(async () => (await pluginDetails(started.agent)).mentions_emitted ?? 0, (n) => n > 0, 30_000, "the burst being read");
    await started.agent.kill();
    agents.splice(agents.indexOf(started.agent), 1);
    await startAgent(started.dataDir);
    const found = await eventually(() => mentions(`&keyword_id=${keyword.id}`), (m) => m.length >= 300, 60_000, "300 mentions after the crash");
    expect(found).toHaveLength(300);
    expect(new Set(found.map((m) => m.fullname))).toEqual(new Set(burst.map((c) => c.name)));
    const counts = (await api("GET", `/api/mentions/counts?keyword_id=${keyword.id}`)).json;
    expect(counts.keywords[0].total).toBe(300);
  });

  it("loses nothing from a burst larger than one page", async () => {
    const { agent } = await startAgent();
    const keyword = (await api("POST", "/api/keywords", { keyword: "burst", subreddit: SUB })).json;
    await monitoring(agent, 1);
    const burst = fake.addComments(SUB, 250, (i) => ({ body: `burst comment number ${i}`, author: `user${i % 7}` }));
    const found = await eventually(() => mentions(`&keyword_id=${keyword.id}`), (m) => m.length >= 250, 60_000, "250 mentions");
    expect(new Set(found.map((m) => m.fullname))).toEqual(new Set(burst.map((c) => c.name)));
    expect((await pluginDetails(agent)).gaps).toBe(0);
    // Newest first, paged by cursor without overlap.
    const firstPage = (await api("GET", `/api/mentions?keyword_id=${keyword.id}&limit=100`)).json;
    const secondPage = (await api("GET", `/api/mentions?keyword_id=${keyword.id}&limit=100&cursor=${firstPage.next_cursor}`)).json;
    expect(firstPage.mentions[0].fullname).toBe(burst[249]!.name);
    expect(new Set([...firstPage.mentions, ...secondPage.mentions].map((m: any) => m.fullname)).size).toBe(200);
  });

  it("waits as long as a 429's Retry-After says, and stays under 100 requests a minute", async () => {
    const { agent } = await startAgent();
    await api("POST", "/api/keywords", { keyword: "patience", subreddit: SUB });
    await monitoring(agent, 1);
    fake.faults.next429(3);
    const until = Date.now() + 12_000;
    await eventually(async () => fake.stats.requests.filter((r) => r.status === 429).length, (n) => n >= 1 || Date.now() > until, 15_000, "the 429");
    const requests = fake.stats.requests;
    const limited = requests.findLastIndex((r) => r.status === 429);
    expect(limited).toBeGreaterThanOrEqual(0);
    await eventually(async () => fake.stats.requests.length, (n) => n > limited + 1, 15_000, "a request after the 429");
    const next = fake.stats.requests[limited + 1]!;
    expect(next.at - requests[limited]!.at).toBeGreaterThanOrEqual(2_900);
    // Still monitoring afterwards.
    fake.addComment(SUB, { body: "patience pays", author: "gina" });
    await eventually(() => mentions("&keyword=patience"), (m) => m.length === 1, 30_000, "a mention after the 429");
    expect(fake.stats.requestsPerMinute()).toBeLessThanOrEqual(100);
  });

  it("reports the auto-monitor status over the tenant's agents, and stops and starts monitoring", async () => {
    const { agent } = await startAgent();
    await api("POST", "/api/keywords", { keyword: "status", subreddit: [SUB, OTHER_SUB] });
    await api("POST", "/api/keywords", { keyword: "everywhere" });
    await monitoring(agent, 2);
    const status = await eventually(
      async () => (await api("GET", "/api/auto-monitor/status")).json,
      (s) => s.is_running && s.active_streams === 2 && s.immediate_updates_enabled,
      15_000,
      "a running status",
    );
    expect(status).toMatchObject({
      desired_state: "running",
      is_running: true,
      monitored_keywords_count: 2,
      check_interval_seconds: 300,
      immediate_updates_enabled: true,
      stream_monitoring_active: true,
      active_streams: 2,
    });
    expect(Date.parse(status.last_check)).toBeGreaterThan(Date.now() - 60_000);
    // Agents of the earlier tests stopped: their last heartbeat says so.
    const live = status.agents.filter((a: { is_running: boolean }) => a.is_running);
    expect(live).toHaveLength(1);
    expect(live[0]).toMatchObject({ agent_name: "reddit-e2e", plugin_id: "reddit", online: true, monitored_subreddits: 2, is_running: true });

    expect((await api("POST", "/api/auto-monitor/stop")).json).toMatchObject({ desired_state: "stopped", agents_notified: 1 });
    await eventually(() => pluginDetails(agent), (d) => d.active_streams === 0 && d.is_running === false, 5_000, "streams stopped");
    const stopped = await eventually(async () => (await api("GET", "/api/auto-monitor/status")).json, (s) => s.active_streams === 0, 10_000, "a stopped status");
    expect(stopped).toMatchObject({ desired_state: "stopped", is_running: false, stream_monitoring_active: false });
    const requestsWhileStopped = fake.stats.requests.length;
    await new Promise((r) => setTimeout(r, 1500));
    expect(fake.stats.requests.length).toBe(requestsWhileStopped);

    await api("POST", "/api/auto-monitor/start");
    await eventually(async () => (await api("GET", "/api/auto-monitor/status")).json, (s) => s.is_running && s.active_streams === 2, 10_000, "running again");

    // vigil-agent status shows the same fields for the local agent.
    const { spawnSync } = await import("node:child_process");
    const out = spawnSync(process.execPath, [join(REPO_ROOT, "agent/bin/vigil-agent.js"), "status", "--url", agent.intakeUrl], { encoding: "utf8" });
    expect(out.status).toBe(0);
    for (const field of ["is_running", "monitored_keywords_count", "last_check", "check_interval_seconds", "immediate_updates_enabled", "stream_monitoring_active", "active_streams"]) {
      expect(out.stdout).toContain(field);
    }
  });

  it("heals a missed push with the backup sync, logging what changed", async () => {
    const { agent } = await startAgent(undefined, { sync_interval: "1s" }, { config_channel: { push: false } });
    await eventually(() => pluginDetails(agent), (d) => d.last_sync !== "", 15_000, "the first sync");
    await api("POST", "/api/keywords", { keyword: "no push needed", subreddit: SUB });
    const record = await agent.waitForLog((r) => r.msg === "keyword changes detected during polling", 10_000);
    expect(record).toMatchObject({ keywords_before: 0, keywords_after: 1 });
    await eventually(() => pluginDetails(agent), (d) => d.monitored_keywords_count === 1, 5_000, "the synced keyword");
  });

  it("refuses a User-Agent that does not follow Reddit's form, showing the form", async () => {
    const dir = tempDir("vigil-reddit-bad-");
    dirs.push(dir);
    const config = agentConfig(join(dir.path, "data"));
    (config.plugins[0]!.config.credentials as Record<string, string>).userAgent = "my-bot";
    const file = writeAgentConfig(dir.path, config);
    const { spawnSync } = await import("node:child_process");
    const out = spawnSync(process.execPath, [join(REPO_ROOT, "agent/bin/vigil-agent.js"), "validate", "--config", file], { encoding: "utf8" });
    expect(out.status).not.toBe(0);
    expect(out.stdout + out.stderr).toContain("plugins[0].config.credentials.userAgent");
    expect(out.stdout + out.stderr).toContain("<platform>:<app id>:<version> (by /u/<username>)");
  });

  it("answers bad mention queries with a 400 naming the parameter", async () => {
    for (const [query, path] of [
      ["limit=0", "limit"],
      ["since=yesterday", "since"],
      ["kind=video", "kind"],
      ["subreddit=r/bad", "subreddit"],
      ["cursor=nonsense", "cursor"],
      ["colour=red", ""],
    ] as const) {
      const res = await api("GET", `/api/mentions?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.json.error.details.map((d: { path: string }) => d.path), query).toContain(path);
    }
    expect((await api("GET", "/api/mentions/counts?interval=week")).status).toBe(400);
  });
});
