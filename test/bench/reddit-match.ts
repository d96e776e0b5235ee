/**
 * Reddit keyword matching benchmark: comments per second matched by the compiled matcher
 * (`plugins/reddit/src/matcher.ts`, one Aho–Corasick automaton for all keywords) against
 * 1, 100, 1,000 and 10,000 keywords (phrase/word mix, a fifth scoped to subreddits), over
 * realistic generated comments (10–60 words, punctuation, capitals, links, about one in
 * ten mentioning a keyword, a fifth of those glued to a suffix). Baseline, measured in the same run: one case-insensitive
 * RegExp per keyword (same semantics: `iu`, whitespace runs, Unicode word boundaries for
 * `word` keywords) tested against each comment. Runs alternate A B, B A, ….
 *
 * The baseline's work grows with keywords × comments, so each baseline run tests at most
 * BENCH_BASELINE_TESTS regexes: at 1,000 and 10,000 keywords it runs on an evenly spaced
 * sample of the comments (printed as `baseline_comments`) and its comments/s is that
 * sample's count over its time. That extrapolates honestly because every comment costs the
 * baseline the same work (every regex on the whole comment), whichever comments are taken.
 * Both sides must find the same keyword ids in the sampled comments, or the bench fails.
 *
 * Also `compile_ms_10000_keywords`: compiling 10,000 keywords, as the agent does on every keyword change.
 *
 * Knobs: BENCH_COMMENTS (50000), BENCH_REPEATS (5), BENCH_BASELINE_TESTS (5000000),
 * BENCH_SEED (1).
 */
import { compileMatcher, type KeywordSpec, type Matcher } from "../../plugins/reddit/src/matcher.js";
import { formatCount, printFigures, progress, spread, type Figure } from "./support/figures.js";
import { envInt } from "./support/knobs.js";
import { seededRandom } from "../support/random.js";

const BENCH = "reddit-match";
const COMMENTS = envInt("BENCH_COMMENTS", 50_000);
const REPEATS = envInt("BENCH_REPEATS", 5);
const BASELINE_TESTS = envInt("BENCH_BASELINE_TESTS", 5_000_000);
const SEED = envInt("BENCH_SEED", 1);
const SIZES: readonly { keywords: number; metric: string }[] = [
  { keywords: 1, metric: "comments_per_s_1_keywords" },
  { keywords: 100, metric: "comments_per_s_100_keywords" },
  { keywords: 1_000, metric: "comments_per_s_1000_keywords" },
  { keywords: 10_000, metric: "comments_per_s_10000_keywords" },
];
const MAX_KEYWORDS = 10_000;
const VOCABULARY = 5_000;
const SUBREDDITS = ["programming", "rust", "node", "typescript", "webdev", "devops", "sysadmin", "selfhosted", "linux", "technology", "startups", "smallbusiness", "marketing", "gaming", "pcgaming", "buildapc", "askreddit", "worldnews", "europe", "france"];
const HIT_RATE = 0.1;

const random = seededRandom;

const next = random(SEED);
const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
const SYLLABLES = ["ka", "lo", "mi", "ne", "ra", "to", "su", "vi", "de", "po", "an", "er", "in", "on", "st", "th", "ch", "ar", "el", "us", "ix", "or", "ble", "ing", "tion", "é", "ü"];
/** Only names use these (letters the words never hold), so keywords are as rare in comments as real product names. */
const NAME_SYLLABLES = ["za", "zo", "qua", "qui", "yo", "ya", "wa", "we", "fi", "fu", "ju", "jo", "zy", "fy", "wy"];

function pseudoWord(syllables: number): string {
  let word = "";
  for (let i = 0; i < syllables; i++) word += pick(SYLLABLES);
  return word;
}

/** A product or project name: ordinary syllables around at least one name syllable. */
function pseudoName(syllables: number): string {
  const marked = Math.floor(next() * syllables);
  let name = "";
  for (let i = 0; i < syllables; i++) name += i === marked ? pick(NAME_SYLLABLES) : pick(SYLLABLES);
  return name;
}

/** Word rank r is drawn with probability ~ 1/r (Zipf), like words in real comments. */
function zipfIndex(size: number): number {
  return Math.min(size - 1, Math.floor(Math.exp(next() * Math.log(size + 1))) - 1);
}

