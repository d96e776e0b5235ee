// The cache/DB monitor end to end: a real collector (embedded ClickHouse, the plugin's
// collector part loaded), a real agent process running the plugin's agent part, and an
// app's monitor (the in-app SDK) talking to that agent's intake.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgentProcess, writeAgentConfig, type AgentProcess } from "./support/agent-process.js";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess, callApi } from "./support/collector-process.js";
import { eventually as waitUntil } from "./support/eventually.js";

const COLLECTOR_PART = join(REPO_ROOT, "plugins/cache-db/dist/collector.js");
// By path until `pnpm install` links @vigil/plugin-cache-db into the agent; then `use: "@vigil/plugin-cache-db"` works too.
const AGENT_PART = join(REPO_ROOT, "plugins/cache-db/dist/agent.js");
const SDK = join(REPO_ROOT, "plugins/cache-db/dist/sdk.js");
const PLUGIN_ID = "cache-db";
/** The bound: a change applies within 5 s, without a restart. */
const APPLY_WITHIN_MS = 5_000;

/** The part of the SDK's API this test drives (plugins/cache-db/src/sdk.ts). */
interface Monitor {
  logCacheRead(key: string, result: { hit: boolean; durationMs: number }): void;
  mode(): string;
  totals(): { ops: number };
  flush(): Promise<void>;
  close(): Promise<void>;
}
type CreateMonitor = (options: { app: string; agentUrl: string; pluginId: string; settingsPollMs: number; flushIntervalMs: number }) => Monitor;

let collector: CollectorProcess;
let agent: AgentProcess;
let ingestKey: string;
const dirs: { remove(): void }[] = [];

beforeAll(async () => {
  const dir = tempDir("vigil-cache-e2e-");
  dirs.push(dir);
  collector = await startCollectorProcess({ dataDir: join(dir.path, "collector"), args: ["--plugin", COLLECTOR_PART] });
  ingestKey = (await api("POST", "/api/keys", { name: "cache-agents", scopes: ["ingest"] })).json.token;
  agent = await startAgentProcess(
    writeAgentConfig(dir.path, {
      collector: { url: collector.url, api_key: ingestKey, timeout: "5s" },
      agent: { name: "cache-e2e", data_dir: join(dir.path, "agent") },
      intake: { address: "127.0.0.1:0" },
      shipper: { flush_interval: "100ms", max_backoff: "1s" },
      heartbeat_interval: "1s",
      log: { format: "json", level: "info" },
      plugins: [{ id: PLUGIN_ID, use: AGENT_PART }],
    }),
  );
  await eventually(() => published(), (r) => r.status === 200, 20_000, "the agent's first settings");
  await eventually(async () => (await agent.status()).channel.push_connected, (c) => c === true, 20_000, "the agent's push connection");
});

afterAll(async () => {
  await agent?.stop();
  await collector?.stop();
  for (const dir of dirs) dir.remove();
});

/** The collector's API with its admin token (the collector starts in beforeAll). */
const api = (method: string, path: string, body?: unknown) => callApi(collector, method, path, body);

/** Polls every 50 ms: these waits are short. */
const eventually = <T>(probe: () => Promise<T> | T, ok: (value: T) => boolean, timeoutMs: number, what: string) => waitUntil(probe, ok, timeoutMs, what, 50);

/** What an app on the agent's host reads. */
async function published(): Promise<{ status: number; json: any }> {
  const res = await fetch(`${agent.intakeUrl}/v1/plugins/${PLUGIN_ID}/settings`);
  return { status: res.status, json: await res.json() };
}

