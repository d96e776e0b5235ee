import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_X_TOKEN, startFakeX, type FakeX, type Tweet } from "../../../test/fakes/social/x.js";
import { xAdapter } from "../src/adapters/x.js";
import type { Target } from "../src/contract.js";
import { parseTarget } from "../src/targets.js";
import { failure, testContext, type TestContextOptions } from "./adapter-context.js";

let fake: FakeX;
const MINUTE = 60_000;
const t0 = Date.now() - 3 * 86_400_000;
let older: Tweet;
let newer: Tweet;
const token = { bearer_token: DEFAULT_X_TOKEN };

beforeAll(async () => {
  fake = await startFakeX();
  older = fake.addTweet("vigil_dev", { text: "Vigil 1.0 is out", createdAt: t0 });
  newer = fake.addTweet("someone", { text: "Trying vigil today", createdAt: t0 + MINUTE });
  fake.addTweet("someone", { text: "Unrelated", createdAt: t0 + 2 * MINUTE });
  // Older than recent search's 7 days.
  fake.addTweet("vigil_dev", { text: "vigil prototype", createdAt: Date.now() - 8 * 86_400_000 });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.faults.clear();
  fake.stats.reset();
});

function run(urlOrTarget: string | Target, options: TestContextOptions = {}, server: FakeX = fake) {
  const target = typeof urlOrTarget === "string" ? parseTarget("x", "search", urlOrTarget) : urlOrTarget;
  return xAdapter.fetch(target, testContext({ baseUrl: server.url, credentials: token, ...options }));
}

describe("X adapter", () => {
  it("reads recent search results, newest first, with authors' usernames", async () => {
    const items = await run("https://x.com/search?q=vigil&f=live");
    expect(items).toEqual([
      { id: newer.id, url: `https://x.com/someone/status/${newer.id}`, author: "someone", text: "Trying vigil today", publishedAt: t0 + MINUTE },
      { id: older.id, url: `https://x.com/vigil_dev/status/${older.id}`, author: "vigil_dev", text: "Vigil 1.0 is out", publishedAt: t0 },
    ]);
    const request = fake.stats.requests[0]!;
    expect(request.path).toBe("/2/tweets/search/recent");
    expect(request.authorization).toBe(`Bearer ${DEFAULT_X_TOKEN}`);
    expect(Object.fromEntries(new URLSearchParams(request.query))).toEqual({
      query: "vigil",
      max_results: "50",
      "tweet.fields": "created_at,author_id",
      expansions: "author_id",
      "user.fields": "username",
    });
  });

  it("asks for at least 10 results, as X requires, and returns maxItems", async () => {
    const items = await run("https://x.com/search?q=vigil", { maxItems: 1 });
    expect(items.map((i) => i.id)).toEqual([newer.id]);
    expect(new URLSearchParams(fake.stats.requests[0]!.query).get("max_results")).toBe("10");
  });

  it("pages with next_token up to maxItems", async () => {
    for (let i = 0; i < 150; i++) fake.addTweet(`user${i % 7}`, { text: `paging ${i}`, createdAt: t0 + i * MINUTE });
    const items = await run("https://x.com/search?q=paging", { maxItems: 130 });
    expect(items).toHaveLength(130);
    expect(items[0]!.text).toBe("paging 149");
    expect(items.at(-1)!.text).toBe("paging 20");
    const pages = fake.stats.requests.map((r) => new URLSearchParams(r.query));
    expect(pages.map((p) => [p.get("max_results"), p.has("next_token")])).toEqual([
      ["100", false],
      ["30", true],
    ]);
  });

  it("an empty result is no items", async () => {
    expect(await run("https://x.com/search?q=nothing-matches-this")).toEqual([]);
  });

  it("sees tweets added between runs", async () => {
    expect(await run("https://x.com/search?q=between")).toEqual([]);
    const added = fake.addTweet("later", { text: "between runs" });
    expect((await run("https://x.com/search?q=between")).map((i) => i.id)).toEqual([added.id]);
  });
});

describe("X faults fail the run with a message a user can act on", () => {
  it("no bearer token names the config field, before any request", async () => {
    const error = await failure(run("https://x.com/search?q=vigil", { credentials: {} }));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toBe("X's recent search needs an app's bearer token: set credentials.bearer_token for the x platform (developer.x.com → your app → Keys and tokens)");
    expect(fake.stats.requests).toHaveLength(0);
  });

  it("a wrong bearer token is a 401 naming the field to check", async () => {
    const error = await failure(run("https://x.com/search?q=vigil", { credentials: { bearer_token: "wrong" } }));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toBe('X answered 401 ("Unauthorized") for the recent search "vigil": check credentials.bearer_token, and that the app\'s access level includes recent search');
  });

  it("an app without recent search access gets X's reason", async () => {
    fake.faults.nextError(403);
    const error = await failure(run("https://x.com/search?q=vigil"));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toMatch(/^X answered 403 \("This request must be made using an approved developer account/);
  });

  it("a query X refuses is an invalid target, with X's words", async () => {
    const target: Target = { platform: "x", type: "search", url: "https://x.com/search?q=…", params: { query: "x".repeat(600) } };
    const error = await failure(run(target));
    expect(error.kind).toBe("invalid_target");
    expect(error.message).toMatch(/^X answered 400 \("There were errors processing your request: Query length 600 exceeds the maximum of 512"\) for the recent search "x+": check the job's target_url$/);
  });

  it("503 is the platform's trouble", async () => {
    fake.faults.nextError(503);
    expect((await failure(run("https://x.com/search?q=vigil"))).kind).toBe("unavailable");
  });

  it("429 waits until x-rate-limit-reset (epoch seconds), then goes on", async () => {
    fake.faults.next429(1);
    expect(await run("https://x.com/search?q=vigil")).toHaveLength(2);
    const [limited, retried] = fake.stats.requests;
    expect([limited!.status, retried!.status]).toEqual([429, 200]);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(999);
  });

  it("a used-up 15-minute window fails the run at once, saying when X allows the next request", async () => {
    const strict = await startFakeX({ rateLimit: { limit: 1, windowSeconds: 900 } });
    try {
      strict.addTweet("a", { text: "vigil" });
      await run("https://x.com/search?q=vigil", {}, strict);
      const error = await failure(run("https://x.com/search?q=vigil", { deadlineMs: 30_000 }, strict));
      expect(error.kind).toBe("rate_limited");
      expect(error.message).toMatch(/^X answered 429 \(too many requests\) for the recent search "vigil" and allows the next request at \S+ \(in 9\d\d s\), after this run's deadline/);
      expect(strict.stats.requests).toHaveLength(2);
    } finally {
      await strict.close();
    }
  });

  it("an API that does not answer before the deadline is a timeout", async () => {
    fake.faults.slow(5_000);
    expect((await failure(run("https://x.com/search?q=vigil", { deadlineMs: 1_000 }))).kind).toBe("timeout");
  });

  it("a cut-off answer is malformed, quoting its first bytes", async () => {
    fake.faults.malformed();
    const error = await failure(run("https://x.com/search?q=vigil"));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/^X sent an answer for the recent search "vigil" that is not JSON \(content-type application\/json\); it starts with "\{\\"data\\":\[/);
  });
});
