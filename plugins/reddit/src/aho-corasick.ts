/**
 * An Aho–Corasick automaton over UTF-16 code units, used by the keyword matcher: one pass
 * over a text finds every occurrence of every pattern, at a cost per character that does
 * not depend on how many patterns there are.
 *
 * Patterns arrive already normalised (lower-cased, whitespace runs as one space, final
 * sigma folded to σ: see `normalizePattern` in matcher.ts), and the text given to `scan`
 * must be lower-cased. The scan itself treats every whitespace code unit as a space and a
 * run of them as one, so texts need no other preparation and offsets stay those of the text.
 *
 * Characters are mapped to classes first: one class per code unit that occurs in some
 * pattern, class 1 for whitespace, class 0 for everything else (which always leads back to
 * the root). When states × classes fits `maxTableCells`, the automaton is a dense DFA (one
 * array read per character); otherwise (patterns in many scripts, so thousands of classes)
 * it keeps the trie's own transitions and follows failure links, which is slower per
 * character but still independent of the number of patterns.
 */

/** The class of every character no pattern contains: it always leads back to the root. */
const OTHER = 0;
/** The class of whitespace: a run of whitespace in the text is fed to the automaton as one. */
export const SPACE_CLASS = 1;

/** JavaScript's `\s`: what the text normalisation collapses into one space. */
const WHITESPACE = [
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
  0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
];
const FINAL_SIGMA = 0x3c2;
const SIGMA = 0x3c3;

/** 256 KiB, shared by every automaton: which code units are whitespace. */
const IS_WHITESPACE = new Uint8Array(0x10000);
for (const code of WHITESPACE) IS_WHITESPACE[code] = 1;

export function isWhitespaceCode(code: number): boolean {
  return IS_WHITESPACE[code] === 1;
}

/** Called for each position where at least one pattern ends: `end` is the index of its last code unit. */
export type HitHandler = (state: number, end: number) => void;

export interface Automaton {
  readonly states: number;
  readonly classes: number;
  /** "dense" (one table read per character) or "sparse" (trie transitions and failure links). */
  readonly representation: "dense" | "sparse";
  /** The patterns that end in `state`, longest first: `outPatterns[outOffsets[state] .. outOffsets[state + 1])`. */
  readonly outOffsets: Int32Array;
  readonly outPatterns: Int32Array;
  /** Feeds a lower-cased text through the automaton, calling `onHit` wherever a pattern ends. */
  scan(text: string, onHit: HitHandler): void;
}

export interface BuildOptions {
  /** Largest dense transition table (states × classes) before falling back to the sparse form. */
  maxTableCells: number;
}

/**
 * Builds the automaton. `patterns[i]` is reported as pattern id i; patterns must be
 * non-empty, distinct, and must not start or end with a space nor hold two in a row.
 */
