/**
 * The keyword matcher: every active keyword of every tenant, compiled into one immutable
 * `Matcher` that finds them in post titles, post texts and comment bodies (never user names:
 * the caller passes only those texts).
 *
 * Semantics, per keyword:
 * - Case-insensitive: texts and keywords are compared lower-cased (`toLowerCase`, Unicode
 *   aware, so "CAFÉ" finds "café"; a final sigma ς counts as σ).
 * - `phrase` (the default) finds the keyword anywhere, also inside a word ("cat" in
 *   "concatenate"); `word` only where it is not preceded nor followed by a word character
 *   (a Unicode letter, mark or number, or "_"), so "cat" is found in "cat." but not in
 *   "cats". For both, any run of whitespace counts as one space, on either side.
 * - `regex` is the user's regular expression with the `i` and `u` flags, run on the text
 *   as it is (no whitespace normalisation); matches of no characters are ignored.
 * - Exclude terms (phrase semantics): a keyword does not match a text that contains any of
 *   its exclude terms, wherever they are in that text; other texts of the item still count.
 * - Subreddit scope: a list of subreddits (compared case-insensitively) or "all".
 * - Inactive keywords never match. Each keyword matches an item at most once: its first
 *   occurrence (the earliest text, then the earliest end of a phrase/word occurrence).
 *
 * Cost: phrase and word keywords (and every exclude term) form one Aho–Corasick automaton
 * (`aho-corasick.ts`), so a text is read once whatever the number of keywords, plus a small
 * amount of work per occurrence found. Regex keywords are run one by one on every text of
 * every item in their scope: their cost grows with their number, so users should prefer
 * `phrase` or `word` and keep regex keywords few (the collector may want a per-tenant cap).
 * Compiling is cheap enough to redo on every keyword change (see `bench:reddit-match`).
 *
 * Offsets and lengths are in UTF-16 code units of the original text.
 */
import { buildAutomaton, isWhitespaceCode, type Automaton } from "./aho-corasick.js";
import { validateKeyword, type KeywordMode } from "./keyword-rules.js";

export { MAX_KEYWORD_LENGTH, validateKeyword, type KeywordMode } from "./keyword-rules.js";

export interface KeywordSpec {
  id: string;
  text: string;
  mode: KeywordMode;
  /** Subreddit names without "r/", or "all" for every monitored subreddit. */
  subreddits: string[] | "all";
  exclude: string[];
  active: boolean;
}

/** What is matched for one post or comment: its subreddit and its texts (title and body, or the comment body). */
export interface MatchItem {
  subreddit: string;
  texts: readonly string[];
}

export interface MatchResult {
  keywordId: string;
  /** The keyword's text as the user wrote it. */
  keywordText: string;
  /** Where the occurrence starts in `texts[textIndex]`, in UTF-16 code units. */
  offset: number;
  length: number;
  textIndex: number;
  /** About `SNIPPET_RADIUS` characters either side of the occurrence, cut at whitespace where possible, "…" where cut. */
  snippet: string;
}

/** A keyword `compileMatcher` left out because `validateKeyword` refuses it. */
export interface RejectedKeyword {
  id: string;
  error: string;
}

export interface MatcherStats {
  /** Active keywords compiled, of which `regexKeywords` are regex keywords. */
  keywords: number;
  regexKeywords: number;
  /** Distinct normalised phrase/word texts and exclude terms in the automaton. */
  patterns: number;
  states: number;
  representation: "dense" | "sparse";
}

export interface Matcher {
  readonly stats: MatcherStats;
  readonly rejected: readonly RejectedKeyword[];
  /** The keywords found in the item, at most one result per keyword, ordered by text and offset. */
  match(item: MatchItem): MatchResult[];
}

export interface CompileOptions {
  /**
   * Largest dense transition table, in cells of 4 bytes (default 8 Mi cells, 32 MiB). Keyword
   * sets in many scripts exceed it and use the slower sparse automaton instead.
   */
  maxTableCells?: number;
}

export const SNIPPET_RADIUS = 60;
const DEFAULT_MAX_TABLE_CELLS = 8 * 1024 * 1024;

/** The form phrase/word keywords and exclude terms are compared in: NFC, trimmed, one space per whitespace run, lower-cased, ς as σ. */
export function normalizePattern(text: string): string {
  return text.normalize("NFC").trim().replace(/\s+/g, " ").toLowerCase().replaceAll("ς", "σ");
}

