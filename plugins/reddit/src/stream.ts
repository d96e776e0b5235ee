import type { Logger, PluginStore } from "@vigil/plugin-sdk";
import { isTransient, type RedditClient } from "./client.js";
import { idValue, type Listing, type RedditThing } from "./listing.js";

export type StreamKind = "new" | "comments";

export interface StreamOptions {
  client: RedditClient;
  kind: StreamKind;
  subreddits: readonly string[];
  state: PluginStore;
  log: Logger;
  /** Receives new items oldest first; the cursor advances only after it resolves. */
  onItems(items: RedditThing[]): Promise<void>;
  /** Pages read back when more than one page arrived between polls. */
  maxPages?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  /**
   * Where the cursor is kept; default: per listing and subreddit set. Reddit ids grow across
   * all subreddits, so a cursor stays right when the set of a stream changes.
   */
  stateKey?: string;
  /** Reports items that could not be read back (more arrived than maxPages pages hold). */
  onGap?(missed: number): void;
}

const PAGE = 100;
const SEEN_LIMIT = 2000;

/**
 * Polls one listing (`/r/a+b/new` or `/r/a+b/comments`) and hands over each new item
 * once. The cursor (the newest id handed over) lives in the plugin's persistent state
 * and moves only after `onItems` resolved (the events are durable), so a restart
 * neither repeats nor skips; a bounded set of recent ids guards against Reddit
 * re-listing an item. When a whole page is new, older pages are read back with `after`
 * until the cursor is reached (at most maxPages), and what could not be reached is
 * counted as a gap. An empty poll doubles the wait (1 s up to 16 s, with jitter); new
 * items reset it. Network errors, 5xx and timeouts only delay the next poll.
 */
export function createListingStream(options: StreamOptions) {
  const stateKey = options.stateKey ?? `cursor:${options.kind}:${[...options.subreddits].map((s) => s.toLowerCase()).sort().join("+")}`;
  const path = `/r/${options.subreddits.join("+")}/${options.kind}`;
  const minDelay = options.minDelayMs ?? 1000;
  const maxDelay = options.maxDelayMs ?? 16_000;
  const seen = new Set<string>();
  let cursor = options.state.get<string>(stateKey);
  let delay = minDelay;
  let lastPollAt: number | undefined;
  let lastError: string | undefined;

  async function readNew(signal: AbortSignal): Promise<RedditThing[]> {
    const fresh: RedditThing[] = [];
    let after: string | null = null;
    for (let page = 0; page < (options.maxPages ?? 5); page++) {
      const query: string = `?limit=${PAGE}&raw_json=1${after ? `&after=${after}` : ""}`;
      const listing: Listing = await options.client.get<Listing>(`${path}${query}`, signal);
      const children = listing.data.children;
      let reachedCursor = cursor === undefined;
      for (const thing of children) {
        if (cursor !== undefined && idValue(thing.data.id) <= idValue(cursor)) {
          reachedCursor = true;
          break;
        }
        fresh.push(thing);
      }
      if (reachedCursor || children.length < PAGE || !listing.data.after) return fresh;
      after = listing.data.after;
    }
    options.log.warn({ listing: path }, "more new items than the pages read back; some were missed");
    options.onGap?.(1);
    return fresh;
  }

  async function pollOnce(signal: AbortSignal): Promise<number> {
    const newestFirst = await readNew(signal);
    lastPollAt = Date.now();
    if (cursor === undefined) {
      // First start: begin at the newest item rather than replaying the listing's history.
      // An empty listing starts the cursor at id 0: everything that arrives later is new.
      cursor = newestFirst[0]?.data.id ?? "0";
      await options.state.set(stateKey, cursor);
      return 0;
    }
    const items = newestFirst.filter((thing) => !seen.has(thing.data.name)).reverse();
    if (items.length === 0) return 0;
    await options.onItems(items);
    for (const thing of items) {
      seen.add(thing.data.name);
      if (seen.size > SEEN_LIMIT) seen.delete(seen.values().next().value as string);
    }
    cursor = items[items.length - 1]!.data.id;
    await options.state.set(stateKey, cursor);
    return items.length;
  }

  async function run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        const found = await pollOnce(signal);
        lastError = undefined;
        delay = found > 0 ? minDelay : Math.min(maxDelay, delay * 2);
      } catch (error) {
        if (signal.aborted) return;
        lastError = (error as Error).message;
        if (!isTransient(error)) options.log.error({ listing: path, err: lastError }, "listing poll failed");
        else options.log.warn({ listing: path, err: lastError }, "listing poll failed; retrying");
        delay = Math.min(maxDelay, delay * 2);
      }
      await wait(delay / 2 + Math.random() * (delay / 2), signal);
    }
  }

  return {
    run,
    pollOnce,
    status: () => ({ listing: path, cursor: cursor ?? null, last_poll_at: lastPollAt ?? null, last_error: lastError ?? null }),
  };
}

function wait(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal.removeEventListener("abort", done);
      clearTimeout(timer);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
