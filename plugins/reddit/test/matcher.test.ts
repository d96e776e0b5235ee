import { describe, expect, it } from "vitest";
import { compileMatcher, snippetAround, validateKeyword, type KeywordSpec, type MatchResult } from "../src/matcher.js";
import { seededRandom } from "../../../test/support/random.js";

function keyword(id: string, text: string, extra: Partial<KeywordSpec> = {}): KeywordSpec {
  return { id, text, mode: "phrase", subreddits: "all", exclude: [], active: true, ...extra };
}

/** The ids found in one text posted to r/test. */
function idsIn(keywords: KeywordSpec[], text: string, subreddit = "test"): string[] {
  return compileMatcher(keywords)
    .match({ subreddit, texts: [text] })
    .map((found) => found.keywordId);
}

/** What each result points at in its text. */
function matchedTexts(results: MatchResult[], texts: string[]): string[] {
  return results.map((found) => texts[found.textIndex]!.slice(found.offset, found.offset + found.length));
}

describe("phrase keywords", () => {
  it("match anywhere, case-insensitively, including inside words", () => {
    const texts = ["I CONCATENATE strings"];
    const results = compileMatcher([keyword("k1", "Cat")]).match({ subreddit: "test", texts });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ keywordId: "k1", keywordText: "Cat", textIndex: 0, offset: 5, length: 3 });
    expect(matchedTexts(results, texts)).toEqual(["CAT"]);
  });

  it("compare Unicode letters case-insensitively: Café finds CAFÉ and café, not cafe", () => {
    expect(idsIn([keyword("k", "Café")], "Best CAFÉ in town")).toEqual(["k"]);
    expect(idsIn([keyword("k", "Café")], "best café in town")).toEqual(["k"]);
    expect(idsIn([keyword("k", "Café")], "best cafe in town")).toEqual([]);
    expect(idsIn([keyword("k", "ΟΔΟΣ")], "στην οδος")).toEqual(["k"]);
    expect(idsIn([keyword("k", "straße")], "STRASSE oder Straße")).toEqual(["k"]);
  });

  it("treat any whitespace run as one space, in the text and in the keyword", () => {
    const texts = ["moving to New\n\t  York soon"];
    const results = compileMatcher([keyword("k", "  new   york ")]).match({ subreddit: "test", texts });
    expect(matchedTexts(results, texts)).toEqual(["New\n\t  York"]);
    expect(idsIn([keyword("k", "new york")], "newyork")).toEqual([]);
  });

  it("report offsets in the original text when lower-casing changes its length", () => {
    const texts = ["İİ İstanbul is big"];
    const results = compileMatcher([keyword("k", "stanbul is")]).match({ subreddit: "test", texts });
    expect(matchedTexts(results, texts)).toEqual(["stanbul is"]);
  });

  it("find overlapping keywords, each once, at its first occurrence", () => {
    const texts = ["york, then new york and new york again"];
    const results = compileMatcher([keyword("ny", "new york"), keyword("y", "york"), keyword("w", "w y")]).match({ subreddit: "test", texts });
    expect(results.map((found) => [found.keywordId, found.offset])).toEqual([
      ["y", 0],
      ["ny", 11],
      ["w", 13],
    ]);
  });

  it("let several keywords share a text, each reported", () => {
    const results = compileMatcher([keyword("a", "rust"), keyword("b", "RUST")]).match({ subreddit: "test", texts: ["I like rust"] });
    expect(results.map((found) => found.keywordId)).toEqual(["a", "b"]);
  });
});

describe("word keywords", () => {
  it("match only at word boundaries", () => {
    const cat = [keyword("w", "cat", { mode: "word" })];
    expect(idsIn(cat, "concatenate")).toEqual([]);
    expect(idsIn(cat, "cats")).toEqual([]);
    expect(idsIn(cat, "my_cat")).toEqual([]);
    expect(idsIn(cat, "cat2")).toEqual([]);
    expect(idsIn(cat, "the cat.")).toEqual(["w"]);
    expect(idsIn(cat, "(CAT)")).toEqual(["w"]);
    expect(idsIn(cat, "cat")).toEqual(["w"]);
    expect(idsIn(cat, "chat-cat")).toEqual(["w"]);
  });

  it("count Unicode letters, marks and numbers as word characters", () => {
    const cafe = [keyword("w", "café", { mode: "word" })];
    expect(idsIn(cafe, "CAFÉ!")).toEqual(["w"]);
    expect(idsIn(cafe, "cafés")).toEqual([]);
    expect(idsIn(cafe, "écafé")).toEqual([]);
    expect(idsIn([keyword("w", "cafe", { mode: "word" })], "cafe\u0301")).toEqual([]);
    expect(idsIn([keyword("w", "naïve", { mode: "word" })], "naïve٣")).toEqual([]);
    expect(idsIn([keyword("w", "東京", { mode: "word" })], "東京都")).toEqual([]);
    expect(idsIn([keyword("w", "東京", { mode: "word" })], "東京。")).toEqual(["w"]);
  });

  it("use a later occurrence when the first is inside a word", () => {
    const texts = ["concatenate the cat"];
    const results = compileMatcher([keyword("w", "cat", { mode: "word" }), keyword("p", "cat")]).match({ subreddit: "test", texts });
    expect(results.map((found) => [found.keywordId, found.offset])).toEqual([
      ["p", 3],
      ["w", 16],
    ]);
  });

  it("check boundaries around keywords that start or end with punctuation", () => {
    const cpp = [keyword("w", "c++", { mode: "word" })];
    expect(idsIn(cpp, "I write C++ daily")).toEqual(["w"]);
    expect(idsIn(cpp, "abc++")).toEqual([]);
    expect(idsIn(cpp, "c++x")).toEqual([]);
  });
});

