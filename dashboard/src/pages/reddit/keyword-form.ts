import { MAX_EXCLUDE, MAX_EXCLUDE_LENGTH, MAX_SUBREDDITS, SUBREDDIT_PATTERN, validateKeyword, type KeywordMode } from "@vigil/plugin-reddit/keywords";
import type { Keyword } from "./types.js";

/**
 * The keyword form: its fields as typed, the checks the collector makes (the plugin's own
 * `validateKeyword` and limits, so the user sees the problem before sending), and the
 * request body.
 */

export interface KeywordForm {
  keyword: string;
  mode: KeywordMode;
  /** "all", or subreddit names separated by commas or spaces. */
  subreddits: string;
  /** One exclude term per line. */
  exclude: string;
  is_active: boolean;
}

export const MODES: { value: KeywordMode; label: string; hint: string }[] = [
  { value: "phrase", label: "Phrase", hint: "Anywhere in the text, also inside a longer word; any run of spaces counts as one." },
  { value: "word", label: "Whole word", hint: "Not preceded or followed by a letter, digit or _ (“cat” finds “cat.” but not “cats”)." },
  { value: "regex", label: "Regular expression", hint: "A JavaScript regular expression, case-insensitive. Costs more than phrases: keep these few." },
];

export function emptyKeywordForm(): KeywordForm {
  return { keyword: "", mode: "phrase", subreddits: "all", exclude: "", is_active: true };
}

export function formFromKeyword(keyword: Keyword): KeywordForm {
  return {
    keyword: keyword.keyword,
    mode: keyword.mode,
    subreddits: Array.isArray(keyword.subreddit) ? keyword.subreddit.join(", ") : keyword.subreddit,
    exclude: keyword.exclude.join("\n"),
    is_active: keyword.is_active,
  };
}

/**
 * "all" (every subreddit the agent's plugin polls), or names: "selfhosted, homelab" or
 * "r/selfhosted homelab" (an r/ prefix is dropped: people copy names that way). One name
 * is sent as a plain string, as the API shows it.
 */
export function parseSubreddits(text: string): { value: string | string[]; error: null } | { value: null; error: string } {
  const trimmed = text.trim();
  if (trimmed === "" || trimmed.toLowerCase() === "all") return { value: "all", error: null };
  const names: string[] = [];
  for (const raw of trimmed.split(/[\s,]+/)) {
    const name = raw.replace(/^\/?r\//i, "");
    if (name.toLowerCase() === "all") return { value: null, error: '"all" means every monitored subreddit: write it alone, not in a list' };
    if (!SUBREDDIT_PATTERN.test(name)) return { value: null, error: `"${raw}" is not a subreddit name: 2–21 letters, digits or '_'` };
    if (!names.some((n) => n.toLowerCase() === name.toLowerCase())) names.push(name);
  }
  if (names.length > MAX_SUBREDDITS) return { value: null, error: `at most ${MAX_SUBREDDITS} subreddits per keyword` };
  return { value: names.length === 1 ? names[0]! : names, error: null };
}

/** One term per line; blank lines are skipped. */
export function parseExclude(text: string): { value: string[]; error: string | null } {
  const terms = text
    .split("\n")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  if (terms.length > MAX_EXCLUDE) return { value: [], error: `at most ${MAX_EXCLUDE} exclude terms` };
  const long = terms.find((t) => [...t].length > MAX_EXCLUDE_LENGTH);
  if (long) return { value: [], error: `"${long.slice(0, 20)}…" is longer than ${MAX_EXCLUDE_LENGTH} characters` };
  return { value: terms, error: null };
}

export type KeywordErrors = Partial<Record<"keyword" | "subreddit" | "exclude", string>>;

/** The form checked, and the body of POST /api/keywords (or PATCH /:id) when it passes. */
export function validateKeywordForm(form: KeywordForm): { errors: KeywordErrors; body: Record<string, unknown> | null } {
  const errors: KeywordErrors = {};
  // Spaces around a phrase or word are a typing accident; in a regex they may be meant.
  const text = form.mode === "regex" ? form.keyword : form.keyword.trim();
  const problem = validateKeyword(text, form.mode);
  if (problem) errors.keyword = problem;
  const subreddits = parseSubreddits(form.subreddits);
  if (subreddits.error) errors.subreddit = subreddits.error;
  const exclude = parseExclude(form.exclude);
  if (exclude.error) errors.exclude = exclude.error;
  if (Object.keys(errors).length > 0) return { errors, body: null };
  return { errors, body: { keyword: text, mode: form.mode, subreddit: subreddits.value, exclude: exclude.value, is_active: form.is_active } };
}

/** How a keyword's scope reads in the table. */
export function describeSubreddits(value: string | string[]): string {
  if (value === "all") return "all monitored";
  return (Array.isArray(value) ? value : [value]).map((n) => `r/${n}`).join(", ");
}
