import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startFakeFeeds, type FakeFeeds, type FeedItem } from "../../../test/fakes/social/feeds.js";
import { rssAdapter } from "../src/adapters/rss.js";
import { parseTarget } from "../src/targets.js";
import { failure, testContext, type TestContextOptions } from "./adapter-context.js";

let fake: FakeFeeds;
const t0 = Date.parse("2026-11-20T12:00:00Z");
const HOUR = 3_600_000;
let rssFirst: FeedItem;
let rssSecond: FeedItem;

beforeAll(async () => {
  fake = await startFakeFeeds({ site: "blog.example" });
  fake.addFeed("/feed.xml", { format: "rss", title: "The Vigil Blog" });
  rssSecond = fake.addFeedItem("/feed.xml", {
    title: "Second post",
    description: "<p>Ships <b>today</b> &amp; works.</p><p>Second&nbsp;paragraph &#8211; done</p>",
    author: "Jo Writer",
    publishedAt: t0 + HOUR,
  });
  rssFirst = fake.addFeedItem("/feed.xml", { title: "First post", publishedAt: t0 });
  fake.addFeed("/atom.xml", { format: "atom", title: "Vigil Notes" });
  fake.addFeedItem("/atom.xml", { title: "Fish & Chips <3", description: "<em>Tasty</em> &lt;code&gt;", author: "Sam", publishedAt: t0 + 2 * HOUR });
  fake.addFeedItem("/atom.xml", { title: "Older note", publishedAt: t0 - HOUR });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.faults.clear();
  fake.stats.reset();
});

function run(url: string, options: TestContextOptions = {}, server: FakeFeeds = fake) {
  return rssAdapter.fetch(parseTarget("rss", "feed", url), testContext({ baseUrl: server.url, ...options }));
}

describe("RSS/Atom adapter", () => {
  it("reads an RSS 2.0 feed, newest first, descriptions as text", async () => {
    const items = await run("https://blog.example/feed.xml");
    expect(items).toEqual([
      { id: rssSecond.link, url: rssSecond.link, author: "Jo Writer", title: "Second post", text: "Ships today & works.\n\nSecond paragraph – done", publishedAt: t0 + HOUR },
      // No author: the feed's title stands in.
      { id: rssFirst.link, url: rssFirst.link, author: "The Vigil Blog", title: "First post", publishedAt: t0 },
    ]);
    expect(fake.stats.requests[0]!.path).toBe("/feed.xml");
  });

  it("reads an Atom feed: html titles and summaries, entry authors, the feed's author as fallback", async () => {
    const items = await run("https://blog.example/atom.xml");
    expect(items).toEqual([
      { id: expect.stringMatching(/^urn:uuid:/), url: expect.stringMatching(/^https:\/\/blog\.example\/posts\/fish-chips-3-1$/), author: "Sam", title: "Fish & Chips <3", text: "Tasty <code>", publishedAt: t0 + 2 * HOUR },
      { id: expect.stringMatching(/^urn:uuid:/), url: "https://blog.example/posts/older-note-2", author: "Vigil Notes", title: "Older note", publishedAt: t0 - HOUR },
    ]);
  });

  it("returns at most maxItems", async () => {
    expect((await run("https://blog.example/feed.xml", { maxItems: 1 })).map((i) => i.title)).toEqual(["Second post"]);
  });

  it("follows a moved feed's redirect", async () => {
    fake.redirect("/old-feed", "/feed.xml", 301);
    const items = await run("https://blog.example/old-feed");
    expect(items).toHaveLength(2);
    expect(fake.stats.requests.map((r) => [r.path, r.status])).toEqual([
      ["/old-feed", 301],
      ["/feed.xml", 200],
    ]);
  });

  it("gives up on a redirect loop, saying so", async () => {
    fake.redirect("/loop-a", "/loop-b", 302);
    fake.redirect("/loop-b", "/loop-a", 302);
    const error = await failure(run("https://blog.example/loop-a"));
    expect(error.kind).toBe("unavailable");
    expect(error.message).toBe("blog.example redirected the request for the feed https://blog.example/loop-a more than 5 times (last to /loop-a): check the URL");
  });

  it("reads what feeds in the wild do: relative links, permalink-less guids, CDATA, character references, RFC 822 zones", async () => {
    fake.serveRaw(
      "/wild.rss",
      `<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss [<!ENTITY ignored "x">]>
<!-- generated -->
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Wild &amp; Free</title><link>https://wild.example/</link>
<item><title>Caf&#233; &#x263A; news</title><link>/posts/1</link><guid isPermaLink="false">post-1</guid>
  <description><![CDATA[<p>It's <i>fine</i> &amp; dandy</p>]]></description>
  <author>jo@wild.example (Jo Wild)</author><pubDate>Tue, 10 Nov 2026 08:00:00 EST</pubDate></item>
<item><title>No link</title><guid>https://wild.example/p/2</guid><dc:creator>Max</dc:creator><pubDate>Wed, 11 Nov 2026 08:00:00 +0100</pubDate></item>
<item><title>Bare</title><description>plain text</description></item>
</channel></rss>`,
      "application/rss+xml",
    );
    const before = Date.now();
    const items = await run("https://wild.example/wild.rss");
    // Neither guid nor link nor date: a stable id, the feed's link, and the time it was read (so it sorts first).
    expect(items[0]).toMatchObject({ id: expect.stringMatching(/^sha1:[0-9a-f]{40}$/), url: "https://wild.example/", author: "Wild & Free", title: "Bare", text: "plain text" });
    expect(items[0]!.publishedAt).toBeGreaterThanOrEqual(before);
    expect(items.slice(1)).toEqual([
      { id: "https://wild.example/p/2", url: "https://wild.example/p/2", author: "Max", title: "No link", publishedAt: Date.parse("2026-11-11T07:00:00Z") },
      { id: "post-1", url: "https://wild.example/posts/1", author: "Jo Wild", title: "Café ☺ news", text: "It's fine & dandy", publishedAt: Date.parse("2026-11-10T13:00:00Z") },
    ]);
    const again = await run("https://wild.example/wild.rss");
    expect(again[0]!.id).toBe(items[0]!.id);
  });

  it("reads RSS 1.0 (RDF) feeds too", async () => {
    fake.serveRaw(
      "/rdf",
      `<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example/"><title>RDF site</title><link>https://rdf.example/</link></channel>
  <item rdf:about="https://rdf.example/a"><title>A</title><link>https://rdf.example/a</link><dc:date>2026-11-01T10:00:00Z</dc:date><dc:creator>Ann</dc:creator></item>
</rdf:RDF>`,
    );
    expect(await run("https://rdf.example/rdf")).toEqual([{ id: "https://rdf.example/a", url: "https://rdf.example/a", author: "Ann", title: "A", publishedAt: Date.parse("2026-11-01T10:00:00Z") }]);
  });

  it("sees items added between runs", async () => {
    fake.addFeed("/between.xml", { format: "atom", title: "Between" });
    expect(await run("https://blog.example/between.xml")).toEqual([]);
    fake.addFeedItem("/between.xml", { title: "Now" });
    expect((await run("https://blog.example/between.xml")).map((i) => i.title)).toEqual(["Now"]);
  });
});

