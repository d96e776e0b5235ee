import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeHackerNews, type FakeHackerNews, type Hit } from "../../../test/fakes/social/hackernews.js";
import { hackernewsAdapter } from "../src/adapters/hackernews.js";
import { parseTarget } from "../src/targets.js";
import { failure, testContext, type TestContextOptions } from "./adapter-context.js";

let fake: FakeHackerNews;
const t0 = Date.parse("2026-11-20T12:00:00Z");
const MINUTE = 60_000;
let link: Hit;
let ask: Hit;
let comment: Hit;

beforeAll(async () => {
  fake = await startFakeHackerNews();
  link = fake.addStory({ title: "Vigil 1.0 released", url: "https://vigil.example/blog/1.0", author: "pg", createdAt: t0 });
  ask = fake.addStory({ title: "Ask HN: Who uses Vigil?", text: "We're curious.\n\nTell us what/where.", author: "dang", createdAt: t0 + MINUTE });
  comment = fake.addComment({ storyId: link.objectID, author: "tptacek", text: "Vigil's docs are good & short", createdAt: t0 + 2 * MINUTE });
  fake.addStory({ title: "Unrelated", author: "x", createdAt: t0 + 3 * MINUTE });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.faults.clear();
  fake.stats.reset();
});

function run(url: string, options: TestContextOptions = {}) {
  return hackernewsAdapter.fetch(parseTarget("hackernews", "search", url), testContext({ baseUrl: fake.url, ...options }));
}

describe("Hacker News adapter", () => {
  it("finds stories and comments, newest first, as text", async () => {
    const items = await run("https://hn.algolia.com/?q=vigil");
    expect(items).toEqual([
      { id: comment.objectID, url: `https://news.ycombinator.com/item?id=${comment.objectID}`, author: "tptacek", title: "Re: Vigil 1.0 released", text: "Vigil's docs are good & short", publishedAt: t0 + 2 * MINUTE },
      { id: ask.objectID, url: `https://news.ycombinator.com/item?id=${ask.objectID}`, author: "dang", title: "Ask HN: Who uses Vigil?", text: "We're curious.\n\nTell us what/where.", publishedAt: t0 + MINUTE },
      { id: link.objectID, url: "https://vigil.example/blog/1.0", author: "pg", title: "Vigil 1.0 released", publishedAt: t0 },
    ]);
    const query = new URLSearchParams(fake.stats.requests[0]!.query);
    expect(fake.stats.requests[0]!.path).toBe("/api/v1/search_by_date");
    expect(Object.fromEntries(query)).toEqual({ query: "vigil", tags: "(story,comment)", hitsPerPage: "50", page: "0" });
  });

  it("searches stories only when the URL says type=story", async () => {
    const items = await run("https://hn.algolia.com/?query=vigil&type=story");
    expect(items.map((i) => i.id)).toEqual([ask.objectID, link.objectID]);
  });

  it("pages with page/nbPages up to maxItems", async () => {
    for (let i = 0; i < 250; i++) fake.addStory({ title: `Paging story ${i}`, author: "bulk", createdAt: t0 + i * MINUTE });
    const items = await run("https://hn.algolia.com/?q=paging", { maxItems: 230 });
    expect(items).toHaveLength(230);
    expect(items[0]!.title).toBe("Paging story 249");
    expect(items.at(-1)!.title).toBe("Paging story 20");
    expect(fake.stats.requests.map((r) => new URLSearchParams(r.query).get("page"))).toEqual(["0", "1", "2"]);
    expect(new URLSearchParams(fake.stats.requests[0]!.query).get("hitsPerPage")).toBe("100");
  });

  it("stops at the last page", async () => {
    const items = await run("https://hn.algolia.com/?q=paging", { maxItems: 1000 });
    expect(items).toHaveLength(250);
    expect(fake.stats.requests).toHaveLength(3);
  });

  it("sees stories added between runs", async () => {
    expect(await run("https://hn.algolia.com/?q=between")).toEqual([]);
    const added = fake.addStory({ title: "Between runs", author: "later" });
    expect((await run("https://hn.algolia.com/?q=between")).map((i) => i.id)).toEqual([added.objectID]);
  });
});

describe("Hacker News faults fail the run with a message a user can act on", () => {
  it("404 points at the base URL", async () => {
    fake.faults.nextError(404);
    const error = await failure(run("https://hn.algolia.com/?q=vigil"));
    expect(error.kind).toBe("not_found");
    expect(error.message).toBe(`Hacker News search (Algolia) answered 404 ("Request refused") for the search "vigil": check the platform's configured base URL: the search API lives at https://hn.algolia.com/api/v1`);
  });

  it("403 says Algolia refuses the agent", async () => {
    fake.faults.nextError(403);
    const error = await failure(run("https://hn.algolia.com/?q=vigil"));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toMatch(/answered 403 .*: the search takes no credentials; Algolia may be refusing the agent's address$/);
  });

  it("502 is the platform's trouble", async () => {
    fake.faults.nextError(502);
    const error = await failure(run("https://hn.algolia.com/?q=vigil"));
    expect(error.kind).toBe("unavailable");
  });

  it("429 with Retry-After: 1 waits a second, then goes on", async () => {
    fake.faults.next429(1);
    expect(await run("https://hn.algolia.com/?q=vigil")).toHaveLength(3);
    const [limited, retried] = fake.stats.requests;
    expect([limited!.status, retried!.status]).toEqual([429, 200]);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(999);
  });

  it("429 three times in a row gives up after waiting twice", async () => {
    fake.faults.next429(1, { count: 3 });
    const error = await failure(run("https://hn.algolia.com/?q=vigil"));
    expect(error.kind).toBe("rate_limited");
    expect(error.message).toMatch(/^Hacker News search \(Algolia\) kept answering 429 \(too many requests\) for the search "vigil" after waiting as told, .*: run the job less often/);
    expect(fake.stats.requests).toHaveLength(3);
  });

  it("429 whose wait would pass the deadline fails at once", async () => {
    fake.faults.next429(60);
    const error = await failure(run("https://hn.algolia.com/?q=vigil", { deadlineMs: 5_000 }));
    expect(error.kind).toBe("rate_limited");
    expect(error.message).toMatch(/after this run's deadline/);
  });

  it("a search that does not answer before the deadline is a timeout", async () => {
    fake.faults.slow(5_000);
    const error = await failure(run("https://hn.algolia.com/?q=vigil", { deadlineMs: 1_000 }));
    expect(error.kind).toBe("timeout");
  });

  it("a cut-off answer is malformed, quoting its first bytes", async () => {
    fake.faults.malformed();
    const error = await failure(run("https://hn.algolia.com/?q=vigil"));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/^Hacker News search \(Algolia\) sent an answer for the search "vigil" that is not JSON .*; it starts with "\{\\"hits\\":\[/);
  });
});
