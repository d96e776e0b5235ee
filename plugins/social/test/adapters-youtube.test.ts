import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { makeChannelId, makePlaylistId, startFakeYouTube, type FakeYouTube } from "../../../test/fakes/social/youtube.js";
import { youtubeAdapter } from "../src/adapters/youtube.js";
import { parseTarget } from "../src/targets.js";
import { failure, testContext, type TestContextOptions } from "./adapter-context.js";

let fake: FakeYouTube;
const channelId = makeChannelId();
const HOUR = 3_600_000;
const t0 = Date.parse("2026-11-20T12:00:00Z");

beforeAll(async () => {
  fake = await startFakeYouTube();
  fake.addChannel(channelId, "Vigil & Friends");
  fake.addVideo(channelId, { videoId: "aaaaaaaaaa1", title: "First <video>", description: "Intro & \"setup\"\nsecond line", publishedAt: t0 });
  fake.addVideo(channelId, { videoId: "aaaaaaaaaa3", title: "Third", description: "", publishedAt: t0 + 2 * HOUR });
  fake.addVideo(channelId, { videoId: "aaaaaaaaaa2", title: "Second", description: "Part two", publishedAt: t0 + HOUR });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.faults.clear();
  fake.stats.reset();
});

function run(url: string, options: TestContextOptions = {}) {
  const type = url.includes("playlist") ? "playlist" : "channel";
  return youtubeAdapter.fetch(parseTarget("youtube", type, url), testContext({ baseUrl: fake.url, ...options }));
}

const channelUrl = `https://www.youtube.com/channel/${channelId}`;

describe("YouTube adapter", () => {
  it("reads a channel's feed into items, newest first", async () => {
    const items = await run(channelUrl);
    expect(items.map((i) => i.id)).toEqual(["aaaaaaaaaa3", "aaaaaaaaaa2", "aaaaaaaaaa1"]);
    expect(items[2]).toEqual({
      id: "aaaaaaaaaa1",
      url: "https://www.youtube.com/watch?v=aaaaaaaaaa1",
      author: "Vigil & Friends",
      title: "First <video>",
      text: 'Intro & "setup"\nsecond line',
      publishedAt: t0,
    });
    // An empty description gives no text rather than "".
    expect(items[0]).not.toHaveProperty("text");
    expect(fake.stats.requests[0]).toMatchObject({ path: "/feeds/videos.xml", query: `?channel_id=${channelId}` });
  });

  it("accepts the feed URL form and returns at most maxItems", async () => {
    const items = await run(`https://www.youtube.com/feeds/videos.xml?channel_id=${channelId}`, { maxItems: 2 });
    expect(items.map((i) => i.id)).toEqual(["aaaaaaaaaa3", "aaaaaaaaaa2"]);
  });

  it("sees what the feed holds: YouTube's newest 15", async () => {
    const busy = makeChannelId();
    for (let i = 0; i < 20; i++) fake.addVideo(busy, { title: `Video ${i}`, publishedAt: t0 + i * HOUR });
    const items = await run(`https://www.youtube.com/channel/${busy}`);
    expect(items).toHaveLength(15);
    expect(items[0]!.title).toBe("Video 19");
    expect(items.at(-1)!.title).toBe("Video 5");
  });

  it("reads a playlist's feed, sorted newest first whatever the playlist order", async () => {
    const playlistId = makePlaylistId();
    const owner = makeChannelId();
    fake.addChannel(owner, "Conference");
    fake.addPlaylist(playlistId, { channelId: owner, title: "Talks" });
    fake.addVideo(owner, { videoId: "playlist-02", title: "Newer talk", publishedAt: t0 + 5 * HOUR, playlistIds: [playlistId] });
    fake.addVideo(owner, { videoId: "playlist-01", title: "Older talk", publishedAt: t0 + 4 * HOUR, playlistIds: [playlistId] });
    const items = await run(`https://www.youtube.com/playlist?list=${playlistId}`);
    expect(items.map((i) => [i.id, i.author])).toEqual([
      ["playlist-02", "Conference"],
      ["playlist-01", "Conference"],
    ]);
    expect(fake.stats.requests[0]!.query).toBe(`?playlist_id=${playlistId}`);
  });

  it("sees videos added between runs", async () => {
    const channel = makeChannelId();
    const old = fake.addVideo(channel, { title: "Old", publishedAt: t0 });
    expect((await run(`https://www.youtube.com/channel/${channel}`)).map((i) => i.id)).toEqual([old.videoId]);
    const added = fake.addVideo(channel, { title: "New" });
    expect((await run(`https://www.youtube.com/channel/${channel}`)).map((i) => i.id)).toEqual([added.videoId, old.videoId]);
  });
});

