// YouTube's public Atom feeds of a channel's uploads or a playlist. They need no API key
// and carry the newest 15 videos (a playlist's first 15, in playlist order), so there is
// nothing to page through.
import { PlatformError, type Adapter, type SocialItem } from "../contract.js";
import { apiBase, param } from "./base.js";
import { requestPlatform, type Subject } from "./http.js";
import { newestFirst, nonEmpty, parseTime } from "./items.js";
import { readXml } from "./payload.js";
import { childOf, childrenOf, childText, NS, type XmlElement } from "./xml.js";

const DEFAULT_BASE_URL = "https://www.youtube.com";

export const youtubeAdapter: Adapter = {
  platform: "youtube",
  defaultBaseUrl: DEFAULT_BASE_URL,
  async fetch(target, ctx) {
    const [query, id] = target.type === "playlist" ? ["playlist_id", param(target, "playlist_id")] : ["channel_id", param(target, "channel_id")];
    const subject: Subject = {
      platform: "YouTube",
      what: `${target.type} ${id}`,
      ifNotFound: `check that the ${target.type} id is right and that the ${target.type} is public (private ${target.type}s have no feed)`,
      ifUnauthorized: `the ${target.type} may be private or blocked where the agent runs: YouTube feeds take no credentials`,
    };
    const url = `${apiBase(ctx, DEFAULT_BASE_URL)}/feeds/videos.xml?${query}=${encodeURIComponent(id)}`;
    const feed = readXml(await requestPlatform(ctx, url, subject), subject);
    if (feed.ns !== NS.atom || feed.local !== "feed") {
      throw new PlatformError("malformed", `YouTube sent a <${feed.name}> document for ${subject.what} where an Atom <feed> was expected`);
    }
    const feedAuthor = authorName(feed);
    const fetchedAt = Date.now();
    const items = childrenOf(feed, NS.atom, "entry").flatMap((entry) => videoItem(entry, feedAuthor, fetchedAt) ?? []);
    return newestFirst(items, ctx.maxItems);
  },
};

function videoItem(entry: XmlElement, feedAuthor: string | undefined, fetchedAt: number): SocialItem | undefined {
  const videoId = childText(entry, NS.yt, "videoId") ?? childText(entry, NS.atom, "id")?.replace(/^yt:video:/, "");
  if (!videoId) return undefined;
  const alternate = childrenOf(entry, NS.atom, "link").find((link) => (link.attrs.rel ?? "alternate") === "alternate");
  const group = childOf(entry, NS.media, "group");
  const title = childText(entry, NS.atom, "title") ?? (group && childText(group, NS.media, "title"));
  const text = group && childText(group, NS.media, "description");
  return {
    id: videoId,
    url: nonEmpty(alternate?.attrs.href) ?? `https://www.youtube.com/watch?v=${encodeURIComponent(videoId)}`,
    author: authorName(entry) ?? feedAuthor ?? "",
    ...(title !== undefined ? { title } : {}),
    ...(text !== undefined ? { text } : {}),
    publishedAt: parseTime(childText(entry, NS.atom, "published") ?? childText(entry, NS.atom, "updated")) ?? fetchedAt,
  };
}

function authorName(element: XmlElement): string | undefined {
  const author = childOf(element, NS.atom, "author");
  return author && childText(author, NS.atom, "name");
}
