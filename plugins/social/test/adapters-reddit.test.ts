import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_USER, startFakeReddit, type FakeReddit, type PostData } from "../../../test/fakes/reddit/server.js";
import { redditAdapter } from "../src/adapters/reddit.js";
import { parseTarget } from "../src/targets.js";
import { failure, testContext, type TestContextOptions } from "./adapter-context.js";

// The Reddit plugin's request budget is per client id and shared by the whole process;
// each test signs in with a client id of its own so one test's pacing or pause does not
// slow the next.
const CLIENTS = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`social-test-client-${i}`, `secret-${i}`]));
let nextClient = 0;

let fake: FakeReddit;
const t0 = Math.floor(Date.parse("2026-11-20T12:00:00Z") / 1000);
let post: PostData;
let selfPost: PostData;

beforeAll(async () => {
  fake = await startFakeReddit({ clients: CLIENTS });
  post = fake.addPost("vigiltest", { title: "Vigil & ClickHouse", selftext: "Works <well>", author: "alice", created_utc: t0 });
  fake.addComment("vigiltest", { body: "Nice & quick", author: "bob", link_id: post.name, created_utc: t0 + 60 });
  fake.addComment("vigiltest", { body: "Thanks!", author: "alice", link_id: post.name, created_utc: t0 + 120 });
  selfPost = fake.addPost("othersub", { title: "Elsewhere", author: "alice", created_utc: t0 + 180 });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.faults.clear();
  fake.stats.reset();
});

function credentials(overrides: Record<string, string> = {}): Record<string, string> {
  const clientId = `social-test-client-${nextClient++}`;
  return {
    userAgent: "linux:vigil-social-tests:1.0.0 (by /u/vigil_tests)",
    clientId,
    clientSecret: CLIENTS[clientId]!,
    username: DEFAULT_USER.username,
    password: DEFAULT_USER.password,
    ...overrides,
  };
}

function run(url: string, options: TestContextOptions = {}) {
  const type = url.includes("/r/") ? "subreddit" : "user";
  return redditAdapter.fetch(parseTarget("reddit", type, url), testContext({ baseUrl: fake.url, credentials: credentials(), ...options }));
}

describe("Reddit adapter", () => {
  it("reads a subreddit's new posts through the Reddit plugin's client", async () => {
    const items = await run("https://www.reddit.com/r/vigiltest");
    expect(items).toEqual([
      { id: post.name, url: `https://www.reddit.com${post.permalink}`, author: "alice", title: "Vigil & ClickHouse", text: "Works <well>", publishedAt: t0 * 1000 },
    ]);
    expect(fake.stats.requests.map((r) => [r.kind, r.path])).toEqual([
      ["token", "/api/v1/access_token"],
      ["new", "/r/vigiltest/new"],
    ]);
    expect(new URLSearchParams(fake.stats.requests[1]!.query).get("raw_json")).toBe("1");
    expect(fake.stats.requests.every((r) => r.userAgent === "linux:vigil-social-tests:1.0.0 (by /u/vigil_tests)")).toBe(true);
  });

  it("reads a user's posts and comments, newest first, comments titled after their post", async () => {
    const items = await run("https://www.reddit.com/u/alice");
    expect(items.map((i) => [i.id.slice(0, 3), i.title, i.text ?? null])).toEqual([
      ["t3_", "Elsewhere", null],
      ["t1_", "Re: Vigil & ClickHouse", "Thanks!"],
      ["t3_", "Vigil & ClickHouse", "Works <well>"],
    ]);
    expect(items[0]!.url).toBe(`https://www.reddit.com${selfPost.permalink}`);
    expect(items[1]!.url).toMatch(/^https:\/\/www\.reddit\.com\/r\/vigiltest\/comments\/\w+\/vigil_clickhouse\/\w+\/$/);
    expect(fake.stats.requests[1]!.path).toBe("/user/alice/overview");
  });

  it("pages with `after` up to maxItems", async () => {
    for (let i = 0; i < 130; i++) fake.addPost("busysub", { title: `post ${i}`, author: "carol", created_utc: t0 + i });
    const items = await run("https://www.reddit.com/r/busysub/", { maxItems: 120 });
    expect(items).toHaveLength(120);
    expect(items[0]!.title).toBe("post 129");
    expect(items.at(-1)!.title).toBe("post 10");
    const pages = fake.stats.requests.filter((r) => r.kind === "new").map((r) => new URLSearchParams(r.query));
    expect(pages.map((p) => [p.get("limit"), p.has("after")])).toEqual([
      ["100", false],
      ["20", true],
    ]);
  });

  it("sees posts added between runs", async () => {
    fake.addPost("betweensub", { title: "one", author: "dave", created_utc: t0 });
    expect(await run("https://www.reddit.com/r/betweensub")).toHaveLength(1);
    const added = fake.addPost("betweensub", { title: "two", author: "dave" });
    expect((await run("https://www.reddit.com/r/betweensub"))[0]!.id).toBe(added.name);
  });
});

