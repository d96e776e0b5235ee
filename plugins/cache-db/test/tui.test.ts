import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { REPO_ROOT, TEST_TOKEN } from "../../../test/support/collector-process.js";
import { postBatch } from "../../../test/support/events.js";
import { startInProcess } from "../../../test/support/in-process.js";
import { LATENCY_BUCKETS_MS, OP_EVENT, SOURCE, STATS_EVENT, bucketKey } from "../src/contract.js";
import { readAnswer, type MonitorAnswer } from "../src/tui/answer.js";
import { applyInput, type ViewState } from "../src/tui/keys.js";
import { parseCommandLine } from "../src/tui/options.js";
import { render, type FrameData } from "../src/tui/render.js";

const BIN = join(REPO_ROOT, "plugins/cache-db/bin/vigil-cache-monitor.js");
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const NOW = Date.UTC(2026, 10, 27, 12, 0, 0);

/** Two apps as the collector's `GET /api/cache-monitor` answers them; events oldest first on purpose. */
function monitorAnswer(now = NOW) {
  return {
    apps: [
      {
        app: "checkout",
        mode: "detailed",
        ops_per_s: 41.2,
        last_seen: now - 3_000,
        dropped_events: 0,
        summary: {
          window_s: 60,
          ops: 2472,
          hits: 1800,
          misses: 120,
          partial_hits: 12,
          hit_rate: 0.931,
          cache_writes: 300,
          db_reads: 132,
          db_writes: 60,
          hybrid_queries: 48,
          latency_ms: { cache_read: { p50: 0.2, p95: 0.42, p99: 1.1 }, db_read: { p50: 1.2, p95: 3.1, p99: 9 } },
        },
        key_labels: [
          { key_label: "user:*", ops: 1500, hit_rate: 0.95 },
          { key_label: "cart:*", ops: 700, hit_rate: 0.88 },
        ],
        recent: [
          { ts: now - 5_000, op: "db_write", key_label: "orders", count: 1, duration_ms: 4.2, sample_rate: 1, mode: "detailed" },
          { ts: now - 4_000, op: "db_read", key_label: "orders", count: 3, duration_ms: 2.5, sample_rate: 1, mode: "detailed" },
          { ts: now - 3_000, op: "cache_write", key_label: "cart:*", count: 1, duration_ms: 0.3, sample_rate: 1, mode: "detailed" },
          { ts: now - 2_000, op: "cache_read", key_label: "cart:*", result: "partial", count: 4, duration_ms: 0.6, sample_rate: 1, mode: "detailed" },
          { ts: now - 1_000, op: "cache_read", key_label: "user:*", result: "miss", count: 1, duration_ms: 0.5, sample_rate: 1, mode: "detailed" },
          { ts: new Date(now - 500).toISOString(), op: "cache_read", key_label: "user:*", result: "hit", count: 1, duration_ms: 0.25, sample_rate: 1, mode: "detailed" },
        ],
      },
      {
        app: "search",
        mode: "sampled",
        ops_per_s: 640,
        last_seen: now - 1_000,
        dropped_events: 7,
        summary: { window_s: 60, ops: 38_400, hits: 30_000, misses: 8_000, partial_hits: 0, hit_rate: 0.789, cache_writes: 400, db_reads: 0, db_writes: 0, hybrid_queries: 0, latency_ms: { cache_read: { p50: 0.3, p95: 0.9, p99: 2 } } },
        key_labels: [{ key_label: "query:*", ops: 38_000, hit_rate: 0.79 }],
        recent: [{ ts: now - 1_500, op: "cache_read", key_label: "query:*", result: "hit", count: 1, duration_ms: 0.31, sample_rate: 0.05, mode: "sampled" }],
      },
    ],
    settings: { enabled: true },
  };
}

function frame(overrides: Partial<FrameData> = {}): FrameData {
  return {
    answer: readAnswer(monitorAnswer()),
    answeredAt: NOW,
    error: undefined,
    url: "http://127.0.0.1:4600",
    app: undefined,
    filter: undefined,
    type: undefined,
    intervalS: 2,
    paused: false,
    prompt: undefined,
    interactive: true,
    now: NOW,
    ...overrides,
  };
}

