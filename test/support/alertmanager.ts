// The real Prometheus Alertmanager (Debian's prometheus-alertmanager, 0.25) as a child
// process on a free port, clustering off, with a throwaway storage dir and a config whose
// one receiver does nothing: what the Alertmanager channel is tested against.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eventually } from "./eventually.js";

export const ALERTMANAGER_BIN = process.env.ALERTMANAGER_BIN ?? "/usr/bin/prometheus-alertmanager";

const CONFIG = `route:
  receiver: "null"
  group_wait: 1s
receivers:
  - name: "null"
`;

/** An alert as `GET /api/v2/alerts` shows it (gettableAlert). */
export interface GettableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  updatedAt: string;
  generatorURL?: string;
  fingerprint: string;
  receivers: { name: string }[];
  status: { state: "unprocessed" | "active" | "suppressed"; silencedBy: string[]; inhibitedBy: string[] };
}

export interface Alertmanager {
  /** Base URL, e.g. http://127.0.0.1:41234: what the channel's `url` takes. */
  url: string;
  /** `GET /api/v2/alerts`: the alerts it holds that have not resolved, optionally filtered by label matchers like `alertname="X"`. */
  alerts(filter?: string[]): Promise<GettableAlert[]>;
  /** Everything it wrote to stderr (its log). */
  log(): string;
  /** SIGTERM (SIGKILL after 5 s), wait for the exit, remove the storage dir. Safe to call twice. */
  stop(): Promise<void>;
}

export async function startAlertmanager(): Promise<Alertmanager> {
  if (!existsSync(ALERTMANAGER_BIN)) {
    throw new Error(`Alertmanager is not installed at ${ALERTMANAGER_BIN}: install the Debian package prometheus-alertmanager (CI does), or point ALERTMANAGER_BIN at the binary`);
  }
  const dir = mkdtempSync(join(tmpdir(), "vigil-alertmanager-"));
  writeFileSync(join(dir, "alertmanager.yml"), CONFIG);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    ALERTMANAGER_BIN,
    [`--config.file=${join(dir, "alertmanager.yml")}`, `--storage.path=${join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`, "--cluster.listen-address=", "--log.level=warn"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let running = true;
  void exited.then(() => (running = false));
  // A test run that dies before stop() must not leave Alertmanager behind.
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  async function stop(): Promise<void> {
    process.removeListener("exit", killOnExit);
    if (running) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  }

  try {
    await eventually(
      async () => {
        if (!running) throw new Error(`Alertmanager exited before it was ready:\n${stderr}`);
        return fetch(`${url}/-/ready`).then((res) => res.status, () => 0);
      },
      (status) => status === 200,
      30_000,
      "Alertmanager ready",
    );
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url,
    async alerts(filter = []) {
      const query = filter.map((matcher) => `filter=${encodeURIComponent(matcher)}`).join("&");
      const res = await fetch(`${url}/api/v2/alerts${query ? `?${query}` : ""}`);
      if (res.status !== 200) throw new Error(`GET /api/v2/alerts answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as GettableAlert[];
    },
    log: () => stderr,
    stop,
  };
}

/** A port nothing listens on right now (the OS picks it; Alertmanager binds it next). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
