// Posts and comments of the fake Reddit, and Reddit's Listing paging over them.

export interface PostData {
  id: string;
  name: string;
  subreddit: string;
  subreddit_name_prefixed: string;
  title: string;
  selftext: string;
  author: string;
  permalink: string;
  url: string;
  created_utc: number;
  is_self: true;
  num_comments: number;
  score: number;
}

export interface CommentData {
  id: string;
  name: string;
  subreddit: string;
  subreddit_name_prefixed: string;
  body: string;
  author: string;
  permalink: string;
  link_id: string;
  parent_id: string;
  link_title: string;
  created_utc: number;
  score: number;
}

export interface NewPost {
  title: string;
  selftext?: string;
  author: string;
  /** Seconds since the epoch; defaults to the fake's clock. */
  created_utc?: number;
}

export interface NewComment {
  body: string;
  author: string;
  /** Fullname of the post (`t3_…`); defaults to the newest post of the subreddit, made up when there is none. */
  link_id?: string;
  created_utc?: number;
}

export interface Thing<D> {
  kind: "t1" | "t3";
  data: D;
}

export interface Listing<D> {
  kind: "Listing";
  data: { after: string | null; before: string | null; dist: number; modhash: string; geo_filter: null; children: Thing<D>[] };
}

export type UserListing = "overview" | "submitted" | "comments";

export interface ListingQuery {
  limit: number;
  before?: string;
  after?: string;
  rawJson: boolean;
}

// Reddit ids are base36 and grow with time; starting at six digits makes them look like real ones.
const FIRST_ID = 36 ** 5;

/** A subreddit name as Reddit allows it (letters, digits, underscore, 3–21 characters). */
export const SUBREDDIT_NAME = /^[A-Za-z0-9][A-Za-z0-9_]{2,20}$/;

function slug(title: string): string {
  return (
    title
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .slice(0, 50) || "post"
  );
}

export function createStore(now: () => number) {
  const posts: PostData[] = [];
  const comments: CommentData[] = [];
  let nextPostId = FIRST_ID;
  let nextCommentId = FIRST_ID;
  // Reddit spells a subreddit one way whatever case the caller used.
  const spelling = new Map<string, string>();
  const canonical = (name: string) => spelling.get(name.toLowerCase()) ?? (spelling.set(name.toLowerCase(), name), name);

  function addPost(name: string, post: NewPost): PostData {
    const subreddit = canonical(name);
    const id = (nextPostId++).toString(36);
    const permalink = `/r/${subreddit}/comments/${id}/${slug(post.title)}/`;
    const data: PostData = {
      id,
      name: `t3_${id}`,
      subreddit,
      subreddit_name_prefixed: `r/${subreddit}`,
      title: post.title,
      selftext: post.selftext ?? "",
      author: post.author,
      permalink,
      url: `https://www.reddit.com${permalink}`,
      created_utc: post.created_utc ?? Math.floor(now() / 1000),
      is_self: true,
      num_comments: 0,
      score: 1,
    };
    posts.push(data);
    return data;
  }

  function postFor(subreddit: string, linkId: string | undefined): PostData {
    if (linkId !== undefined) {
      const post = posts.find((p) => p.name === linkId);
      if (!post) throw new Error(`fake reddit: no post ${linkId}`);
      return post;
    }
    const key = subreddit.toLowerCase();
    const newest = posts.findLast((p) => p.subreddit.toLowerCase() === key);
    return newest ?? addPost(subreddit, { title: "Discussion thread", author: "AutoModerator" });
  }

  function addComment(subreddit: string, comment: NewComment): CommentData {
    const post = postFor(subreddit, comment.link_id);
    post.num_comments += 1;
    const id = (nextCommentId++).toString(36);
    const data: CommentData = {
      id,
      name: `t1_${id}`,
      subreddit: post.subreddit,
      subreddit_name_prefixed: `r/${post.subreddit}`,
      body: comment.body,
      author: comment.author,
      permalink: `${post.permalink}${id}/`,
      link_id: post.name,
      parent_id: post.name,
      link_title: post.title,
      created_utc: comment.created_utc ?? Math.floor(now() / 1000),
      score: 1,
    };
    comments.push(data);
    return data;
  }

  function listPosts(subreddits: string[], query: ListingQuery): Listing<PostData> {
    return page("t3", inSubreddits(posts, subreddits), query);
  }

  function listComments(subreddits: string[], query: ListingQuery): Listing<CommentData> {
    return page("t1", inSubreddits(comments, subreddits), query);
  }

  /** Whether `user` wrote anything here (Reddit answers 404 for a user it does not know). */
  function knowsUser(user: string): boolean {
    const key = user.toLowerCase();
    return [...posts, ...comments].some((item) => item.author.toLowerCase() === key);
  }

  /** A user's `overview` (posts and comments), `submitted` (posts) or `comments`, newest first. */
  function listUser(user: string, where: UserListing, query: ListingQuery): Listing<PostData | CommentData> {
    const key = user.toLowerCase();
    const own = <D extends PostData | CommentData>(items: D[]) => items.filter((item) => item.author.toLowerCase() === key);
    const items: (PostData | CommentData)[] = where === "submitted" ? own(posts) : where === "comments" ? own(comments) : [...own(posts), ...own(comments)];
    return page((item) => (item.name.startsWith("t1_") ? "t1" : "t3"), items.sort((a, b) => a.created_utc - b.created_utc), query);
  }

  return { posts, comments, addPost, addComment, listPosts, listComments, knowsUser, listUser };
}

function inSubreddits<D extends { subreddit: string }>(items: D[], subreddits: string[]): D[] {
  const wanted = new Set(subreddits.map((s) => s.toLowerCase()));
  return items.filter((item) => wanted.has(item.subreddit.toLowerCase()));
}

/**
 * Newest first, as Reddit lists `new` and `comments`. `after` pages towards older items,
 * `before` towards newer ones (the `limit` items just newer than it). The answer's `after`
 * names the last child when older items remain, its `before` the first child when newer
 * ones remain. A cursor that is not in the listing gives an empty page, as on Reddit.
 */
function page<D extends { name: string }>(kind: "t1" | "t3" | ((item: D) => "t1" | "t3"), oldestFirst: D[], query: ListingQuery): Listing<D> {
  let from = Math.max(0, oldestFirst.length - query.limit);
  let to = oldestFirst.length;
  const cursor = query.after ?? query.before;
  if (cursor !== undefined) {
    const at = oldestFirst.findIndex((item) => item.name === cursor);
    if (at === -1) [from, to] = [0, 0];
    else if (query.after !== undefined) [from, to] = [Math.max(0, at - query.limit), at];
    else [from, to] = [at + 1, Math.min(oldestFirst.length, at + 1 + query.limit)];
  }
  const children = oldestFirst
    .slice(from, to)
    .reverse()
    .map((item) => ({ kind: typeof kind === "function" ? kind(item) : kind, data: query.rawJson ? item : escapeStrings(item) }));
  const olderRemain = children.length > 0 && from > 0;
  const newerRemain = children.length > 0 && to < oldestFirst.length;
  return {
    kind: "Listing",
    data: {
      after: olderRemain ? (children.at(-1)?.data.name ?? null) : null,
      before: newerRemain ? (children[0]?.data.name ?? null) : null,
      dist: children.length,
      modhash: "",
      geo_filter: null,
      children,
    },
  };
}

// Without `raw_json=1` Reddit answers with &, < and > HTML-escaped in every string.
function escapeStrings<D extends object>(item: D): D {
  const escaped: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(item)) {
    escaped[key] = typeof value === "string" ? value.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;") : value;
  }
  return escaped as D;
}
