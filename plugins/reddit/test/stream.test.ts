import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Logger, PluginStore } from "@vigil/plugin-sdk";
import { createHttpClient } from "../../../agent/src/runtime/http-client.js";
import { fakeCredentials, startFakeReddit, type FakeReddit } from "../../../test/fakes/reddit/server.js";
import { createBudget } from "../src/budget.js";
import { createRedditClient, RedditApiError, REDDIT_API_BASE, REDDIT_AUTH_BASE } from "../src/client.js";
import type { RedditThing } from "../src/listing.js";
import type { Credentials } from "../src/credentials.js";
import { createListingStream } from "../src/stream.js";

const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {} };
const credentials = fakeCredentials("linux:vigil-test:1.0.0 (by /u/vigil_tests)");

/** Plugin state kept in memory, shared between "restarts" of a stream. */
function memoryStore(): PluginStore {
  const data = new Map<string, unknown>();
  return {
    get: <T>(key: string) => data.get(key) as T | undefined,
    set: async (key, value) => void data.set(key, value),
    delete: async (key) => void data.delete(key),
  };
}

let fake: FakeReddit;
beforeEach(async () => {
  fake = await startFakeReddit();
});
afterEach(async () => {
  await fake.close();
});

function client(budget = createBudget(100, 60_000), overrides: Partial<Credentials> = {}) {
  // The agent's real HTTP client, with Reddit's two origins pointed at the fake.
  const http = createHttpClient({ userAgent: "unused", baseUrls: { [REDDIT_AUTH_BASE]: fake.url, [REDDIT_API_BASE]: fake.url } });
  return createRedditClient({ credentials: { ...credentials, ...overrides }, http, budget, log: quiet });
}

function stream(state: PluginStore, received: RedditThing[], c = client()) {
  return createListingStream({
    client: c,
    kind: "comments",
    subreddits: ["vigiltest", "other_sub"],
    state,
    log: quiet,
    maxPages: 5,
    onItems: async (items) => void received.push(...items),
  });
}

describe("Reddit client", () => {
  it("gets a token with the password grant, sends the User-Agent, and refreshes after a 401", async () => {
    const c = client();
    await c.get("/r/vigiltest/new?limit=1");
    fake.faults.expireTokens();
    await c.get("/r/vigiltest/new?limit=1");
    expect(fake.stats.grants.password).toBe(2);
    expect(fake.stats.requests.every((r) => r.userAgent === credentials.userAgent)).toBe(true);
  });

  it("explains refused credentials", async () => {
    await expect(client(undefined, { password: "wrong" }).get("/r/vigiltest/new")).rejects.toThrow(/refused the credentials .*check clientId/);
  });

  it("waits as a 429 tells it to, for every request of the client id", async () => {
    const c = client();
    await c.get("/r/vigiltest/new?limit=1");
    fake.faults.next429(1);
    const before = Date.now();
    await c.get("/r/vigiltest/new?limit=1");
    const apiCalls = fake.stats.requests.filter((r) => r.kind === "new");
    expect(apiCalls.map((r) => r.status)).toEqual([200, 429, 200]);
    expect(apiCalls[2]!.at - apiCalls[1]!.at).toBeGreaterThanOrEqual(999);
    expect(Date.now() - before).toBeGreaterThanOrEqual(999);
  });

  it("reports a 5xx as an error the stream retries", async () => {
    fake.faults.next500(1);
    await expect(client().get("/r/vigiltest/new")).rejects.toBeInstanceOf(RedditApiError);
  });
});

describe("listing stream", () => {
  it("hands over each new item once, oldest first, and a restart neither repeats nor skips", async () => {
    const state = memoryStore();
    const received: RedditThing[] = [];
    fake.addComment("vigiltest", { body: "before the start", author: "a" });
    const first = stream(state, received);
    expect(await first.pollOnce(new AbortController().signal)).toBe(0); // starts at the newest item
    const added = [1, 2, 3].map((i) => fake.addComment(i === 2 ? "other_sub" : "vigiltest", { body: `comment ${i}`, author: "b" }));
    await first.pollOnce(new AbortController().signal);
    expect(received.map((t) => t.data.id)).toEqual(added.map((c) => c.id));

    const restarted = stream(state, received);
    expect(await restarted.pollOnce(new AbortController().signal)).toBe(0);
    const later = fake.addComment("vigiltest", { body: "after the restart", author: "c" });
    await restarted.pollOnce(new AbortController().signal);
    expect(received.map((t) => t.data.id)).toEqual([...added.map((c) => c.id), later.id]);
  });

  it("a burst larger than one page loses nothing", async () => {
    const state = memoryStore();
    const received: RedditThing[] = [];
    const s = stream(state, received);
    fake.addComment("vigiltest", { body: "start", author: "a" });
    await s.pollOnce(new AbortController().signal);
    const burst = fake.addComments("vigiltest", 250, (i) => ({ body: `burst ${i}`, author: "d" }));
    expect(await s.pollOnce(new AbortController().signal)).toBe(250);
    expect(received.map((t) => t.data.id)).toEqual(burst.map((c) => c.id));
  });

  it("never sends more than the budget's requests per window for one client id, however eager the streams", async () => {
    // Reddit's budget is 100 a minute; the same budget over 6 s keeps the test short.
    const budget = createBudget(100, 6_000);
    const c = client(budget);
    const abort = new AbortController();
    const runs = [0, 1, 2].map(() => createListingStream({ client: c, kind: "new", subreddits: ["vigiltest"], state: memoryStore(), log: quiet, minDelayMs: 1, maxDelayMs: 2, onItems: async () => undefined }).run(abort.signal));
    const deadline = Date.now() + 20_000;
    // The token request takes one of the hundred.
    while (fake.stats.counts.new < 99 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
    abort.abort();
    await Promise.all(runs);
    expect(fake.stats.counts.new).toBeGreaterThanOrEqual(99);
    expect(fake.stats.requestsPerMinute(6_000)).toBeLessThanOrEqual(100);
  });
});
