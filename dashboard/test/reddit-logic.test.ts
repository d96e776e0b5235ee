import { describe, expect, test } from "vitest";
import { countsToChart } from "../src/pages/reddit/counts.js";
import { MentionFeed, mentionFromApi } from "../src/pages/reddit/feed.svelte.js";
import { emptyKeywordForm, parseSubreddits, validateKeywordForm } from "../src/pages/reddit/keyword-form.js";

/** A `reddit.mention` as the `events` live topic sends it (collector/src/live/core-topics.ts). */
const event = (n: number, keyword = "vigil", extra: Record<string, string> = {}) => ({
  ts: new Date(Date.UTC(2026, 10, 27, 10, 0, n)).toISOString(),
  source: "reddit",
  type: "reddit.mention",
  agent: "key_1",
  attrs: { keyword_id: `kw-${keyword}`, keyword, subreddit: "selfhosted", kind: "comment", fullname: `t1_${n}`, permalink: `https://www.reddit.com/r/selfhosted/c/${n}/`, author: "alice", matched_in: "body", ...extra },
  body: `mention ${n}`,
});
const message = (...events: ReturnType<typeof event>[]) => ({ events, skipped: 0 });
const keys = (feed: MentionFeed) => feed.items.map((m) => m.snippet);

describe("live mentions feed", () => {
  test("newest on top (the topic sends newest last), other event types ignored, each mention once", () => {
    const feed = new MentionFeed(10);
    feed.receive(message(event(1), event(2)));
    feed.receive({ events: [event(3), { ...event(4), type: "reddit.other" }, event(2)], skipped: 0 });
    expect(keys(feed)).toEqual(["mention 3", "mention 2", "mention 1"]);
    // The same item for another keyword is another mention.
    feed.receive(message(event(3, "grafana")));
    expect(feed.items.map((m) => m.key)).toEqual(["kw-grafana/t1_3", "kw-vigil/t1_3", "kw-vigil/t1_2", "kw-vigil/t1_1"]);
    expect(feed.items[0]).toMatchObject({ keyword: "grafana", subreddit: "selfhosted", kind: "comment", author: "alice", live: true });
  });

  test("bounded: the oldest fall off the bottom and are counted, with what the server skipped", () => {
    const feed = new MentionFeed(3);
    feed.receive(message(event(1), event(2)));
    feed.receive(message(event(3), event(4), event(5)));
    expect(keys(feed)).toEqual(["mention 5", "mention 4", "mention 3"]);
    expect(feed.dropped).toBe(2);
    feed.receive({ events: [event(6)], skipped: 40 });
    expect(feed.dropped).toBe(43);
    expect(feed.items).toHaveLength(3);
  });

  test("paused: arrivals wait and the list stays still; resume puts them on top", () => {
    const feed = new MentionFeed(4);
    feed.receive(message(event(1)));
    feed.pause();
    feed.receive(message(event(2), event(3)));
    feed.receive(message(event(3))); // a repeat while waiting is still one mention
    expect(keys(feed)).toEqual(["mention 1"]);
    expect(feed.pending.map((m) => m.snippet)).toEqual(["mention 3", "mention 2"]);
    feed.resume();
    expect(keys(feed)).toEqual(["mention 3", "mention 2", "mention 1"]);
    expect([feed.paused, feed.pending.length]).toEqual([false, 0]);
  });

  test("the first load goes under what already arrived live, without repeats", () => {
    const feed = new MentionFeed(10);
    feed.receive(message(event(9)));
    const stored = (n: number) => ({ keyword_id: "kw-vigil", keyword: "vigil", fullname: `t1_${n}`, subreddit: "selfhosted", kind: "post", permalink: "", author: "bob", created_at: event(n).ts, snippet: `stored ${n}`, agent: "key_1", received_at: event(n).ts });
    feed.seed([stored(9), stored(8), stored(7)].map(mentionFromApi));
    expect(feed.items.map((m) => [m.snippet, m.live])).toEqual([
      ["mention 9", true],
      ["stored 8", false],
      ["stored 7", false],
    ]);
  });
});

