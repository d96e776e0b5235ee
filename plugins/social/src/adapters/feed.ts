// The items of an RSS 2.0 (and 0.9x), RSS 1.0 (RDF) or Atom document, as SocialItems.
import { createHash } from "node:crypto";
import type { SocialItem } from "../contract.js";
import { htmlToText } from "./html-text.js";
import { nonEmpty, parseTime } from "./items.js";
import { childOf, childrenOf, childText, NS, textOf, type XmlElement } from "./xml.js";

const RSS1 = "http://purl.org/rss/1.0/";
const RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/** The feed's items, or undefined when the document is no RSS or Atom feed. */
export function feedItems(root: XmlElement, feedUrl: string, fetchedAt: number): SocialItem[] | undefined {
  if (root.ns === NS.atom && root.local === "feed") return atomItems(root, feedUrl, fetchedAt);
  if (root.ns === "" && root.local === "rss") {
    const channel = childOf(root, "", "channel");
    return channel ? rssItems(channel, childrenOf(channel, "", "item"), "", feedUrl, fetchedAt) : [];
  }
  if (root.ns === RDF && root.local === "RDF") {
    const channel = childOf(root, RSS1, "channel");
    return rssItems(channel ?? root, childrenOf(root, RSS1, "item"), RSS1, feedUrl, fetchedAt);
  }
  return undefined;
}

function rssItems(channel: XmlElement, items: XmlElement[], ns: string, feedUrl: string, fetchedAt: number): SocialItem[] {
  const channelLink = resolve(childText(channel, ns, "link"), feedUrl) ?? feedUrl;
  const channelTitle = childText(channel, ns, "title");
  const channelDate = parseTime(childText(channel, ns, "pubDate") ?? childText(channel, ns, "lastBuildDate") ?? childText(channel, NS.dc, "date"));
  return items.map((item) => {
    const guid = childOf(item, ns, "guid");
    const guidText = guid && nonEmpty(textOf(guid));
    const link = resolve(childText(item, ns, "link"), feedUrl);
    // A guid is a link unless it says isPermaLink="false" (RSS 2.0's default is true).
    const guidLink = guid?.attrs.isPermaLink !== "false" && guidText !== undefined && /^https?:\/\//i.test(guidText) ? guidText : undefined;
    const title = flat(childText(item, ns, "title"));
    const html = childText(item, ns, "description") ?? childText(item, NS.content, "encoded");
    const text = html === undefined ? undefined : nonEmpty(htmlToText(html));
    return {
      id: guidText ?? link ?? digest(title, html),
      url: link ?? guidLink ?? channelLink,
      author: childText(item, NS.dc, "creator") ?? rssAuthor(childText(item, ns, "author")) ?? channelTitle ?? "",
      ...(title !== undefined ? { title } : {}),
      ...(text !== undefined ? { text } : {}),
      publishedAt: parseTime(childText(item, ns, "pubDate") ?? childText(item, NS.dc, "date")) ?? channelDate ?? fetchedAt,
    };
  });
}

function atomItems(feed: XmlElement, feedUrl: string, fetchedAt: number): SocialItem[] {
  const feedAuthor = atomAuthor(feed) ?? textConstruct(childOf(feed, NS.atom, "title"));
  const feedUpdated = parseTime(childText(feed, NS.atom, "updated"));
  return childrenOf(feed, NS.atom, "entry").map((entry) => {
    const alternate = childrenOf(entry, NS.atom, "link").find((link) => (link.attrs.rel ?? "alternate") === "alternate");
    const url = resolve(alternate?.attrs.href, feedUrl);
    const title = textConstruct(childOf(entry, NS.atom, "title"));
    const text = textConstruct(childOf(entry, NS.atom, "summary") ?? childOf(entry, NS.atom, "content"));
    return {
      id: childText(entry, NS.atom, "id") ?? url ?? digest(title, text),
      url: url ?? feedUrl,
      author: atomAuthor(entry) ?? feedAuthor ?? "",
      ...(title !== undefined ? { title } : {}),
      ...(text !== undefined ? { text } : {}),
      publishedAt: parseTime(childText(entry, NS.atom, "published") ?? childText(entry, NS.atom, "updated")) ?? feedUpdated ?? fetchedAt,
    };
  });
}

function atomAuthor(element: XmlElement): string | undefined {
  const author = childOf(element, NS.atom, "author");
  return author && childText(author, NS.atom, "name");
}

/** Atom's text constructs: type="text" (the default), "html" (escaped HTML) or "xhtml" (inline markup). */
function textConstruct(element: XmlElement | undefined): string | undefined {
  if (!element) return undefined;
  const type = element.attrs.type ?? "text";
  const text = type === "html" ? htmlToText(textOf(element)) : flat(textOf(element));
  return nonEmpty(text);
}

// RSS's <author> is an e-mail address, often "jo@example.com (Jo Smith)": the name is what people read.
function rssAuthor(author: string | undefined): string | undefined {
  return nonEmpty(author?.match(/\(([^)]+)\)\s*$/)?.[1]) ?? author;
}

function flat(text: string | undefined): string | undefined {
  return nonEmpty(text?.replace(/\s+/g, " "));
}

function resolve(href: string | undefined, base: string): string | undefined {
  if (!href) return undefined;
  try {
    return new URL(href.trim(), base).toString();
  } catch {
    return undefined;
  }
}

// An item with neither guid nor link still needs an id that stays the same from run to run.
function digest(...parts: (string | undefined)[]): string {
  return `sha1:${createHash("sha1").update(parts.map((part) => part ?? "").join("\u0000")).digest("hex")}`;
}
