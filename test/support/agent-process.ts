import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { stringify } from "yaml";
import { REPO_ROOT, signalControls } from "./collector-process.js";

export const AGENT_BIN = join(REPO_ROOT, "agent/bin/vigil-agent.js");
export const FIXTURE_PLUGINS = join(REPO_ROOT, "test/fixtures/plugins");

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

export interface AgentProcess {
  child: ChildProcess;
  intakeUrl: string;
  logs: Record<string, unknown>[];
  stderr(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
  /** Resolves with the first log record matching, waiting up to timeoutMs. */
  waitForLog(match: (record: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  status(): Promise<any>;
}

/**
 * The config tests give an agent that ships to a test collector: fast flushes, short
 * backoff and heartbeats, JSON logs, an intake on `intakePort` (0: any free port).
 */
export function testAgentConfig(
  collector: { url: string; token: string },
  dataDir: string,
  options: { name: string; intakePort?: number; plugins?: Record<string, unknown>[] },
): Record<string, unknown> {
  return {
    collector: { url: collector.url, api_key: collector.token, timeout: "5s" },
    agent: { name: options.name, data_dir: dataDir },
    intake: { address: `127.0.0.1:${options.intakePort ?? 0}` },
    shipper: { flush_interval: "100ms", max_backoff: "1s" },
    heartbeat_interval: "1s",
    log: { format: "json", level: "info" },
    ...(options.plugins ? { plugins: options.plugins } : {}),
  };
}

/** Writes an agent config file into `dir` and returns its path. */
export function writeAgentConfig(dir: string, config: Record<string, unknown>, file = "agent.yaml"): string {
  const path = join(dir, file);
  writeFileSync(path, stringify(config));
  return path;
}

/** Starts `vigil-agent run` as a real process; resolves once it logs "agent running". */
export async function startAgentProcess(configFile: string, options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<AgentProcess> {
  const child = spawn(process.execPath, [AGENT_BIN, "run", "--config", configFile], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters: { match: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }[] = [];
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      record = { raw: line };
    }
    logs.push(record);
    for (const waiter of [...waiters]) {
      if (waiter.match(record)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(record);
      }
    }
  });

  function waitForLog(match: (r: Record<string, unknown>) => boolean, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    const found = logs.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`agent log not seen in ${timeoutMs} ms; stderr:\n${stderr}\nlast logs:\n${logs.slice(-10).map((l) => JSON.stringify(l)).join("\n")}`)), timeoutMs);
      waiters.push({
        match,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`agent exited with ${code}; stderr:\n${stderr}\nlast logs:\n${logs.slice(-10).map((l) => JSON.stringify(l)).join("\n")}`));
      });
    });
  }

  const running = await waitForLog((r) => r.msg === "agent running", options.timeoutMs ?? 60_000);
  const intakeUrl = String(running.intake);
  return {
    child,
    intakeUrl,
    logs,
    stderr: () => stderr,
    exited,
    waitForLog,
    async status() {
      return (await fetch(`${intakeUrl}/status`)).json();
    },
    ...signalControls(child, exited),
  };
}
