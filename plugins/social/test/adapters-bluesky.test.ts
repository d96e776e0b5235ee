import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_BLUESKY_ACCOUNT, startFakeBluesky, type FakeBluesky, type PostView } from "../../../test/fakes/social/bluesky.js";
import { blueskyAdapter } from "../src/adapters/bluesky.js";
import { parseTarget } from "../src/targets.js";
import { failure, testContext, type TestContextOptions } from "./adapter-context.js";

let fake: FakeBluesky;
const t0 = Date.parse("2026-11-20T12:00:00Z");
const MINUTE = 60_000;
let hello: PostView;
let reply: PostView;
let bobs: PostView;
const signIn = { identifier: DEFAULT_BLUESKY_ACCOUNT.identifier, password: DEFAULT_BLUESKY_ACCOUNT.password };

beforeAll(async () => {
  fake = await startFakeBluesky();
  hello = fake.addPost("alice.bsky.social", { text: "Hello from Vigil", createdAt: t0 });
  bobs = fake.addPost("bob.example.com", { text: "Vigil watches feeds", createdAt: t0 + MINUTE });
  reply = fake.addPost("alice.bsky.social", { text: "@bob.example.com agreed, vigil rocks", replyTo: bobs.uri, createdAt: t0 + 2 * MINUTE });
  fake.addRepost("alice.bsky.social", bobs.uri, { createdAt: t0 + 3 * MINUTE });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.faults.clear();
  fake.stats.reset();
});

function run(url: string, options: TestContextOptions = {}) {
  const type = url.includes("/search") ? "search" : "author";
  return blueskyAdapter.fetch(parseTarget("bluesky", type, url), testContext({ baseUrl: fake.url, ...options }));
}

function rkey(uri: string): string {
  return uri.split("/").at(-1)!;
}

describe("Bluesky adapter", () => {
  it("reads an author's posts and replies, newest first, without reposts", async () => {
    const items = await run("https://bsky.app/profile/alice.bsky.social");
    expect(items).toEqual([
      { id: reply.uri, url: `https://bsky.app/profile/alice.bsky.social/post/${rkey(reply.uri)}`, author: "alice.bsky.social", text: "@bob.example.com agreed, vigil rocks", publishedAt: t0 + 2 * MINUTE },
      { id: hello.uri, url: `https://bsky.app/profile/alice.bsky.social/post/${rkey(hello.uri)}`, author: "alice.bsky.social", text: "Hello from Vigil", publishedAt: t0 },
    ]);
    expect(fake.stats.requests[0]).toMatchObject({ path: "/xrpc/app.bsky.feed.getAuthorFeed", authorization: undefined });
    expect(new URLSearchParams(fake.stats.requests[0]!.query).get("actor")).toBe("alice.bsky.social");
  });

  it("takes a DID as the actor", async () => {
    const items = await run(`https://bsky.app/profile/${hello.author.did}`);
    expect(items.map((i) => i.id)).toEqual([reply.uri, hello.uri]);
  });

  it("pages with the cursor up to maxItems", async () => {
    for (let i = 0; i < 130; i++) fake.addPost("busy.bsky.social", { text: `post ${i}`, createdAt: t0 + i * MINUTE });
    const items = await run("https://bsky.app/profile/busy.bsky.social", { maxItems: 120 });
    expect(items).toHaveLength(120);
    expect(items[0]!.text).toBe("post 129");
    expect(items.at(-1)!.text).toBe("post 10");
    const pages = fake.stats.requests.map((r) => new URLSearchParams(r.query));
    expect(pages.map((p) => [p.get("limit"), p.has("cursor")])).toEqual([
      ["100", false],
      ["20", true],
    ]);
  });

  it("searches posts signed in, reusing the session across runs", async () => {
    const items = await run("https://bsky.app/search?q=vigil", { credentials: signIn });
    expect(items.map((i) => [i.author, i.text])).toEqual([
      ["alice.bsky.social", "@bob.example.com agreed, vigil rocks"],
      ["bob.example.com", "Vigil watches feeds"],
      ["alice.bsky.social", "Hello from Vigil"],
    ]);
    const search = fake.stats.requests.find((r) => r.path === "/xrpc/app.bsky.feed.searchPosts")!;
    expect(search.authorization).toMatch(/^Bearer ey/);
    expect(new URLSearchParams(search.query).get("sort")).toBe("latest");
    await run("https://bsky.app/search?q=vigil", { credentials: signIn });
    // createSession is rate limited hard: two runs, one sign-in.
    expect(fake.stats.count("/xrpc/com.atproto.server.createSession")).toBe(1);
  });

  it("refreshes an expired access token instead of signing in again", async () => {
    await run("https://bsky.app/search?q=vigil", { credentials: signIn });
    fake.expireAccessTokens();
    fake.stats.reset();
    const items = await run("https://bsky.app/search?q=vigil", { credentials: signIn });
    expect(items).toHaveLength(3);
    expect(fake.stats.requests.map((r) => [r.path, r.status])).toEqual([
      ["/xrpc/app.bsky.feed.searchPosts", 400],
      ["/xrpc/com.atproto.server.refreshSession", 200],
      ["/xrpc/app.bsky.feed.searchPosts", 200],
    ]);
  });

  it("sees posts added between runs", async () => {
    fake.addPost("carol.bsky.social", { text: "first", createdAt: t0 });
    expect(await run("https://bsky.app/profile/carol.bsky.social")).toHaveLength(1);
    const added = fake.addPost("carol.bsky.social", { text: "second" });
    expect((await run("https://bsky.app/profile/carol.bsky.social"))[0]!.id).toBe(added.uri);
  });
});

