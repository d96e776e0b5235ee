// The cache-db agent part in a real agent process, against a collector (in this process,
// on a real port) with the cache-db collector part: what apps read at the intake.
import { spawnSync } from "node:child_process";
import { createServer, request as httpRequest, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AGENT_BIN, freePort, startAgentProcess, writeAgentConfig, type AgentProcess } from "../../../test/support/agent-process.js";
import { REPO_ROOT, tempDir } from "../../../test/support/collector-process.js";
import { startInProcess } from "../../../test/support/in-process.js";
import { DEFAULT_SETTINGS } from "../src/contract.js";
import { eventually } from "../../../test/support/eventually.js";

const AGENT_PART = join(REPO_ROOT, "plugins/cache-db/dist/agent.js");
const PLUGIN_ID = "cache-db";

let env: Awaited<ReturnType<typeof startInProcess>>;
let ingestKey: string;
const dirs: { remove(): void }[] = [];
const agents: AgentProcess[] = [];

beforeAll(async () => {
  env = await startInProcess({ plugins: [join(REPO_ROOT, "plugins/cache-db/dist/collector.js")] });
  ingestKey = (await env.request("POST", "/api/keys", { body: { name: "cache-agents", scopes: ["ingest"] } })).json.token;
});
afterEach(async () => {
  while (agents.length) await agents.pop()!.stop();
  // Each test starts from the built-in defaults.
  const apps = (await env.request("GET", "/api/cache-monitor/settings")).json.apps;
  for (const app of Object.keys(apps)) if (app !== "*") await env.request("DELETE", `/api/cache-monitor/settings/${app}`);
  await env.request("DELETE", "/api/cache-monitor/settings/*");
});
afterAll(async () => {
  await env?.close();
  for (const dir of dirs) dir.remove();
});

function newDir(): string {
  const dir = tempDir("vigil-cache-agent-");
  dirs.push(dir);
  return dir.path;
}

function writeConfig(dir: string, options: { collectorUrl?: string; dataDir?: string; plugin?: Record<string, unknown>; push?: boolean } = {}): string {
  return writeAgentConfig(dir, {
    collector: { url: options.collectorUrl ?? env.collector.url, api_key: ingestKey, timeout: "5s" },
    agent: { name: "cache-agent", data_dir: options.dataDir ?? join(dir, "data") },
    intake: { address: "127.0.0.1:0" },
    shipper: { flush_interval: "100ms", max_backoff: "1s" },
    heartbeat_interval: "1s",
    config_channel: { push: options.push ?? true },
    log: { format: "json", level: "info" },
    plugins: [{ id: PLUGIN_ID, use: AGENT_PART, config: options.plugin ?? {} }],
  });
}

async function startAgent(options: Parameters<typeof writeConfig>[1] = {}): Promise<AgentProcess> {
  const agent = await startAgentProcess(writeConfig(newDir(), options));
  agents.push(agent);
  return agent;
}


/** What an app on the agent's host reads. */
async function published(agent: AgentProcess): Promise<{ status: number; json: any }> {
  const res = await fetch(`${agent.intakeUrl}/v1/plugins/${PLUGIN_ID}/settings`);
  return { status: res.status, json: await res.json() };
}

async function plugin(agent: AgentProcess): Promise<{ state: string; message?: string; details: Record<string, any> }> {
  return (await agent.status()).plugins.find((p: { id: string }) => p.id === PLUGIN_ID);
}

const collectorSettings = async () => (await env.request("GET", "/api/cache-monitor/settings")).json;

