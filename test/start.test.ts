import { spawn } from "node:child_process";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "./support/agent-process.js";
import { REPO_ROOT, tempDir } from "./support/collector-process.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

describe("pnpm start", () => {
  it("runs a collector and an agent whose http-check watches the collector, prints the URLs, and stops both on Ctrl-C", async () => {
    const dir = tempDir("vigil-start-");
    cleanups.push(() => dir.remove());
    const port = await freePort();
    const intakePort = await freePort();
    const child = spawn(process.execPath, [join(REPO_ROOT, "scripts/start.js")], {
      env: { ...process.env, PORT: String(port), VIGIL_DATA_DIR: dir.path, VIGIL_AGENT_INTAKE: `127.0.0.1:${intakePort}`, VIGIL_BOOTSTRAP_TOKEN: "", VIGIL_ADMIN_PASSWORD: "", VIGIL_LOG_FORMAT: "json" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.stdout.resume();
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    // On a failed assertion too: Ctrl-C first, since start.js's children are detached and
    // outlive a SIGKILL of start.js itself.
    cleanups.push(async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGINT");
      const stopped = await Promise.race([exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 20_000))]);
      if (!stopped) child.kill("SIGKILL");
    });

    const deadline = Date.now() + 90_000;
    while (!(/Admin API key[^\n]*\n\s+vgl_/.test(stderr) && stderr.includes("Agent status")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(stderr).toContain(`http://127.0.0.1:${port}/health`);
    expect(stderr).toContain(`http://127.0.0.1:${intakePort}/status`);
    const token = /Admin API key[^\n]*\n\s+(vgl_\S+)/.exec(stderr)![1]!;

    let checks: { attrs: Record<string, string> }[] = [];
    while (checks.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      const res = await fetch(`http://127.0.0.1:${port}/v1/events?type=http.check`, { headers: { authorization: `Bearer ${token}` } });
      checks = ((await res.json()) as { events: typeof checks }).events;
    }
    expect(checks[0]!.attrs).toMatchObject({ check_name: "collector-health", up: "true" });
    const status = (await (await fetch(`http://127.0.0.1:${intakePort}/status`)).json()) as { plugins: { id: string; state: string }[] };
    expect(status.plugins.find((p) => p.id === "http-check")).toMatchObject({ state: "ok" });
    // The cache monitor's relay runs too, and the collector answers its API (the part is loaded).
    const settings = await fetch(`http://127.0.0.1:${port}/api/cache-monitor/settings`, { headers: { authorization: `Bearer ${token}` } });
    expect(settings.status).toBe(200);
    expect(status.plugins.map((p) => p.id)).toContain("cache-db");
    const reddit = await fetch(`http://127.0.0.1:${port}/api/keywords`, { headers: { authorization: `Bearer ${token}` } });
    expect(reddit.status).toBe(200);
    const jobs = await fetch(`http://127.0.0.1:${port}/api/monitoring/jobs`, { headers: { authorization: `Bearer ${token}` } });
    expect(jobs.status).toBe(200);
    expect(status.plugins.map((p) => p.id)).toContain("social");

    // The dashboard is served, and the first admin signs in with the password printed once.
    expect(stderr).toContain(`Dashboard       http://127.0.0.1:${port}/`);
    const [, email, password] = /Dashboard sign-in[^\n]*\n\s+(\S+)\s+(\S+)/.exec(stderr)!;
    const page = await fetch(`http://127.0.0.1:${port}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<div id="app">');
    const signIn = await fetch(`http://127.0.0.1:${port}/api/session`, { method: "POST", body: JSON.stringify({ email, password }) });
    expect(signIn.status).toBe(200);
    expect(((await signIn.json()) as { user: { role: string } }).user.role).toBe("admin");

    child.kill("SIGINT");
    expect(await exited).toBe(0);
  });
});
