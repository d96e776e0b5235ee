// Every platform the social plugin watches, faked at once: what end-to-end and scheduler
// tests start, with the base URL of each platform to put in the agent's config. Reddit is
// the Reddit plugin's fake (test/fakes/reddit), serving both of Reddit's origins.
import { startFakeReddit, type FakeReddit, type FakeRedditOptions } from "../reddit/server.js";
import { startFakeBluesky, type FakeBluesky, type FakeBlueskyOptions } from "./bluesky.js";
import { startFakeFeeds, type FakeFeeds, type FakeFeedsOptions } from "./feeds.js";
import { startFakeHackerNews, type FakeHackerNews, type FakeHackerNewsOptions } from "./hackernews.js";
import { startFakeMastodon, type FakeMastodon, type FakeMastodonOptions } from "./mastodon.js";
import { startFakeX, type FakeX, type FakeXOptions } from "./x.js";
import { startFakeYouTube, type FakeYouTube, type FakeYouTubeOptions } from "./youtube.js";

export * from "./bluesky.js";
export * from "./feeds.js";
export * from "./hackernews.js";
export * from "./mastodon.js";
export * from "./x.js";
export * from "./youtube.js";
export type { Answer, FakeServer, FaultSwitches, PathMatch, ReceivedRequest, RequestStats } from "./server.js";

export interface SocialFakes {
  youtube: FakeYouTube;
  mastodon: FakeMastodon;
  bluesky: FakeBluesky;
  hackernews: FakeHackerNews;
  rss: FakeFeeds;
  reddit: FakeReddit;
  x: FakeX;
  /** Platform → the fake's origin, as the platforms' `base_url` settings take it. */
  baseUrls: { youtube: string; mastodon: string; bluesky: string; hackernews: string; rss: string; reddit: string; x: string };
  close(): Promise<void>;
}

export interface SocialFakesOptions {
  now?: () => number;
  youtube?: FakeYouTubeOptions;
  mastodon?: FakeMastodonOptions;
  bluesky?: FakeBlueskyOptions;
  hackernews?: FakeHackerNewsOptions;
  rss?: FakeFeedsOptions;
  reddit?: FakeRedditOptions;
  x?: FakeXOptions;
}

export async function startSocialFakes(options: SocialFakesOptions = {}): Promise<SocialFakes> {
  const clock = options.now ? { now: options.now } : {};
  const started = await Promise.allSettled([
    startFakeYouTube({ ...clock, ...options.youtube }),
    startFakeMastodon({ ...clock, ...options.mastodon }),
    startFakeBluesky({ ...clock, ...options.bluesky }),
    startFakeHackerNews({ ...clock, ...options.hackernews }),
    startFakeFeeds({ ...clock, ...options.rss }),
    startFakeReddit({ ...clock, ...options.reddit }),
    startFakeX({ ...clock, ...options.x }),
  ] as const);
  const failed = started.find((result) => result.status === "rejected");
  if (failed) {
    // Whatever did start is stopped again, so a failed start leaves no port behind.
    await Promise.all(started.map((result) => (result.status === "fulfilled" ? result.value.close() : undefined)));
    throw (failed as PromiseRejectedResult).reason;
  }
  const [youtube, mastodon, bluesky, hackernews, rss, reddit, x] = started.map((result) => (result as PromiseFulfilledResult<unknown>).value) as [
    FakeYouTube,
    FakeMastodon,
    FakeBluesky,
    FakeHackerNews,
    FakeFeeds,
    FakeReddit,
    FakeX,
  ];
  return {
    youtube,
    mastodon,
    bluesky,
    hackernews,
    rss,
    reddit,
    x,
    baseUrls: { youtube: youtube.url, mastodon: mastodon.url, bluesky: bluesky.url, hackernews: hackernews.url, rss: rss.url, reddit: reddit.url, x: x.url },
    close: async () => void (await Promise.all([youtube, mastodon, bluesky, hackernews, rss, reddit, x].map((fake) => fake.close()))),
  };
}
