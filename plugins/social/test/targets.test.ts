import { describe, expect, it } from "vitest";
import { PLATFORMS, TARGET_TYPES } from "../src/contract.js";
import { isTargetType, parseTarget, validateTarget } from "../src/targets.js";

const CHANNEL = "UC_x5XG1OV2P6uZZ5FSM9Ttw";
const PLAYLIST = "PLOU2XLYxmsIIuiBfYad6rFYQU_jL2ryal";

describe("parseTarget accepts each platform's URL forms", () => {
  const accepted: [platform: string, type: string, url: string, params: Record<string, string>][] = [
    ["youtube", "channel", `https://www.youtube.com/channel/${CHANNEL}`, { channel_id: CHANNEL }],
    ["youtube", "channel", `https://youtube.com/channel/${CHANNEL}/videos`, { channel_id: CHANNEL }],
    ["youtube", "channel", `https://m.youtube.com/channel/${CHANNEL}`, { channel_id: CHANNEL }],
    ["youtube", "channel", `https://www.youtube.com/feeds/videos.xml?channel_id=${CHANNEL}`, { channel_id: CHANNEL }],
    ["youtube", "playlist", `https://www.youtube.com/playlist?list=${PLAYLIST}`, { playlist_id: PLAYLIST }],
    ["youtube", "playlist", `https://www.youtube.com/feeds/videos.xml?playlist_id=${PLAYLIST}`, { playlist_id: PLAYLIST }],
    ["mastodon", "account", "https://mastodon.social/@Gargron", { instance: "https://mastodon.social", account: "Gargron" }],
    ["mastodon", "account", "https://fosstodon.org/@alice/", { instance: "https://fosstodon.org", account: "alice" }],
    ["mastodon", "account", "https://mastodon.social/@bob@hachyderm.io", { instance: "https://mastodon.social", account: "bob@hachyderm.io" }],
    ["mastodon", "account", "https://mastodon.social/@carol@mastodon.social", { instance: "https://mastodon.social", account: "carol" }],
    ["mastodon", "account", "https://mastodon.social/users/dave", { instance: "https://mastodon.social", account: "dave" }],
    ["mastodon", "hashtag", "https://mastodon.social/tags/rust", { instance: "https://mastodon.social", tag: "rust" }],
    ["mastodon", "hashtag", "https://mastodon.social/tags/caf%C3%A9", { instance: "https://mastodon.social", tag: "café" }],
    ["bluesky", "author", "https://bsky.app/profile/Jay.bsky.team", { actor: "jay.bsky.team" }],
    ["bluesky", "author", "https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur", { actor: "did:plc:z72i7hdynmk6r22z27h6tvur" }],
    ["bluesky", "search", "https://bsky.app/search?q=vigil%20monitoring", { query: "vigil monitoring" }],
    ["hackernews", "search", "https://hn.algolia.com/?q=clickhouse", { query: "clickhouse", tags: "(story,comment)" }],
    ["hackernews", "search", "https://hn.algolia.com/?dateRange=all&page=0&prefix=false&query=clickhouse&sort=byDate&type=story", { query: "clickhouse", tags: "story" }],
    ["hackernews", "search", "https://hn.algolia.com/?q=rust&type=comment", { query: "rust", tags: "comment" }],
    ["rss", "feed", "https://blog.example.com/feed.xml", { feed_url: "https://blog.example.com/feed.xml" }],
    ["rss", "feed", "http://example.org/atom?format=full", { feed_url: "http://example.org/atom?format=full" }],
    ["reddit", "user", "https://www.reddit.com/user/spez", { user: "spez" }],
    ["reddit", "user", "https://reddit.com/u/some_user-1/", { user: "some_user-1" }],
    ["reddit", "user", "https://old.reddit.com/user/spez", { user: "spez" }],
    ["reddit", "subreddit", "https://www.reddit.com/r/programming", { subreddit: "programming" }],
    ["reddit", "subreddit", "https://www.reddit.com/r/programming/new/", { subreddit: "programming" }],
    ["x", "search", "https://x.com/search?q=vigil%20-is%3Aretweet&src=typed_query&f=live", { query: "vigil -is:retweet" }],
    ["x", "search", "https://twitter.com/search?q=%23observability", { query: "#observability" }],
  ];

  for (const [platform, type, url, params] of accepted) {
    it(`${platform} ${type}: ${url}`, () => {
      expect(parseTarget(platform, type, url)).toEqual({ platform, type, url, params });
      expect(validateTarget(platform, type, url)).toBeNull();
    });
  }

  it("keeps the URL as the user gave it and ignores surrounding spaces", () => {
    const target = parseTarget("rss", "feed", "  https://blog.example.com/feed.xml ");
    expect(target.url).toBe("  https://blog.example.com/feed.xml ");
    expect(target.params.feed_url).toBe("https://blog.example.com/feed.xml");
  });
});