interface PlainKeyword {
  spec: KeywordSpec;
  word: boolean;
  /** Lower-cased subreddit names, or null for every subreddit. */
  scope: ReadonlySet<string> | null;
  excludes: readonly number[];
}

interface RegexKeyword {
  spec: KeywordSpec;
  regex: RegExp;
  scope: ReadonlySet<string> | null;
  excludes: readonly number[];
}

/** Compiles the keywords into one immutable matcher; keywords `validateKeyword` refuses are left out and listed in `rejected`. */
export function compileMatcher(keywords: readonly KeywordSpec[], options: CompileOptions = {}): Matcher {
  const patternIds = new Map<string, number>();
  const patterns: string[] = [];
  const patternOf = (normalized: string): number => {
    let id = patternIds.get(normalized);
    if (id === undefined) {
      id = patterns.length;
      patterns.push(normalized);
      patternIds.set(normalized, id);
    }
    return id;
  };
  const rejected: RejectedKeyword[] = [];
  const plain: PlainKeyword[] = [];
  const regexes: RegexKeyword[] = [];
  /** For each pattern: the plain keywords whose text it is. */
  const keywordsOfPattern: number[][] = [];
  const excludePatterns = new Set<number>();

  for (const spec of keywords) {
    if (!spec.active) continue;
    const error = validateKeyword(spec.text, spec.mode);
    if (error !== null) {
      rejected.push({ id: spec.id, error });
      continue;
    }
    const scope = spec.subreddits === "all" ? null : new Set(spec.subreddits.map((name) => name.toLowerCase()));
    const excludes = [
      ...new Set(
        spec.exclude
          .map(normalizePattern)
          .filter((term) => term !== "")
          .map(patternOf),
      ),
    ];
    for (const id of excludes) excludePatterns.add(id);
    if (spec.mode === "regex") {
      regexes.push({ spec, regex: new RegExp(spec.text, "giu"), scope, excludes });
    } else {
      const pattern = patternOf(normalizePattern(spec.text));
      (keywordsOfPattern[pattern] ??= []).push(plain.length);
      plain.push({ spec, word: spec.mode === "word", scope, excludes });
    }
  }

  const automaton = buildAutomaton(patterns, { maxTableCells: options.maxTableCells ?? DEFAULT_MAX_TABLE_CELLS });
  const stats: MatcherStats = Object.freeze({
    keywords: plain.length + regexes.length,
    regexKeywords: regexes.length,
    patterns: patterns.length,
    states: automaton.states,
    representation: automaton.representation,
  });
  const state = new MatchState(automaton, patterns, keywordsOfPattern, excludePatterns, plain, regexes);
  return Object.freeze({
    stats,
    rejected: Object.freeze(rejected),
    match: (item: MatchItem) => state.match(item),
  });
}

const NO_KEYWORDS: readonly number[] = [];

/**
 * The matcher's scratch state, reused between calls (matching is synchronous, so calls
 * never overlap). "Seen in this text/item" is an epoch stamp rather than a set to clear.
 */
class MatchState {
  private readonly patternLength: Int32Array;
  private readonly keywordsOfPattern: (readonly number[])[];
  private readonly isExclude: Uint8Array;
  /** Per pattern: the text epoch in which it was last seen. */
  private readonly excludeSeen: Int32Array;
  /** Per plain keyword: the item epoch in which it matched; the text epoch in which it became a candidate. */
  private readonly matchedIn: Int32Array;
  private readonly candidateIn: Int32Array;
  private readonly regexMatchedIn: Int32Array;
  private textEpoch = 0;
  private itemEpoch = 0;
  /** Flat (keyword, start, end) triples, in lower-cased text coordinates. */
  private readonly candidates: number[] = [];
  private lowered = "";
  private subreddit = "";
  private readonly onHit: (state: number, end: number) => void;

  constructor(
    private readonly automaton: Automaton,
    patterns: readonly string[],
    keywordsOfPattern: readonly (number[] | undefined)[],
    excludePatterns: ReadonlySet<number>,
    private readonly plain: readonly PlainKeyword[],
    private readonly regexes: readonly RegexKeyword[],
  ) {
    this.patternLength = Int32Array.from(patterns, (pattern) => pattern.length);
    this.keywordsOfPattern = patterns.map((_, id) => keywordsOfPattern[id] ?? NO_KEYWORDS);
    this.isExclude = new Uint8Array(patterns.length);
    for (const id of excludePatterns) this.isExclude[id] = 1;
    this.excludeSeen = new Int32Array(patterns.length);
    this.matchedIn = new Int32Array(plain.length);
    this.candidateIn = new Int32Array(plain.length);
    this.regexMatchedIn = new Int32Array(regexes.length);
    this.onHit = (hitState, end) => this.hit(hitState, end);
  }

