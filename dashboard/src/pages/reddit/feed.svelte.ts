import type { LiveEventsData } from "../../lib/types.js";
import type { Mention } from "./types.js";

/**
 * The live mentions feed: the latest mentions from the API, then every `reddit.mention`
 * event the `events` live topic sends, newest on top, at most `limit` on screen (older
 * ones fall off the bottom and are counted). While paused, arrivals wait in `pending` so
 * the row being read does not move; `resume` puts them on top.
 *
 * A mention is (keyword, Reddit item): the agent delivers at least once, so after a crash
 * the same mention may arrive again as a new event. The feed shows it once.
 */

export const FEED_LIMIT = 100;

export interface FeedMention {
  /** keyword_id + fullname: one mention. */
  key: string;
  keyword_id: string;
  keyword: string;
  subreddit: string;
  kind: string;
  author: string;
  permalink: string;
  snippet: string;
  /** When the post or comment was created on Reddit. */
  ts: string;
  /** Arrived over the live connection (not in the first load). */
  live: boolean;
}

type LiveEvent = LiveEventsData["events"][number];

export function mentionFromEvent(event: LiveEvent): FeedMention | null {
  if (event.source !== "reddit" || event.type !== "reddit.mention") return null;
  const a = event.attrs;
  if (!a.keyword_id || !a.fullname) return null;
  return {
    key: `${a.keyword_id}/${a.fullname}`,
    keyword_id: String(a.keyword_id),
    keyword: String(a.keyword ?? ""),
    subreddit: String(a.subreddit ?? ""),
    kind: String(a.kind ?? ""),
    author: String(a.author ?? ""),
    permalink: String(a.permalink ?? ""),
    snippet: event.body,
    ts: event.ts,
    live: true,
  };
}

export function mentionFromApi(m: Mention): FeedMention {
  return {
    key: `${m.keyword_id}/${m.fullname}`,
    keyword_id: m.keyword_id,
    keyword: m.keyword,
    subreddit: m.subreddit,
    kind: m.kind,
    author: m.author,
    permalink: m.permalink,
    snippet: m.snippet,
    ts: m.created_at,
    live: false,
  };
}

export class MentionFeed {
  items = $state.raw<FeedMention[]>([]);
  pending = $state.raw<FeedMention[]>([]);
  paused = $state(false);
  /** Mentions that fell off the bottom (or the server skipped: more than 200 in one message). */
  dropped = $state(0);

  constructor(readonly limit = FEED_LIMIT) {}

  /** The first load from the API (newest first). Live arrivals already shown stay on top. */
  seed(mentions: readonly FeedMention[]): void {
    const seen = new Set(this.items.map((m) => m.key));
    this.items = this.cap([...this.items, ...mentions.filter((m) => !seen.has(m.key))]);
  }

  /** One message of the `events` topic. */
  receive(data: LiveEventsData): void {
    this.dropped += data.skipped;
    const seen = new Set([...this.items, ...this.pending].map((m) => m.key));
    const arrived: FeedMention[] = [];
    // The topic sends newest last; the feed shows newest first.
    for (let i = data.events.length - 1; i >= 0; i--) {
      const mention = mentionFromEvent(data.events[i]!);
      if (!mention || seen.has(mention.key)) continue;
      seen.add(mention.key);
      arrived.push(mention);
    }
    if (arrived.length === 0) return;
    if (this.paused) this.pending = this.cap([...arrived, ...this.pending]);
    else this.items = this.cap([...arrived, ...this.items]);
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.items = this.cap([...this.pending, ...this.items]);
    this.pending = [];
    this.paused = false;
  }

  private cap(list: FeedMention[]): FeedMention[] {
    if (list.length <= this.limit) return list;
    this.dropped += list.length - this.limit;
    return list.slice(0, this.limit);
  }
}