export function buildAutomaton(patterns: readonly string[], options: BuildOptions): Automaton {
  // Character classes: 0 other, 1 whitespace, then one per code unit seen in a pattern.
  const classOf = new Uint32Array(0x10000);
  for (const code of WHITESPACE) classOf[code] = SPACE_CLASS;
  let classes = 2;
  for (const pattern of patterns) {
    for (let i = 0; i < pattern.length; i++) {
      const code = pattern.charCodeAt(i);
      if (classOf[code] === OTHER) classOf[code] = classes++;
    }
  }
  // A lower-cased text keeps a final sigma (ς) where the pattern was folded to σ.
  if (classOf[SIGMA] !== OTHER) classOf[FINAL_SIGMA] = classOf[SIGMA]!;

  // The trie: state 0 is the root; children per state as class → state.
  const children: Map<number, number>[] = [new Map()];
  const own: number[] = [-1];
  /** States whose string ends in a space, and the root: a further space leaves them where they are. */
  const spaceLoops: number[] = [0];
  for (let id = 0; id < patterns.length; id++) {
    const pattern = patterns[id]!;
    let state = 0;
    for (let i = 0; i < pattern.length; i++) {
      const cls = classOf[pattern.charCodeAt(i)]!;
      const next = children[state]!.get(cls);
      if (next !== undefined) {
        state = next;
      } else {
        const created = children.length;
        children.push(new Map());
        own.push(-1);
        children[state]!.set(cls, created);
        if (cls === SPACE_CLASS) spaceLoops.push(created);
        state = created;
      }
    }
    own[state] = id;
  }
  const states = children.length;
  const dense = states * classes <= Math.min(options.maxTableCells, 2 ** 30);

  // Breadth first, so every state's failure target (shallower) is complete before it is used.
  const fail = new Int32Array(states);
  const delta = dense ? new Int32Array(states * classes) : undefined;
  const outputs: (readonly number[])[] = new Array<readonly number[]>(states);
  const none: readonly number[] = [];
  outputs[0] = none;
  const queue = new Int32Array(states);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  while (head < tail) {
    const state = queue[head++]!;
    if (delta !== undefined && state !== 0) delta.copyWithin(state * classes, fail[state]! * classes, (fail[state]! + 1) * classes);
    for (const [cls, child] of children[state]!) {
      let target = 0;
      if (state !== 0) {
        if (delta !== undefined) {
          target = delta[fail[state]! * classes + cls]!;
        } else {
          let probe = fail[state]!;
          for (;;) {
            const next = children[probe]!.get(cls);
            if (next !== undefined) {
              target = next;
              break;
            }
            if (probe === 0) break;
            probe = fail[probe]!;
          }
        }
      }
      fail[child] = target;
      const inherited = outputs[target]!;
      const mine = own[child]!;
      outputs[child] = mine < 0 ? inherited : [mine, ...inherited];
      if (delta !== undefined) delta[state * classes + cls] = child;
      queue[tail++] = child;
    }
  }

  const outOffsets = new Int32Array(states + 1);
  let total = 0;
  for (let state = 0; state < states; state++) {
    outOffsets[state] = total;
    total += outputs[state]!.length;
  }
  outOffsets[states] = total;
  const outPatterns = new Int32Array(total);
  for (let state = 0; state < states; state++) outPatterns.set(outputs[state]!, outOffsets[state]!);

  // The dense table holds each target as its row's start (state × classes), bit-inverted
  // (negative) when patterns end in it: one read per character, one test for "any hit".
  // A space read in a state that was entered by one (no pattern holds two spaces in a row,
  // nor starts with one) stays there: that is how a whitespace run counts as one space.
  if (delta !== undefined) {
    for (const state of spaceLoops) delta[state * classes + SPACE_CLASS] = state;
    for (let cell = 0; cell < delta.length; cell++) {
      const target = delta[cell]!;
      delta[cell] = outOffsets[target] !== outOffsets[target + 1] ? ~(target * classes) : target * classes;
    }
  }
  const scan =
    delta !== undefined
      ? (text: string, onHit: HitHandler): void => {
          let row = 0;
          for (let i = 0; i < text.length; i++) {
            const next = delta[row + classOf[text.charCodeAt(i)]!]!;
            if (next >= 0) {
              row = next;
            } else {
              row = ~next;
              onHit(row / classes, i);
            }
          }
        }
      : (text: string, onHit: HitHandler): void => {
          let state = 0;
          let afterSpace = false;
          for (let i = 0; i < text.length; i++) {
            const cls = classOf[text.charCodeAt(i)]!;
            if (cls === SPACE_CLASS) {
              if (afterSpace) continue;
              afterSpace = true;
            } else {
              afterSpace = false;
            }
            // Each step back goes to a shallower state, so this ends within the pattern depth.
            for (;;) {
              const next = children[state]!.get(cls);
              if (next !== undefined) {
                state = next;
                break;
              }
              if (state === 0) break;
              state = fail[state]!;
            }
            if (outOffsets[state] !== outOffsets[state + 1]) onHit(state, i);
          }
        };

  return Object.freeze({ states, classes, representation: dense ? "dense" : "sparse", outOffsets, outPatterns, scan });
}
