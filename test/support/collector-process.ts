import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const COLLECTOR_BIN = join(REPO_ROOT, "collector/bin/vigil-collector.js");
export const TEST_TOKEN = "vgl_test_bootstrap_token_0123456789";

export function tempDir(prefix = "vigil-test-"): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export interface CollectorProcess {
  url: string;
  port: number;
  token: string;
  child: ChildProcess;
  /** Every JSON log line the process wrote, parsed. */
  logs: Record<string, unknown>[];
  stderr: () => string;
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Starts `vigil-collector` as a real child process on a free port and resolves once it
 * logs "collector listening". Rejects with its stderr when it exits first.
 */
export async function startCollectorProcess(options: {
  dataDir: string;
  env?: Record<string, string>;
  args?: string[];
  timeoutMs?: number;
}): Promise<CollectorProcess> {
  const child = spawn(process.execPath, [COLLECTOR_BIN, "--port", "0", "--host", "127.0.0.1", "--data-dir", options.dataDir, "--log-format", "json", ...(options.args ?? [])], {
    env: { ...process.env, VIGIL_BOOTSTRAP_TOKEN: TEST_TOKEN, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
  const listening = new Promise<{ url: string; port: number }>((resolveListen, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`collector did not start in time; stderr:\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const record = JSON.parse(line) as Record<string, unknown>;
        logs.push(record);
        if (record.msg === "collector listening") {
          clearTimeout(timer);
          resolveListen({ url: String(record.url), port: Number(record.port) });
        }
      } catch {
        logs.push({ raw: line });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`collector exited with ${code} before listening; stderr:\n${stderr}`));
    });
  });
  const { url, port } = await listening;
  return {
    url,
    port,
    token: options.env?.VIGIL_BOOTSTRAP_TOKEN ?? TEST_TOKEN,
    child,
    logs,
    stderr: () => stderr,
    exited,
    ...signalControls(child, exited),
  };
}

/** `stop()` (SIGTERM, resolves with the exit code) and `kill()` (SIGKILL) for a child process. */
export function signalControls(child: ChildProcess, exited: Promise<number | null>) {
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    async stop(): Promise<number | null> {
      if (alive()) child.kill("SIGTERM");
      return exited;
    },
    async kill(): Promise<void> {
      if (alive()) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** Calls a collector's API with its token: a JSON body in, the status and the parsed JSON answer out. */
export async function callApi(collector: { url: string; token: string }, method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(`${collector.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${collector.token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}