describe("regex keywords", () => {
  it("match case-insensitively with Unicode semantics", () => {
    const texts = ["Ship it: VIGIL-123 and vigil-9"];
    const results = compileMatcher([keyword("r", "vigil-\\d+", { mode: "regex" })]).match({ subreddit: "test", texts });
    expect(matchedTexts(results, texts)).toEqual(["VIGIL-123"]);
    expect(idsIn([keyword("r", "\\p{Lu}af\\u00e9", { mode: "regex" })], "CAFÉ")).toEqual(["r"]);
  });

  it("skip matches of no characters", () => {
    const texts = ["xx abc"];
    const results = compileMatcher([keyword("r", "(?<=x)|abc", { mode: "regex" })]).match({ subreddit: "test", texts });
    expect(matchedTexts(results, texts)).toEqual(["abc"]);
  });

  it("honour exclude terms and scope like the other modes", () => {
    const spec = keyword("r", "v\\d", { mode: "regex", exclude: ["beta"], subreddits: ["Rust"] });
    expect(idsIn([spec], "v1 beta", "rust")).toEqual([]);
    expect(idsIn([spec], "v1", "RUST")).toEqual(["r"]);
    expect(idsIn([spec], "v1", "golang")).toEqual([]);
  });
});

describe("exclude terms", () => {
  const apple = keyword("a", "apple", { exclude: ["Apple Pie", "  fruit  salad "] });

  it("stop a keyword from matching a text that contains any of them, before or after", () => {
    expect(idsIn([apple], "new apple laptop")).toEqual(["a"]);
    expect(idsIn([apple], "grandma's APPLE PIE")).toEqual([]);
    expect(idsIn([apple], "apple in a fruit\nsalad")).toEqual([]);
    expect(idsIn([apple], "fruit salad, then apple")).toEqual([]);
  });

  it("apply per text: another text of the item still matches", () => {
    const texts = ["apple pie recipe", "the apple keynote"];
    const results = compileMatcher([apple]).match({ subreddit: "test", texts });
    expect(results.map((found) => [found.textIndex, found.offset])).toEqual([[1, 4]]);
  });

  it("only affect the keyword they belong to", () => {
    expect(idsIn([apple, keyword("b", "apple")], "apple pie")).toEqual(["b"]);
  });

  it("also work when an exclude term is another keyword's text", () => {
    expect(idsIn([keyword("a", "apple", { exclude: ["pie"] }), keyword("p", "pie")], "apple pie")).toEqual(["p"]);
  });
});

