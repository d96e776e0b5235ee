// Hacker News through Algolia's search API (search_by_date: newest first), stories and
// comments, paged with `page` until `nbPages`.
import { z } from "zod";
import type { Adapter, SocialItem } from "../contract.js";
import { apiBase, param } from "./base.js";
import { htmlToText } from "./html-text.js";
import { requestPlatform, type Subject } from "./http.js";
import { newestFirst, nonEmpty } from "./items.js";
import { readJson, timeString } from "./payload.js";

const DEFAULT_BASE_URL = "https://hn.algolia.com";
/** Hits per page asked for; Algolia allows up to 1000, but smaller pages answer faster. */
const PAGE_SIZE = 100;

const hitSchema = z.object({
  objectID: z.string(),
  created_at: timeString,
  created_at_i: z.number().optional(),
  author: z.string().nullish(),
  title: z.string().nullish(),
  url: z.string().nullish(),
  story_text: z.string().nullish(),
  comment_text: z.string().nullish(),
  story_title: z.string().nullish(),
});
type Hit = z.output<typeof hitSchema>;

const answerSchema = z.object({ hits: z.array(hitSchema), page: z.number(), nbPages: z.number() });

export const hackernewsAdapter: Adapter = {
  platform: "hackernews",
  defaultBaseUrl: DEFAULT_BASE_URL,
  async fetch(target, ctx) {
    const query = param(target, "query");
    const subject: Subject = {
      platform: "Hacker News search (Algolia)",
      what: `the search "${query}"`,
      ifNotFound: `check the platform's configured base URL: the search API lives at ${DEFAULT_BASE_URL}/api/v1`,
      ifUnauthorized: "the search takes no credentials; Algolia may be refusing the agent's address",
    };
    const hitsPerPage = Math.max(1, Math.min(PAGE_SIZE, ctx.maxItems));
    const hits: Hit[] = [];
    for (let page = 0; hits.length < ctx.maxItems; page++) {
      const search = new URLSearchParams({ query, tags: target.params.tags ?? "(story,comment)", hitsPerPage: String(hitsPerPage), page: String(page) });
      const response = await requestPlatform(ctx, `${apiBase(ctx, DEFAULT_BASE_URL)}/api/v1/search_by_date?${search}`, subject);
      const answer = readJson(response, answerSchema, subject);
      hits.push(...answer.hits);
      if (answer.hits.length === 0 || page + 1 >= answer.nbPages) break;
    }
    return newestFirst(hits.map(hitItem), ctx.maxItems);
  },
};

function hitItem(hit: Hit): SocialItem {
  // A comment has no title of its own; the story it answers gives it one.
  const storyTitle = nonEmpty(hit.story_title);
  const title = nonEmpty(hit.title) ?? (storyTitle !== undefined ? `Re: ${storyTitle}` : undefined);
  const html = nonEmpty(hit.story_text) ?? nonEmpty(hit.comment_text);
  return {
    id: hit.objectID,
    url: nonEmpty(hit.url) ?? `https://news.ycombinator.com/item?id=${encodeURIComponent(hit.objectID)}`,
    author: hit.author ?? "",
    ...(title !== undefined ? { title } : {}),
    ...(html !== undefined ? { text: htmlToText(html) } : {}),
    publishedAt: hit.created_at_i !== undefined ? hit.created_at_i * 1000 : Date.parse(hit.created_at),
  };
}
