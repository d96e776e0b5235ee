#!/usr/bin/env node
// `pnpm start`: the whole stack on the embedded store, from a fresh clone — a collector
// and one agent whose http-check watches the collector's own /health.
//
// Environment: PORT (collector, default 4600), VIGIL_DATA_DIR (default ./data),
// VIGIL_BOOTSTRAP_TOKEN (first admin key; generated and printed once when unset),
// VIGIL_AGENT_INTAKE (agent's local address, default 127.0.0.1:4601),
// VIGIL_AGENT_KEY (ingest key for the agent, when its config must be (re)written and no
// admin key is at hand). Ctrl-C stops both.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const port = Number(process.env.PORT ?? 4600);
const dataDir = resolve(process.env.VIGIL_DATA_DIR ?? "./data");
const intake = process.env.VIGIL_AGENT_INTAKE ?? "127.0.0.1:4601";
const agentDir = join(dataDir, "agent");
const agentConfig = join(agentDir, "agent.yaml");
const collectorUrl = `http://127.0.0.1:${port}`;
const firstStart = !existsSync(join(dataDir, "clickhouse"));

let adminToken = process.env.VIGIL_BOOTSTRAP_TOKEN;
let generatedToken = false;
if (!adminToken && firstStart) {
  adminToken = `vgl_${randomBytes(24).toString("base64url")}`;
  generatedToken = true;
}
// The first dashboard admin: VIGIL_ADMIN_EMAIL / VIGIL_ADMIN_PASSWORD, or a generated
// password on the very first start, shown once below with the admin key.
const adminEmail = process.env.VIGIL_ADMIN_EMAIL ?? "admin@vigil.local";
let adminPassword = process.env.VIGIL_ADMIN_PASSWORD;
let generatedPassword = false;
if (!adminPassword && firstStart) {
  adminPassword = randomBytes(12).toString("base64url");
  generatedPassword = true;
}

const children = [];
function run(name, args, env = {}) {
  // Own process group: Ctrl-C in a terminal signals the whole foreground group, and a
  // child that got both that SIGINT and our SIGTERM would take it as "exit at once".
  const child = spawn(process.execPath, args, { stdio: "inherit", env: { ...process.env, ...env }, detached: true });
  children.push({ name, child });
  child.on("exit", (code, signal) => {
    if (!stopping) {
      console.error(`\n${name} exited (${signal ?? code}); stopping the stack`);
      stop(code || 1);
    }
  });
  return child;
}

let stopping = false;
function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  const alive = children.filter(({ child }) => child.exitCode === null && child.signalCode === null);
  if (alive.length === 0) process.exit(code);
  let left = alive.length;
  for (const { child } of alive) {
    child.once("exit", () => {
      if (--left === 0) process.exit(code);
    });
    child.kill("SIGTERM");
  }
}
let signals = 0;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    if (++signals > 1) {
      for (const { child } of children) child.kill("SIGKILL");
      process.exit(130);
    }
    stop(0);
  });
}

async function waitForHealth(deadlineMs) {
  const deadline = Date.now() + deadlineMs;
  while (Date.now() < deadline && !stopping) {
    try {
      const res = await fetch(`${collectorUrl}/health`);
      if (res.status === 200) return true;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

async function agentKey() {
  if (process.env.VIGIL_AGENT_KEY) return process.env.VIGIL_AGENT_KEY;
  if (!adminToken) return undefined;
  const res = await fetch(`${collectorUrl}/api/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "local agent (pnpm start)", scopes: ["ingest"] }),
  });
  if (res.status !== 201) return undefined;
  return (await res.json()).token;
}

function writeAgentConfig(key) {
  mkdirSync(agentDir, { recursive: true });
  writeFileSync(
    agentConfig,
    [
      "# Written by `pnpm start` on first start. The key below is this agent's own ingest key.",
      "collector:",
      `  url: ${collectorUrl}`,
      `  api_key: ${key}`,
      "agent:",
      "  name: local",
      "  data_dir: .",
      "intake:",
      `  address: ${intake}`,
      "plugins:",
      "  # Relays the cache monitor's settings to apps using @vigil/plugin-cache-db/sdk on this host.",
      '  - use: "@vigil/plugin-cache-db"',
      "    id: cache-db",
      "  # Runs the monitoring jobs created with POST /api/monitoring/jobs (run it on one agent per tenant).",
      '  - use: "@vigil/plugin-social"',
      "    id: social",
      '  - use: "@vigil/plugin-http-check"',
      "    config:",
      "      checks:",
      "        - name: collector-health",
      `          url: ${collectorUrl}/health`,
      "          interval: 30s",
      "          body_contains: ok",
      "",
    ].join("\n"),
    { mode: 0o600 },
  );
}

// The first-party plugins' collector parts (tables and routes: /api/keywords, /api/mentions, …).
const collectorPlugins = ["@vigil/plugin-reddit", "@vigil/plugin-cache-db", "@vigil/plugin-social", "@vigil/plugin-sms"].flatMap((name) => ["--plugin", name]);
run("collector", [join(root, "collector/bin/vigil-collector.js"), "--port", String(port), "--data-dir", dataDir, ...collectorPlugins], {
  ...(adminToken ? { VIGIL_BOOTSTRAP_TOKEN: adminToken } : {}),
  VIGIL_ADMIN_EMAIL: adminEmail,
  ...(adminPassword ? { VIGIL_ADMIN_PASSWORD: adminPassword } : {}),
});
if (!(await waitForHealth(120_000))) {
  console.error(`the collector did not become healthy at ${collectorUrl}/health`);
  stop(1);
} else {
  // The admin key first: whatever happens next, it must not go unseen.
  if (generatedToken) process.stderr.write(`\n  Admin API key (shown once; only its hash is stored — keep it now):\n    ${adminToken}\n\n`);
  if (generatedPassword) process.stderr.write(`  Dashboard sign-in (shown once; only its hash is stored — keep it now):\n    ${adminEmail}  ${adminPassword}\n\n`);
  if (!existsSync(agentConfig)) {
    const key = await agentKey().catch((error) => {
      console.error(`creating the agent's ingest key failed: ${error.message}`);
      return undefined;
    });
    if (!key) {
      console.error(
        `\nCannot set up the agent: ${agentConfig} does not exist and there is no admin key to create its ingest key.\n` +
          "Create an ingest key (POST /api/keys with your admin key) and run again with VIGIL_AGENT_KEY=<that key>.",
      );
      stop(2);
    } else writeAgentConfig(key);
  }
  if (!stopping) {
    run("agent", [join(root, "agent/bin/vigil-agent.js"), "run", "--config", agentConfig]);
    process.stderr.write(
      `\nVigil is running (Ctrl-C stops it)\n` +
        `  Dashboard       ${collectorUrl}/\n` +
        `  Collector API   ${collectorUrl}/v1/events   ${collectorUrl}/api/stats   ${collectorUrl}/api/agents\n` +
        `  Health          ${collectorUrl}/health\n` +
        `  Metrics         ${collectorUrl}/metrics   http://${intake}/metrics\n` +
        `  Agent status    http://${intake}/status   (or: npx -y pnpm@10 exec vigil-agent status --url http://${intake})\n` +
        `  Data            ${dataDir}\n\n`,
    );
  }
}
