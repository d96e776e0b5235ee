/**
 * What a keyword may be: the checks the collector's keyword API makes (api/keywords.ts),
 * the matcher relies on (matcher.ts) and the dashboard's keyword form makes before sending.
 * No imports, so the browser loads it too ("@vigil/plugin-reddit/keywords").
 */

export const KEYWORD_MODES = ["phrase", "word", "regex"] as const;
export type KeywordMode = (typeof KEYWORD_MODES)[number];

/** Characters (code points) of a keyword's text. */
export const MAX_KEYWORD_LENGTH = 200;
/** Subreddits one keyword may be scoped to. */
export const MAX_SUBREDDITS = 100;
/** Exclude terms of one keyword, and the characters of each. */
export const MAX_EXCLUDE = 50;
export const MAX_EXCLUDE_LENGTH = 200;

/** Subreddit names: 2–21 letters, digits or underscores (Reddit's rule). */
export const SUBREDDIT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_]{1,20}$/;

/**
 * Why a keyword cannot be stored, or null when it can: the collector's keyword API answers
 * 400 with this message. Also usable for exclude terms (mode "phrase").
 */
export function validateKeyword(text: string, mode: KeywordMode): string | null {
  if (!KEYWORD_MODES.includes(mode)) return `mode must be "phrase", "word" or "regex", got "${String(mode)}"`;
  if (text.trim() === "") return "keyword text is empty";
  const characters = [...text].length;
  if (characters > MAX_KEYWORD_LENGTH) return `keyword text is ${characters} characters long, at most ${MAX_KEYWORD_LENGTH} are allowed`;
  if (mode !== "regex") return null;
  let regex: RegExp;
  try {
    regex = new RegExp(text, "iu");
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    // V8 says "Invalid regular expression: /(/iu: Unterminated group"; keep the reason.
    return `invalid regular expression: ${message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "")}`;
  }
  if (regex.test("")) return "regular expression matches empty text: it would match every post and comment";
  return null;
}