/** Events the agent's intake accepted from apps so far. */
async function intakeEvents(): Promise<number> {
  const text = await (await fetch(`${agent.intakeUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith('vigil_agent_events_emitted_total{plugin="intake"}'));
  return line ? Number(line.split(" ").pop()) : 0;
}

async function setEnabled(enabled: boolean, app?: string): Promise<string> {
  const res = await api("PUT", "/api/cache-monitor/settings", { ...(app ? { app } : {}), settings: { enabled } });
  expect(res.status).toBe(200);
  expect(res.json.settings.enabled).toBe(enabled);
  expect(res.json.agents_notified).toBe(1);
  return res.json.version;
}

describe("cache/DB monitor runtime switch end to end", () => {
  it("a switch set through the collector reaches the agent's intake within seconds, without a restart", async () => {
    const before = (await published()).json;
    expect(before.apps["*"].enabled).toBe(true);

    const version = await setEnabled(false);
    const off = await eventually(() => published(), (r) => r.json.version === version, APPLY_WITHIN_MS, "the disabled settings at the intake");
    expect(off.json.version).not.toBe(before.version);
    expect(off.json.apps["*"].enabled).toBe(false);

    const onAgain = await setEnabled(true);
    const on = await eventually(() => published(), (r) => r.json.version === onAgain, APPLY_WITHIN_MS, "the enabled settings at the intake");
    expect(on.json).toEqual(before);
    // The agent process is the one it was: no restart applied it.
    expect(agent.child.exitCode).toBeNull();
    expect((await agent.status()).plugins.find((p: { id: string }) => p.id === PLUGIN_ID)).toMatchObject({ state: "ok", restarts: 0, details: { settings_version: onAgain } });
  });

  it.skipIf(!existsSync(SDK))("an app applies the switch within 5 s, emits nothing while disabled, and reports again once enabled", async () => {
    const { createMonitor } = (await import(pathToFileURL(SDK).href)) as { createMonitor: CreateMonitor };
    const app = "e2e-shop";
    const monitor = createMonitor({ app, agentUrl: agent.intakeUrl, pluginId: PLUGIN_ID, settingsPollMs: 2000, flushIntervalMs: 200 });
    try {
      for (let i = 0; i < 10; i++) monitor.logCacheRead(`user:${i}`, { hit: true, durationMs: 0.7 });
      await monitor.flush();
      const seen = await eventually(() => api("GET", `/api/cache-monitor?app=${app}&window=10m`), (r) => r.json.apps[0]?.summary.ops === 10, 20_000, "the app's first stats");
      expect(seen.json.apps[0]).toMatchObject({ app, mode: "detailed", enabled: true, summary: { hits: 10, hit_rate: 1 } });

      // Off for this app only, through the collector: the app follows within 5 s.
      await setEnabled(false, app);
      await eventually(() => monitor.mode(), (mode) => mode === "disabled", APPLY_WITHIN_MS, "the app's disabled mode");
      await monitor.flush();
      // Its one mode-switch event reaches the collector; after that, nothing.
      await eventually(() => api("GET", `/api/cache-monitor?app=${app}&window=10m`), (r) => r.json.apps[0]?.mode === "disabled", 20_000, "the disabled mode at the collector");
      const accepted = await intakeEvents();
      const opsBefore = monitor.totals().ops;
      for (let i = 0; i < 1000; i++) monitor.logCacheRead(`user:${i}`, { hit: i % 2 === 0, durationMs: 1.5 });
      await monitor.flush();
      await new Promise((r) => setTimeout(r, 1000));
      await monitor.flush();
      expect(monitor.totals().ops).toBe(opsBefore);
      expect(await intakeEvents()).toBe(accepted);

      // On again: the app counts and ships again, and the collector shows it.
      await setEnabled(true, app);
      await eventually(() => monitor.mode(), (mode) => mode !== "disabled", APPLY_WITHIN_MS, "the app's enabled mode");
      for (let i = 0; i < 5; i++) monitor.logCacheRead(`user:${i}`, { hit: i < 3, durationMs: 3 });
      await monitor.flush();
      const after = await eventually(() => api("GET", `/api/cache-monitor?app=${app}&window=10m`), (r) => r.json.apps[0]?.summary.ops === 15, 20_000, "the stats after re-enabling");
      expect(after.json.apps[0]).toMatchObject({ mode: "detailed", enabled: true, summary: { ops: 15, hits: 13, misses: 2, cache_reads: 15 } });
      expect(after.json.apps[0].key_labels).toEqual([{ key_label: "user", ops: 15, hit_rate: 0.8667 }]);
    } finally {
      await monitor.close();
    }
  });
});
