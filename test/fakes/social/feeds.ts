// A fake web site serving RSS 2.0 and Atom feeds at paths of one's choosing, the way blogs
// and news sites do: the newest items only, HTML descriptions (escaped or in CDATA),
// RFC 822 dates in RSS and RFC 3339 in Atom, redirects for moved feeds, an HTML 404 page,
// and a Retry-After in seconds or as an HTTP date on 429.
import { randomUUID } from "node:crypto";
import { escapeXml, startFakeServer, type Answer, type FakeServer } from "./server.js";

export interface NewFeed {
  format: "rss" | "atom";
  title: string;
  /** The site's home page; defaults to https://<site>/. */
  link?: string;
  /** Items a document holds (the newest); 20 by default. */
  size?: number;
}

export interface NewFeedItem {
  title: string;
  /** Defaults to a page under the site. */
  link?: string;
  /** RSS guid / Atom id; defaults to the link for RSS, a urn:uuid for Atom. */
  guid?: string;
  /** HTML. */
  description?: string;
  author?: string;
  /** Epoch ms; defaults to the fake's clock. */
  publishedAt?: number;
}

export interface FeedItem extends Required<Omit<NewFeedItem, "description" | "author">> {
  description?: string;
  author?: string;
}

export interface FakeFeedsOptions {
  port?: number;
  now?: () => number;
  /** The site the feeds say they belong to (links and ids use it). */
  site?: string;
  /** How a 429 says when to come back. */
  retryAfter?: "seconds" | "http-date";
}

export interface FakeFeeds extends FakeServer {
  /** The feed's URL on the public site, e.g. https://blog.example/feed.xml (its path is served by the fake). */
  feedUrl(path: string): string;
  addFeed(path: string, feed: NewFeed): void;
  /** Adds an item to the feed at `path`. */
  addFeedItem(path: string, item: NewFeedItem): FeedItem;
  /** `from` answers a redirect to `to` (a path of the fake, or an absolute URL). */
  redirect(from: string, to: string, status?: 301 | 302 | 307 | 308): void;
  /** `path` answers exactly this body (a web page, an RDF feed, a broken document …). */
  serveRaw(path: string, body: string, contentType?: string): void;
}

