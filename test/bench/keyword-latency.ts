/**
 * Keyword change latency benchmark: BENCH_CHANGES (100) changes made one after another
 * through the keyword API (create with the monitored subreddit, a new subreddit or "all";
 * rename; deactivate and reactivate; move to other subreddits; delete), each timed from
 * the moment the API's answer is read until the agent's Reddit plugin runs with the new set:
 * its "keyword set applied" log line (written once the matcher is swapped and the streams
 * are regrouped) carrying the new set's `keywords_version`. The bench knows that version
 * from its own `GET /api/reddit/sync` (with the agent's ingest key) after the answer,
 * through the same `keywordSetFingerprint` the plugin uses; the line counts only if it was
 * written after the change was sent. The next change waits for the previous one (bounded).
 *
 * Both ends are whole milliseconds: the log line's `time` is pino's Date.now(), so the
 * bench reads the answer time with Date.now() too, and each latency is good to ±1 ms. A
 * latency can be ≤ 0: the collector pushes the change before it answers, so the agent may
 * apply it before the bench has read the answer; the figures keep it as measured and also
 * give the latency from the moment the change was sent.
 *
 * Setup: the fake Reddit (test/fakes/reddit), a collector with the plugin's collector part,
 * an ingest key, BENCH_SEED_KEYWORDS (20) keywords, then one agent running the plugin on
 * r/benchsub; the changes start once it holds its push channel and applied the seeded set.
 * The plugin's backup sync keeps its default (300 s), so the push is what gets measured;
 * `via_poll` counts the changes the backup sync found instead.
 *
 * Baseline, in the same run: the same seed and the first BENCH_BASELINE_CHANGES (20) of the
 * same changes with the push channel off (`config_channel.push: false`) and the plugin's
 * backup sync every second (`sync_interval: "1s"`), so each change arrives through the
 * sync alone. Each baseline change waits a random 0–1 s first: the bench starts a change
 * right after the last one was applied, i.e. right after a sync, so without the pause every
 * change would wait nearly a whole interval instead of landing anywhere in it as a user's
 * change does. The pause is before the change is sent, outside the figures. `ratio` is the contender's figure over the baseline's, as in the other benches
 * (ours / theirs; here below 1 means the push is faster). Each phase has its own fake
 * Reddit, collector and agent, so no two agents share a tenant; runs alternate A B A B.
 *
 * Knobs: BENCH_CHANGES (100), BENCH_BASELINE_CHANGES (20), BENCH_SEED_KEYWORDS (20),
 * BENCH_REPEATS (2), BENCH_CHANGE_TIMEOUT_S (10), BENCH_RUN_TIMEOUT_S (300).
 */
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { keywordSetFingerprint, SYNC_PATH, syncResponseSchema } from "../../plugins/reddit/src/sync-protocol.js";
import { fakeCredentials, startFakeReddit, type FakeReddit } from "../fakes/reddit/server.js";
import { seededRandom } from "../support/random.js";
import { REPO_ROOT, startCollectorProcess, tempDir, type CollectorProcess } from "../support/collector-process.js";
import { startAgentProcess, writeAgentConfig, type AgentProcess } from "../support/agent-process.js";
import { median, printFigures, progress, spread, load, ms, versusBaseline } from "./support/figures.js";
import { envInt } from "./support/knobs.js";
import { percentile } from "./support/latency.js";
import { beforeDeadline, checkDeadline, onExit, stopWithin, processDetails } from "./support/run-guard.js";
import { waitForPush } from "./support/agent-wait.js";

const BENCH = "keyword-latency";
const CHANGES = envInt("BENCH_CHANGES", 100);
const BASELINE_CHANGES = envInt("BENCH_BASELINE_CHANGES", 20);
const SEED_KEYWORDS = envInt("BENCH_SEED_KEYWORDS", 20);
const REPEATS = envInt("BENCH_REPEATS", 2);
const CHANGE_TIMEOUT_MS = envInt("BENCH_CHANGE_TIMEOUT_S", 10) * 1000;
const RUN_TIMEOUT_MS = envInt("BENCH_RUN_TIMEOUT_S", 300) * 1000;
const REDDIT_COLLECTOR_PART = join(REPO_ROOT, "plugins/reddit/dist/collector.js");
const SUB = "benchsub";
const APPLIED = "keyword set applied";
const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 30_000;
/** The baseline agent's backup sync interval (its plugin's `sync_interval`). */
const BASELINE_SYNC_MS = 1_000;
const PROGRESS_EVERY = 25;

