// One run of a job against the fake YouTube, through the real adapter, the agent's HTTP
// client and the seen store on disk: what it emits, what counts as new, and how it fails.
import { appendFileSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { checkEvent, MAX_BODY_LENGTH, uuidv7, type EventInput, type Logger } from "@vigil/plugin-sdk";
import { createHttpClient } from "../../../agent/src/runtime/http-client.js";
import { makeChannelId, startFakeYouTube, type FakeYouTube } from "../../../test/fakes/social/youtube.js";
import { tempDir } from "../../../test/support/collector-process.js";
import { adapterFor } from "../src/adapters/index.js";
import plugin from "../src/agent.js";
import type { AgentJob } from "../src/jobs-protocol.js";
import { openRunJournal } from "../src/run-journal.js";
import { itemEvent, runJob, RunStopped, type RunSpec } from "../src/runner.js";
import { openSeenStore, type SeenStore } from "../src/seen-store.js";

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const http = createHttpClient({ userAgent: "vigil-test" });

let youtube: FakeYouTube;
const dirs: { remove(): void }[] = [];

beforeAll(async () => {
  youtube = await startFakeYouTube();
});
afterEach(() => youtube.faults.clear());
afterAll(async () => {
  await youtube?.close();
  for (const dir of dirs) dir.remove();
});

function newDir(): string {
  const dir = tempDir("vigil-social-runner-");
  dirs.push(dir);
  return dir.path;
}

function channelJob(channelId: string, fields: Partial<AgentJob> = {}): AgentJob {
  return {
    id: uuidv7(),
    name: "Vigil channel",
    platform: "youtube",
    target_url: `https://www.youtube.com/channel/${channelId}`,
    target_type: "channel",
    schedule: { kind: "interval", every_ms: 60_000 },
    max_items_per_run: 50,
    notify_on_new_content: false,
    notify_on_failure: false,
    notification_email: null,
    status: "active",
    updated_at: new Date().toISOString(),
    ...fields,
  };
}

interface Harness {
  events: EventInput[];
  seen: SeenStore;
  run(job: AgentJob, options?: { deadlineMs?: number; signal?: AbortSignal; emit?: (event: EventInput) => Promise<void> }): ReturnType<typeof runJob>;
}

async function harness(dir = newDir()): Promise<Harness> {
  const events: EventInput[] = [];
  const seen = await openSeenStore(join(dir, "seen"), () => 5000);
  return {
    events,
    seen,
    run(job, options = {}) {
      const startTime = Date.now();
      const spec: RunSpec = {
        job,
        runId: uuidv7(),
        trigger: "schedule",
        scheduledAt: startTime,
        startTime,
        deadline: startTime + (options.deadlineMs ?? 10_000),
        signal: options.signal ?? AbortSignal.timeout(options.deadlineMs ?? 10_000),
      };
      return runJob(spec, {
        emit:
          options.emit ??
          (async (event) => {
            events.push(event);
          }),
        log: silent,
        http,
        seen,
        adapterFor,
        baseUrl: (platform) => (platform === "youtube" ? youtube.url : undefined),
        credentials: () => undefined,
      });
    },
  };
}

const ofType = (events: EventInput[], type: string) => events.filter((e) => e.type === type);

describe("a run", () => {
  it("reports its start, every item new to the job, and its end with the counts", async () => {
    const channel = makeChannelId();
    youtube.addChannel(channel, "Vigil Channel");
    const published = Date.parse("2026-11-20T08:00:00Z");
    for (let i = 0; i < 3; i++) youtube.addVideo(channel, { title: `Video ${i}`, description: `About ${i}`, publishedAt: published + i * 60_000 });
    const h = await harness();
    const job = channelJob(channel);
    const result = await h.run(job);
    expect(result).toMatchObject({ status: "completed", itemsFound: 3, itemsProcessed: 3, newItems: 3, errorMessage: "" });

    const runs = ofType(h.events, "social.run");
    expect(runs.map((e) => e.attrs!.status)).toEqual(["in_progress", "completed"]);
    expect(runs[0]!.attrs).toMatchObject({ job_id: job.id, end_time: 0, trigger: "schedule", items_found: 0, platform: "youtube" });
    expect(runs[1]!.attrs).toMatchObject({ run_id: runs[0]!.attrs!.run_id, items_found: 3, items_processed: 3, new_items_downloaded: 3, error_message: "" });
    expect(Number(runs[1]!.attrs!.end_time)).toBeGreaterThanOrEqual(Number(runs[0]!.attrs!.start_time));
    expect(runs[0]!.attrs!.scheduled_at).toBe(runs[0]!.attrs!.start_time);

    const items = ofType(h.events, "social.item");
    // Oldest first, each with what a person needs to find it.
    expect(items.map((e) => e.attrs!.title)).toEqual(["Video 0", "Video 1", "Video 2"]);
    expect(items[0]).toMatchObject({
      source: "social",
      body: "About 0",
      attrs: { platform: "youtube", job_id: job.id, job_name: "Vigil channel", author: "Vigil Channel", published_at: published, run_id: runs[0]!.attrs!.run_id },
    });
    expect(String(items[0]!.attrs!.url)).toMatch(/^https:\/\/www\.youtube\.com\/watch\?v=/);
    expect(items[0]!.attrs!.item_id).toBeTruthy();
    // The events come before the end of the run.
    expect(h.events.indexOf(runs[1]!)).toBe(h.events.length - 1);
  });

  it("reports only items the job has not seen, also after a restart", async () => {
    const channel = makeChannelId();
    youtube.addVideo(channel, { title: "Old" });
    const dir = newDir();
    const first = await harness(dir);
    const job = channelJob(channel);
    expect((await first.run(job)).newItems).toBe(1);
    expect((await first.run(job)).newItems).toBe(0);
    youtube.addVideo(channel, { title: "Newer" });
    // A new store on the same directory: what an agent restart sees.
    const restarted = await harness(dir);
    const result = await restarted.run(job);
    expect(result).toMatchObject({ itemsFound: 2, itemsProcessed: 2, newItems: 1 });
    expect(ofType(restarted.events, "social.item").map((e) => e.attrs!.title)).toEqual(["Newer"]);
    // Another job on the same channel has its own seen set.
    expect((await restarted.run(channelJob(channel))).newItems).toBe(2);
  });

  it("marks as seen only the items whose events were queued: a failure halfway repeats the rest, loses none", async () => {
    const channel = makeChannelId();
    for (const title of ["A", "B", "C"]) youtube.addVideo(channel, { title, publishedAt: Date.now() - 1000 * "CBA".indexOf(title) });
    const dir = newDir();
    const h = await harness(dir);
    const job = channelJob(channel);
    const result = await h.run(job, {
      emit: async (event) => {
        if (event.attrs?.title === "B") throw new Error("the queue is closed");
        h.events.push(event);
      },
    });
    expect(result).toMatchObject({ status: "failed", errorMessage: "the queue is closed", newItems: 2 });
    const again = await harness(dir);
    await again.run(job);
    expect(ofType(again.events, "social.item").map((e) => e.attrs!.title)).toEqual(["B"]);
  });

  it("fails with the platform's reason when the target does not exist, and notifies when asked", async () => {
    const h = await harness();
    const job = channelJob(makeChannelId(), { notify_on_failure: true, notification_email: "ops@example.com" });
    const result = await h.run(job);
    expect(result.status).toBe("failed");
    expect(result.errorMessage).toMatch(/YouTube answered 404 for channel UC.*check that the channel id is right/);
    const end = ofType(h.events, "social.run").at(-1)!;
    expect(end).toMatchObject({ severity: "warning", attrs: { status: "failed", error_message: result.errorMessage, new_items_downloaded: 0 } });
    expect(ofType(h.events, "social.run_failed")).toEqual([
      expect.objectContaining({ severity: "error", attrs: expect.objectContaining({ job_id: job.id, job_name: job.name, error_message: result.errorMessage, notification_email: "ops@example.com" }) }),
    ]);
    expect(ofType(h.events, "social.new_content")).toEqual([]);
  });

  it("notifies new content when the job asks, and not when nothing is new", async () => {
    const channel = makeChannelId();
    youtube.addVideo(channel, { title: "One" });
    youtube.addVideo(channel, { title: "Two" });
    const h = await harness();
    const job = channelJob(channel, { notify_on_new_content: true, notify_on_failure: true });
    await h.run(job);
    await h.run(job);
    expect(ofType(h.events, "social.new_content")).toEqual([expect.objectContaining({ severity: "notice", attrs: expect.objectContaining({ job_id: job.id, new_items: 2, notification_email: "" }) })]);
    expect(ofType(h.events, "social.run_failed")).toEqual([]);
  });

  it("stops at its deadline with a message naming it", async () => {
    const channel = makeChannelId();
    youtube.addVideo(channel, { title: "Slow" });
    youtube.faults.slow(3_000);
    const h = await harness();
    const job = channelJob(channel);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new RunStopped("the run passed its deadline of 300ms (run_timeout) and was stopped")), 300);
    const started = Date.now();
    const result = await h.run(job, { deadlineMs: 300, signal: abort.signal });
    clearTimeout(timer);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(result.status).toBe("failed");
    // The run's deadline timer, or the adapter's request bounded by the same deadline, whichever fires first.
    expect(result.errorMessage).toMatch(/^the run passed its deadline of 300ms \(run_timeout\) and was stopped$|^YouTube did not answer before the run's deadline/);
  });

  it("refuses a target the platform cannot have, in the user's words", async () => {
    const h = await harness();
    const result = await h.run(channelJob("x", { target_url: "https://www.youtube.com/@somebody" }));
    expect(result.status).toBe("failed");
    expect(result.errorMessage).toMatch(/handle and custom URLs/);
  });

  it("cuts a long text to the body limit", async () => {
    const channel = makeChannelId();
    youtube.addVideo(channel, { title: "Long", description: "x".repeat(MAX_BODY_LENGTH + 500) });
    const h = await harness();
    await h.run(channelJob(channel));
    const item = ofType(h.events, "social.item")[0]!;
    expect(item.body!.length).toBe(MAX_BODY_LENGTH);
  });
});

