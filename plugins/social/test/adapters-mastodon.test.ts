import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeMastodon, type FakeMastodon, type Status } from "../../../test/fakes/social/mastodon.js";
import { mastodonAdapter } from "../src/adapters/mastodon.js";
import { parseTarget } from "../src/targets.js";
import { failure, testContext, type TestContextOptions } from "./adapter-context.js";

let fake: FakeMastodon;
const t0 = Date.parse("2026-11-20T12:00:00Z");
const MINUTE = 60_000;
let first: Status;
let second: Status;

beforeAll(async () => {
  fake = await startFakeMastodon({ domain: "mastodon.example" });
  first = fake.addStatus("alice", { text: "Hello #Vigil world & friends", createdAt: t0 });
  fake.addStatus("bob@remote.example", { text: "Remote take on #vigil", createdAt: t0 + MINUTE });
  second = fake.addStatus("alice", {
    text: "Release notes: https://example.com/releases/2026/11/vigil-1.0-notes.html\n\nThanks @bob <3",
    spoilerText: "long post",
    createdAt: t0 + 2 * MINUTE,
  });
  fake.addStatus("alice", { text: "Followers only", visibility: "private", createdAt: t0 + 3 * MINUTE });
  fake.addStatus("alice", { reblogOf: first.id, createdAt: t0 + 4 * MINUTE });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.faults.clear();
  fake.stats.reset();
});

function run(url: string, options: TestContextOptions = {}, server: FakeMastodon = fake) {
  const type = url.includes("/tags/") ? "hashtag" : "account";
  return mastodonAdapter.fetch(parseTarget("mastodon", type, url), testContext({ baseUrl: server.url, ...options }));
}

describe("Mastodon adapter", () => {
  it("reads an account's public statuses, newest first, without boosts, as text", async () => {
    const items = await run("https://mastodon.example/@alice");
    expect(items).toEqual([
      {
        id: second.id,
        url: `https://mastodon.example/@alice/${second.id}`,
        author: "alice",
        title: "long post",
        text: "Release notes: https://example.com/releases/2026/11/vigil-1.0-notes.html\n\nThanks @bob <3",
        publishedAt: t0 + 2 * MINUTE,
      },
      { id: first.id, url: `https://mastodon.example/@alice/${first.id}`, author: "alice", text: "Hello #Vigil world & friends", publishedAt: t0 },
    ]);
    const [lookup, statuses] = fake.stats.requests;
    expect(lookup).toMatchObject({ path: "/api/v1/accounts/lookup", query: "?acct=alice" });
    expect(statuses!.path).toMatch(/^\/api\/v1\/accounts\/\d+\/statuses$/);
    expect(new URLSearchParams(statuses!.query).get("exclude_reblogs")).toBe("true");
  });

  it("reads a hashtag's timeline, remote authors by their full acct", async () => {
    const items = await run("https://mastodon.example/tags/vigil");
    expect(items.map((i) => [i.author, i.text])).toEqual([
      ["bob@remote.example", "Remote take on #vigil"],
      ["alice", "Hello #Vigil world & friends"],
    ]);
    expect(fake.stats.requests[0]!.path).toBe("/api/v1/timelines/tag/vigil");
  });

  it("pages with max_id as the Link header says, up to maxItems", async () => {
    for (let i = 0; i < 95; i++) fake.addStatus("carol", { text: `status ${i}`, createdAt: t0 + i * MINUTE });
    const items = await run("https://mastodon.example/@carol", { maxItems: 90 });
    expect(items).toHaveLength(90);
    expect(items[0]!.text).toBe("status 94");
    expect(items.at(-1)!.text).toBe("status 5");
    const pages = fake.stats.requests.slice(1).map((r) => Object.fromEntries(new URLSearchParams(r.query)));
    expect(pages.map((p) => p.limit)).toEqual(["40", "40", "10"]);
    expect(pages[0]!.max_id).toBeUndefined();
    expect(pages[1]!.max_id).toBe(items[39]!.id);
    expect(pages[2]!.max_id).toBe(items[79]!.id);
  });

  it("stops when the account has no more statuses", async () => {
    for (let i = 0; i < 45; i++) fake.addStatus("dave", { text: `status ${i}`, createdAt: t0 + i * MINUTE });
    const items = await run("https://mastodon.example/@dave", { maxItems: 200 });
    expect(items).toHaveLength(45);
    expect(fake.stats.count(/\/statuses$/)).toBe(2);
  });

  it("asks for no more than maxItems", async () => {
    const items = await run("https://mastodon.example/@alice", { maxItems: 1 });
    expect(items.map((i) => i.id)).toEqual([second.id]);
    expect(new URLSearchParams(fake.stats.requests[1]!.query).get("limit")).toBe("1");
  });

  it("sees statuses added between runs", async () => {
    fake.addStatus("erin", { text: "one #between", createdAt: t0 });
    expect(await run("https://mastodon.example/tags/between")).toHaveLength(1);
    const added = fake.addStatus("erin", { text: "two #between" });
    expect((await run("https://mastodon.example/tags/between"))[0]!.id).toBe(added.id);
  });
});

