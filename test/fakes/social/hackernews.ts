// A fake of Algolia's Hacker News search API (hn.algolia.com/api/v1/search_by_date):
// stories and comments as Algolia's hits, newest first, `tags` filters, `page`/`nbPages`
// paging within Algolia's 1000-hit window, and its JSON errors.
import { escapeHtml, intParam, json, startFakeServer, type Answer, type FakeServer } from "./server.js";

export interface NewStory {
  title: string;
  author: string;
  /** The link of a link story; absent for Ask HN and text posts. */
  url?: string;
  /** Text of a text post (plain; served as Algolia does, HTML-escaped). */
  text?: string;
  /** Epoch ms; defaults to the fake's clock. */
  createdAt?: number;
  points?: number;
}

export interface NewComment {
  storyId: string;
  author: string;
  /** Plain text; served as HTML paragraphs, as HN does. */
  text: string;
  parentId?: string;
  createdAt?: number;
}

export interface Hit {
  objectID: string;
  created_at: string;
  created_at_i: number;
  updated_at: string;
  author: string;
  title: string | null;
  url: string | null;
  story_text: string | null;
  comment_text: string | null;
  story_id: number | null;
  story_title: string | null;
  story_url: string | null;
  parent_id: number | null;
  points: number | null;
  num_comments: number | null;
  children: number[];
  _tags: string[];
}

export interface FakeHackerNewsOptions {
  port?: number;
  now?: () => number;
}

export interface FakeHackerNews extends FakeServer {
  addStory(story: NewStory): Hit;
  addComment(comment: NewComment): Hit;
}

/** Algolia serves at most this many hits of one query, whatever the page. */
const PAGINATION_LIMIT = 1000;

export async function startFakeHackerNews(options: FakeHackerNewsOptions = {}): Promise<FakeHackerNews> {
  const { now = Date.now } = options;
  const hits: Hit[] = [];
  let nextId = 42_000_000;

  function hitTimes(createdAt: number) {
    const seconds = Math.floor(createdAt / 1000);
    const iso = new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
    return { created_at: iso, created_at_i: seconds, updated_at: new Date(createdAt).toISOString() };
  }

  function addStory(story: NewStory): Hit {
    const id = nextId++;
    const kind = story.title.startsWith("Ask HN:") ? "ask_hn" : story.title.startsWith("Show HN:") ? "show_hn" : undefined;
    const hit: Hit = {
      objectID: String(id),
      ...hitTimes(story.createdAt ?? now()),
      author: story.author,
      title: story.title,
      url: story.url ?? null,
      story_text: story.text === undefined ? null : paragraphs(story.text),
      comment_text: null,
      story_id: id,
      story_title: null,
      story_url: null,
      parent_id: null,
      points: story.points ?? 1,
      num_comments: 0,
      children: [],
      _tags: ["story", `author_${story.author}`, `story_${id}`, ...(kind ? [kind] : [])],
    };
    hits.push(hit);
    return hit;
  }

  function addComment(comment: NewComment): Hit {
    const story = hits.find((h) => h.objectID === comment.storyId && h._tags.includes("story"));
    if (!story) throw new Error(`fake hacker news: no story ${comment.storyId}`);
    const id = nextId++;
    const parentId = Number(comment.parentId ?? comment.storyId);
    hits.find((h) => h.objectID === String(parentId))?.children.push(id);
    story.num_comments = (story.num_comments ?? 0) + 1;
    const hit: Hit = {
      objectID: String(id),
      ...hitTimes(comment.createdAt ?? now()),
      author: comment.author,
      title: null,
      url: null,
      story_text: null,
      comment_text: paragraphs(comment.text),
      story_id: Number(story.objectID),
      story_title: story.title,
      story_url: story.url,
      parent_id: parentId,
      points: null,
      num_comments: null,
      children: [],
      _tags: ["comment", `author_${comment.author}`, `story_${story.objectID}`],
    };
    hits.push(hit);
    return hit;
  }

  function handle({ method, url }: { method: string; url: URL }): Answer {
    if (url.pathname !== "/api/v1/search_by_date" && url.pathname !== "/api/v1/search") return json(404, { message: "Not Found", status: 404 });
    if (method !== "GET") return json(404, { message: "Not Found", status: 404 });
    const hitsPerPage = intParam(url, "hitsPerPage", 20);
    const page = intParam(url, "page", 0);
    if (hitsPerPage === undefined || hitsPerPage > 1000) return invalid(`Invalid value for "hitsPerPage" parameter, expected integer between 0 and 1000`);
    if (page === undefined) return invalid(`Invalid value for "page" parameter, expected integer`);
    const query = url.searchParams.get("query") ?? "";
    const tags = url.searchParams.get("tags");
    const matched = hits.filter((hit) => matchesTags(hit, tags) && matchesQuery(hit, query)).sort((a, b) => b.created_at_i - a.created_at_i || Number(b.objectID) - Number(a.objectID));
    const reachable = Math.min(matched.length, PAGINATION_LIMIT);
    const nbPages = hitsPerPage === 0 ? 0 : Math.ceil(reachable / hitsPerPage);
    const from = page * hitsPerPage;
    return json(200, {
      hits: matched.slice(from, Math.min(from + hitsPerPage, reachable)),
      nbHits: matched.length,
      page,
      nbPages,
      hitsPerPage,
      exhaustiveNbHits: true,
      exhaustiveTypo: true,
      query,
      params: url.search.slice(1),
      processingTimeMS: 1,
    });
  }

  const server = await startFakeServer({
    port: options.port,
    now,
    wire: {
      tooManyRequests: (seconds) => json(429, { message: "Too many requests", status: 429 }, { "retry-after": String(seconds) }),
      error: (status) => json(status, { message: status >= 500 ? "Internal Server Error" : "Request refused", status }),
    },
    handle,
  });
  return { ...server, addStory, addComment };
}

function invalid(message: string): Answer {
  return json(400, { message, status: 400 });
}

/** Algolia's tag filter: commas AND, a parenthesised list ORs. */
function matchesTags(hit: Hit, tags: string | null): boolean {
  if (!tags) return true;
  return tags.split(/,(?![^(]*\))/).every((term) => {
    const options = term.replace(/^\(|\)$/g, "").split(",");
    return options.some((tag) => hit._tags.includes(tag.trim()));
  });
}

function matchesQuery(hit: Hit, query: string): boolean {
  const haystack = [hit.title, hit.url, hit.story_text, hit.comment_text, hit.author].filter(Boolean).join(" ").toLowerCase();
  return query
    .toLowerCase()
    .split(/\s+/)
    .filter(Boolean)
    .every((word) => haystack.includes(word));
}

// HN's HTML: paragraphs after the first start with a bare <p>; ' and / come as hex references.
function paragraphs(text: string): string {
  return text
    .split(/\n{2,}/)
    .map((p) => escapeHtml(p).replace(/&#39;/g, "&#x27;").replace(/\//g, "&#x2F;"))
    .join("<p>");
}
