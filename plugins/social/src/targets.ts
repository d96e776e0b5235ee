// What a job's `target_url` may be, per platform and target type, and what the adapters
// take from it. The collector answers a bad target with `validateTarget`'s message; the
// agent's adapters read the same `params`, so both sides agree on every URL form.
import { SUBREDDIT_PATTERN } from "@vigil/plugin-reddit";
import { PLATFORMS, TARGET_TYPES, type Platform, type Target, type TargetType } from "./contract.js";

type Params = Record<string, string>;

interface TargetForm {
  /** The URL forms accepted, as the error message states them. */
  expected: string;
  /** The params, or why this URL does not fit (said before `expected`). */
  read(url: URL): Params | string;
}

const YOUTUBE_HOSTS = ["youtube.com", "www.youtube.com", "m.youtube.com"];
const CHANNEL_ID = /^UC[A-Za-z0-9_-]{22}$/;
const PLAYLIST_ID = /^[A-Za-z0-9_-]{12,64}$/;
const MASTODON_USER = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?$/;
const HOSTNAME = /^(?=.{1,253}$)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const HASHTAG = /^[\p{L}\p{N}_]+$/u;
const BLUESKY_HANDLE = HOSTNAME;
const DID = /^did:[a-z]+:[A-Za-z0-9._:%-]+$/;
const REDDIT_HOSTS = ["reddit.com", "www.reddit.com", "old.reddit.com", "new.reddit.com", "np.reddit.com"];
const REDDIT_USER = /^[A-Za-z0-9_-]{3,20}$/;
const X_HOSTS = ["x.com", "www.x.com", "mobile.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com"];
/** X's recent search takes queries of up to 512 characters. */
const X_QUERY_MAX = 512;
/** Algolia's Hacker News search `type` → its `tags` filter. */
const HN_TYPES: Readonly<Record<string, string>> = {
  all: "(story,comment)",
  story: "story",
  comment: "comment",
  ask_hn: "ask_hn",
  show_hn: "show_hn",
  launch_hn: "launch_hn",
  job: "job",
  poll: "poll",
};

