import { z } from "zod";
import { PluginApiError, nextRowVersion, parseRequest, uuidv7, type PluginRequest, type PluginRoute } from "@vigil/plugin-sdk";
import { KEYWORDS_CHANGED } from "../commands.js";
import { subredditNameSchema } from "../listing.js";
import { KEYWORD_MODES, MAX_EXCLUDE, MAX_EXCLUDE_LENGTH, MAX_SUBREDDITS, validateKeyword, type KeywordMode } from "../keyword-rules.js";

/**
 * The keyword API. Keywords live in ClickHouse (ReplacingMergeTree, read with FINAL), one
 * row per version; every change is pushed at once to the tenant's connected agents
 * (`reddit-keywords-changed`), which re-read the set, and their backup sync heals a
 * missed push.
 */

const subreddit = subredditNameSchema();

const keywordFields = {
  keyword: z.string().describe("The text to find (phrase, word or regex)."),
  platform: z.literal("reddit", { error: 'platform must be "reddit"' }).default("reddit"),
  mode: z.enum(KEYWORD_MODES, { error: 'mode is "phrase", "word" or "regex"' }).default("phrase"),
  subreddit: z.union([z.literal("all"), subreddit, z.array(subreddit).min(1).max(MAX_SUBREDDITS)]).default("all").describe("One subreddit, a list, or \"all\" monitored."),
  exclude: z.array(z.string().min(1).max(MAX_EXCLUDE_LENGTH)).max(MAX_EXCLUDE).default([]),
  is_active: z.boolean().default(true),
};

const createSchema = z
  .object(keywordFields)
  .strict()
  .superRefine((value, ctx) => checkTexts(value.keyword, value.mode, value.exclude, ctx));

const patchSchema = z
  .object({
    keyword: keywordFields.keyword.optional(),
    mode: z.enum(KEYWORD_MODES, { error: 'mode is "phrase", "word" or "regex"' }).optional(),
    subreddit: z.union([z.literal("all"), subreddit, z.array(subreddit).min(1).max(MAX_SUBREDDITS)]).optional(),
    exclude: z.array(z.string().min(1).max(MAX_EXCLUDE_LENGTH)).max(MAX_EXCLUDE).optional(),
    is_active: z.boolean().optional(),
  })
  .strict();

function checkTexts(keyword: string, mode: "phrase" | "word" | "regex", exclude: string[], ctx: z.RefinementCtx): void {
  const problem = validateKeyword(keyword, mode);
  if (problem) ctx.addIssue({ code: "custom", path: ["keyword"], message: problem });
  exclude.forEach((term, i) => {
    const bad = validateKeyword(term, "phrase");
    if (bad) ctx.addIssue({ code: "custom", path: ["exclude", i], message: bad });
  });
}

export interface KeywordRow {
  id: string;
  keyword: string;
  mode: KeywordMode;
  subreddits: string[];
  exclude: string[];
  is_active: boolean | number;
  created_by: string;
  created_ms: number;
  updated_ms: number;
}

/** A keyword as the API answers it. */
export interface KeywordView {
  id: string;
  keyword: string;
  platform: "reddit";
  mode: KeywordMode;
  /** "all" (every monitored subreddit), one name, or a list of names. */
  subreddit: string | string[];
  exclude: string[];
  is_active: boolean;
  created_by: string;
  created_at: string;
  updated_at: string;
}

function present(row: KeywordRow): KeywordView {
  return {
    id: row.id,
    keyword: row.keyword,
    platform: "reddit",
    mode: row.mode,
    subreddit: row.subreddits.length === 0 ? "all" : row.subreddits.length === 1 ? row.subreddits[0]! : row.subreddits,
    exclude: row.exclude,
    is_active: Boolean(row.is_active),
    created_by: row.created_by,
    created_at: new Date(Number(row.created_ms)).toISOString(),
    updated_at: new Date(Number(row.updated_ms)).toISOString(),
  };
}

export const COLUMNS = "id, keyword, mode, subreddits, exclude, is_active, created_by, toUnixTimestamp64Milli(created_at) AS created_ms, toUnixTimestamp64Milli(updated_at) AS updated_ms";