describe("mention counts chart", () => {
  test("every hour of the window, 0 where the API lists no bucket, the most mentioned keywords first", () => {
    const chart = countsToChart(
      {
        interval: "hour",
        since: "2026-11-27T07:30:00.000Z",
        until: "2026-11-27T10:20:00.000Z",
        keywords: [
          { keyword_id: "a", keyword: "vigil", total: 3, buckets: [{ start: "2026-11-27T08:00:00.000Z", mentions: 3 }] },
          { keyword_id: "b", keyword: null, total: 5, buckets: [{ start: "2026-11-27T07:00:00.000Z", mentions: 1 }, { start: "2026-11-27T10:00:00.000Z", mentions: 4 }] },
          { keyword_id: "c", keyword: "tiny", total: 1, buckets: [{ start: "2026-11-27T09:00:00.000Z", mentions: 1 }] },
        ],
      },
      2,
    );
    const h = (hour: number) => Date.UTC(2026, 10, 27, hour) / 1000;
    expect(chart.data).toEqual([
      [h(7), h(8), h(9), h(10)],
      [1, 0, 0, 4],
      [0, 3, 0, 0],
    ]);
    expect(chart.series.map((s) => s.label)).toEqual(["(deleted keyword)", "vigil"]);
    expect([chart.hidden, chart.total]).toEqual([1, 9]);
  });

  test("no keyword with mentions: no points (the chart shows its empty message)", () => {
    const chart = countsToChart({ interval: "day", since: "2026-11-20T00:00:00.000Z", until: "2026-11-27T10:00:00.000Z", keywords: [] });
    expect(chart.data).toEqual([[]]);
    expect(chart.total).toBe(0);
  });
});

describe("keyword form", () => {
  test("sends what the API takes: trimmed phrase, one subreddit as a name, a list as a list, exclude terms per line", () => {
    const form = { ...emptyKeywordForm(), keyword: "  uptime kuma ", subreddits: "r/selfhosted", exclude: "planned outage\n\n  maintenance \n" };
    expect(validateKeywordForm(form)).toEqual({
      errors: {},
      body: { keyword: "uptime kuma", mode: "phrase", subreddit: "selfhosted", exclude: ["planned outage", "maintenance"], is_active: true },
    });
    expect(parseSubreddits("selfhosted, homelab  SelfHosted /r/sysadmin")).toEqual({ value: ["selfhosted", "homelab", "sysadmin"], error: null });
    expect(parseSubreddits("  ")).toEqual({ value: "all", error: null });
  });

  test("refuses what the collector refuses, with its words", () => {
    expect(validateKeywordForm({ ...emptyKeywordForm(), keyword: "   " }).errors).toEqual({ keyword: "keyword text is empty" });
    expect(validateKeywordForm({ ...emptyKeywordForm(), keyword: "x".repeat(201) }).errors.keyword).toBe("keyword text is 201 characters long, at most 200 are allowed");
    expect(validateKeywordForm({ ...emptyKeywordForm(), keyword: "(vigil", mode: "regex" }).errors.keyword).toBe("invalid regular expression: Unterminated group");
    expect(validateKeywordForm({ ...emptyKeywordForm(), keyword: "x*", mode: "regex" }).errors.keyword).toBe("regular expression matches empty text: it would match every post and comment");
    expect(validateKeywordForm({ ...emptyKeywordForm(), keyword: "vigil", subreddits: "selfhosted, all" }).errors.subreddit).toMatch(/"all" means every monitored subreddit/);
    expect(validateKeywordForm({ ...emptyKeywordForm(), keyword: "vigil", subreddits: "a" }).errors.subreddit).toBe(`"a" is not a subreddit name: 2–21 letters, digits or '_'`);
    const { body } = validateKeywordForm({ ...emptyKeywordForm(), keyword: " (vigil|watch) ", mode: "regex" });
    expect(body?.keyword).toBe(" (vigil|watch) "); // a regex is sent as written
  });
});
