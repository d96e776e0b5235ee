// The adapters by platform: the agent part runs `adapterFor(target.platform).fetch(target, ctx)`.
import type { Adapter, Platform } from "../contract.js";
import { blueskyAdapter } from "./bluesky.js";
import { hackernewsAdapter } from "./hackernews.js";
import { mastodonAdapter } from "./mastodon.js";
import { redditAdapter } from "./reddit.js";
import { rssAdapter } from "./rss.js";
import { xAdapter } from "./x.js";
import { youtubeAdapter } from "./youtube.js";

export const ADAPTERS: Readonly<Record<Platform, Adapter>> = {
  youtube: youtubeAdapter,
  mastodon: mastodonAdapter,
  bluesky: blueskyAdapter,
  hackernews: hackernewsAdapter,
  rss: rssAdapter,
  reddit: redditAdapter,
  x: xAdapter,
};

export function adapterFor(platform: Platform): Adapter {
  return ADAPTERS[platform];
}

export { blueskyAdapter, hackernewsAdapter, mastodonAdapter, redditAdapter, rssAdapter, xAdapter, youtubeAdapter };