export async function startFakeFeeds(options: FakeFeedsOptions = {}): Promise<FakeFeeds> {
  const { now = Date.now, site = "blog.example", retryAfter = "seconds" } = options;
  const feeds = new Map<string, NewFeed & { items: FeedItem[] }>();
  const redirects = new Map<string, { to: string; status: number }>();
  const raw = new Map<string, { body: string; contentType: string }>();

  function handle({ method, url }: { method: string; url: URL }): Answer {
    if (method !== "GET" && method !== "HEAD") return page(405, "Method Not Allowed");
    const moved = redirects.get(url.pathname);
    if (moved) return { status: moved.status, headers: { location: moved.to, "content-type": "text/html" }, body: `<a href="${escapeXml(moved.to)}">Moved</a>` };
    const fixed = raw.get(url.pathname);
    if (fixed) return { status: 200, headers: { "content-type": fixed.contentType }, body: fixed.body };
    const feed = feeds.get(url.pathname);
    if (!feed) return page(404, "Not Found");
    const newest = [...feed.items].sort((a, b) => b.publishedAt - a.publishedAt).slice(0, feed.size ?? 20);
    return feed.format === "rss"
      ? { status: 200, headers: { "content-type": "application/rss+xml; charset=utf-8" }, body: rss(feed, newest, `https://${site}${url.pathname}`) }
      : { status: 200, headers: { "content-type": "application/atom+xml; charset=utf-8" }, body: atom(feed, newest, `https://${site}${url.pathname}`) };
  }

  const server = await startFakeServer({
    port: options.port,
    now,
    wire: {
      tooManyRequests: (seconds, at) => ({
        ...page(429, "Too Many Requests"),
        headers: { "content-type": "text/html", "retry-after": retryAfter === "seconds" ? String(seconds) : new Date(Math.ceil((at + seconds * 1000) / 1000) * 1000).toUTCString() },
      }),
      error: (status) => page(status, status >= 500 ? "Server Error" : "Error"),
    },
    handle,
  });

  return {
    ...server,
    feedUrl: (path) => `https://${site}${path}`,
    addFeed: (path, feed) => void feeds.set(path, { ...feed, items: feeds.get(path)?.items ?? [] }),
    addFeedItem(path, item) {
      const feed = feeds.get(path);
      if (!feed) throw new Error(`fake feeds: no feed at ${path}; addFeed first`);
      const link = item.link ?? `https://${site}/posts/${slug(item.title)}-${feed.items.length + 1}`;
      const made: FeedItem = {
        title: item.title,
        link,
        guid: item.guid ?? (feed.format === "rss" ? link : `urn:uuid:${randomUUID()}`),
        publishedAt: item.publishedAt ?? now(),
        ...(item.description !== undefined ? { description: item.description } : {}),
        ...(item.author !== undefined ? { author: item.author } : {}),
      };
      feed.items.push(made);
      return made;
    },
    redirect: (from, to, status = 301) => void redirects.set(from, { to, status }),
    serveRaw: (path, body, contentType = "application/xml") => void raw.set(path, { body, contentType }),
  };

  function rss(feed: NewFeed, items: FeedItem[], self: string): string {
    const home = feed.link ?? `https://${site}/`;
    return `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel>
  <title>${escapeXml(feed.title)}</title>
  <link>${escapeXml(home)}</link>
  <atom:link href="${escapeXml(self)}" rel="self" type="application/rss+xml" />
  <description>${escapeXml(feed.title)} &#8211; news and notes</description>
  <language>en-US</language>
  <lastBuildDate>${new Date(items[0]?.publishedAt ?? now()).toUTCString()}</lastBuildDate>
  <generator>https://wordpress.org/?v=6.5</generator>
${items
  .map(
    (item) => `  <item>
    <title>${escapeXml(item.title)}</title>
    <link>${escapeXml(item.link)}</link>
    ${item.author !== undefined ? `<dc:creator><![CDATA[${item.author}]]></dc:creator>` : ""}
    <pubDate>${new Date(item.publishedAt).toUTCString().replace("GMT", "+0000")}</pubDate>
    <guid isPermaLink="${item.guid === item.link}">${escapeXml(item.guid)}</guid>
    ${item.description !== undefined ? `<description><![CDATA[${item.description}]]></description>` : ""}
  </item>`,
  )
  .join("\n")}
</channel>
</rss>
`;
  }

  function atom(feed: NewFeed, items: FeedItem[], self: string): string {
    const home = feed.link ?? `https://${site}/`;
    return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">
  <title type="text">${escapeXml(feed.title)}</title>
  <link href="${escapeXml(self)}" rel="self" type="application/atom+xml"/>
  <link href="${escapeXml(home)}" rel="alternate" type="text/html"/>
  <updated>${new Date(items[0]?.publishedAt ?? now()).toISOString()}</updated>
  <id>${escapeXml(self)}</id>
  <author><name>${escapeXml(feed.title)}</name></author>
${items
  .map(
    (item) => `  <entry>
    <title type="html">${escapeXml(escapeXml(item.title))}</title>
    <link href="${escapeXml(item.link)}" rel="alternate" type="text/html" title="${escapeXml(item.title)}"/>
    <published>${new Date(item.publishedAt).toISOString()}</published>
    <updated>${new Date(item.publishedAt + 3_600_000).toISOString()}</updated>
    <id>${escapeXml(item.guid)}</id>
    ${item.author !== undefined ? `<author><name>${escapeXml(item.author)}</name></author>` : ""}
    ${item.description !== undefined ? `<summary type="html">${escapeXml(item.description)}</summary>` : ""}
  </entry>`,
  )
  .join("\n")}
</feed>
`;
  }
}

function page(status: number, message: string): Answer {
  return { status, headers: { "content-type": "text/html; charset=utf-8" }, body: `<!DOCTYPE html>\n<html><head><title>${status} ${message}</title></head><body><h1>${message}</h1></body></html>` };
}

function slug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40) || "post"
  );
}
