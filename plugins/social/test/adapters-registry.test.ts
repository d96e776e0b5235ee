// The registry and every adapter against the whole set of fakes, as the agent part will
// use them: adapterFor(target.platform).fetch(target, ctx) with the platform's base URL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fakeCredentials } from "../../../test/fakes/reddit/server.js";
import { DEFAULT_X_TOKEN, makeChannelId, startSocialFakes, type SocialFakes } from "../../../test/fakes/social/index.js";
import { ADAPTERS, adapterFor } from "../src/adapters/index.js";
import { PLATFORMS, type Platform } from "../src/contract.js";
import { parseTarget } from "../src/targets.js";
import { testContext } from "./adapter-context.js";

let fakes: SocialFakes;
const channelId = makeChannelId();

beforeAll(async () => {
  fakes = await startSocialFakes();
  fakes.youtube.addVideo(channelId, { title: "vigil video" });
  fakes.mastodon.addStatus("alice", { text: "vigil toot" });
  fakes.bluesky.addPost("alice.bsky.social", { text: "vigil skeet" });
  fakes.hackernews.addStory({ title: "vigil story", author: "pg" });
  fakes.rss.addFeed("/feed.xml", { format: "rss", title: "Blog" });
  fakes.rss.addFeedItem("/feed.xml", { title: "vigil post" });
  fakes.reddit.addPost("vigiltest", { title: "vigil thread", author: "alice" });
  fakes.x.addTweet("alice", { text: "vigil tweet" });
});
afterAll(() => fakes.close());

const targets: Record<Platform, [type: string, url: () => string, credentials?: Record<string, string>]> = {
  youtube: ["channel", () => `https://www.youtube.com/channel/${channelId}`],
  mastodon: ["account", () => "https://mastodon.example/@alice"],
  bluesky: ["author", () => "https://bsky.app/profile/alice.bsky.social"],
  hackernews: ["search", () => "https://hn.algolia.com/?q=vigil"],
  rss: ["feed", () => "https://blog.example/feed.xml"],
  reddit: [
    "subreddit",
    () => "https://www.reddit.com/r/vigiltest",
    fakeCredentials(),
  ],
  x: ["search", () => "https://x.com/search?q=vigil", { bearer_token: DEFAULT_X_TOKEN }],
};

describe("adapter registry", () => {
  it("has one adapter per platform, named after it", () => {
    expect(Object.keys(ADAPTERS).sort()).toEqual([...PLATFORMS].sort());
    for (const platform of PLATFORMS) expect(adapterFor(platform).platform).toBe(platform);
  });

  for (const platform of PLATFORMS) {
    it(`${platform}: finds the item on its fake`, async () => {
      const [type, url, credentials] = targets[platform];
      const target = parseTarget(platform, type, url());
      const items = await adapterFor(platform).fetch(target, testContext({ baseUrl: fakes.baseUrls[platform], ...(credentials ? { credentials } : {}) }));
      expect(items).toHaveLength(1);
      expect(`${items[0]!.title ?? ""} ${items[0]!.text ?? ""}`).toMatch(/vigil/);
      expect(items[0]!.publishedAt).toBeGreaterThan(Date.now() - 60_000);
    });
  }
});