describe("scope and state", () => {
  it("limit keywords to their subreddits, compared case-insensitively", () => {
    const keywords = [keyword("scoped", "rust", { subreddits: ["Rust", "programming"] }), keyword("all", "rust")];
    expect(idsIn(keywords, "rust", "rust")).toEqual(["scoped", "all"]);
    expect(idsIn(keywords, "rust", "PROGRAMMING")).toEqual(["scoped", "all"]);
    expect(idsIn(keywords, "rust", "golang")).toEqual(["all"]);
    expect(idsIn([keyword("none", "rust", { subreddits: [] })], "rust", "rust")).toEqual([]);
  });

  it("never match inactive keywords, nor their exclude terms", () => {
    const keywords = [keyword("off", "rust", { active: false }), keyword("off2", "x", { active: false, exclude: ["rust"] }), keyword("on", "rust")];
    expect(idsIn(keywords, "rust")).toEqual(["on"]);
    expect(compileMatcher(keywords).stats.keywords).toBe(1);
  });

  it("report one result per keyword per item, the first text's occurrence", () => {
    const texts = ["nothing here", "a rust post", "rust again"];
    const results = compileMatcher([keyword("k", "rust")]).match({ subreddit: "test", texts });
    expect(results.map((found) => [found.textIndex, found.offset])).toEqual([[1, 2]]);
  });

  it("leave out keywords validateKeyword refuses, and name them", () => {
    const matcher = compileMatcher([keyword("bad", "(", { mode: "regex" }), keyword("empty", "  "), keyword("ok", "fine")]);
    expect(matcher.rejected.map((rejected) => rejected.id)).toEqual(["bad", "empty"]);
    expect(matcher.match({ subreddit: "test", texts: ["fine ("] }).map((found) => found.keywordId)).toEqual(["ok"]);
  });

  it("is immutable and independent of later changes to the specs", () => {
    const spec = keyword("k", "rust");
    const matcher = compileMatcher([spec]);
    spec.text = "go";
    spec.active = false;
    expect(matcher.match({ subreddit: "x", texts: ["rust"] }).map((found) => found.keywordId)).toEqual(["k"]);
    expect(Object.isFrozen(matcher)).toBe(true);
    expect(() => {
      (matcher as { match: unknown }).match = () => [];
    }).toThrow();
  });

  it("matches nothing with no keywords, and handles empty texts", () => {
    expect(compileMatcher([]).match({ subreddit: "x", texts: ["anything"] })).toEqual([]);
    expect(compileMatcher([keyword("k", "a")]).match({ subreddit: "x", texts: ["", "A"] })).toHaveLength(1);
  });
});

describe("snippets", () => {
  const words = Array.from({ length: 40 }, (_, i) => `word${i}`);

  it("show the whole text when it is short", () => {
    const results = compileMatcher([keyword("k", "rust")]).match({ subreddit: "x", texts: ["  I like\n\nRust a lot  "] });
    expect(results[0]!.snippet).toBe("I like Rust a lot");
  });

  it("cut about 60 characters either side, at whitespace, with … marks", () => {
    const text = `${words.slice(0, 20).join(" ")} MATCH ${words.slice(20).join(" ")}`;
    const offset = text.indexOf("MATCH");
    const snippet = snippetAround(text, offset, 5);
    expect(snippet.startsWith("…word")).toBe(true);
    expect(snippet.endsWith("…")).toBe(true);
    expect(snippet).toContain("MATCH");
    const core = snippet.slice(1, -1);
    expect(text).toContain(core);
    // Whole words only, within the 60-character margins.
    expect(core.split(" ").every((part) => part === "MATCH" || words.includes(part))).toBe(true);
    expect(core.indexOf("MATCH")).toBeLessThanOrEqual(60);
    expect(core.length - core.indexOf("MATCH") - 5).toBeLessThanOrEqual(60);
    expect(core.indexOf("MATCH")).toBeGreaterThan(45);
  });

  it("mark only the side that was cut", () => {
    const text = `MATCH ${words.join(" ")}`;
    const snippet = snippetAround(text, 0, 5);
    expect(snippet.startsWith("MATCH word0")).toBe(true);
    expect(snippet.endsWith("…")).toBe(true);
  });

  it("cut inside a long word when there is no whitespace, never inside a surrogate pair", () => {
    const url = `https://example.com/${"x".repeat(100)}`;
    const snippet = snippetAround(`${url}MATCH${url}`, url.length, 5);
    expect(snippet).toBe(`…${url.slice(-60)}MATCH${url.slice(0, 60)}…`);
    const emoji = "😀".repeat(50);
    const around = snippetAround(`${emoji}MATCH${emoji}`, emoji.length, 5);
    expect(around.includes("\ufffd")).toBe(false);
    expect([...around].every((character) => character.length === 2 || /[A-Z…]/.test(character))).toBe(true);
  });
});

describe("validateKeyword", () => {
  it("accepts ordinary keywords", () => {
    expect(validateKeyword("new york", "phrase")).toBeNull();
    expect(validateKeyword("cat", "word")).toBeNull();
    expect(validateKeyword("vigil-\\d+", "regex")).toBeNull();
    expect(validateKeyword("é".repeat(200), "phrase")).toBeNull();
  });

  it("explains what is wrong", () => {
    expect(validateKeyword("", "phrase")).toBe("keyword text is empty");
    expect(validateKeyword(" \n ", "word")).toBe("keyword text is empty");
    expect(validateKeyword("a".repeat(201), "phrase")).toBe("keyword text is 201 characters long, at most 200 are allowed");
    expect(validateKeyword("(abc", "regex")).toBe("invalid regular expression: Unterminated group");
    expect(validateKeyword("\\p{Nope}", "regex")).toBe("invalid regular expression: Invalid property name");
    expect(validateKeyword("a*", "regex")).toBe("regular expression matches empty text: it would match every post and comment");
    expect(validateKeyword("x", "glob" as never)).toBe('mode must be "phrase", "word" or "regex", got "glob"');
  });

  it("accepts in phrase mode what would be an invalid regex", () => {
    expect(validateKeyword("(abc", "phrase")).toBeNull();
  });
});

