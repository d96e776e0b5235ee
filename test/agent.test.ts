import { spawnSync } from "node:child_process";
import { appendFileSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { AGENT_BIN, FIXTURE_PLUGINS, freePort, startAgentProcess, writeAgentConfig, type AgentProcess } from "./support/agent-process.js";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess } from "./support/collector-process.js";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function newDir(): string {
  const dir = tempDir("vigil-agent-test-");
  cleanups.push(() => dir.remove());
  return dir.path;
}

async function collector(dataDir: string, port?: number): Promise<CollectorProcess> {
  const proc = await startCollectorProcess({ dataDir, ...(port ? { args: ["--port", String(port)] } : {}) });
  cleanups.push(() => proc.kill());
  return proc;
}

async function agent(configFile: string): Promise<AgentProcess> {
  const proc = await startAgentProcess(configFile);
  cleanups.push(() => proc.kill());
  return proc;
}

function baseConfig(dir: string, collectorUrl: string, token: string, extra: Record<string, unknown> = {}) {
  return {
    collector: { url: collectorUrl, api_key: token, timeout: "5s" },
    agent: { name: "test-agent", data_dir: join(dir, "agent-data") },
    intake: { address: "127.0.0.1:0" },
    shipper: { flush_interval: "100ms", max_backoff: "1s" },
    heartbeat_interval: "1s",
    log: { format: "json", level: "info" },
    ...extra,
  };
}

async function query(c: { url: string; token: string }, path: string): Promise<any> {
  const res = await fetch(`${c.url}${path}`, { headers: { authorization: `Bearer ${c.token}` } });
  return res.json();
}

/** Every event of a type, following cursors. */
async function allEvents(c: { url: string; token: string }, type: string): Promise<{ id: string; attrs: Record<string, string> }[]> {
  const out: { id: string; attrs: Record<string, string> }[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await query(c, `/v1/events?type=${type}&limit=1000${cursor ? `&cursor=${cursor}` : ""}`);
    out.push(...page.events);
    cursor = page.next_cursor;
  } while (cursor);
  return out;
}

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    value = await probe();
  }
  return value;
}

async function postIntake(a: AgentProcess, events: object[], signal?: AbortSignal): Promise<Response> {
  return fetch(`${a.intakeUrl}/v1/events`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(events), ...(signal ? { signal } : {}) });
}

const intakeEvent = (n: number, tag: string) => ({ id: uuidv7(), ts: Date.now(), source: "app", type: "app.order", attrs: { n, tag } });