async function findKeyword(request: PluginRequest, id: string): Promise<KeywordRow> {
  const [row] = await request.storage.query<KeywordRow>(
    `SELECT ${COLUMNS} FROM ${request.storage.table("keywords")} FINAL WHERE tenant = {tenant:String} AND id = {id:String} AND is_deleted = 0`,
    { id },
  );
  if (!row) throw new PluginApiError("not_found", `no keyword "${id}" in this tenant`);
  return row;
}

async function writeKeyword(request: PluginRequest, row: KeywordRow, deleted = false): Promise<void> {
  const { created_ms, updated_ms, ...rest } = row;
  await request.storage.insert("keywords", [
    { ...rest, is_active: Boolean(rest.is_active), created_at: Number(created_ms), updated_at: Number(updated_ms), version: nextRowVersion(), is_deleted: deleted ? 1 : 0 },
  ]);
  request.agents.broadcast({ name: KEYWORDS_CHANGED, args: { id: row.id } });
}

const toList = (value: string | string[]): string[] => (value === "all" ? [] : Array.isArray(value) ? value : [value]);

/** The tenant's keywords (not deleted), newest first; only active ones when asked. */
export function listKeywords(request: PluginRequest, active?: boolean): Promise<KeywordRow[]> {
  return request.storage.query<KeywordRow>(
    `SELECT ${COLUMNS} FROM ${request.storage.table("keywords")} FINAL
     WHERE tenant = {tenant:String} AND is_deleted = 0 ${active !== undefined ? "AND is_active = {active:Bool}" : ""}
     ORDER BY created_at DESC, id DESC`,
    active !== undefined ? { active } : {},
  );
}

export const keywordRoutes: PluginRoute[] = [
  {
    method: "POST",
    path: "/api/keywords",
    scope: "write",
    async handler(request) {
      const input = parseRequest(createSchema, request.body);
      const now = Date.now();
      const row: KeywordRow = {
        id: uuidv7(now),
        keyword: input.keyword,
        mode: input.mode,
        subreddits: toList(input.subreddit),
        exclude: input.exclude,
        is_active: input.is_active,
        created_by: request.key.id,
        created_ms: now,
        updated_ms: now,
      };
      await writeKeyword(request, row);
      return { status: 201, body: present(row) };
    },
  },
  {
    method: "GET",
    path: "/api/keywords",
    scope: "read",
    async handler(request) {
      const query = parseRequest(z.object({ active: z.enum(["true", "false"], { error: 'active is "true" or "false"' }).optional() }).strict(), request.query);
      const rows = await listKeywords(request, query.active === undefined ? undefined : query.active === "true");
      return { body: { keywords: rows.map(present) } };
    },
  },
  {
    method: "GET",
    path: "/api/keywords/:id",
    scope: "read",
    async handler(request) {
      return { body: present(await findKeyword(request, request.params.id!)) };
    },
  },
  {
    method: "PATCH",
    path: "/api/keywords/:id",
    scope: "write",
    async handler(request) {
      const patch = parseRequest(patchSchema, request.body);
      const row = await findKeyword(request, request.params.id!);
      const next: KeywordRow = {
        ...row,
        ...(patch.keyword !== undefined ? { keyword: patch.keyword } : {}),
        ...(patch.mode !== undefined ? { mode: patch.mode } : {}),
        ...(patch.subreddit !== undefined ? { subreddits: toList(patch.subreddit) } : {}),
        ...(patch.exclude !== undefined ? { exclude: patch.exclude } : {}),
        ...(patch.is_active !== undefined ? { is_active: patch.is_active } : {}),
        updated_ms: Date.now(),
      };
      parseRequest(z.any().superRefine((_v, ctx) => checkTexts(next.keyword, next.mode, next.exclude, ctx)), null);
      await writeKeyword(request, next);
      return { body: present(next) };
    },
  },
  {
    method: "DELETE",
    path: "/api/keywords/:id",
    scope: "write",
    async handler(request) {
      const row = await findKeyword(request, request.params.id!);
      await writeKeyword(request, { ...row, updated_ms: Date.now() }, true);
      return { status: 204 };
    },
  },
  ];