const random = seededRandom;

const WORD_CHARACTER = "[\\p{L}\\p{M}\\p{N}_]";

/** The matcher's semantics written the slow, obvious way: one regex per keyword on the whitespace-normalised text. */
function referenceIds(keywords: KeywordSpec[], subreddit: string, texts: string[]): Set<string> {
  const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const normalize = (text: string) => text.trim().replace(/\s+/g, " ");
  const ids = new Set<string>();
  for (const spec of keywords) {
    if (!spec.active) continue;
    if (spec.subreddits !== "all" && !spec.subreddits.some((name) => name.toLowerCase() === subreddit.toLowerCase())) continue;
    const body = escape(normalize(spec.text));
    const pattern = spec.mode === "word" ? new RegExp(`(?<!${WORD_CHARACTER})${body}(?!${WORD_CHARACTER})`, "iu") : new RegExp(body, "iu");
    const excludes = spec.exclude.map((term) => new RegExp(escape(normalize(term)), "iu"));
    for (const text of texts) {
      const normalized = text.replace(/\s+/g, " ");
      if (pattern.test(normalized) && !excludes.some((exclude) => exclude.test(normalized))) ids.add(spec.id);
    }
  }
  return ids;
}

describe("equivalence with one regex per keyword", () => {
  const PIECES = ["ca", "t", "cat", "new", "york", "café", "CAFÉ", "Caf", "é", "σ", "Σ", "ς", "_", "1", "a", "ab", "b"];
  const SEPARATORS = [" ", " ", " ", "  ", "\n", "\t ", "-", ".", "", ""];

  function text(next: () => number, pieces: number): string {
    let out = "";
    for (let i = 0; i < pieces; i++) {
      out += PIECES[Math.floor(next() * PIECES.length)]!;
      out += SEPARATORS[Math.floor(next() * SEPARATORS.length)]!;
    }
    return out;
  }

  for (const [representation, maxTableCells] of [
    ["dense", undefined],
    ["sparse", 0],
  ] as const) {
    it(`finds exactly the keywords the reference finds (${representation} automaton)`, () => {
      const next = random(representation === "dense" ? 1 : 2);
      let items = 0;
      let itemsMatched = 0;
      for (let round = 0; round < 200; round++) {
        const keywords: KeywordSpec[] = Array.from({ length: 1 + Math.floor(next() * 12) }, (_, i) => {
          const kwText = text(next, 1 + Math.floor(next() * 3));
          return {
            id: `k${i}`,
            text: kwText.trim() === "" ? "cat" : kwText,
            mode: next() < 0.5 ? "word" : "phrase",
            subreddits: next() < 0.8 ? "all" : next() < 0.5 ? ["Sub"] : ["other"],
            exclude: next() < 0.2 ? [text(next, 1).trim() || "york"] : [],
            active: next() < 0.95,
          };
        });
        const matcher = compileMatcher(keywords, maxTableCells === undefined ? {} : { maxTableCells });
        expect(matcher.stats.representation).toBe(representation);
        for (let item = 0; item < 10; item++) {
          const texts = Array.from({ length: 1 + Math.floor(next() * 2) }, () => text(next, 2 + Math.floor(next() * 12)));
          const subreddit = next() < 0.5 ? "sub" : "misc";
          const results = matcher.match({ subreddit, texts });
          items++;
          if (results.length > 0) itemsMatched++;
          const context = JSON.stringify({ keywords, texts, subreddit });
          expect(new Set(results.map((found) => found.keywordId)), context).toEqual(referenceIds(keywords, subreddit, texts));
          expect(results.length, context).toBe(new Set(results.map((found) => found.keywordId)).size);
          // Each result points at its keyword, modulo case and whitespace.
          for (const found of results) {
            const spec = keywords.find((candidate) => candidate.id === found.keywordId)!;
            const matched = texts[found.textIndex]!.slice(found.offset, found.offset + found.length);
            expect(matched.replace(/\s+/g, " ").toLowerCase().replaceAll("ς", "σ"), context).toBe(
              spec.text.trim().replace(/\s+/g, " ").toLowerCase().replaceAll("ς", "σ"),
            );
          }
        }
      }
      // Not vacuous: plenty of items match something, plenty match nothing.
      expect(itemsMatched / items).toBeGreaterThan(0.2);
      expect(itemsMatched / items).toBeLessThan(0.9);
    });
  }
});