describe("the seen store", () => {
  it("keeps the newest ids within its bound, rewriting its file as it grows", async () => {
    const dir = newDir();
    const store = await openSeenStore(dir, () => 1000);
    for (let batch = 0; batch < 5; batch++) await store.add("job", Array.from({ length: 500 }, (_, i) => `id-${batch * 500 + i}`));
    expect(await store.unseen("job", ["id-0", "id-1499", "id-1500", "id-2499", "fresh"])).toEqual(["id-0", "id-1499", "fresh"]);
    // The file was rewritten: at most twice the bound.
    const lines = readFileSync(join(dir, "job.jsonl"), "utf8").trim().split("\n");
    expect(lines.length).toBeLessThanOrEqual(2000);
    const reopened = await openSeenStore(dir, () => 1000);
    expect(await reopened.unseen("job", ["id-1499", "id-1500", "id-2499"])).toEqual(["id-1499"]);
  });

  it("reads past a torn last line (a crash mid-append) and appends cleanly after it", async () => {
    const dir = newDir();
    const store = await openSeenStore(dir, () => 5000);
    await store.add("job", ["a", "b"]);
    appendFileSync(join(dir, "job.jsonl"), '"c');
    const reopened = await openSeenStore(dir, () => 5000);
    expect(await reopened.unseen("job", ["a", "b", "c"])).toEqual(["c"]);
    await reopened.add("job", ["d"]);
    const again = await openSeenStore(dir, () => 5000);
    expect(await again.unseen("job", ["a", "c", "d"])).toEqual(["c"]);
  });

  it("forgets a deleted job, and names files of unusual ids by their hash", async () => {
    const dir = newDir();
    const store = await openSeenStore(dir, () => 5000);
    await store.add("../odd id", ["x"]);
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^h-[0-9a-f]{32}\.jsonl$/)]);
    await store.forget("../odd id");
    expect(readdirSync(dir)).toEqual([]);
    expect(await store.unseen("../odd id", ["x"])).toEqual(["x"]);
  });
});

