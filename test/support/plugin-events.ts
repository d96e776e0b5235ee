// Realistic events of every source that has tables in the collector (the plugins' own
// event shapes, as their agent parts and SDKs emit them), generated deterministically from
// an index, for the storage-size benchmark and the cluster-mode test.
import type { EventInput } from "@vigil/plugin-sdk";
import { uuidv7 } from "@vigil/plugin-sdk";
import { realisticEvent } from "./realistic-event.js";
import { seededRandom } from "./random.js";

const APPS = ["checkout", "catalog", "accounts"];
const KEY_LABELS = ["user:*", "cart:*", "product:*", "session:*", "price:*", "stock:*", "search:*", "orders"];
const OPS = ["cache_read", "cache_write", "db_read", "db_write", "hybrid"] as const;
const BUCKETS = ["le_0_5", "le_1", "le_2", "le_5", "le_10", "le_25", "le_50", "le_100", "le_250", "le_1000", "le_inf"];
const SUBREDDITS = ["selfhosted", "homelab", "devops", "sysadmin", "programming", "kubernetes"];
const KEYWORDS = ["vigil", "clickhouse", "observability", "uptime", "grafana alternative"];
const CARRIERS = ["verizon", "att", "tmobile", "vodafone", "orange"];
const SERVERS: [string, string][] = [
  ["api", "twilio-1"],
  ["api", "twilio-2"],
  ["api", "vonage-1"],
  ["smtp", "gw-1"],
  ["proxy", "px-1"],
];
const FAILURES: [string, string, string][] = [
  ["30003", "Unreachable destination handset", "network"],
  ["30005", "Unknown destination handset", "invalid_number"],
  ["30007", "Message filtered by carrier", "carrier_filtering"],
  ["21610", "Attempt to send to unsubscribed recipient", "opted_out"],
];
const PLATFORMS = ["youtube", "reddit", "mastodon", "rss", "hackernews"];
const WORDS = "the release fixed a regression in the scheduler and the new dashboard loads faster than before with fewer queries per page".split(" ");

function words(random: () => number, count: number): string {
  return Array.from({ length: count }, () => WORDS[Math.floor(random() * WORDS.length)]).join(" ");
}

/** A sampled cache or database operation from an app's SDK (`cache.op`). */
export function cacheOpEvent(i: number, ts: number): EventInput {
  const random = seededRandom(i * 7 + 1);
  const op = OPS[i % OPS.length]!;
  const result = op === "cache_read" ? (random() < 0.8 ? "hit" : random() < 0.9 ? "miss" : "partial") : undefined;
  return {
    id: uuidv7(ts),
    ts,
    source: "cache",
    type: "cache.op",
    severity: "info",
    attrs: {
      app: APPS[i % APPS.length]!,
      op,
      key_label: KEY_LABELS[i % KEY_LABELS.length]!,
      ...(result ? { result } : {}),
      count: 1 + Math.floor(random() * 3),
      duration_ms: Number((0.2 + random() * (op.startsWith("db") ? 40 : 4)).toFixed(3)),
      origin: op.startsWith("db") ? "pg" : "redis",
      sample_rate: 0.1,
      mode: "sampled",
    },
  };
}

/** Exact counters of one (app, key label, op) over one SDK flush window (`cache.stats`). */
export function cacheStatsEvent(i: number, ts: number): EventInput {
  const random = seededRandom(i * 11 + 3);
  const op = OPS[i % OPS.length]!;
  const ops = 50 + Math.floor(random() * 500);
  const hits = op === "cache_read" ? Math.floor(ops * 0.8) : 0;
  const misses = op === "cache_read" ? ops - hits : 0;
  const buckets: Record<string, number> = {};
  let left = ops;
  for (const bucket of BUCKETS) {
    const n = bucket === "le_inf" ? left : Math.floor(left * random() * 0.5);
    buckets[bucket] = n;
    left -= n;
  }
  return {
    id: uuidv7(ts),
    ts,
    source: "cache",
    type: "cache.stats",
    severity: "info",
    attrs: {
      app: APPS[i % APPS.length]!,
      key_label: KEY_LABELS[i % KEY_LABELS.length]!,
      op,
      mode: "sampled",
      window_start_ms: ts - 5_000,
      window_end_ms: ts,
      ops,
      items: ops + Math.floor(random() * 20),
      hits,
      misses,
      partial_hits: 0,
      sum_ms: Number((ops * (0.5 + random() * 3)).toFixed(3)),
      dropped_events: 0,
      ...buckets,
    },
  };
}

/** A keyword found in a Reddit post or comment (`reddit.mention`). */
export function redditMentionEvent(i: number, ts: number): EventInput {
  const random = seededRandom(i * 13 + 5);
  const keyword = i % KEYWORDS.length;
  const subreddit = SUBREDDITS[Math.floor(random() * SUBREDDITS.length)]!;
  const post = random() < 0.3;
  const fullname = `${post ? "t3" : "t1"}_${(1_000_000 + i).toString(36)}`;
  return {
    id: uuidv7(ts),
    ts,
    source: "reddit",
    type: "reddit.mention",
    severity: "info",
    attrs: {
      keyword_id: `kw-${keyword}`,
      keyword: KEYWORDS[keyword]!,
      subreddit,
      kind: post ? "post" : "comment",
      fullname,
      permalink: `https://www.reddit.com/r/${subreddit}/comments/${(500_000 + i).toString(36)}/${post ? "" : fullname.slice(3)}`,
      author: `user_${Math.floor(random() * 50_000)}`,
      matched_in: post ? "title" : "body",
    },
    body: `… ${words(random, 8)} ${KEYWORDS[keyword]} ${words(random, 10)} …`,
  };
}