function withCase(text: string): string {
  const roll = next();
  if (roll < 0.6) return text;
  if (roll < 0.9) return text.charAt(0).toUpperCase() + text.slice(1);
  return text.toUpperCase();
}

function makeVocabulary(): string[] {
  const common = ["the", "a", "to", "and", "of", "is", "it", "i", "you", "that", "in", "for", "this", "but", "not", "with", "on", "was", "have", "just", "like", "be", "my", "so", "they", "are", "if", "what", "at", "or"];
  const words = new Set(common);
  for (let guard = 0; words.size < VOCABULARY && guard < VOCABULARY * 20; guard++) words.add(pseudoWord(1 + Math.floor(next() * 3)));
  return [...words];
}

function makeKeywords(vocabulary: readonly string[]): KeywordSpec[] {
  const texts = new Set<string>();
  for (let guard = 0; texts.size < MAX_KEYWORDS && guard < MAX_KEYWORDS * 20; guard++) {
    const roll = next();
    // Names, two-word phrases (an ordinary word and a name), and names with digits.
    const text =
      roll < 0.5 ? pseudoName(2 + Math.floor(next() * 3)) : roll < 0.85 ? `${pick(vocabulary)} ${pseudoName(1 + Math.floor(next() * 2))}` : `${pseudoName(2)}${Math.floor(next() * 1000)}`;
    texts.add(text);
  }
  if (texts.size < MAX_KEYWORDS) throw new Error(`only ${texts.size} distinct keyword texts could be generated`);
  return [...texts].map((text, i) => ({
    id: `kw-${i}`,
    text: withCase(text),
    mode: next() < 0.5 ? "phrase" : "word",
    subreddits: next() < 0.8 ? "all" : [pick(SUBREDDITS), pick(SUBREDDITS)],
    exclude: [],
    active: true,
  }));
}

interface Comment {
  subreddit: string;
  texts: string[];
}

function makeComments(vocabulary: readonly string[], keywords: readonly KeywordSpec[]): Comment[] {
  const comments: Comment[] = [];
  for (let c = 0; c < COMMENTS; c++) {
    const words = 10 + Math.floor(next() * 51);
    const parts: string[] = [];
    let sentenceStart = true;
    for (let w = 0; w < words; w++) {
      let word = vocabulary[zipfIndex(vocabulary.length)]!;
      if (next() < 0.01) word = `https://example.com/${pseudoWord(3)}`;
      if (sentenceStart) word = word.charAt(0).toUpperCase() + word.slice(1);
      sentenceStart = false;
      const roll = next();
      if (roll < 0.08) {
        word += pick([".", "!", "?"]);
        sentenceStart = true;
      } else if (roll < 0.14) {
        word += ",";
      }
      parts.push(word);
    }
    // Mentions: keywords drawn log-uniformly, so the small sets get hits too; some
    // glued to a suffix, which `word` keywords must not match.
    if (next() < HIT_RATE) {
      const keyword = keywords[zipfIndex(keywords.length)]!;
      const mention = `${next() < 0.8 ? keyword.text : keyword.text.toUpperCase()}${next() < 0.2 ? "s" : ""}`;
      parts.splice(Math.floor(next() * parts.length), 0, mention);
    }
    comments.push({ subreddit: pick(SUBREDDITS), texts: [parts.join(next() < 0.05 ? "\n" : " ")] });
  }
  return comments;
}

/** The baseline: one case-insensitive RegExp per keyword, with the matcher's semantics. */
interface BaselineKeyword {
  id: string;
  regex: RegExp;
  scope: ReadonlySet<string> | null;
}

