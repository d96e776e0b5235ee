import { MAX_FILTER_LENGTH, MAX_INTERVAL_S, MIN_INTERVAL_S } from "./options.js";

/** What the keys change. */
export interface ViewState {
  paused: boolean;
  intervalS: number;
  filter: string | undefined;
  /** The filter being typed after `f`; undefined when not typing. */
  prompt: string | undefined;
}

/**
 * What the loop does after a key: `quit`; `refetch` (read the collector now: the filter
 * changed, or the view was resumed); `reschedule` (the interval changed); `redraw`; `none`.
 */
export type KeyEffect = "none" | "redraw" | "reschedule" | "refetch" | "quit";

const CTRL_C = "\x03";
const ESC = "\x1b";
const ENTER = new Set(["\r", "\n"]);
const BACKSPACE = new Set(["\x7f", "\b"]);

/**
 * One chunk of raw-mode input (a key, an escape sequence such as an arrow key, or pasted
 * text) applied to the view. Pure, so the keys are tested without a terminal.
 */
export function applyInput(state: ViewState, input: string): { state: ViewState; effect: KeyEffect } {
  // Arrow and function keys arrive as one escape sequence: ignored, except that Esc alone cancels typing.
  if (input.startsWith(ESC) && input.length > 1) return { state, effect: "none" };
  let effect: KeyEffect = "none";
  let next = state;
  for (const key of input) {
    const step = applyKey(next, key);
    next = step.state;
    effect = stronger(effect, step.effect);
    if (effect === "quit") break;
  }
  return { state: next, effect };
}

const STRENGTH: Record<KeyEffect, number> = { none: 0, redraw: 1, reschedule: 2, refetch: 3, quit: 4 };

function stronger(a: KeyEffect, b: KeyEffect): KeyEffect {
  return STRENGTH[b] > STRENGTH[a] ? b : a;
}

function applyKey(state: ViewState, key: string): { state: ViewState; effect: KeyEffect } {
  if (key === CTRL_C) return { state, effect: "quit" };
  if (state.prompt !== undefined) return typeFilter(state, state.prompt, key);
  switch (key) {
    case "q":
    case "Q":
      return { state, effect: "quit" };
    case "p":
    case "P":
    case " ":
      return { state: { ...state, paused: !state.paused }, effect: state.paused ? "refetch" : "redraw" };
    case "+":
    case "=":
      return changeInterval(state, 1);
    case "-":
    case "_":
      return changeInterval(state, -1);
    case "f":
    case "F":
    case "/":
      return { state: { ...state, prompt: "" }, effect: "redraw" };
    default:
      return { state, effect: "none" };
  }
}

function changeInterval(state: ViewState, by: number): { state: ViewState; effect: KeyEffect } {
  const intervalS = Math.min(MAX_INTERVAL_S, Math.max(MIN_INTERVAL_S, state.intervalS + by));
  return intervalS === state.intervalS ? { state, effect: "none" } : { state: { ...state, intervalS }, effect: "reschedule" };
}

function typeFilter(state: ViewState, prompt: string, key: string): { state: ViewState; effect: KeyEffect } {
  if (ENTER.has(key)) {
    const filter = prompt.trim() === "" ? undefined : prompt.trim();
    return { state: { ...state, prompt: undefined, filter }, effect: filter === state.filter ? "redraw" : "refetch" };
  }
  if (key === ESC) return { state: { ...state, prompt: undefined }, effect: "redraw" };
  if (BACKSPACE.has(key)) return { state: { ...state, prompt: [...prompt].slice(0, -1).join("") }, effect: "redraw" };
  // Other control characters have no place in a key label.
  if (key < " " || prompt.length >= MAX_FILTER_LENGTH) return { state, effect: "none" };
  return { state: { ...state, prompt: prompt + key }, effect: "redraw" };
}