/**
 * One report of an SMS message (`sms.message`): even indexes are the app's "sent" report
 * (carrier, server, timings), odd ones the provider's receipt for the same message.
 */
export function smsMessageEvent(i: number, ts: number): EventInput {
  const message = Math.floor(i / 2);
  const random = seededRandom(message * 17 + 7);
  const [serverKind, serverId] = SERVERS[message % SERVERS.length]!;
  const campaign = `campaign-${Math.floor(message / 10_000)}`;
  const receipt = i % 2 === 1;
  const failure = receipt && random() < 0.06 ? FAILURES[Math.floor(random() * FAILURES.length)]! : undefined;
  return {
    id: uuidv7(ts),
    ts,
    source: "sms",
    type: "sms.message",
    severity: failure ? "warning" : "info",
    attrs: {
      campaign_id: campaign,
      message_id: `${campaign}-m${message}`,
      to_hash: (BigInt(message) * 2654435761n).toString(16).padStart(32, "0").slice(0, 32),
      carrier: receipt ? "" : CARRIERS[message % CARRIERS.length]!,
      server_kind: receipt ? "" : serverKind,
      server_id: receipt ? "" : serverId,
      status: receipt ? (failure ? "undelivered" : "delivered") : "sent",
      error_code: failure?.[0] ?? "",
      error_text: failure?.[1] ?? "",
      error_category: failure?.[2] ?? "",
      attempt: 1,
      queued_ms: receipt ? 0 : Math.floor(random() * 2_000),
      send_ms: receipt ? 0 : 50 + Math.floor(random() * 800),
      reporter: receipt ? (serverId.startsWith("vonage") ? "vonage" : "twilio") : "app",
    },
  };
}

/** A campaign's lifecycle event (`sms.campaign`). */
export function smsCampaignEvent(i: number, ts: number): EventInput {
  return {
    id: uuidv7(ts),
    ts,
    source: "sms",
    type: "sms.campaign",
    severity: "info",
    attrs: { campaign_id: `campaign-${i}`, name: `Campaign ${i}`, total: 10_000, user: `user-${i % 7}`, status: i % 2 === 0 ? "started" : "completed" },
  };
}

/** A health sample of a sending server (`sms.server`). */
export function smsServerEvent(i: number, ts: number): EventInput {
  const random = seededRandom(i * 19 + 11);
  const [kind, id] = SERVERS[i % SERVERS.length]!;
  const down = random() < 0.02;
  return {
    id: uuidv7(ts),
    ts,
    source: "sms",
    type: "sms.server",
    severity: down ? "error" : "info",
    attrs: { server_kind: kind, server_id: id, status: down ? "down" : "up", latency_ms: Math.floor(20 + random() * 300), error: down ? "connect ETIMEDOUT" : "" },
  };
}

/** The start (even index) or end (odd) of a social monitoring run (`social.run`). */
export function socialRunEvent(i: number, ts: number): EventInput {
  const run = Math.floor(i / 2);
  const random = seededRandom(run * 23 + 13);
  const start = ts - (i % 2 === 1 ? 20_000 : 0);
  const ended = i % 2 === 1;
  const failed = ended && random() < 0.05;
  const found = Math.floor(random() * 40);
  return {
    id: uuidv7(ts),
    ts,
    source: "social",
    type: "social.run",
    severity: failed ? "error" : "info",
    attrs: {
      job_id: `job-${run % 200}`,
      job_name: `Job ${run % 200}`,
      platform: PLATFORMS[run % PLATFORMS.length]!,
      run_id: `run-${run}`,
      status: ended ? (failed ? "failed" : "completed") : "in_progress",
      start_time: start,
      end_time: ended ? ts : 0,
      items_found: ended ? found : 0,
      items_processed: ended ? found : 0,
      new_items_downloaded: ended ? Math.floor(found / 4) : 0,
      error_message: failed ? "HTTP 429 from the platform: rate limited" : "",
      trigger: "schedule",
      scheduled_at: start - Math.floor(random() * 2_000),
    },
  };
}

/**
 * An illustrative mix of every source, per 100 events: 40 HTTP checks, 20 sampled cache
 * operations, 5 cache counter windows, 20 SMS reports (sent + receipt pairs), 1 SMS server
 * sample, 8 Reddit mentions, 6 social run starts/ends. Event `i` of the mix, at `ts`.
 */
export function mixedEvent(i: number, ts: number): EventInput {
  const slot = i % 100;
  const round = Math.floor(i / 100);
  if (slot < 40) {
    const j = round * 40 + slot;
    // realisticEvent spreads its ts 0–999 ms before `now`: undo that, so the event is at ts.
    return realisticEvent(j, ts + (j % 1000));
  }
  if (slot < 60) return cacheOpEvent(round * 20 + slot - 40, ts);
  if (slot < 65) return cacheStatsEvent(round * 5 + slot - 60, ts);
  if (slot < 85) return smsMessageEvent(round * 20 + slot - 65, ts);
  if (slot < 86) return smsServerEvent(round, ts);
  if (slot < 94) return redditMentionEvent(round * 8 + slot - 86, ts);
  return socialRunEvent(round * 6 + slot - 94, ts);
}