function compileBaseline(keywords: readonly KeywordSpec[]): BaselineKeyword[] {
  const word = "[\\p{L}\\p{M}\\p{N}_]";
  return keywords.map((keyword) => {
    const body = keyword.text
      .trim()
      .split(/\s+/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      .join("\\s+");
    const source = keyword.mode === "word" ? `(?<!${word})${body}(?!${word})` : body;
    return {
      id: keyword.id,
      regex: new RegExp(source, "iu"),
      scope: keyword.subreddits === "all" ? null : new Set(keyword.subreddits.map((name) => name.toLowerCase())),
    };
  });
}

/** Keyword ids found per comment: a checksum both sides must agree on. */
function runMatcher(matcher: Matcher, comments: readonly Comment[]): number {
  let found = 0;
  for (const comment of comments) found += matcher.match(comment).length;
  return found;
}

function runBaseline(baseline: readonly BaselineKeyword[], comments: readonly Comment[]): number {
  let found = 0;
  for (const comment of comments) {
    const subreddit = comment.subreddit.toLowerCase();
    for (const keyword of baseline) {
      if (keyword.scope !== null && !keyword.scope.has(subreddit)) continue;
      for (const text of comment.texts) {
        if (keyword.regex.test(text)) {
          found++;
          break;
        }
      }
    }
  }
  return found;
}

/** Comments per second of one timed run. */
function timed(run: () => number, comments: number): { perS: number; found: number } {
  const start = process.hrtime.bigint();
  const found = run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return { perS: comments / seconds, found };
}

/** Every `step`-th comment, so the sample spreads over the whole set. */
function sample(comments: readonly Comment[], size: number): Comment[] {
  if (size >= comments.length) return [...comments];
  const step = comments.length / size;
  return Array.from({ length: size }, (_, i) => comments[Math.floor(i * step)]!);
}

function main(): void {
  const vocabulary = makeVocabulary();
  const allKeywords = makeKeywords(vocabulary);
  const comments = makeComments(vocabulary, allKeywords);
  const characters = comments.reduce((sum, comment) => sum + comment.texts[0]!.length, 0);
  progress(`${formatCount(comments.length)} comments, ${formatCount(characters / comments.length)} characters on average; ${REPEATS} runs of each side per size`);
  const figures: Figure[] = [];

  for (const size of SIZES) {
    const keywords = allKeywords.slice(0, size.keywords);
    const matcher = compileMatcher(keywords);
    const baseline = compileBaseline(keywords);
    const baselineComments = sample(comments, Math.max(1, Math.min(comments.length, Math.floor(BASELINE_TESTS / size.keywords))));
    // Warm both up (JIT), and check they agree on the comments the baseline sees.
    const expected = runBaseline(baseline, baselineComments);
    const got = runMatcher(matcher, baselineComments);
    if (got !== expected) throw new Error(`${size.keywords} keywords: the matcher found ${got} keyword mentions, the baseline ${expected}`);
    runMatcher(matcher, comments);
    const { states, representation } = matcher.stats;
    progress(`${formatCount(size.keywords)} keywords: automaton of ${formatCount(states)} states (${representation}); baseline on ${formatCount(baselineComments.length)} comments, ${formatCount(expected)} mentions there`);

    const contender: number[] = [];
    const reference: number[] = [];
    for (let run = 0; run < REPEATS; run++) {
      const a = () => contender.push(timed(() => runMatcher(matcher, comments), comments.length).perS);
      const b = () => reference.push(timed(() => runBaseline(baseline, baselineComments), baselineComments.length).perS);
      if (run % 2 === 0) {
        a();
        b();
      } else {
        b();
        a();
      }
      progress(`  run ${run + 1}: matcher ${formatCount(contender.at(-1)!)} comments/s, baseline ${formatCount(reference.at(-1)!)} comments/s`);
    }
    const ours = spread(contender);
    const theirs = spread(reference);
    figures.push({
      bench: BENCH,
      metric: size.metric,
      value: Math.round(ours.value),
      unit: "comments/s",
      baseline: Math.round(theirs.value),
      ratio: Number((ours.value / theirs.value).toFixed(2)),
      min: Math.round(ours.min),
      max: Math.round(ours.max),
      baseline_min: Math.round(theirs.min),
      baseline_max: Math.round(theirs.max),
      baseline_comments: baselineComments.length,
    });
  }

  // Compiling all 10,000 keywords: warm once, then time each repeat.
  compileMatcher(allKeywords);
  const compileMs: number[] = [];
  for (let run = 0; run < REPEATS; run++) {
    const start = process.hrtime.bigint();
    compileMatcher(allKeywords);
    compileMs.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const compile = spread(compileMs);
  progress(`compiling ${formatCount(MAX_KEYWORDS)} keywords: ${compile.value.toFixed(1)} ms (min ${compile.min.toFixed(1)}, max ${compile.max.toFixed(1)})`);
  figures.push({ bench: BENCH, metric: "compile_ms_10000_keywords", value: Number(compile.value.toFixed(2)), unit: "ms", min: Number(compile.min.toFixed(2)), max: Number(compile.max.toFixed(2)) });

  printFigures(figures);
}

main();