describe("Mastodon faults fail the run with a message a user can act on", () => {
  it("404 for an unknown account", async () => {
    const error = await failure(run("https://mastodon.example/@nobody"));
    expect(error.kind).toBe("not_found");
    expect(error.message).toBe('Mastodon answered 404 ("Record not found") for account @nobody on mastodon.example: check that the account exists and is not suspended');
  });

  it("404 for a remote account the instance does not know says how to make it known", async () => {
    const error = await failure(run("https://mastodon.example/@someone@elsewhere.example"));
    expect(error.message).toMatch(/for account @someone@elsewhere\.example on mastodon\.example: check that the account exists and that this instance knows it/);
  });

  it("401 from an instance that shows its timelines to signed-in users only", async () => {
    const closed = await startFakeMastodon({ domain: "closed.example", timelinesRequireAuth: true });
    try {
      const error = await failure(run("https://closed.example/tags/vigil", {}, closed));
      expect(error.kind).toBe("unauthorized");
      expect(error.message).toBe(
        'Mastodon answered 401 ("This method requires an authenticated user") for hashtag #vigil on closed.example: this instance shows its timelines to signed-in users only: watch the hashtag on an instance that shows it to visitors',
      );
    } finally {
      await closed.close();
    }
  });

  it("503 is the platform's trouble", async () => {
    fake.faults.nextError(503);
    const error = await failure(run("https://mastodon.example/@alice"));
    expect(error.kind).toBe("unavailable");
    expect(error.message).toMatch(/^Mastodon answered 503 \("Service Unavailable"\) for account @alice on mastodon\.example: the platform is having trouble/);
  });

  it("429 waits until X-RateLimit-Reset (an ISO time), then goes on", async () => {
    fake.faults.next429(1, { path: /\/statuses$/ });
    const items = await run("https://mastodon.example/@alice");
    expect(items).toHaveLength(2);
    const [, limited, retried] = fake.stats.requests;
    expect([limited!.status, retried!.status]).toEqual([429, 200]);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(999);
  });

  it("429 whose wait would pass the deadline fails at once, saying when Mastodon allows the next request", async () => {
    fake.faults.next429(300);
    const error = await failure(run("https://mastodon.example/@alice", { deadlineMs: 10_000 }));
    expect(error.kind).toBe("rate_limited");
    expect(error.message).toMatch(/^Mastodon answered 429 \(too many requests\) for account @alice on mastodon\.example and allows the next request at \S+Z \(in \d+ s\), after this run's deadline/);
    expect(fake.stats.requests).toHaveLength(1);
  });

  it("an instance that does not answer before the deadline is a timeout", async () => {
    fake.faults.slow(5_000);
    const error = await failure(run("https://mastodon.example/@alice", { deadlineMs: 1_000 }));
    expect(error.kind).toBe("timeout");
  });

  it("a cut-off answer is malformed, quoting its first bytes", async () => {
    fake.faults.malformed({ path: /\/statuses$/ });
    const error = await failure(run("https://mastodon.example/@alice"));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/^Mastodon sent an answer for the statuses of @alice on mastodon\.example that is not JSON \(content-type application\/json\); it starts with "\[\{\\"id\\":/);
  });

  it("JSON of another shape is malformed, saying what did not fit", async () => {
    fake.faults.nextError(200, { path: /\/statuses$/ });
    const error = await failure(run("https://mastodon.example/@alice"));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/^Mastodon sent JSON for the statuses of @alice on mastodon\.example that Vigil cannot read \(.*expected array.*\); it starts with "\{\\"error\\":/);
  });
});
