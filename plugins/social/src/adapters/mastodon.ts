// Mastodon's public REST API on the target's own instance: an account's statuses (found
// through /api/v1/accounts/lookup) or a hashtag's timeline, newest first, paged with
// max_id as the Link header's rel="next" says.
import { z } from "zod";
import type { Adapter, AdapterContext, SocialItem, Target } from "../contract.js";
import { apiBase, param } from "./base.js";
import { htmlToText } from "./html-text.js";
import { requestPlatform, type Subject } from "./http.js";
import { newestFirst, nonEmpty } from "./items.js";
import { readJson, timeString } from "./payload.js";

/** Mastodon's most statuses per page. */
const PAGE_LIMIT = 40;

const accountSchema = z.object({ id: z.string(), acct: z.string() });

const statusSchema = z.object({
  id: z.string(),
  created_at: timeString,
  uri: z.string(),
  url: z.string().nullish(),
  content: z.string(),
  spoiler_text: z.string().nullish(),
  account: z.object({ acct: z.string() }),
});
type Status = z.output<typeof statusSchema>;

export const mastodonAdapter: Adapter = {
  platform: "mastodon",
  // Every instance is its own origin: the target URL's (`params.instance`) is the default.
  defaultBaseUrl: "https://mastodon.social",
  async fetch(target, ctx) {
    const instance = param(target, "instance");
    const base = apiBase(ctx, instance);
    const host = new URL(instance).host;
    const firstPage = target.type === "hashtag" ? hashtagTimeline(base, param(target, "tag")) : await accountStatuses(ctx, base, host, param(target, "account"));
    const subject = statusesSubject(target, host);
    const statuses: Status[] = [];
    let url: string | undefined = firstPage;
    while (url !== undefined && statuses.length < ctx.maxItems) {
      const pageUrl = new URL(url);
      pageUrl.searchParams.set("limit", String(Math.min(PAGE_LIMIT, ctx.maxItems - statuses.length)));
      const response = await requestPlatform(ctx, pageUrl.toString(), subject);
      const page = readJson(response, z.array(statusSchema), subject);
      statuses.push(...page);
      const maxId = nextMaxId(response.headers.link);
      url = page.length > 0 && maxId !== undefined ? withMaxId(url, maxId) : undefined;
    }
    return newestFirst(statuses.map(statusItem), ctx.maxItems);
  },
};

async function accountStatuses(ctx: AdapterContext, base: string, host: string, account: string): Promise<string> {
  const subject: Subject = {
    platform: "Mastodon",
    what: `account @${account} on ${host}`,
    ifNotFound: `check that the account exists${account.includes("@") ? " and that this instance knows it (open its profile there once)" : ""} and is not suspended`,
    ifUnauthorized: "this instance does not show the account to visitors who are not signed in",
  };
  const response = await requestPlatform(ctx, `${base}/api/v1/accounts/lookup?acct=${encodeURIComponent(account)}`, subject);
  const { id } = readJson(response, accountSchema, subject);
  // Boosts are other people's posts; the target is what the account itself writes.
  return `${base}/api/v1/accounts/${encodeURIComponent(id)}/statuses?exclude_reblogs=true`;
}

function hashtagTimeline(base: string, tag: string): string {
  return `${base}/api/v1/timelines/tag/${encodeURIComponent(tag)}`;
}

function statusesSubject(target: Target, host: string): Subject {
  const what = target.type === "hashtag" ? `hashtag #${target.params.tag} on ${host}` : `the statuses of @${target.params.account} on ${host}`;
  return {
    platform: "Mastodon",
    what,
    ifNotFound: target.type === "hashtag" ? "check the instance's address" : "check that the account still exists and is not suspended",
    ifUnauthorized:
      target.type === "hashtag"
        ? "this instance shows its timelines to signed-in users only: watch the hashtag on an instance that shows it to visitors"
        : "this instance does not show the account's statuses to visitors who are not signed in",
  };
}

/** `max_id` of the Link header's rel="next" URL. */
export function nextMaxId(link: string | undefined): string | undefined {
  for (const [, url, rel] of (link ?? "").matchAll(/<([^>]*)>\s*;\s*rel="?([^",;]+)"?/g)) {
    if (rel === "next") {
      try {
        return new URL(url!).searchParams.get("max_id") ?? undefined;
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

function withMaxId(url: string, maxId: string): string {
  const next = new URL(url);
  next.searchParams.set("max_id", maxId);
  return next.toString();
}

function statusItem(status: Status): SocialItem {
  const warning = nonEmpty(status.spoiler_text);
  return {
    id: status.id,
    url: status.url ?? status.uri,
    author: status.account.acct,
    // A content warning is what readers see first, so it stands as the title.
    ...(warning !== undefined ? { title: warning } : {}),
    text: htmlToText(status.content),
    publishedAt: Date.parse(status.created_at),
  };
}