const FORMS: { [P in Platform]: Record<(typeof TARGET_TYPES)[P][number], TargetForm> } = {
  youtube: {
    channel: {
      expected: "https://www.youtube.com/channel/UC… (the channel id: UC and 22 letters, digits, '-' or '_') or https://www.youtube.com/feeds/videos.xml?channel_id=UC…",
      read(url) {
        if (!YOUTUBE_HOSTS.includes(url.hostname)) return `${url.hostname} is not YouTube`;
        const id = url.pathname === "/feeds/videos.xml" ? url.searchParams.get("channel_id") : /^\/channel\/([^/]+)(?:\/.*)?$/.exec(url.pathname)?.[1];
        if (id && CHANNEL_ID.test(id)) return { channel_id: id };
        if (id) return `"${id}" is not a channel id`;
        if (/^\/(@|c\/|user\/)/.test(url.pathname)) {
          return "handle and custom URLs (/@name, /c/…, /user/…) have no feed: on the channel's page choose Share channel → Copy channel ID, and use that id";
        }
        return "this is not a channel URL";
      },
    },
    playlist: {
      expected: "https://www.youtube.com/playlist?list=PL… or https://www.youtube.com/feeds/videos.xml?playlist_id=PL…",
      read(url) {
        if (!YOUTUBE_HOSTS.includes(url.hostname)) return `${url.hostname} is not YouTube`;
        const id = url.pathname === "/feeds/videos.xml" ? url.searchParams.get("playlist_id") : url.pathname === "/playlist" ? url.searchParams.get("list") : null;
        if (id && PLAYLIST_ID.test(id)) return { playlist_id: id };
        return id ? `"${id}" is not a playlist id` : "this is not a playlist URL";
      },
    },
  },
  mastodon: {
    account: {
      expected: "https://<instance>/@<user>, e.g. https://mastodon.social/@Gargron (or /@<user>@<their instance> for a remote account)",
      read(url) {
        const match = /^\/(?:@|users\/)([^/@]+)(?:@([^/]+))?\/?$/.exec(url.pathname);
        if (!match) return "this is not an account URL";
        const [, user, domain] = match;
        if (!MASTODON_USER.test(user!)) return `"${user}" is not a Mastodon user name`;
        if (domain !== undefined && !HOSTNAME.test(domain)) return `"${domain}" is not an instance name`;
        const remote = domain !== undefined && domain.toLowerCase() !== url.hostname.toLowerCase();
        return { instance: url.origin, account: remote ? `${user}@${domain}` : user! };
      },
    },
    hashtag: {
      expected: "https://<instance>/tags/<tag>, e.g. https://mastodon.social/tags/rust",
      read(url) {
        const raw = /^\/tags\/([^/]+)\/?$/.exec(url.pathname)?.[1];
        if (raw === undefined) return "this is not a hashtag URL";
        const tag = safeDecode(raw).replace(/^#/, "");
        if (!HASHTAG.test(tag)) return `"${tag}" is not a hashtag (letters, digits and '_')`;
        return { instance: url.origin, tag };
      },
    },
  },
  bluesky: {
    author: {
      expected: "https://bsky.app/profile/<handle or DID>, e.g. https://bsky.app/profile/bsky.app",
      read(url) {
        if (url.hostname !== "bsky.app") return `${url.hostname} is not bsky.app`;
        const raw = /^\/profile\/([^/]+)\/?$/.exec(url.pathname)?.[1];
        if (raw === undefined) return "this is not a profile URL";
        const actor = safeDecode(raw);
        if (!BLUESKY_HANDLE.test(actor) && !DID.test(actor)) return `"${actor}" is neither a handle (name.bsky.social) nor a DID (did:plc:…)`;
        return { actor: DID.test(actor) ? actor : actor.toLowerCase() };
      },
    },
    search: {
      expected: "https://bsky.app/search?q=<query>",
      read(url) {
        if (url.hostname !== "bsky.app") return `${url.hostname} is not bsky.app`;
        if (url.pathname.replace(/\/$/, "") !== "/search") return "this is not a search URL";
        const query = url.searchParams.get("q")?.trim();
        return query ? { query } : "the search has no query (q=…)";
      },
    },
  },
  hackernews: {
    search: {
      expected: "https://hn.algolia.com/?q=<query> (optionally &type=story, comment or all)",
      read(url) {
        if (url.hostname !== "hn.algolia.com") return `${url.hostname} is not hn.algolia.com`;
        if (url.pathname !== "/") return "this is not a search URL";
        const query = (url.searchParams.get("q") ?? url.searchParams.get("query"))?.trim();
        if (!query) return "the search has no query (q=…)";
        const type = url.searchParams.get("type") ?? "all";
        const tags = HN_TYPES[type];
        if (!tags) return `type "${type}" is not one of ${Object.keys(HN_TYPES).join(", ")}`;
        return { query, tags };
      },
    },
  },
  rss: {
    feed: {
      expected: "the http(s) URL of an RSS 2.0 or Atom feed, e.g. https://blog.example.com/feed.xml",
      read(url) {
        if (url.username || url.password) return "a feed URL with a user name or password in it is not supported";
        return { feed_url: url.toString() };
      },
    },
  },
  reddit: {
    user: {
      expected: "https://www.reddit.com/user/<name> (or /u/<name>)",
      read(url) {
        if (!REDDIT_HOSTS.includes(url.hostname)) return `${url.hostname} is not reddit.com`;
        const name = /^\/(?:user|u)\/([^/]+)\/?$/.exec(url.pathname)?.[1];
        if (name === undefined) return "this is not a user URL";
        return REDDIT_USER.test(name) ? { user: name } : `"${name}" is not a Reddit user name`;
      },
    },
    subreddit: {
      expected: "https://www.reddit.com/r/<name>",
      read(url) {
        if (!REDDIT_HOSTS.includes(url.hostname)) return `${url.hostname} is not reddit.com`;
        const name = /^\/r\/([^/]+)(?:\/new)?\/?$/.exec(url.pathname)?.[1];
        if (name === undefined) return "this is not a subreddit URL";
        return SUBREDDIT_PATTERN.test(name) ? { subreddit: name } : `"${name}" is not a subreddit name`;
      },
    },
  },
  x: {
    search: {
      expected: "https://x.com/search?q=<query> (or twitter.com)",
      read(url) {
        if (!X_HOSTS.includes(url.hostname)) return `${url.hostname} is not x.com or twitter.com`;
        if (url.pathname.replace(/\/$/, "") !== "/search") return "this is not a search URL";
        const query = url.searchParams.get("q")?.trim();
        if (!query) return "the search has no query (q=…)";
        if (query.length > X_QUERY_MAX) return `the query is ${query.length} characters long; X's recent search takes at most ${X_QUERY_MAX}`;
        return { query };
      },
    },
  },
};

export function isPlatform(value: string): value is Platform {
  return (PLATFORMS as readonly string[]).includes(value);
}

/** Whether `type` is a target type of `platform` (TARGET_TYPES). */
export function isTargetType(platform: Platform, type: string): type is TargetType {
  return (TARGET_TYPES[platform] as readonly string[]).includes(type);
}

/**
 * Reads a job's target. Throws an Error whose message says what is wrong and which URL
 * forms the platform and type take.
 */
export function parseTarget(platform: string, targetType: string, targetUrl: string): Target {
  if (!isPlatform(platform)) throw new Error(`platform "${platform}" is not one of ${PLATFORMS.join(", ")}`);
  if (!isTargetType(platform, targetType)) {
    throw new Error(`target_type "${targetType}" does not suit platform ${platform}: use ${TARGET_TYPES[platform].join(" or ")}`);
  }
  const form = (FORMS[platform] as Record<string, TargetForm>)[targetType]!;
  const url = httpUrl(targetUrl.trim());
  const params = url === undefined ? "target_url is not an http(s) URL" : form.read(url);
  if (typeof params === "string") throw new Error(`${params}; for ${platform} ${targetType} targets, target_url looks like ${form.expected}`);
  return { platform, type: targetType, url: targetUrl, params };
}

/** parseTarget's message for a bad target, or null when it is fine (the collector's 400 answers). */
export function validateTarget(platform: string, targetType: string, targetUrl: string): string | null {
  try {
    parseTarget(platform, targetType, targetUrl);
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

function httpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url : undefined;
  } catch {
    return undefined;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