describe("the run journal", () => {
  it("remembers each job's last run and first sight, and reports runs that never ended", async () => {
    const file = join(newDir(), "runs.jsonl");
    const journal = await openRunJournal(file);
    journal.known("a", 1000);
    journal.known("a", 5000);
    journal.started({ jobId: "a", runId: "r1", startTime: 2000, trigger: "schedule", scheduledAt: 2000 });
    journal.ended("r1");
    journal.started({ jobId: "a", runId: "r2", startTime: 3000, trigger: "execute", scheduledAt: 3000 });
    journal.started({ jobId: "b", runId: "r3", startTime: 4000, trigger: "schedule", scheduledAt: 3990 });
    journal.forget("b");
    await journal.flush();
    const reopened = await openRunJournal(file);
    expect(reopened.knownSince("a")).toBe(1000);
    expect(reopened.lastRunAt("a")).toBe(3000);
    expect(reopened.lastRunAt("b")).toBeUndefined();
    expect(reopened.interrupted()).toEqual([{ jobId: "a", runId: "r2", startTime: 3000, trigger: "execute", scheduledAt: 3000 }]);
    // Until it is reported, it stays interrupted; once reported, the next start finds nothing.
    expect((await openRunJournal(file)).interrupted()).toHaveLength(1);
    reopened.ended("r2");
    await reopened.flush();
    expect((await openRunJournal(file)).interrupted()).toEqual([]);
  });
});

describe("README and example.yaml", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  const example = readFileSync(new URL("../example.yaml", import.meta.url), "utf8");
  const { parse: parseYaml } = createRequire(new URL("../../../agent/package.json", import.meta.url))("yaml") as { parse(text: string): unknown };

  it("has an example.yaml the plugin accepts, embedded unchanged", () => {
    const result = plugin.configSchema.safeParse(parseYaml(example));
    expect(result.error?.issues ?? []).toEqual([]);
    const embedded = /<!-- generated:example -->\n```yaml\n([\s\S]*?)```\n<!-- \/generated:example -->/.exec(readme);
    expect(embedded?.[1]).toBe(example);
  });

  it("shows an item event that is valid and has the attrs the runner emits", () => {
    // The README's example social.item event (its other JSON blocks are API answers).
    const shown = [...readme.matchAll(/```json\n([\s\S]*?)```/g)]
      .map((match) => JSON.parse(match[1]!) as { type?: string })
      .filter((block) => block.type === "social.item")
      .map((block) => checkEvent(block))[0];
    expect(shown?.ok).toBe(true);
    const emitted = itemEvent(channelJob(makeChannelId()), uuidv7(), { id: "x", url: "https://example.com", author: "a", title: "t", text: "b", publishedAt: 1 }, 2);
    expect(Object.keys(shown?.ok ? shown.event.attrs : {}).sort()).toEqual(Object.keys(emitted.attrs!).sort());
  });

  it("states the delivery guarantee the plugin's metadata declares", () => {
    expect(plugin.metadata.delivery).toBe("at_least_once");
    expect(readme).toContain("**`at_least_once`**");
  });
});