  match(item: MatchItem): MatchResult[] {
    const results: MatchResult[] = [];
    this.itemEpoch = this.nextEpoch(this.itemEpoch, [this.matchedIn, this.regexMatchedIn]);
    this.subreddit = item.subreddit.toLowerCase();
    for (let textIndex = 0; textIndex < item.texts.length; textIndex++) {
      const text = item.texts[textIndex]!;
      this.textEpoch = this.nextEpoch(this.textEpoch, [this.excludeSeen, this.candidateIn]);
      this.candidates.length = 0;
      this.lowered = text.toLowerCase();
      this.automaton.scan(this.lowered, this.onHit);
      // Only "İ" lower-cases to more than one code unit (two), so equal lengths mean equal offsets.
      const offsets = this.lowered.length === text.length ? null : loweredToOriginal(text);
      for (let c = 0; c < this.candidates.length; c += 3) {
        const keyword = this.plain[this.candidates[c]!]!;
        if (this.excluded(keyword.excludes)) continue;
        this.matchedIn[this.candidates[c]!] = this.itemEpoch;
        const start = this.candidates[c + 1]!;
        const end = this.candidates[c + 2]!;
        const offset = offsets === null ? start : offsets[start]!;
        const after = offsets === null ? end + 1 : offsets[end + 1] !== offsets[end] ? offsets[end + 1]! : offsets[end]! + 1;
        results.push(result(keyword.spec, text, textIndex, offset, after - offset));
      }
      for (let r = 0; r < this.regexes.length; r++) {
        const keyword = this.regexes[r]!;
        if (this.regexMatchedIn[r] === this.itemEpoch || !this.inScope(keyword.scope) || this.excluded(keyword.excludes)) continue;
        const found = firstNonEmptyMatch(keyword.regex, text);
        if (found === null) continue;
        this.regexMatchedIn[r] = this.itemEpoch;
        results.push(result(keyword.spec, text, textIndex, found.offset, found.length));
      }
    }
    // Stable: within one offset, keywords keep the order they were given in.
    return results.sort((a, b) => a.textIndex - b.textIndex || a.offset - b.offset);
  }

  /** Some pattern ends at `end` of the lower-cased text. */
  private hit(state: number, end: number): void {
    const { outOffsets, outPatterns } = this.automaton;
    for (let o = outOffsets[state]!; o < outOffsets[state + 1]!; o++) {
      const pattern = outPatterns[o]!;
      if (this.isExclude[pattern] === 1) this.excludeSeen[pattern] = this.textEpoch;
      const keywords = this.keywordsOfPattern[pattern]!;
      let start = -1;
      let wordBounded = -1;
      for (const k of keywords) {
        if (this.matchedIn[k] === this.itemEpoch || this.candidateIn[k] === this.textEpoch) continue;
        const keyword = this.plain[k]!;
        if (!this.inScope(keyword.scope)) continue;
        if (start < 0) start = startOf(this.lowered, end, this.patternLength[pattern]!);
        if (keyword.word) {
          if (wordBounded < 0) wordBounded = !isWordCharBefore(this.lowered, start) && !isWordCharAt(this.lowered, end + 1) ? 1 : 0;
          if (wordBounded === 0) continue;
        }
        this.candidateIn[k] = this.textEpoch;
        this.candidates.push(k, start, end);
      }
    }
  }

  private inScope(scope: ReadonlySet<string> | null): boolean {
    return scope === null || scope.has(this.subreddit);
  }

  /** Whether any of these exclude patterns occurs in the current text (valid once the text is scanned). */
  private excluded(excludes: readonly number[]): boolean {
    for (const id of excludes) if (this.excludeSeen[id] === this.textEpoch) return true;
    return false;
  }

  /** The next epoch; after 2^31 - 1 of them the stamps are cleared and counting starts again. */
  private nextEpoch(epoch: number, stamps: readonly Int32Array[]): number {
    if (epoch < 0x7fffffff) return epoch + 1;
    for (const stamp of stamps) stamp.fill(0);
    return 1;
  }
}

function result(spec: KeywordSpec, text: string, textIndex: number, offset: number, length: number): MatchResult {
  return {
    keywordId: spec.id,
    keywordText: spec.text,
    offset,
    length,
    textIndex,
    snippet: snippetAround(text, offset, length),
  };
}