describe("Bluesky faults fail the run with a message a user can act on", () => {
  it("an unknown author (XRPC's 400 Profile not found) is not_found", async () => {
    const error = await failure(run("https://bsky.app/profile/nobody.bsky.social"));
    expect(error.kind).toBe("not_found");
    expect(error.message).toBe('Bluesky answered 400 ("Profile not found") for the posts of nobody.bsky.social: check that the handle or DID is right and that the account still exists');
  });

  it("search without credentials: the public AppView's 403 says which credentials to set", async () => {
    const error = await failure(run("https://bsky.app/search?q=vigil"));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toBe(
      'Bluesky answered 403 for the search "vigil": Bluesky\'s public API refuses post search to clients that are not signed in: set credentials.identifier and credentials.password (an app password) for the bluesky platform',
    );
  });

  it("a wrong app password names the fields to check", async () => {
    const error = await failure(run("https://bsky.app/search?q=vigil", { credentials: { identifier: signIn.identifier, password: "wrong-pass-word-0000" } }));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toMatch(
      /^Bluesky answered 401 \("Invalid identifier or password"\) for the sign-in of vigil-tests\.bsky\.social at http:\/\/127\.0\.0\.1:\d+: check credentials\.identifier and credentials\.password; use an app password/,
    );
  });

  it("half the credentials is refused before any request", async () => {
    const error = await failure(run("https://bsky.app/search?q=vigil", { credentials: { identifier: signIn.identifier } }));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toBe("Bluesky credentials need both identifier and password: set credentials.password too, or neither");
    expect(fake.stats.requests).toHaveLength(0);
  });

  it("500 is the platform's trouble", async () => {
    fake.faults.nextError(500);
    const error = await failure(run("https://bsky.app/profile/alice.bsky.social"));
    expect(error.kind).toBe("unavailable");
    expect(error.message).toMatch(/^Bluesky answered 500 \("Internal Server Error"\) for the posts of alice\.bsky\.social: the platform is having trouble/);
  });

  it("429 waits until ratelimit-reset (epoch seconds), then goes on", async () => {
    fake.faults.next429(1);
    const items = await run("https://bsky.app/profile/alice.bsky.social");
    expect(items).toHaveLength(2);
    const [limited, retried] = fake.stats.requests;
    expect([limited!.status, retried!.status]).toEqual([429, 200]);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(999);
  });

  it("429 whose wait would pass the deadline fails at once", async () => {
    fake.faults.next429(300);
    const error = await failure(run("https://bsky.app/profile/alice.bsky.social", { deadlineMs: 10_000 }));
    expect(error.kind).toBe("rate_limited");
    expect(error.message).toMatch(/^Bluesky answered 429 \(too many requests\) for the posts of alice\.bsky\.social and allows the next request at \S+ \(in \d+ s\), after this run's deadline/);
    expect(fake.stats.requests).toHaveLength(1);
  });

  it("an AppView that does not answer before the deadline is a timeout", async () => {
    fake.faults.slow(5_000);
    const error = await failure(run("https://bsky.app/profile/alice.bsky.social", { deadlineMs: 1_000 }));
    expect(error.kind).toBe("timeout");
  });

  it("a cut-off answer is malformed, quoting its first bytes", async () => {
    fake.faults.malformed();
    const error = await failure(run("https://bsky.app/profile/alice.bsky.social"));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/^Bluesky sent an answer for the posts of alice\.bsky\.social that is not JSON \(content-type application\/json\); it starts with "\{\\"feed\\":\[/);
  });
});
