import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { REPO_ROOT, signalControls } from "./collector-process.js";

export const FAKE_CLICKHOUSE_MAIN = join(REPO_ROOT, "test/fakes/clickhouse/main.ts");

export interface FakeClickHouseProcess {
  /** What CLICKHOUSE_URL points at. */
  url: string;
  child: ChildProcess;
  stderr(): string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  kill(): Promise<void>;
}

/**
 * Starts the fake ClickHouse (test/fakes/clickhouse) as a process of its own — the storage
 * that several collector processes share — and resolves once it listens.
 */
export async function startFakeClickHouseProcess(options: {
  dataDir: string;
  users?: Record<string, string>;
  keepAliveTimeoutSeconds?: number;
  timeoutMs?: number;
}): Promise<FakeClickHouseProcess> {
  const args = [
    "--import",
    "tsx",
    FAKE_CLICKHOUSE_MAIN,
    "--data-dir",
    options.dataDir,
    ...Object.entries(options.users ?? {}).flatMap(([name, password]) => ["--user", `${name}:${password}`]),
    ...(options.keepAliveTimeoutSeconds !== undefined ? ["--keep-alive-timeout", String(options.keepAliveTimeoutSeconds)] : []),
  ];
  // `--import tsx` keeps it one process, so killing it leaves no grandchild.
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`fake ClickHouse did not start in time; stderr:\n${stderr}`));
    }, options.timeoutMs ?? 60_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const record = JSON.parse(line) as { msg?: string; url?: string };
        if (record.msg === "fake clickhouse listening" && record.url) {
          clearTimeout(timer);
          resolve(record.url);
        }
      } catch {
        // not a JSON line
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`fake ClickHouse exited with ${code} before listening; stderr:\n${stderr}`));
    });
  });
  return { url, child, stderr: () => stderr, exited, ...signalControls(child, exited) };
}