type Phase = "push" | "baseline";

interface Run {
  /** "keyword set applied" time − API answered time, ms, one per change */
  latencies: number[];
  /** "keyword set applied" time − the time the change was sent, ms */
  fromSent: number[];
  /** changes the plugin found through its backup sync ("keyword changes detected during polling") */
  viaPoll: number;
}

/** One request to the collector's API; the answer's JSON (or undefined when empty). */
async function api(collector: CollectorProcess, token: string, method: string, path: string, deadline: number, body?: unknown): Promise<any> {
  const response = await beforeDeadline(
    fetch(`${collector.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }),
    deadline,
    `${method} ${path}`,
  );
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** The version of the keyword set the collector now hands to agents, as the plugin computes it. */
async function currentVersion(collector: CollectorProcess, ingestKey: string, deadline: number): Promise<string> {
  return keywordSetFingerprint(syncResponseSchema.parse(await api(collector, ingestKey, "GET", SYNC_PATH, deadline)));
}

// ---- The changes: the same sequence in every phase, each one changing what agents run. ----

const TERMS = [
  "grafana",
  "prometheus alert",
  "uptime kuma",
  "homelab",
  "kubernetes",
  "self-hosted",
  "observability",
  "on-call",
  "status page",
  "incident review",
  "log shipping",
  "opentelemetry",
];

interface Keyword {
  id: string;
  active: boolean;
  /** Its subreddit scope as the API was given it, JSON-encoded. */
  scope: string;
}

interface Change {
  describe: string;
  method: "POST" | "PATCH" | "DELETE";
  path: string;
  body?: unknown;
  /** Updates the bench's list of keywords from the API's answer. */
  done(answer: any): void;
}

/**
 * The keywords the bench made and the next change to make. Every change alters the set an
 * agent runs: renames, moves (onto another scope), deactivations and deletions pick an
 * active keyword, reactivations an inactive one, so no change leaves the sync answer as it was.
 */
function changeMaker(): { seed(i: number): Change; next(i: number): Change } {
  const keywords: Keyword[] = [];
  let newSubs = 0;
  const freshSub = () => `benchnew${++newSubs}`;
  const text = (i: number) => `${TERMS[i % TERMS.length]} ${i}`;
  const active = () => keywords.filter((k) => k.active);
  const pick = (list: Keyword[], i: number): Keyword => {
    const keyword = list[i % list.length];
    if (!keyword) throw new Error("no keyword to change");
    return keyword;
  };
  const create = (describe: string, body: Record<string, unknown>): Change => ({
    describe,
    method: "POST",
    path: "/api/keywords",
    body,
    done: (answer) => keywords.push({ id: String(answer.id), active: true, scope: JSON.stringify(body.subreddit) }),
  });
  const patch = (describe: string, keyword: Keyword, body: Record<string, unknown>): Change => ({
    describe,
    method: "PATCH",
    path: `/api/keywords/${keyword.id}`,
    body,
    done: () => {
      if (typeof body.is_active === "boolean") keyword.active = body.is_active;
      if (body.subreddit !== undefined) keyword.scope = JSON.stringify(body.subreddit);
    },
  });

  return {
    seed: (i) => create(`seed ${i}`, { keyword: text(i), subreddit: i % 4 === 3 ? "all" : SUB, ...(i % 5 === 4 ? { mode: "word" } : {}) }),
    next(i) {
      const n = 1000 + i;
      switch (i % 8) {
        case 0:
          return create(`create on r/${SUB}`, { keyword: text(n), subreddit: SUB });
        case 1:
          return patch("rename", pick(active(), i), { keyword: text(n) });
        case 2: {
          const sub = freshSub();
          return create(`create on new r/${sub}`, { keyword: text(n), subreddit: sub, mode: "word" });
        }
        case 3:
          return patch("deactivate", pick(active(), i), { is_active: false });
        case 4:
          return create('create on "all"', { keyword: text(n), subreddit: "all" });
        case 5: {
          const inactive = keywords.filter((k) => !k.active);
          return inactive.length > 0 ? patch("reactivate", pick(inactive, i), { is_active: true }) : patch("deactivate", pick(active(), i), { is_active: false });
        }
        case 6: {
          const subreddit = i % 3 === 0 ? [SUB, freshSub()] : i % 3 === 1 ? freshSub() : "all";
          // Never onto the scope it has: that would leave the set as it was.
          return patch(`move to ${JSON.stringify(subreddit)}`, pick(active().filter((k) => k.scope !== JSON.stringify(subreddit)), i), { subreddit });
        }
        default: {
          const keyword = pick(active(), i);
          return {
            describe: "delete",
            method: "DELETE",
            path: `/api/keywords/${keyword.id}`,
            done: () => keywords.splice(keywords.indexOf(keyword), 1),
          };
        }
      }
    },
  };
}

// ---- One phase: a fake Reddit, a collector, an agent, the changes. ----

function agentConfig(dir: string, collector: CollectorProcess, ingestKey: string, fake: FakeReddit, phase: Phase): Record<string, unknown> {
  return {
    collector: { url: collector.url, api_key: ingestKey },
    agent: { name: `bench-keyword-latency-${phase}`, data_dir: join(dir, "agent-data") },
    intake: { address: "127.0.0.1:0" },
    ...(phase === "baseline" ? { config_channel: { push: false } } : {}),
    log: { format: "json", level: "info" },
    plugins: [
      {
        id: "reddit",
        use: "@vigil/plugin-reddit",
        config: {
          credentials: fakeCredentials("bench:vigil-keyword-latency:1.0.0 (by /u/fake-user)"),
          subreddits: [SUB],
          poll_min: "1s",
          poll_max: "16s",
          auth_base: fake.url,
          api_base: fake.url,
          ...(phase === "baseline" ? { sync_interval: `${BASELINE_SYNC_MS / 1000}s` } : {}),
        },
      },
    ],
  };
}

/** Resolves with the time (epoch ms) of the plugin's "keyword set applied" line for `version`, written at or after `since`. */
async function applied(agent: AgentProcess, version: string, since: number, timeoutMs: number, what: string): Promise<number> {
  try {
    const record = await agent.waitForLog((r) => r.msg === APPLIED && r.keywords_version === version && Number(r.time) >= since, Math.max(0, timeoutMs));
    return Number(record.time);
  } catch (error) {
    throw new Error(`${what}: keyword set ${version} not applied within ${Math.round(timeoutMs)} ms (${(error as Error).message.split("\n")[0]})`, { cause: error });
  }
}

async function runPhase(phase: Phase, run: number, changes: number): Promise<Run> {
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  const dir = tempDir(`vigil-bench-keyword-latency-${phase}-`);
  const forgetDir = onExit(dir.remove);
  // A child still running at exit is SIGKILLed by run-guard before the dir goes.
  let fake: FakeReddit | undefined;
  let collector: CollectorProcess | undefined;
  let agent: AgentProcess | undefined;
  try {
    fake = await startFakeReddit();
    collector = await startCollectorProcess({ dataDir: join(dir.path, "collector"), args: ["--plugin", REDDIT_COLLECTOR_PART], timeoutMs: START_TIMEOUT_MS });
    const admin = collector.token;
    const ingestKey = String((await api(collector, admin, "POST", "/api/keys", deadline, { name: `bench-${phase}-agents`, scopes: ["ingest"] })).token);
    const maker = changeMaker();
    for (let i = 0; i < SEED_KEYWORDS; i++) {
      const change = maker.seed(i);
      change.done(await api(collector, admin, change.method, change.path, deadline, change.body));
    }
    const seeded = await currentVersion(collector, ingestKey, deadline);

    agent = await startAgentProcess(writeAgentConfig(dir.path, agentConfig(dir.path, collector, ingestKey, fake, phase)), { timeoutMs: START_TIMEOUT_MS });
    if (phase === "push") await waitForPush(agent, deadline);
    await applied(agent, seeded, 0, Math.min(START_TIMEOUT_MS, deadline - Date.now()), "the seeded keywords");

    const latencies: number[] = [];
    const fromSent: number[] = [];
    const random = seededRandom(run);
    for (let i = 0; i < changes; i++) {
      // Out of step with the backup sync (see the header); the push needs no such pause.
      if (phase === "baseline") await sleep(random() * BASELINE_SYNC_MS);
      const change = maker.next(i);
      const what = `${phase} change ${i} (${change.describe})`;
      const sentAt = Date.now();
      const answer = await api(collector, admin, change.method, change.path, deadline, change.body);
      const answeredAt = Date.now();
      change.done(answer);
      const version = await currentVersion(collector, ingestKey, deadline);
      const at = await applied(agent, version, sentAt, Math.min(deadline, answeredAt + CHANGE_TIMEOUT_MS) - Date.now(), what);
      latencies.push(at - answeredAt);
      fromSent.push(at - sentAt);
      if ((i + 1) % PROGRESS_EVERY === 0 && i + 1 < changes) progress(`  ${phase} run ${run}: ${i + 1}/${changes} changes applied, last ${at - answeredAt} ms`);
    }
    // After the agent stopped, every log line it wrote has been read.
    await stopWithin(agent, STOP_GRACE_MS, "agent");
    await stopWithin(collector, STOP_GRACE_MS, "collector");
    return { latencies, fromSent, viaPoll: agent.logs.filter((record) => record.msg === "keyword changes detected during polling").length };
  } catch (error) {
    await agent?.kill();
    await collector?.kill();
    throw new Error(`keyword-latency ${phase} run ${run} failed: ${(error as Error).message}${processDetails(agent, collector)}`, { cause: error });
  } finally {
    await fake?.close();
    forgetDir();
    dir.remove();
  }
}



function describeRun(result: Run): string {
  return (
    `p50 ${percentile(result.latencies, 50)} ms, p99 ${percentile(result.latencies, 99)} ms, ` +
    `min ${Math.min(...result.latencies)} ms, max ${Math.max(...result.latencies)} ms; ` +
    `from change sent p50 ${percentile(result.fromSent, 50)} ms, p99 ${percentile(result.fromSent, 99)} ms; ` +
    `${result.viaPoll} found by the backup sync`
  );
}

async function main(): Promise<void> {
  progress(
    `keyword-latency: ${CHANGES} keyword changes through the keyword API (${SEED_KEYWORDS} seeded), each awaited until the agent's Reddit plugin applied the new set; ` +
      `baseline: the first ${BASELINE_CHANGES} of them without push (backup sync every 1 s); ${REPEATS} runs each; load ${load()}`,
  );
  const runs: Run[] = [];
  const baselineRuns: Run[] = [];
  for (let run = 1; run <= REPEATS; run++) {
    let started = performance.now();
    const contender = await runPhase("push", run, CHANGES);
    runs.push(contender);
    progress(`run ${run}/${REPEATS} push:     ${describeRun(contender)}; ${((performance.now() - started) / 1000).toFixed(1)} s; load ${load()}`);
    started = performance.now();
    const baseline = await runPhase("baseline", run, BASELINE_CHANGES);
    baselineRuns.push(baseline);
    progress(`run ${run}/${REPEATS} baseline: ${describeRun(baseline)}; ${((performance.now() - started) / 1000).toFixed(1)} s; load ${load()}`);
  }
  const all = runs.flatMap((run) => run.latencies);
  const common = {
    runs: REPEATS,
    changes: CHANGES,
    baseline_changes: BASELINE_CHANGES,
    seed_keywords: SEED_KEYWORDS,
    sample_min_ms: ms(Math.min(...all)),
    sample_max_ms: ms(Math.max(...all)),
    via_poll: runs.reduce((sum, run) => sum + run.viaPoll, 0),
  };
  printFigures(
    ([50, 99] as const).map((p) => {
      const value = spread(runs.map((run) => percentile(run.latencies, p)));
      const baseline = spread(baselineRuns.map((run) => percentile(run.latencies, p)));
      return {
        bench: BENCH,
        metric: `p${p}_ms`,
        ...versusBaseline(value, baseline, ms),
        unit: "ms",
        [`from_change_sent_p${p}_ms`]: ms(median(runs.map((run) => percentile(run.fromSent, p)))),
        ...common,
      };
    }),
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    progress(`keyword-latency bench failed: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
