import { createCollectorSync, uuidv7, type EventInput, type PluginContext, type PluginInstance, type PluginStatus } from "@vigil/plugin-sdk";
import { budgetFor } from "./budget.js";
import { regroup, wantedSubreddits, type StreamGroup } from "./chunks.js";
import { createRedditClient } from "./client.js";
import { KEYWORDS_CHANGED, MONITOR_CHANGED } from "./commands.js";
import type { RedditConfig } from "./config.js";
import type { RedditThing } from "./listing.js";
import { MENTION_SOURCE, MENTION_TYPE } from "./api/tables.js";
import { compileMatcher, type KeywordSpec, type Matcher, type MatchResult } from "./matcher.js";
import type { MonitorDetails } from "./status.js";
import { createListingStream, type StreamKind } from "./stream.js";
import { keywordSetFingerprint, SYNC_PATH, syncResponseSchema, type SyncResponse } from "./sync-protocol.js";

const GROUPS_KEY = "stream-groups";
const LAST_SYNC_KEY = "last-sync";
const REDDIT_ORIGIN = "https://www.reddit.com";

interface RunningStream {
  subredditsKey: string;
  abort: AbortController;
  done: Promise<void>;
  status(): { last_poll_at: number | null; last_error: string | null };
}

function toSpec(keyword: SyncResponse["keywords"][number]): KeywordSpec {
  return { id: keyword.id, text: keyword.keyword, mode: keyword.mode, subreddits: keyword.subreddits.length === 0 ? "all" : keyword.subreddits, exclude: keyword.exclude, active: true };
}

/** A `reddit.mention` event for one keyword found in one post or comment. */
export function mentionEvent(thing: RedditThing, match: MatchResult): EventInput {
  const isPost = thing.kind === "t3";
  const created = Math.round((thing.data.created_utc ?? Date.now() / 1000) * 1000);
  return {
    id: uuidv7(),
    ts: created,
    source: MENTION_SOURCE,
    type: MENTION_TYPE,
    severity: "info",
    attrs: {
      keyword_id: match.keywordId,
      keyword: match.keywordText,
      subreddit: thing.data.subreddit,
      kind: isPost ? "post" : "comment",
      fullname: thing.data.name,
      permalink: thing.data.permalink ? `${REDDIT_ORIGIN}${thing.data.permalink}` : "",
      author: thing.data.author ?? "[deleted]",
      matched_in: isPost ? (match.textIndex === 0 ? "title" : "text") : "body",
    },
    body: match.snippet,
  };
}

/**
 * The agent part: keeps the tenant's keyword set (read from the collector at start, on
 * every pushed change, and by the backup sync), one matcher compiled over it, and the
 * listing streams its subreddits need; every keyword found becomes a `reddit.mention`.
 * A stream's cursor moves only after the mentions of its items are in the agent's durable
 * queue, so a crash repeats at most the items of one poll, which the collector's
 * (keyword, fullname) de-duplication absorbs.
 */