describe("parseTarget refuses other URLs, saying which forms it takes", () => {
  const refused: [platform: string, type: string, url: string, message: RegExp][] = [
    ["youtube", "channel", "https://www.youtube.com/@GoogleDevelopers", /handle and custom URLs .* Copy channel ID.*looks like https:\/\/www\.youtube\.com\/channel\/UC…/],
    ["youtube", "channel", "https://www.youtube.com/c/GoogleDevelopers", /handle and custom URLs/],
    ["youtube", "channel", "https://www.youtube.com/channel/UCshort", /"UCshort" is not a channel id; for youtube channel targets, target_url looks like https:\/\/www\.youtube\.com\/channel\/UC… \(the channel id: UC and 22/],
    ["youtube", "channel", `https://vimeo.com/channel/${CHANNEL}`, /vimeo\.com is not YouTube/],
    ["youtube", "channel", `https://www.youtube.com/watch?v=dQw4w9WgXcQ`, /this is not a channel URL.*feeds\/videos\.xml\?channel_id=UC…/],
    ["youtube", "playlist", `https://www.youtube.com/channel/${CHANNEL}`, /this is not a playlist URL; for youtube playlist targets, target_url looks like https:\/\/www\.youtube\.com\/playlist\?list=PL…/],
    ["youtube", "playlist", "https://www.youtube.com/playlist?list=x", /"x" is not a playlist id/],
    ["mastodon", "account", "https://mastodon.social/about", /this is not an account URL; for mastodon account targets, target_url looks like https:\/\/<instance>\/@<user>/],
    ["mastodon", "account", "https://mastodon.social/@bad!name", /"bad!name" is not a Mastodon user name/],
    ["mastodon", "hashtag", "https://mastodon.social/@alice", /this is not a hashtag URL; for mastodon hashtag targets, target_url looks like https:\/\/<instance>\/tags\/<tag>/],
    ["mastodon", "hashtag", "https://mastodon.social/tags/no-dashes", /"no-dashes" is not a hashtag/],
    ["bluesky", "author", "https://bsky.social/profile/alice.bsky.social", /bsky\.social is not bsky\.app; for bluesky author targets, target_url looks like https:\/\/bsky\.app\/profile\/<handle or DID>/],
    ["bluesky", "author", "https://bsky.app/profile/alice", /"alice" is neither a handle .* nor a DID/],
    ["bluesky", "author", "https://bsky.app/profile/alice.bsky.social/post/3kabc", /this is not a profile URL/],
    ["bluesky", "search", "https://bsky.app/search?q=", /the search has no query \(q=…\); for bluesky search targets, target_url looks like https:\/\/bsky\.app\/search\?q=<query>/],
    ["hackernews", "search", "https://news.ycombinator.com/", /news\.ycombinator\.com is not hn\.algolia\.com; for hackernews search targets, target_url looks like https:\/\/hn\.algolia\.com\/\?q=<query>/],
    ["hackernews", "search", "https://hn.algolia.com/", /the search has no query/],
    ["hackernews", "search", "https://hn.algolia.com/?q=x&type=pollopt", /type "pollopt" is not one of all, story, comment/],
    ["rss", "feed", "ftp://example.com/feed.xml", /target_url is not an http\(s\) URL; for rss feed targets, target_url looks like the http\(s\) URL of an RSS 2\.0 or Atom feed/],
    ["rss", "feed", "not a url", /target_url is not an http\(s\) URL/],
    ["rss", "feed", "https://user:secret@example.com/feed", /user name or password in it is not supported/],
    ["reddit", "user", "https://www.reddit.com/r/programming", /this is not a user URL; for reddit user targets, target_url looks like https:\/\/www\.reddit\.com\/user\/<name> \(or \/u\/<name>\)/],
    ["reddit", "user", "https://www.reddit.com/user/ab", /"ab" is not a Reddit user name/],
    ["reddit", "subreddit", "https://www.reddit.com/r/programming/comments/abc/title/", /this is not a subreddit URL; for reddit subreddit targets, target_url looks like https:\/\/www\.reddit\.com\/r\/<name>/],
    ["reddit", "subreddit", "https://lemmy.world/r/programming", /lemmy\.world is not reddit\.com/],
    ["x", "search", "https://x.com/elonmusk", /this is not a search URL; for x search targets, target_url looks like https:\/\/x\.com\/search\?q=<query> \(or twitter\.com\)/],
    ["x", "search", `https://x.com/search?q=${"a".repeat(513)}`, /the query is 513 characters long; X's recent search takes at most 512/],
  ];

  for (const [platform, type, url, message] of refused) {
    it(`${platform} ${type}: ${url.slice(0, 80)}`, () => {
      expect(() => parseTarget(platform, type, url)).toThrow(message);
      expect(validateTarget(platform, type, url)).toMatch(message);
    });
  }

  it("refuses a platform it does not know, naming the ones it does", () => {
    expect(validateTarget("tiktok", "user", "https://tiktok.com/@x")).toBe(`platform "tiktok" is not one of ${PLATFORMS.join(", ")}`);
  });

  it("refuses a target type that does not suit the platform, naming the ones that do", () => {
    expect(validateTarget("youtube", "hashtag", "https://www.youtube.com/hashtag/x")).toBe('target_type "hashtag" does not suit platform youtube: use channel or playlist');
    expect(validateTarget("x", "user", "https://x.com/someone")).toBe('target_type "user" does not suit platform x: use search');
  });
});

describe("isTargetType", () => {
  it("follows TARGET_TYPES", () => {
    for (const platform of PLATFORMS) {
      for (const type of TARGET_TYPES[platform]) expect(isTargetType(platform, type)).toBe(true);
      expect(isTargetType(platform, "nonsense")).toBe(false);
    }
  });
});