describe("YouTube faults fail the run with a message a user can act on", () => {
  it("404 for an unknown channel", async () => {
    const unknown = makeChannelId();
    const error = await failure(run(`https://www.youtube.com/channel/${unknown}`));
    expect(error.kind).toBe("not_found");
    expect(error.message).toBe(`YouTube answered 404 for channel ${unknown}: check that the channel id is right and that the channel is public (private channels have no feed)`);
  });

  it("404 for an unknown playlist", async () => {
    const error = await failure(run(`https://www.youtube.com/playlist?list=${makePlaylistId()}`));
    expect(error.kind).toBe("not_found");
    expect(error.message).toMatch(/^YouTube answered 404 for playlist PL.*check that the playlist id is right/);
  });

  it("403 says the channel may be private", async () => {
    fake.faults.nextError(403);
    const error = await failure(run(channelUrl));
    expect(error.kind).toBe("unauthorized");
    expect(error.message).toMatch(/YouTube answered 403 for channel UC.*: the channel may be private or blocked where the agent runs/);
  });

  it("500 is the platform's trouble", async () => {
    fake.faults.nextError(500);
    const error = await failure(run(channelUrl));
    expect(error.kind).toBe("unavailable");
    expect(error.message).toMatch(/YouTube answered 500 for channel UC.*the platform is having trouble; the next run tries again/);
  });

  it("429 with Retry-After: 1 waits a second, then reads the feed", async () => {
    fake.faults.next429(1);
    const ctx = testContext({ baseUrl: fake.url });
    const items = await youtubeAdapter.fetch(parseTarget("youtube", "channel", channelUrl), ctx);
    expect(items).toHaveLength(3);
    const [limited, retried] = fake.stats.requests;
    expect([limited!.status, retried!.status]).toEqual([429, 200]);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(999);
    expect(ctx.warnings).toEqual(["rate limited (429): waiting as the platform told"]);
  });

  it("429 whose wait would pass the deadline fails at once, saying when YouTube allows the next request", async () => {
    fake.faults.next429(120);
    const started = Date.now();
    const error = await failure(run(channelUrl, { deadlineMs: 10_000 }));
    expect(error.kind).toBe("rate_limited");
    expect(error.message).toMatch(
      /^YouTube answered 429 \(too many requests\) for channel UC.* and allows the next request at \d{4}-\d\d-\d\dT[\d:.]+Z \(in 1[12]\d s\), after this run's deadline: the next run tries again/,
    );
    expect(fake.stats.requests).toHaveLength(1);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("a feed that does not answer before the deadline is a timeout", async () => {
    fake.faults.slow(5_000);
    const error = await failure(run(channelUrl, { deadlineMs: 1_000 }));
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/YouTube|deadline/);
    expect(error.message).toMatch(/the next run tries again/);
  });

  it("an address nothing answers at is unavailable, naming it", async () => {
    const error = await failure(run(channelUrl, { baseUrl: "http://127.0.0.1:1" }));
    expect(error.kind).toBe("unavailable");
    expect(error.message).toMatch(/^Could not reach YouTube at http:\/\/127\.0\.0\.1:1 for channel UC.* \(connect: .*ECONNREFUSED.*\): check the network and the platform's configured base URL$/);
  });

  it("a cut-off feed is malformed, quoting its first bytes", async () => {
    fake.faults.malformed();
    const error = await failure(run(channelUrl));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/^YouTube sent a feed for channel UC.* that is not well-formed XML \(the document ends .+\(truncated\?\) \(line \d+, column \d+\)\) \(content-type text\/xml\); it starts with "<\?xml version=/);
  });

  it("an HTML page where the feed should be is malformed", async () => {
    fake.faults.nextError(200);
    const error = await failure(run(channelUrl));
    expect(error.kind).toBe("malformed");
    expect(error.message).toMatch(/not well-formed XML.*it starts with "<!DOCTYPE html>/);
  });
});