describe("feed faults fail the run with a message a user can act on", () => {
  it("404 for a feed that is not there", async () => {
    const error = await failure(run("https://blog.example/missing.xml"));
    expect(error.kind).toBe("not_found");
    expect(error.message).toBe("blog.example answered 404 for the feed https://blog.example/missing.xml: check the feed's URL; sites move their feeds, so look for the RSS or Atom link on the site");
  });

  it("401 for a feed behind a sign-in", async () => {
    fake.faults.nextError(401);
    const error = await failure(run("https://blog.example/feed.xml"));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toMatch(/answered 401 for the feed .*: the feed needs a sign-in, which the rss platform does not do: use a public feed$/);
  });

  it("a web page instead of a feed says to use the feed's URL", async () => {
    fake.serveRaw("/", "<!DOCTYPE html>\n<html><head><title>Blog</title></head><body>Hi</body></html>", "text/html");
    const error = await failure(run("https://blog.example/"));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/^blog\.example sent a web page, not a feed, for https:\/\/blog\.example\/: use the URL of the site's RSS or Atom feed \(it starts with "<!DOCTYPE html> <html>/);
  });

  it("XML that is no feed is malformed", async () => {
    fake.serveRaw("/opml.xml", `<?xml version="1.0"?><opml version="2.0"><body/></opml>`);
    const error = await failure(run("https://blog.example/opml.xml"));
    expect(error.kind).toBe("malformed");
    expect(error.message).toBe("blog.example sent a <opml> document for https://blog.example/opml.xml, which is neither an RSS nor an Atom feed: check that target_url is the feed's URL");
  });

  it("a cut-off feed is malformed, quoting its first bytes", async () => {
    fake.faults.malformed();
    const error = await failure(run("https://blog.example/feed.xml"));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/^blog\.example sent a feed for the feed https:\/\/blog\.example\/feed\.xml that is not well-formed XML \(the document ends .*\(truncated\?\).*\); it starts with "<\?xml/);
  });

  it("500 is the site's trouble", async () => {
    fake.faults.nextError(500);
    expect((await failure(run("https://blog.example/feed.xml"))).kind).toBe("unavailable");
  });

  it("429 with Retry-After as an HTTP date waits until then", async () => {
    const dated = await startFakeFeeds({ retryAfter: "http-date" });
    try {
      dated.addFeed("/feed.xml", { format: "rss", title: "Dated" });
      dated.addFeedItem("/feed.xml", { title: "One" });
      dated.faults.next429(1);
      expect(await run("https://blog.example/feed.xml", {}, dated)).toHaveLength(1);
      const [limited, retried] = dated.stats.requests;
      expect([limited!.status, retried!.status]).toEqual([429, 200]);
      expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(999);
    } finally {
      await dated.close();
    }
  });

  it("429 whose wait would pass the deadline fails at once", async () => {
    fake.faults.next429(3600);
    const error = await failure(run("https://blog.example/feed.xml", { deadlineMs: 10_000 }));
    expect(error.kind).toBe("rate_limited");
    expect(error.message).toMatch(/^blog\.example answered 429 \(too many requests\) for the feed https:\/\/blog\.example\/feed\.xml and allows the next request at .* \(in 36\d\d s\), after this run's deadline/);
  });

  it("a site that does not answer before the deadline is a timeout", async () => {
    fake.faults.slow(5_000);
    expect((await failure(run("https://blog.example/feed.xml", { deadlineMs: 1_000 }))).kind).toBe("timeout");
  });
});
