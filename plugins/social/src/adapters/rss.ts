// Any RSS or Atom feed, by its URL. Feeds have no paging: the document holds the newest items.
import { PlatformError, type Adapter } from "../contract.js";
import { param, withBase } from "./base.js";
import { feedItems } from "./feed.js";
import { firstBytes, requestPlatform, type Subject } from "./http.js";
import { newestFirst } from "./items.js";
import { readXml } from "./payload.js";

export const rssAdapter: Adapter = {
  platform: "rss",
  // A feed is its own origin; the target's URL is the default.
  defaultBaseUrl: "",
  async fetch(target, ctx) {
    const feedUrl = param(target, "feed_url");
    const host = new URL(feedUrl).host;
    const subject: Subject = {
      platform: host,
      what: `the feed ${feedUrl}`,
      ifNotFound: "check the feed's URL; sites move their feeds, so look for the RSS or Atom link on the site",
      ifUnauthorized: "the feed needs a sign-in, which the rss platform does not do: use a public feed",
    };
    const response = await requestPlatform(ctx, withBase(ctx, feedUrl), subject, {
      headers: { accept: "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1" },
    });
    if (/^\s*(<!doctype html|<html[\s>])/i.test(response.text)) {
      throw new PlatformError("malformed", `${host} sent a web page, not a feed, for ${feedUrl}: use the URL of the site's RSS or Atom feed (it starts with ${firstBytes(response.text)})`);
    }
    const root = readXml(response, subject);
    const items = feedItems(root, feedUrl, Date.now());
    if (!items) throw new PlatformError("malformed", `${host} sent a <${root.name}> document for ${feedUrl}, which is neither an RSS nor an Atom feed: check that target_url is the feed's URL`);
    return newestFirst(items, ctx.maxItems);
  },
};