const plain = (text: string) => text.replace(ANSI, "");
/** The event log's lines: after its column header, before the key help. */
const eventLines = (screen: string) => {
  const lines = plain(screen).split("\n");
  return lines.slice(lines.findIndex((line) => line.startsWith("time ")) + 1).filter((line) => line !== "" && !/^p (pause|resume) /.test(line));
};

describe("render", () => {
  it("shows each app's mode, hit rate, rates, counts and p95 per operation, then the event log newest first", () => {
    const screen = render(frame(), 120, 40, false);
    expect(screen).not.toMatch(ANSI);
    expect(screen).toContain("checkout  [detailed]  hit rate 93.1%  41 ops/s  seen 3 s ago");
    expect(screen).toContain("last 60 s: 2,472 ops · hits 1,800 · misses 120 · partial 12 · writes 300 · db reads 132 · db writes 60 · hybrid 48");
    expect(screen).toContain("p95: cache_read 0.42 ms · db_read 3.10 ms");
    expect(screen).toContain("keys: user:* 1,500 ops 95.0% · cart:* 700 ops 88.0%");
    expect(screen).toContain("search  [sampled]  hit rate 78.9%  640 ops/s  seen 1 s ago  dropped 7");
    const events = eventLines(screen);
    // Newest first across apps (ts as epoch ms or RFC 3339).
    expect(events.map((line) => line.split(/\s+/).slice(1, 3).join(" "))).toEqual([
      "checkout cache_read",
      "checkout cache_read",
      "search cache_read",
      "checkout cache_read",
      "checkout cache_write",
      "checkout db_read",
      "checkout db_write",
    ]);
    expect(events[0]).toMatch(/user:\*\s+hit\s+1\s+0\.25 ms$/);
    expect(events[2]).toMatch(/query:\*\s+hit\s+1\s+0\.31 ms\s+1\/20$/);
    expect(events[3]).toMatch(/cart:\*\s+partial\s+4\s+0\.60 ms$/);
  });

  it("colours the mode (detailed green, sampled yellow, aggregated cyan, disabled grey) and each event by op and result", () => {
    const answer = monitorAnswer();
    answer.apps.push({ ...answer.apps[1]!, app: "batch", mode: "aggregated", recent: [] }, { ...answer.apps[1]!, app: "legacy", mode: "disabled", recent: [] });
    const screen = render(frame({ answer: readAnswer(answer) }), 120, 60, true);
    expect(screen).toContain("\x1b[32m[detailed]\x1b[0m");
    expect(screen).toContain("\x1b[33m[sampled]\x1b[0m");
    expect(screen).toContain("\x1b[36m[aggregated]\x1b[0m");
    expect(screen).toContain("\x1b[90m[disabled]\x1b[0m");
    const colourOf = (op: string, result = "") => {
      const line = screen.split("\n").find((l) => /^\d\d:\d\d/.test(plain(l)) && plain(l).includes(` ${op} `) && (result === "" || plain(l).includes(` ${result} `)))!;
      return /\x1b\[(\d+)m\S*\s*(cache|db|hybrid)/.exec(line)?.[1];
    };
    expect(colourOf("cache_read", "hit")).toBe("32");
    expect(colourOf("cache_read", "miss")).toBe("31");
    expect(colourOf("cache_read", "partial")).toBe("33");
    expect(colourOf("cache_write")).toBe("34");
    expect(colourOf("db_write")).toBe("34");
    expect(colourOf("db_read")).toBe("35");
  });

  it("fits the terminal: no line wider than the width, no more lines than the height, as many events as fit", () => {
    const answer = monitorAnswer();
    answer.apps[0]!.recent = Array.from({ length: 200 }, (_, i) => ({ ts: NOW - i, op: "cache_read", key_label: `a-rather-long-key-label-${i}`, result: "hit", count: 1, duration_ms: 0.1, sample_rate: 1, mode: "detailed" }));
    for (const [width, height] of [
      [80, 24],
      [60, 12],
      [200, 50],
      [40, 5],
    ] as const) {
      const screen = render(frame({ answer: readAnswer(answer) }), width, height, true);
      const lines = screen.split("\n");
      expect(lines.length).toBe(height);
      for (const line of lines) expect([...plain(line)].length).toBeLessThanOrEqual(width);
      expect(plain(lines.at(-1)!)).toMatch(/^p pause/);
    }
    const screen = render(frame({ answer: readAnswer(answer) }), 100, 30, false);
    const shown = eventLines(screen).filter((line) => line.includes("a-rather-long-key-label-"));
    expect(shown.length).toBe(30 - plain(screen).split("\n").findIndex((line) => line.startsWith("time ")) - 2);
    expect(shown[0]).toContain("a-rather-long-key-label-0 ");
  });

  it("shows what it can of an answer with missing, null or string-typed fields", () => {
    const answer = readAnswer({
      apps: [
        { app: "bare" },
        { app: "strings", mode: "aggregated", ops_per_s: "5400", dropped_events: "12", last_seen: "2026-11-27 11:59:58.000", summary: { ops: "324000", hit_rate: null, latency_ms: { cache_read: { p95: "1.5" }, db_read: "oops" } }, key_labels: [null, { key_label: "k" }], recent: [7, { op: "db_read" }] },
        "not an app",
        { app: "off", mode: null, enabled: false },
      ],
    });
    expect(answer?.apps.map((app) => app.app)).toEqual(["bare", "strings", "off"]);
    const screen = render(frame({ answer }), 120, 40, false);
    expect(screen).toContain("bare  [unknown]  hit rate —  — ops/s");
    expect(screen).toContain("strings  [aggregated]  hit rate —  5,400 ops/s  seen 2 s ago  dropped 12");
    expect(screen).toContain("window: 324,000 ops · hits —");
    expect(screen).toContain("p95: cache_read 1.50 ms");
    expect(screen).toContain("off  [disabled]");
    expect(screen).toContain("keys: k — ops —");
    expect(eventLines(screen)[0]).toMatch(/^—\s+strings\s+db_read\s+—/);
    expect(readAnswer({ error: { message: "nope" } })).toBeUndefined();
    expect(readAnswer("[]")).toBeUndefined();
  });

  it("says why the screen is empty, keeps stale data under an error, and shows pause, filter and the filter prompt", () => {
    expect(plain(render(frame({ answer: readAnswer({ apps: [] }) }), 100, 20, false))).toContain("no app has reported to this collector yet");
    const filtered = plain(render(frame({ answer: readAnswer({ apps: [] }), filter: "user:*", type: "db_read" }), 100, 20, false));
    expect(filtered).toContain("no app matches key_label=user:* type=db_read");
    expect(filtered.split("\n")[0]).toContain("key_label=user:* type=db_read");

    const stale = plain(render(frame({ error: "cannot reach the collector at http://127.0.0.1:4600: connect ECONNREFUSED" }), 200, 30, false));
    expect(stale).toMatch(/^! cannot reach the collector at .*; retrying every 2 s; showing data from \d\d:\d\d:\d\d$/m);
    expect(stale).toContain("checkout  [detailed]");

    const paused = plain(render(frame({ paused: true }), 120, 30, false)).split("\n");
    expect(paused[0]).toContain("PAUSED");
    expect(paused.at(-1)).toMatch(/^p resume/);
    expect(plain(render(frame({ prompt: "user:" }), 120, 30, false)).split("\n").at(-1)).toMatch(/^filter key_label: user:_/);
    expect(plain(render(frame({ interactive: false }), 120, 30, false))).not.toContain("q quit");
    expect(plain(render(frame({ answer: undefined, answeredAt: undefined }), 120, 30, false))).toContain("waiting for the collector");
  });
});

describe("keys", () => {
  const start: ViewState = { paused: false, intervalS: 2, filter: undefined, prompt: undefined };
  const press = (state: ViewState, ...inputs: string[]) => inputs.reduce((acc, input) => applyInput(acc.state, input), { state, effect: "none" as ReturnType<typeof applyInput>["effect"] });

  it("p pauses and resumes (resuming reads at once), + and - move the interval within 1..10 s", () => {
    expect(press(start, "p")).toEqual({ state: { ...start, paused: true }, effect: "redraw" });
    expect(press(start, "p", "p")).toEqual({ state: start, effect: "refetch" });
    expect(press(start, "+")).toEqual({ state: { ...start, intervalS: 3 }, effect: "reschedule" });
    expect(press(start, "-", "-", "-").state.intervalS).toBe(1);
    expect(press(start, "-", "-").effect).toBe("none");
    expect(press(start, ..."++++++++++++").state.intervalS).toBe(10);
  });

  it("f opens the filter prompt; Enter applies it, an empty Enter clears it, Esc cancels, Backspace erases", () => {
    const typed = press(start, "f", "user:x", "\x7f", "*");
    expect(typed.state.prompt).toBe("user:*");
    // Keys typed into the prompt are text, not commands.
    expect(press(typed.state, "q", "p").state).toMatchObject({ prompt: "user:*qp", paused: false });
    expect(press(typed.state, "\r")).toEqual({ state: { ...start, filter: "user:*" }, effect: "refetch" });
    // Pasted text with its Enter arrives as one chunk.
    expect(applyInput(start, "f")).toMatchObject({ effect: "redraw" });
    expect(applyInput({ ...start, prompt: "" }, "cart:*\r")).toEqual({ state: { ...start, filter: "cart:*" }, effect: "refetch" });
    expect(press({ ...start, filter: "cart:*" }, "f", "\r")).toEqual({ state: start, effect: "refetch" });
    expect(press(typed.state, "\x1b")).toEqual({ state: start, effect: "redraw" });
  });

  it("q and Ctrl-C quit (Ctrl-C even while typing); arrow keys do nothing", () => {
    expect(press(start, "q").effect).toBe("quit");
    expect(press(start, "\x03").effect).toBe("quit");
    expect(press(start, "f", "abc", "\x03").effect).toBe("quit");
    expect(press(start, "\x1b[A", "\x1b[D")).toEqual({ state: start, effect: "none" });
  });
});

describe("command line", () => {
  it("takes VIGIL_URL and VIGIL_API_KEY, flags winning, with the defaults", () => {
    expect(parseCommandLine([], {})).toEqual({
      kind: "run",
      options: { url: "http://127.0.0.1:4600", key: undefined, app: undefined, intervalS: 2, filter: undefined, type: undefined, once: false },
    });
    expect(parseCommandLine([], { VIGIL_URL: "https://vigil.example/proxy/", VIGIL_API_KEY: "vgl_env" })).toMatchObject({ options: { url: "https://vigil.example/proxy", key: "vgl_env" } });
    expect(parseCommandLine(["--url", "http://h:1", "--key=vgl_flag", "--interval", "10", "--type", "hybrid", "--app", "shop.v2", "--filter", "user:*", "--once"], { VIGIL_URL: "http://env", VIGIL_API_KEY: "vgl_env" })).toEqual({
      kind: "run",
      options: { url: "http://h:1", key: "vgl_flag", app: "shop.v2", intervalS: 10, filter: "user:*", type: "hybrid", once: true },
    });
    expect(parseCommandLine(["--bogus", "-h"], {})).toEqual({ kind: "help" });
  });

  it("names every bad flag (or the variable a bad value came from) and says how to fix it", () => {
    const message = (argv: string[], env: NodeJS.ProcessEnv = {}) => {
      const parsed = parseCommandLine(argv, env);
      return parsed.kind === "invalid" ? parsed.message : `not refused: ${JSON.stringify(parsed)}`;
    };
    expect(message(["--interval", "0"])).toMatch(/^--interval: must be a whole number of seconds from 1 to 10, e\.g\. --interval 5\n/);
    expect(message(["--interval", "1.5"])).toMatch(/^--interval: /);
    expect(message(["--interval"])).toMatch(/^--interval needs a value, e\.g\. --interval 5/);
    expect(message(["--url", "--once"])).toMatch(/^--url needs a value/);
    expect(message(["--type", "cache"])).toMatch(/^--type: must be one of cache_read, cache_write, db_read, db_write, hybrid/);
    expect(message(["--app", "no spaces"])).toMatch(/^--app: must be an app name/);
    expect(message(["--once=yes"])).toMatch(/^--once takes no value/);
    expect(message(["--colour"])).toMatch(/^unknown option --colour/);
    expect(message(["cache"])).toMatch(/^unexpected argument "cache"/);
    expect(message([], { VIGIL_URL: "ftp://x" })).toMatch(/^VIGIL_URL: must be an http\(s\) URL/);
    expect(message(["--url", "nope"], { VIGIL_URL: "ftp://x" })).toMatch(/^--url: must be an http\(s\) URL/);
    expect(message(["--interval", "99", "--type", "x"])).toMatch(/^--interval: .*\n--type: .*\nRun "vigil-cache-monitor --help"/);
  });
});

/**
 * What two apps' SDKs would have sent through an agent: exact counters of one 10 s flush
 * window (`cache.stats`) and a few logged operations (`cache.op`).
 */
function sdkEvents(now: number) {
  const event = (type: string, ts: number, attrs: Record<string, string | number>) => ({ id: uuidv7(ts), ts, source: SOURCE, type, attrs });
  const buckets = (filled: Record<string, number>) => ({ ...Object.fromEntries([...LATENCY_BUCKETS_MS.map((bound) => bucketKey(bound)), "le_inf"].map((key) => [key, 0])), ...filled });
  const window = { window_start_ms: now - 10_000, window_end_ms: now, dropped_events: 0 };
  const op = (ts: number, attrs: Record<string, string | number>) => event(OP_EVENT, ts, { count: 1, sample_rate: 1, mode: "detailed", ...attrs });
  return [
    event(STATS_EVENT, now, { app: "checkout", key_label: "user:*", op: "cache_read", mode: "detailed", ...window, ops: 90, items: 90, hits: 80, misses: 8, partial_hits: 2, sum_ms: 27, ...buckets({ le_0_5: 80, le_1: 10 }) }),
    event(STATS_EVENT, now, { app: "checkout", key_label: "cart:*", op: "cache_write", mode: "detailed", ...window, ops: 10, items: 10, hits: 0, misses: 0, partial_hits: 0, sum_ms: 3, ...buckets({ le_0_5: 10 }) }),
    event(STATS_EVENT, now, { app: "search", key_label: "query:*", op: "cache_read", mode: "sampled", ...window, dropped_events: 7, ops: 6400, items: 6400, hits: 5000, misses: 1400, partial_hits: 0, sum_ms: 2000, ...buckets({ le_0_5: 6000, le_1: 400 }) }),
    op(now - 3_000, { app: "checkout", op: "cache_write", key_label: "cart:*", duration_ms: 0.3 }),
    op(now - 2_000, { app: "checkout", op: "cache_read", key_label: "user:*", result: "miss", duration_ms: 0.8 }),
    op(now - 1_500, { app: "search", op: "cache_read", key_label: "query:*", result: "hit", duration_ms: 0.31, sample_rate: 0.05, mode: "sampled" }),
    op(now - 1_000, { app: "checkout", op: "cache_read", key_label: "user:*", result: "hit", duration_ms: 0.25 }),
  ];
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runBin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  return new Promise((resolve) =>
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

async function until(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const quote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;
const hasScript = spawnSync("script", ["--version"]).status === 0;

/** Runs the bin in a real pseudo-terminal (util-linux `script`), so raw mode, colours and keys work as for a user. */
function inTerminal(args: string[], env: Record<string, string> = {}) {
  const assignments = Object.entries(env).map(([name, value]) => `${name}=${quote(value)} `).join("");
  const command = `stty rows 30 cols 110; ${assignments}exec ${quote(process.execPath)} ${quote(BIN)} ${args.map(quote).join(" ")}`;
  const child = spawn("script", ["-qfec", command, "/dev/null"], { env: { PATH: process.env.PATH, TERM: "xterm" }, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe("vigil-cache-monitor (the bin, run for real against a collector with the cache-db plugin)", () => {
  let collector: Awaited<ReturnType<typeof startInProcess>>;
  let url: string;
  const children: { kill(signal: NodeJS.Signals): boolean; exitCode: number | null }[] = [];

  beforeAll(async () => {
    for (const built of ["plugins/cache-db/dist/tui/cli.js", "plugins/cache-db/dist/collector.js"]) {
      if (!existsSync(join(REPO_ROOT, built))) throw new Error(`${built} is missing: build first (npx tsc -b)`);
    }
    collector = await startInProcess({ plugins: [join(REPO_ROOT, "plugins/cache-db/dist/collector.js")] });
    url = collector.collector.url;
    const stored = await postBatch(url, TEST_TOKEN, JSON.stringify(sdkEvents(Date.now())));
    expect(stored.status, await stored.text()).toBe(202);
  });
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  });
  afterAll(async () => {
    await collector?.close();
  });

  it("--help prints the usage and exits 0", async () => {
    const run = await runBin(["--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^vigil-cache-monitor — /);
    expect(run.stdout).toContain("--interval SECONDS");
    expect(run.stdout).toContain("q Ctrl-C  quit");
  });

  it("a bad flag exits 2 naming it and how to fix it", async () => {
    const run = await runBin(["--url", url, "--key", TEST_TOKEN, "--interval", "30", "--once"]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe('vigil-cache-monitor: --interval: must be a whole number of seconds from 1 to 10, e.g. --interval 5\nRun "vigil-cache-monitor --help" for the options.\n');
    const unknown = await runBin(["--refresh", "5"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^vigil-cache-monitor: unknown option --refresh\n/);
  });

  it("--once prints one frame of every app (no colours: not a terminal) and exits 0", async () => {
    const run = await runBin(["--once"], { VIGIL_URL: url, VIGIL_API_KEY: TEST_TOKEN, LINES: "40", COLUMNS: "120" });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).not.toMatch(ANSI);
    expect(run.stdout).toMatch(/^checkout {2}\[detailed\] {2}hit rate 88\.9% {2}10 ops\/s {2}seen \d+ s ago$/m);
    expect(run.stdout).toMatch(/^ {2}last \d+ s: 100 ops · hits 80 · misses 8 · partial 2 · writes 10 · db reads 0 · db writes 0 · hybrid 0$/m);
    expect(run.stdout).toMatch(/^ {2}p95: cache_read \d\.\d\d ms · cache_write \d\.\d\d ms$/m);
    expect(run.stdout).toMatch(/^search {2}\[sampled\] {2}hit rate 78\.1% {2}640 ops\/s {2}seen \d+ s ago {2}dropped 7$/m);
    const events = eventLines(run.stdout);
    expect(events).toHaveLength(4);
    expect(events[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} {2}checkout {2}cache_read +user:\* +hit +1 +0\.25 ms$/);
    expect(events[1]).toMatch(/ search +cache_read +query:\* +hit +1 +0\.31 ms {2}1\/20$/);
    expect(events[2]).toMatch(/ checkout {2}cache_read +user:\* +miss +1 +0\.80 ms$/);
    expect(events[3]).toMatch(/ checkout {2}cache_write +cart:\* +1 +0\.30 ms$/);
    expect(run.stdout.trimEnd().split("\n").length).toBeLessThanOrEqual(40);
  });

  it("--once with --app, --filter and --type shows only what they select", async () => {
    const run = await runBin(["--once", "--url", url, "--key", TEST_TOKEN, "--app", "checkout", "--filter", "user:*", "--type", "cache_read"]);
    expect(run.code).toBe(0);
    expect(run.stdout.split("\n")[0]).toContain("app=checkout key_label=user:* type=cache_read");
    expect(run.stdout).not.toContain("search");
    expect(run.stdout).not.toContain("cart:*");
    expect(eventLines(run.stdout).map((line) => line.split(/\s+/).slice(1, 5).join(" "))).toEqual(["checkout cache_read user:* hit", "checkout cache_read user:* miss"]);
  });

  it("--once exits 1 with a clear message when the key is refused, the collector has no cache monitor, or cannot be reached", async () => {
    const refused = await runBin(["--once", "--url", url, "--key", "vgl_not_a_key_of_this_collector"]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toMatch(/^vigil-cache-monitor: the collector refused the API key \(401: .+\): check --key or VIGIL_API_KEY\n$/);
    const noKey = await runBin(["--once", "--url", url]);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toBe("vigil-cache-monitor: the collector needs an API key (401): pass --key KEY or set VIGIL_API_KEY\n");

    // Under a path prefix the collector has no such route: what a collector without the plugin answers.
    const missing = await runBin(["--once", "--url", `${url}/elsewhere`, "--key", TEST_TOKEN]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("vigil-cache-monitor: the collector has no cache monitor: start it with --plugin @vigil/plugin-cache-db\n");

    // Something else on the port (not a collector).
    const other = createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>hello</html>"));
    await new Promise<void>((resolve) => other.listen(0, "127.0.0.1", resolve));
    const otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
    const notJson = await runBin(["--once", "--url", otherUrl]);
    await new Promise<void>((resolve) => other.close(() => resolve()));
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toBe("vigil-cache-monitor: the collector's answer at /api/cache-monitor is not JSON\n");

    // Nothing listens there any more.
    const unreachable = await runBin(["--once", "--url", otherUrl]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toBe(`vigil-cache-monitor: cannot reach the collector at ${otherUrl}: connect ECONNREFUSED ${otherUrl.slice("http://".length)}. Is it running? (--url or VIGIL_URL)\n`);
  });

  it("without --once and without a terminal, prints a frame every interval (no colours, no screen control) until SIGTERM", async () => {
    const child = spawn(process.execPath, [BIN, "--url", url, "--key", TEST_TOKEN, "--interval", "1"], { env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] });
    children.push(child);
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    await until("two frames with data", () => (stdout.match(/^checkout {2}\[detailed\]/gm) ?? []).length >= 2);
    expect(stdout).not.toMatch(/\x1b/);
    child.kill("SIGTERM");
    expect(await exited).toBe(0);
  });

  it.skipIf(!hasScript)("in a terminal: colours, p pauses, + slows, f filters, q quits and gives the terminal back", async () => {
    const term = inTerminal(["--url", url, "--key", TEST_TOKEN, "--interval", "1"]);
    children.push(term.child);
    const lastFrame = () => plain(term.output().slice(term.output().lastIndexOf("\x1b[H")));

    await until("the first frame with data", () => term.output().includes("\x1b[32m[detailed]\x1b[0m"));
    expect(term.output()).toContain("\x1b[?1049h");
    expect(term.output()).toMatch(/\x1b\[32mcache_read +user:\* +hit/);
    expect(term.output()).toMatch(/\x1b\[31mcache_read +user:\* +miss/);
    expect(term.output()).toMatch(/\x1b\[34mcache_write +cart:\*/);

    term.child.stdin.write("p");
    await until("PAUSED", () => lastFrame().includes("PAUSED"));
    // Paused: nothing is redrawn while the interval passes, twice over.
    const frozen = term.output().length;
    await sleep(2_200);
    expect(term.output().length).toBe(frozen);
    term.child.stdin.write("+");
    await until("the slower interval", () => lastFrame().includes("every 2 s"));

    term.child.stdin.write("f");
    term.child.stdin.write("user:*");
    await until("the prompt", () => lastFrame().includes("filter key_label: user:*_"));
    term.child.stdin.write("\r");
    // Applying a filter reads at once, even while paused.
    await until("a frame of the filtered answer", () => lastFrame().includes("key_label=user:*") && lastFrame().includes("user:*  ") && !lastFrame().includes("cart:*"));
    expect(lastFrame()).toContain("PAUSED");

    term.child.stdin.write("q");
    expect(await term.exited).toBe(0);
    // The terminal is given back: cursor shown, alternate screen left.
    expect(term.output().trimEnd().endsWith("\x1b[?25h\x1b[?1049l")).toBe(true);
  });

  it.skipIf(!hasScript)("in a terminal with NO_COLOR set, --once prints no colour codes", async () => {
    const coloured = inTerminal(["--url", url, "--key", TEST_TOKEN, "--once"]);
    expect(await coloured.exited).toBe(0);
    expect(coloured.output()).toContain("\x1b[32m[detailed]");
    const noColour = inTerminal(["--url", url, "--key", TEST_TOKEN, "--once"], { NO_COLOR: "1" });
    expect(await noColour.exited).toBe(0);
    expect(noColour.output()).toContain("checkout  [detailed]");
    expect(noColour.output()).not.toMatch(ANSI);
  });
});