describe("cache-db agent part", () => {
  it("publishes the collector's settings to apps and applies a pushed change within seconds", async () => {
    const agent = await startAgent();
    const first = await eventually(() => published(agent), (r) => r.status === 200, 10_000, "the first settings");
    expect(first.json).toEqual(await collectorSettings());
    expect(first.json.apps).toEqual({ "*": DEFAULT_SETTINGS });
    const status = await plugin(agent);
    expect(status.state).toBe("ok");
    expect(status.details).toMatchObject({ settings_version: first.json.version, apps_configured: 0, enabled_default: true, sync_interval_seconds: 300 });
    expect(Date.parse(status.details.last_sync)).toBeGreaterThan(Date.now() - 60_000);
    // The agent holds its push connection before a change can reach it by push.
    await eventually(async () => (await agent.status()).channel.push_connected, (c) => c === true, 10_000, "the push connection");

    const put = await env.request("PUT", "/api/cache-monitor/settings", { body: { app: "shop", settings: { enabled: false } } });
    expect(put.status).toBe(200);
    const pushed = await eventually(() => published(agent), (r) => r.json.version === put.json.version, 5_000, "the pushed change");
    expect(pushed.json.apps.shop.enabled).toBe(false);
    expect(pushed.json.apps["*"].enabled).toBe(true);
    expect((await plugin(agent)).details).toMatchObject({ settings_version: put.json.version, apps_configured: 1 });
    await agent.waitForLog((r) => r.msg === "cache monitor settings published to apps" && r.trigger === "push", 5_000);

    // The collector sees, through heartbeats, which settings version the agent relays.
    const agents = await eventually(
      async () => (await env.request("GET", "/api/agents")).json.agents as any[],
      (list) => list.some((a) => a.plugins?.some((p: any) => p.details?.settings_version === put.json.version)),
      10_000,
      "the heartbeat with the new version",
    );
    expect(agents.length).toBeGreaterThan(0);
  });

  it("heals a missed push with the backup sync", async () => {
    const agent = await startAgent({ push: false, plugin: { sync_interval: "1s" } });
    await eventually(() => published(agent), (r) => r.status === 200, 10_000, "the first settings");
    const put = await env.request("PUT", "/api/cache-monitor/settings", { body: { settings: { buffer_size: 2000 } } });
    expect(put.json.agents_notified).toBe(0);
    const polled = await eventually(() => published(agent), (r) => r.json.version === put.json.version, 10_000, "the polled change");
    expect(polled.json.apps["*"].buffer_size).toBe(2000);
    await agent.waitForLog((r) => r.msg === "cache monitor settings published to apps" && r.trigger === "poll", 5_000);
  });

  it("retries the first sync until the collector answers, and republishes the last known settings at once while the collector is away", async () => {
    await env.request("PUT", "/api/cache-monitor/settings", { body: { settings: { detailed_below: 20, sampled: [], aggregated_at: 20 } } });
    const expected = await collectorSettings();
    const port = await freePort();
    const dataDir = join(newDir(), "data");
    const awayUrl = `http://127.0.0.1:${port}`;

    const first = await startAgent({ collectorUrl: awayUrl, dataDir });
    // Nothing known yet: apps get a 404 and use their own defaults.
    expect((await published(first)).status).toBe(404);
    const failing = await eventually(() => plugin(first), (p) => p.state === "failing", 10_000, "the failing first sync");
    expect(failing.message).toContain("no settings for apps yet");

    // The collector comes up (a relay on that port): the retry finds it.
    const relay = await startRelay(port, env.collector.url);
    try {
      const got = await eventually(() => published(first), (r) => r.status === 200, 20_000, "the settings after the collector came up");
      expect(got.json).toEqual(expected);
    } finally {
      await first.stop();
      agents.splice(agents.indexOf(first), 1);
      await closeRelay(relay);
    }

    // Restarted while the collector is away again: apps get the last known settings at once.
    const second = await startAgent({ collectorUrl: awayUrl, dataDir });
    const again = await published(second);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(expected);
    const degraded = await eventually(() => plugin(second), (p) => p.state === "degraded", 10_000, "the degraded state");
    expect(degraded.message).toContain(`apps keep version ${expected.version}`);
    expect(degraded.details.settings_version).toBe(expected.version);
  });

  it("validates its configuration: defaults, durations and unknown keys", async () => {
    const { default: definition } = await import(AGENT_PART);
    expect(definition.configSchema.parse({})).toEqual({ sync_interval: 300_000 });
    for (const [config, message] of [
      [{ sync_interval: "soon" }, 'plugins[0].config.sync_interval: expected a duration like "30s"'],
      [{ colour: "red" }, "plugins[0].config"],
    ] as const) {
      const dir = newDir();
      const file = writeConfig(dir, { plugin: config });
      const run = spawnSync(process.execPath, [AGENT_BIN, "validate", "--config", file], { encoding: "utf8" });
      expect(run.status).toBe(2);
      expect(run.stderr).toContain(message);
      if ("colour" in config) expect(run.stderr).toContain("colour");
    }
  });
});

/** A plain HTTP relay to the collector, standing in for a collector that starts late. */
function startRelay(port: number, target: string): Promise<Server> {
  const upstream = new URL(target);
  const server = createServer((req, res) => {
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

function closeRelay(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