describe("Reddit faults fail the run with a message a user can act on", () => {
  it("404 for an unknown user", async () => {
    const error = await failure(run("https://www.reddit.com/user/nobody_here"));
    expect(error.kind).toBe("not_found");
    expect(error.message).toBe("Reddit answered 404 for u/nobody_here: check that the user exists and is not suspended or deleted");
  });

  it("403 for a private subreddit", async () => {
    fake.faults.privateSubreddit("vigiltest");
    const error = await failure(run("https://www.reddit.com/r/vigiltest"));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toBe("Reddit answered 403 for r/vigiltest: r/vigiltest is private or quarantined: the Reddit account of the credentials must be allowed to read it");
    fake.faults.privateSubreddit("vigiltest", false);
  });

  it("no credentials names the fields to set, before any request", async () => {
    const error = await failure(run("https://www.reddit.com/r/vigiltest", { credentials: {} }));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toBe(
      "Reddit's API needs an app's credentials: set userAgent, clientId, clientSecret, and refreshToken or username and password under the reddit platform's credentials (create the app at https://www.reddit.com/prefs/apps)",
    );
    expect(fake.stats.requests).toHaveLength(0);
  });

  it("credentials Reddit would refuse are explained with the Reddit plugin's words", async () => {
    const error = await failure(run("https://www.reddit.com/r/vigiltest", { credentials: credentials({ userAgent: "curl/8" }) }));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toMatch(/^The reddit platform's credentials are not usable \(userAgent: userAgent must follow Reddit's form/);
  });

  it("a wrong password is the token endpoint's refusal", async () => {
    const error = await failure(run("https://www.reddit.com/r/vigiltest", { credentials: credentials({ password: "wrong" }) }));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toBe("Reddit refused the credentials (400 invalid_grant): check clientId, clientSecret and the grant fields (refreshToken, or username and password)");
  });

  it("500 is the platform's trouble", async () => {
    fake.faults.next500(1);
    const error = await failure(run("https://www.reddit.com/r/vigiltest"));
    expect(error.kind).toBe("unavailable");
    expect(error.message).toBe("Reddit answered 500 for r/vigiltest: the platform is having trouble; the next run tries again");
  });

  it("429 with Retry-After: 1 waits a second, then reads the listing", async () => {
    fake.faults.next429(1);
    expect(await run("https://www.reddit.com/r/vigiltest")).toHaveLength(1);
    const [limited, retried] = fake.stats.requests.filter((r) => r.kind === "new");
    expect([limited!.status, retried!.status]).toEqual([429, 200]);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(999);
  });

  it("429 whose wait would pass the deadline fails at once", async () => {
    fake.faults.next429(600);
    const started = Date.now();
    const error = await failure(run("https://www.reddit.com/r/vigiltest", { deadlineMs: 10_000 }));
    expect(error.kind).toBe("rate_limited");
    expect(error.message).toMatch(/^Reddit answered 429 \(too many requests\) for r\/vigiltest and allows the next request at \S+ \(in \d+ s\), after this run's deadline/);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a Reddit that does not answer before the deadline is a timeout", async () => {
    fake.faults.slow(5_000);
    const error = await failure(run("https://www.reddit.com/r/vigiltest", { deadlineMs: 1_000 }));
    expect(error.kind).toBe("timeout");
  });

  it("a cut-off listing is malformed", async () => {
    fake.faults.nextTruncated(1);
    const error = await failure(run("https://www.reddit.com/r/vigiltest"));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/^Reddit sent an answer for r\/vigiltest that is not JSON; it starts with "\{\\"kind\\": ?\\"Listing\\"/);
  });
});