describe("vigil-agent command", () => {
  it("--help lists the commands", () => {
    const out = spawnSync(process.execPath, [AGENT_BIN, "--help"], { encoding: "utf8" });
    expect(out.status).toBe(0);
    for (const word of ["run --config", "validate --config", "status [--watch]"]) expect(out.stdout).toContain(word);
  });

  const fixtures = join(REPO_ROOT, "test/fixtures/agent");
  const badFiles = readdirSync(fixtures).filter((f) => f.startsWith("bad-"));
  it.each(badFiles)("validate %s exits 2 naming each wrong path", (file) => {
    const text = readFileSync(join(fixtures, file), "utf8");
    const expected = [...text.matchAll(/^# expect: (.+)$/gm)].map((m) => m[1]!);
    expect(expected.length).toBeGreaterThan(0);
    const out = spawnSync(process.execPath, [AGENT_BIN, "validate", "--config", join(fixtures, file)], { encoding: "utf8", env: { ...process.env, VIGIL_TEST_UNSET: "" } });
    expect(out.status).toBe(2);
    for (const line of expected) expect(out.stderr).toContain(line);
  });

  it("validate accepts the http-check example", () => {
    const out = spawnSync(process.execPath, [AGENT_BIN, "validate", "--config", join(fixtures, "good.yaml")], { encoding: "utf8" });
    expect(out.stderr).toBe("");
    expect(out.status).toBe(0);
  });
});

describe("agent with a collector", () => {
  it("ships http-check events and reports itself to the collector", async () => {
    const dir = newDir();
    const c = await collector(join(dir, "collector"));
    const a = await agent(
      writeAgentConfig(dir, baseConfig(dir, c.url, c.token, {
        plugins: [{ use: "@vigil/plugin-http-check", config: { checks: [{ name: "collector", url: `${c.url}/health`, interval: "1s", body_contains: "ok" }] } }],
      })),
    );
    const checks = await eventually(() => allEvents(c, "http.check"), (e) => e.length >= 2);
    expect(checks[0]!.attrs).toMatchObject({ check_name: "collector", up: "true", status_code: "200" });
    const states = await allEvents(c, "http.state");
    expect(states[0]!.attrs).toMatchObject({ check_name: "collector", state: "up" });
    const agents = await eventually(() => query(c, "/api/agents"), (r) => r.agents?.length === 1);
    expect(agents.agents[0]).toMatchObject({ name: "test-agent", online: true });
    expect(agents.agents[0].plugins[0]).toMatchObject({ id: "http-check", state: "ok" });
    const status = await a.status();
    expect(status.plugins[0]).toMatchObject({ id: "http-check", state: "ok" });
    const printed = spawnSync(process.execPath, [AGENT_BIN, "status", "--url", a.intakeUrl], { encoding: "utf8" });
    expect(printed.status).toBe(0);
    expect(printed.stdout).toMatch(/agent\s+test-agent/);
    expect(printed.stdout).toMatch(/http-check\s+ok/);
    const metrics = await (await fetch(`${a.intakeUrl}/metrics`)).text();
    expect(metrics).toMatch(/vigil_agent_events_emitted_total\{plugin="http-check"\} [1-9]/);
    expect(metrics).toMatch(/vigil_agent_events_shipped_total [1-9]/);

    // An app's retry of a batch (same Vigil-Batch-Id), also while the first is in flight, is queued once.
    const batch = Array.from({ length: 3 }, (_, i) => intakeEvent(i, "retried"));
    const send = () => fetch(`${a.intakeUrl}/v1/events`, { method: "POST", headers: { "content-type": "application/json", "vigil-batch-id": "app-batch-0001" }, body: JSON.stringify(batch) }).then((r) => r.json() as Promise<any>);
    const answers = await Promise.all([send(), send()]);
    expect(answers.map((x) => x.duplicate).sort()).toEqual([false, true]);
    expect((await send()).duplicate).toBe(true);
    const bad = await fetch(`${a.intakeUrl}/v1/events`, { method: "POST", headers: { "content-type": "application/json", "vigil-batch-id": "no" }, body: JSON.stringify(batch) });
    expect(bad.status).toBe(400);
    const retried = await eventually(() => allEvents(c, "app.order"), (e) => e.length >= 3);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await allEvents(c, "app.order")).length).toBe(3);
    expect(retried.map((e) => e.attrs.tag)).toEqual(["retried", "retried", "retried"]);
  });

  it("collector down 30 s then back: nothing lost, nothing doubled", async () => {
    const dir = newDir();
    const port = await freePort();
    let c = await collector(join(dir, "collector"), port);
    const a = await agent(writeAgentConfig(dir, baseConfig(dir, c.url, c.token)));
    const sent: string[] = [];
    const post = async (n: number) => {
      const events = Array.from({ length: 10 }, (_, i) => intakeEvent(n * 10 + i, "outage"));
      expect((await postIntake(a, events)).status).toBe(202);
      sent.push(...events.map((e) => e.id));
    };
    for (let n = 0; n < 5; n++) await post(n);
    await eventually(() => allEvents(c, "app.order"), (e) => e.length === 50);
    await c.stop();
    const downUntil = Date.now() + 30_000;
    let n = 5;
    while (Date.now() < downUntil) {
      await post(n++);
      await new Promise((r) => setTimeout(r, 1000));
    }
    expect((await a.status()).queue.records).toBeGreaterThan(0);
    c = await collector(join(dir, "collector"), port);
    const stored = await eventually(() => allEvents(c, "app.order"), (e) => e.length >= sent.length, 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    const final = await allEvents(c, "app.order");
    expect(final.length).toBe(sent.length);
    expect(new Set(final.map((e) => e.id))).toEqual(new Set(sent));
    expect(stored.length).toBe(sent.length);
  });

  it("kill -9 of the agent mid-stream: every event whose emit resolved arrives exactly once", async () => {
    const dir = newDir();
    const c = await collector(join(dir, "collector"));
    const ackedFile = join(dir, "acked.txt");
    const config = writeAgentConfig(dir, baseConfig(dir, c.url, c.token, {
      plugins: [{ use: join(FIXTURE_PLUGINS, "counter.js"), config: { every: "20ms", burst: 100, acked_file: ackedFile } }],
    }));
    const first = await agent(config);
    await eventually(async () => (statSync(ackedFile, { throwIfNoEntry: false })?.size ?? 0), (size) => size > 10_000);
    await first.kill();
    const acked = new Set(readFileSync(ackedFile, "utf8").trim().split("\n").map(Number));
    expect(acked.size).toBeGreaterThan(1000);

    // The restarted agent (its counter switched off, so only the queue speaks) ships
    // what the killed one had queued, with the same batch ids.
    const quiet = writeAgentConfig(dir, baseConfig(dir, c.url, c.token, {
      plugins: [{ use: join(FIXTURE_PLUGINS, "counter.js"), enabled: false, config: { acked_file: ackedFile } }],
    }), "agent-restart.yaml");
    const second = await agent(quiet);
    const stored = await eventually(
      () => allEvents(c, "counter.tick"),
      (e) => {
        const have = new Set(e.map((x) => Number(x.attrs.seq)));
        return [...acked].every((n) => have.has(n));
      },
      90_000,
    );
    await second.stop();
    const seqs = stored.map((e) => Number(e.attrs.seq));
    expect(new Set(stored.map((e) => e.id)).size).toBe(stored.length); // no event stored twice
    expect(new Set(seqs).size).toBe(seqs.length);
    const storedSeqs = new Set(seqs);
    const lost = [...acked].filter((n) => !storedSeqs.has(n));
    expect(lost).toEqual([]); // nothing acknowledged is lost
  }, 180_000);

  it("a crashing plugin is restarted with backoff while another keeps emitting", async () => {
    const dir = newDir();
    const c = await collector(join(dir, "collector"));
    const a = await agent(writeAgentConfig(dir, baseConfig(dir, c.url, c.token, {
      plugins: [
        { use: join(FIXTURE_PLUGINS, "crasher.js"), id: "crasher" },
        { use: join(FIXTURE_PLUGINS, "crasher.js"), id: "timer-crasher", config: { crash_in_timer: true } },
        { use: join(FIXTURE_PLUGINS, "counter.js"), id: "counter", config: { every: "100ms" } },
      ],
    })));
    const status = await eventually(() => a.status(), (s: any) => s.plugins.filter((p: any) => p.restarts >= 1 && p.id.includes("crasher")).length === 2, 30_000);
    const byId = Object.fromEntries(status.plugins.map((p: any) => [p.id, p]));
    expect(byId.crasher.restarts).toBeGreaterThanOrEqual(1);
    expect(byId["timer-crasher"].restarts).toBeGreaterThanOrEqual(1);
    expect(byId.counter.state).toBe("ok");
    const boots = await eventually(() => allEvents(c, "crasher.boot"), (e) => e.length >= 4);
    expect(boots.length).toBeGreaterThanOrEqual(4);
    const before = (await allEvents(c, "counter.tick")).length;
    await eventually(() => allEvents(c, "counter.tick"), (e) => e.length > before + 5);
    const metrics = await (await fetch(`${a.intakeUrl}/metrics`)).text();
    expect(metrics).toMatch(/vigil_agent_plugin_restarts_total\{plugin="crasher"\} [1-9]/);
  });
});

describe("live configuration", () => {
  async function agentId(a: AgentProcess): Promise<string> {
    return (await a.status()).id;
  }

  async function putConfig(c: CollectorProcess, id: string, config: unknown) {
    const res = await fetch(`${c.url}/api/agents/${id}/config`, { method: "PUT", headers: { authorization: `Bearer ${c.token}`, "content-type": "application/json" }, body: JSON.stringify({ config }) });
    expect(res.status).toBe(200);
    return ((await res.json()) as { version: number }).version;
  }

  it("a change made through the collector API reaches the plugin's onConfig through the push channel", async () => {
    const dir = newDir();
    const c = await collector(join(dir, "collector"));
    const a = await agent(writeAgentConfig(dir, baseConfig(dir, c.url, c.token, {
      config_channel: { push: true, backup_poll_seconds: 3600 },
      plugins: [{ use: join(FIXTURE_PLUGINS, "counter.js"), id: "counter", config: { every: "1s" } }],
    })));
    await eventually(() => a.status(), (s: any) => s.channel.push_connected === true);
    const published = (name: string) => fetch(`${a.intakeUrl}/v1/plugins/counter/${name}`).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
    expect(await published("label")).toEqual({ status: 200, body: { label: "initial" } });
    const version = await putConfig(c, await agentId(a), { plugins: { counter: { config: { label: "pushed" } } } });
    const changes = await eventually(() => allEvents(c, "counter.config"), (e) => e.length >= 1, 15_000);
    expect(changes[0]!.attrs.label).toBe("pushed");
    const status = await eventually(() => a.status(), (s: any) => s.config_version === version);
    expect(status.plugins[0].details.label).toBe("pushed");
    expect(a.logs.some((l) => l.msg === "remote configuration received" && l.via === "push")).toBe(true);
    // What the plugin publishes for apps follows; a disabled plugin's values go.
    expect((await published("label")).body).toEqual({ label: "pushed" });
    const missing = await published("nothing");
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toContain('published nothing named "nothing"');
    const disabled = await putConfig(c, await agentId(a), { plugins: { counter: { enabled: false } } });
    const after = await eventually(() => a.status(), (s: any) => s.config_version === disabled);
    expect(after.config_version, JSON.stringify(after)).toBe(disabled);
    expect((await published("label")).status).toBe(404);
  });

  it("with the push channel off, the backup poll applies the change", async () => {
    const dir = newDir();
    const c = await collector(join(dir, "collector"));
    const a = await agent(writeAgentConfig(dir, baseConfig(dir, c.url, c.token, {
      heartbeat_interval: "1h",
      config_channel: { push: false, backup_poll_seconds: 2 },
      plugins: [{ use: join(FIXTURE_PLUGINS, "counter.js"), id: "counter", config: { every: "1s" } }],
    })));
    const version = await putConfig(c, await agentId(a), { plugins: { counter: { config: { label: "polled" } } } });
    const status = await eventually(() => a.status(), (s: any) => s.config_version === version, 15_000);
    expect(status.plugins[0].details.label).toBe("polled");
    expect(a.logs.some((l) => l.msg === "remote configuration received" && l.via === "poll")).toBe(true);
  });

  it("an invalid remote config is refused, reported to the collector, and the old one stays", async () => {
    const dir = newDir();
    const c = await collector(join(dir, "collector"));
    const a = await agent(writeAgentConfig(dir, baseConfig(dir, c.url, c.token, {
      plugins: [{ use: join(FIXTURE_PLUGINS, "counter.js"), id: "counter", config: { every: "1s" } }],
    })));
    const id = await agentId(a);
    const good = await putConfig(c, id, { plugins: { counter: { config: { label: "good" } } } });
    await eventually(() => a.status(), (s: any) => s.config_version === good);
    const bad = await putConfig(c, id, { plugins: { counter: { config: { every: "soon" } } } });
    const status = await eventually(() => a.status(), (s: any) => s.config_error !== null);
    expect(status.config_version).toBe(good);
    expect(status.config_error).toContain('plugins[0].config.every: expected a duration like "30s"');
    expect(status.plugins[0].details.label).toBe("good");
    const reported = await eventually(() => query(c, `/api/agents/${id}`), (r) => r.config_error != null);
    expect(reported.config_error).toContain("expected a duration");
    expect(reported.config_version).toBe(good);
    expect(bad).toBeGreaterThan(good);
    // A refusal does not jam the channel: the next good version applies.
    const fixed = await putConfig(c, id, { plugins: { counter: { config: { label: "fixed" } } } });
    const after = await eventually(() => a.status(), (s: any) => s.config_version === fixed);
    expect(after.config_error).toBeNull();
    expect(after.plugins[0].details.label).toBe("fixed");
  });
});

describe("the disk queue under pressure", () => {
  it("a full queue with drop_oldest drops the oldest events and counts every drop", async () => {
    const dir = newDir();
    const a = await agent(writeAgentConfig(dir, {
      ...baseConfig(dir, "http://127.0.0.1:9", "vgl_nothing_listens_here_000"),
      queue: { max_bytes: "1MB", policy: "drop_oldest" },
    }));
    const big = "x".repeat(2000);
    for (let n = 0; n < 100; n++) {
      const events = Array.from({ length: 10 }, (_, i) => ({ ...intakeEvent(n * 10 + i, "full"), body: big }));
      expect((await postIntake(a, events)).status).toBe(202);
    }
    const status = await a.status();
    expect(status.queue.dropped).toBeGreaterThan(0);
    expect(status.queue.bytes).toBeLessThanOrEqual(1_000_000);
    const metrics = await (await fetch(`${a.intakeUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`vigil_agent_events_dropped_total\\{reason="queue_full"\\} ${status.queue.dropped}`));
    expect(a.logs.some((l) => String(l.msg).includes("dropp"))).toBe(true);
  });

  it("a full queue with block holds the producer until there is room", async () => {
    const dir = newDir();
    const a = await agent(writeAgentConfig(dir, {
      ...baseConfig(dir, "http://127.0.0.1:9", "vgl_nothing_listens_here_000"),
      queue: { max_bytes: "256KB", policy: "block" },
    }));
    const big = "x".repeat(2000);
    let blocked = false;
    for (let n = 0; n < 40 && !blocked; n++) {
      const events = Array.from({ length: 10 }, (_, i) => ({ ...intakeEvent(n * 10 + i, "block"), body: big }));
      const answer = await Promise.race([postIntake(a, events).then((r) => r.status), new Promise((r) => setTimeout(() => r("pending"), 2000))]);
      if (answer === "pending") blocked = true;
      else expect(answer).toBe(202);
    }
    expect(blocked).toBe(true);
    const status = await a.status();
    expect(status.queue.dropped).toBe(0);
    // Stopping does not hang on the blocked producer.
    expect(await a.stop()).toBe(0);
  });

  it("a torn queue tail is skipped and reported, and the agent goes on", async () => {
    const dir = newDir();
    const port = await freePort();
    const config = writeAgentConfig(dir, baseConfig(dir, `http://127.0.0.1:${port}`, "vgl_test_bootstrap_token_0123456789"));
    const first = await agent(config);
    const events = Array.from({ length: 20 }, (_, i) => intakeEvent(i, "torn"));
    expect((await postIntake(first, events)).status).toBe(202);
    expect(await first.stop()).toBe(0);
    const queueDir = join(dir, "agent-data", "queue");
    const segment = readdirSync(queueDir).filter((f) => f.endsWith(".seg")).sort().at(-1)!;
    appendFileSync(join(queueDir, segment), Buffer.from([0, 0, 1, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));

    const second = await agent(config);
    expect(second.logs.some((l) => /torn|corrupt/i.test(String(l.msg)))).toBe(true);
    expect((await postIntake(second, [intakeEvent(99, "torn")])).status).toBe(202);
    const c = await collector(join(dir, "collector"), port);
    const stored = await eventually(() => allEvents(c, "app.order"), (e) => e.length >= 21, 30_000);
    expect(stored.length).toBe(21);
  });
});