/**
 * Where the occurrence ending at `end` starts, given its normalised length: walks back,
 * counting each whitespace run as one character (the pattern neither starts nor ends with one).
 */
function startOf(text: string, end: number, length: number): number {
  let index = end;
  for (let remaining = length; remaining > 1; remaining--) {
    if (isWhitespaceCode(text.charCodeAt(index))) {
      while (index > 0 && isWhitespaceCode(text.charCodeAt(index - 1))) index--;
    }
    index--;
  }
  return index;
}

/** For each code unit of `text.toLowerCase()` (and one past its end): the offset in `text` of the character it came from. */
function loweredToOriginal(text: string): Int32Array {
  const offsets: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    offsets.push(i);
    if (code === 0x130) offsets.push(i); // "İ" -> "i̇"
  }
  offsets.push(text.length);
  return Int32Array.from(offsets);
}

/** The first match of at least one character, or null; bounded by the text's length. */
function firstNonEmptyMatch(regex: RegExp, text: string): { offset: number; length: number } | null {
  regex.lastIndex = 0;
  while (regex.lastIndex <= text.length) {
    const found = regex.exec(text);
    if (found === null) return null;
    if (found[0].length > 0) return { offset: found.index, length: found[0].length };
    // Skip the empty match, by a whole code point (the regex has the u flag).
    regex.lastIndex = found.index + (isSurrogatePairAt(text, found.index) ? 2 : 1);
  }
  return null;
}

const WORD_CHARACTER = /^[\p{L}\p{M}\p{N}_]$/u;
/** Per BMP code point, filled as met: 0 not known yet, 1 word character, 2 not. */
const BMP_WORD = new Uint8Array(0x10000);

/** Word characters, for `word` keywords: Unicode letters, marks, numbers and "_". */
export function isWordCodePoint(codePoint: number): boolean {
  if (codePoint > 0xffff) return WORD_CHARACTER.test(String.fromCodePoint(codePoint));
  let known = BMP_WORD[codePoint]!;
  if (known === 0) {
    known = WORD_CHARACTER.test(String.fromCharCode(codePoint)) ? 1 : 2;
    BMP_WORD[codePoint] = known;
  }
  return known === 1;
}

function isSurrogatePairAt(text: string, index: number): boolean {
  const high = text.charCodeAt(index);
  const low = text.charCodeAt(index + 1);
  return high >= 0xd800 && high <= 0xdbff && low >= 0xdc00 && low <= 0xdfff;
}

function isWordCharAt(text: string, index: number): boolean {
  return index < text.length && isWordCodePoint(text.codePointAt(index)!);
}

function isWordCharBefore(text: string, index: number): boolean {
  if (index <= 0) return false;
  const start = index >= 2 && isSurrogatePairAt(text, index - 2) ? index - 2 : index - 1;
  return isWordCodePoint(text.codePointAt(start)!);
}

/**
 * The text around an occurrence for a mention: up to `radius` code units either side, cut
 * just after/before whitespace when there is some in the margin (otherwise mid-word, never
 * inside a surrogate pair), whitespace runs shown as one space, "…" where text was cut.
 */
export function snippetAround(text: string, offset: number, length: number, radius = SNIPPET_RADIUS): string {
  const end = offset + length;
  let from = Math.max(0, offset - radius);
  let to = Math.min(text.length, end + radius);
  if (from > 0) {
    let cut = -1;
    for (let i = from; i < offset; i++) {
      if (isWhitespaceCode(text.charCodeAt(i))) {
        cut = i + 1;
        break;
      }
    }
    if (cut >= 0) from = cut;
    else if (from < offset && isSurrogatePairAt(text, from - 1)) from++;
  }
  if (to < text.length) {
    let cut = -1;
    for (let i = to - 1; i >= end; i--) {
      if (isWhitespaceCode(text.charCodeAt(i))) {
        cut = i;
        break;
      }
    }
    if (cut >= 0) to = cut;
    else if (to > end && isSurrogatePairAt(text, to - 1)) to--;
  }
  let core = text.slice(from, to);
  if (UNTIDY_WHITESPACE.test(core)) core = core.replace(/\s+/g, " ").trim();
  return `${hasNonWhitespace(text, 0, from) ? "…" : ""}${core}${hasNonWhitespace(text, to, text.length) ? "…" : ""}`;
}

/** Whitespace other than single spaces between words: the snippet shows it as one space. */
const UNTIDY_WHITESPACE = /^\s|\s$|\s\s|[^\S ]/;

function hasNonWhitespace(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isWhitespaceCode(text.charCodeAt(i))) return true;
  return false;
}