export function createRedditMonitor(ctx: PluginContext<RedditConfig>): PluginInstance {
  let config = ctx.config;
  const mentionsCounter = ctx.metrics.counter({ name: "vigil_reddit_mentions_total", help: "Keyword mentions found and queued." });
  const itemsCounter = ctx.metrics.counter({ name: "vigil_reddit_items_total", help: "New posts and comments read from Reddit.", labelNames: ["kind"] });
  const gapsCounter = ctx.metrics.counter({ name: "vigil_reddit_gaps_total", help: "Bursts larger than the listing depth read back: some items could not be read." });
  const syncsCounter = ctx.metrics.counter({ name: "vigil_reddit_keyword_syncs_total", help: "Keyword syncs with the collector, by trigger and result.", labelNames: ["trigger", "result"] });
  const streamsGauge = ctx.metrics.gauge({ name: "vigil_reddit_active_streams", help: "Listing streams polling Reddit." });
  const keywordsGauge = ctx.metrics.gauge({ name: "vigil_reddit_keywords", help: "Active keywords in the matcher." });

  const streams = new Map<string, RunningStream>();
  let groups: StreamGroup[] = ctx.state.get<StreamGroup[]>(GROUPS_KEY) ?? [];
  let matcher: Matcher = compileMatcher([]);
  let started = false;
  let stopped = false;
  let mentions = 0;
  let gaps = 0;
  let applying = Promise.resolve();
  let client = makeClient();
  const keywords = createCollectorSync<SyncResponse>({
    ctx,
    what: "keyword set",
    path: SYNC_PATH,
    schema: syncResponseSchema,
    commands: [KEYWORDS_CHANGED, MONITOR_CHANGED],
    intervalMs: config.sync_interval,
    stateKey: LAST_SYNC_KEY,
    missingPartHint: "start the collector with --plugin @vigil/plugin-reddit (or VIGIL_COLLECTOR_PLUGINS=@vigil/plugin-reddit)",
    fingerprint: keywordSetFingerprint,
    pollChangeMessage: "keyword changes detected during polling",
    describeChange: (before, after) => ({
      keywords_before: before?.keywords.length ?? 0,
      keywords_after: after.keywords.length,
      running_before: before?.running ?? null,
      running_after: after.running,
    }),
    onRead: (trigger, result) => syncsCounter.inc({ trigger, result }),
    apply: (sync) => applySync(sync),
  });
  const current = () => keywords.current();

  function makeClient() {
    return createRedditClient({
      credentials: config.credentials,
      http: ctx.http,
      budget: budgetFor(config.credentials.clientId),
      log: ctx.log,
      authBase: config.auth_base,
      apiBase: config.api_base,
      timeoutMs: config.request_timeout,
    });
  }

  async function onItems(items: RedditThing[]): Promise<void> {
    const active = matcher;
    const events: EventInput[] = [];
    for (const thing of items) {
      itemsCounter.inc({ kind: thing.kind === "t3" ? "post" : "comment" });
      const texts = thing.kind === "t3" ? [thing.data.title ?? "", thing.data.selftext ?? ""] : [thing.data.body ?? ""];
      for (const match of active.match({ subreddit: thing.data.subreddit, texts })) events.push(mentionEvent(thing, match));
    }
    // Resolves once every mention is on disk: only then may the stream move its cursor.
    await Promise.all(events.map((event) => ctx.emit(event)));
    mentions += events.length;
    mentionsCounter.inc(undefined, events.length);
  }

  function startStream(group: StreamGroup, kind: StreamKind): RunningStream {
    const abort = new AbortController();
    const stream = createListingStream({
      client,
      kind,
      subreddits: group.subreddits,
      state: ctx.state,
      log: ctx.log,
      stateKey: `cursor:${kind}:${group.id}`,
      maxPages: config.max_pages,
      minDelayMs: config.poll_min,
      maxDelayMs: config.poll_max,
      onItems,
      onGap(missed) {
        gaps += missed;
        gapsCounter.inc(undefined, missed);
      },
    });
    const signal = AbortSignal.any([abort.signal, ctx.signal]);
    const done = stream.run(signal).catch((error: unknown) => ctx.log.error({ err: (error as Error).message, group: group.id, kind }, "listing stream ended with an error"));
    return { subredditsKey: group.subreddits.join("+"), abort, done, status: stream.status };
  }

  /** Brings the streams in line with the keyword set: unchanged groups keep polling. */
  async function applyStreams(): Promise<void> {
    const sync = current();
    const running = started && !stopped && sync !== undefined && sync.running;
    const kinds: StreamKind[] = config.listings.map((l) => (l === "posts" ? "new" : "comments"));
    if (sync) {
      if (sync.keywords.some((k) => k.subreddits.length === 0) && config.subreddits.length === 0) {
        ctx.log.warn({}, 'some keywords are scoped to "all" monitored subreddits, but the plugin\'s subreddits list is empty: they only see the subreddits other keywords name');
      }
      // While stopped the groups stay as they were, so their cursors are found again on start.
      if (running) {
        groups = regroup(groups, wantedSubreddits(sync.keywords, config.subreddits), config.subreddits_per_stream);
        await ctx.state.set(GROUPS_KEY, groups);
      }
    }
    const wanted = new Map<string, StreamGroup>();
    if (running) for (const group of groups) for (const kind of kinds) wanted.set(`${kind}:${group.id}`, group);
    const stopping: Promise<void>[] = [];
    for (const [key, stream] of streams) {
      const group = wanted.get(key);
      if (group && group.subreddits.join("+") === stream.subredditsKey) continue;
      stream.abort.abort();
      stopping.push(stream.done);
      streams.delete(key);
    }
    // A restarted stream reads its cursor from state: let the old one save its last first.
    await Promise.all(stopping);
    for (const [key, group] of wanted) {
      if (streams.has(key)) continue;
      const kind = key.slice(0, key.indexOf(":")) as StreamKind;
      streams.set(key, startStream(group, kind));
    }
    streamsGauge.set(streams.size);
  }

  function applySync(sync: SyncResponse): Promise<void> {
    const compiled = compileMatcher(sync.keywords.map(toSpec));
    for (const rejected of compiled.rejected) ctx.log.warn({ keyword_id: rejected.id, err: rejected.error }, "keyword left out of the matcher");
    matcher = compiled;
    keywordsGauge.set(compiled.stats.keywords);
    const print = keywordSetFingerprint(sync);
    const apply = async () => {
      await applyStreams();
      ctx.log.info(
        { keywords_version: print, keywords: compiled.stats.keywords, subreddits: streams.size > 0 ? groups.reduce((n, g) => n + g.subreddits.length, 0) : 0, streams: streams.size },
        "keyword set applied",
      );
    };
    applying = applying.then(apply, apply);
    return applying;
  }

  ctx.onConfig((next) => {
    const previous = config;
    config = next;
    const clientFields = ["credentials", "api_base", "auth_base", "request_timeout"] as const;
    if (clientFields.some((field) => JSON.stringify(next[field]) !== JSON.stringify(previous[field]))) client = makeClient();
    const streamFields = [...clientFields, "poll_min", "poll_max", "max_pages"] as const;
    if (streamFields.some((field) => JSON.stringify(next[field]) !== JSON.stringify(previous[field]))) {
      // Streams hold their settings and client: restart them all (their cursors are saved).
      for (const stream of streams.values()) stream.subredditsKey = "";
    }
    keywords.setInterval(next.sync_interval);
    const sync = current();
    if (sync) void applySync(sync);
  });

  function details(): MonitorDetails {
    const polls = [...streams.values()].map((s) => s.status().last_poll_at).filter((t): t is number => t !== null);
    return {
      is_running: started && !stopped && (current()?.running ?? false),
      stream_monitoring_active: streams.size > 0,
      active_streams: streams.size,
      monitored_keywords_count: matcher.stats.keywords,
      monitored_subreddits: streams.size > 0 ? groups.reduce((n, g) => n + g.subreddits.length, 0) : 0,
      last_check: polls.length > 0 ? new Date(Math.max(...polls)).toISOString() : "",
      last_sync: keywords.lastSyncAt() ? new Date(keywords.lastSyncAt()!).toISOString() : "",
      check_interval_seconds: Math.round(config.sync_interval / 1000),
      immediate_updates_enabled: true,
      mentions_emitted: mentions,
      gaps,
      keywords_version: keywords.version(),
    };
  }

  return {
    async start() {
      started = true;
      // Monitors the last known keywords at once; the collector's answer replaces them.
      await keywords.start();
    },
    async stop() {
      stopped = true;
      await keywords.stop();
      for (const stream of streams.values()) stream.abort.abort();
      await Promise.all([...streams.values()].map((s) => s.done));
      streams.clear();
      streamsGauge.set(0);
    },
    status(): PluginStatus {
      const d = details();
      const errors = [...streams.values()].map((s) => s.status().last_error).filter((e): e is string => e !== null);
      let state: PluginStatus["state"] = "ok";
      let message: string;
      const sync = current();
      const lastSyncError = keywords.lastError();
      if (!sync) {
        state = lastSyncError ? "failing" : "starting";
        message = lastSyncError ? `no keywords yet: ${lastSyncError}` : "reading keywords from the collector";
      } else if (!sync.running) {
        message = "stopped through the auto-monitor API";
      } else if (errors.length > 0) {
        state = errors.length === streams.size ? "failing" : "degraded";
        message = `${errors.length} of ${streams.size} streams failing: ${errors[0]}`;
      } else if (lastSyncError) {
        state = "degraded";
        message = `keyword sync failing (monitoring the last known keywords): ${lastSyncError}`;
      } else {
        message = `${d.monitored_keywords_count} keywords over ${d.monitored_subreddits} subreddits, ${d.active_streams} streams`;
      }
      return { state, message, details: { ...d } };
    },
  };
}
