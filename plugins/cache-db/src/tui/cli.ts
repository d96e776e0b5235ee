import { readMonitor, type MonitorQuery } from "./client.js";
import { applyInput, type ViewState } from "./keys.js";
import { parseCommandLine, USAGE, type MonitorOptions } from "./options.js";
import { render, type FrameData } from "./render.js";
import type { MonitorAnswer } from "./answer.js";

const READ_TIMEOUT_MS = 5_000;
/** The most recent events asked for, whatever the terminal's height. */
const MAX_LIMIT = 1_000;
const FALLBACK_WIDTH = 100;
const FALLBACK_HEIGHT = 40;

const ENTER_SCREEN = "\x1b[?1049h\x1b[?25l";
const LEAVE_SCREEN = "\x1b[?25h\x1b[?1049l";
const HOME = "\x1b[H";
const CLEAR_LINE_END = "\x1b[K";
const CLEAR_BELOW = "\x1b[J";

/** `vigil-cache-monitor`: resolves with the exit code (0 ok, 1 collector unreadable with --once, 2 usage). */
export async function main(argv: readonly string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const parsed = parseCommandLine(argv, env);
  if (parsed.kind === "help") {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.kind === "invalid") {
    process.stderr.write(`vigil-cache-monitor: ${parsed.message}\n`);
    return 2;
  }
  // https://no-color.org: set and not empty.
  const colour = Boolean(process.stdout.isTTY) && !env.NO_COLOR;
  return parsed.options.once ? once(parsed.options, colour, env) : live(parsed.options, colour, env);
}

function positive(value: string | undefined): number | undefined {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** The terminal's size; COLUMNS/LINES, then a fixed size, when the output is not a terminal. */
function screenSize(env: NodeJS.ProcessEnv): { width: number; height: number } {
  return {
    width: process.stdout.columns || positive(env.COLUMNS) || FALLBACK_WIDTH,
    height: process.stdout.rows || positive(env.LINES) || FALLBACK_HEIGHT,
  };
}

function queryOf(options: MonitorOptions, filter: string | undefined, height: number): MonitorQuery {
  return { url: options.url, key: options.key, app: options.app, type: options.type, filter, limit: Math.min(MAX_LIMIT, Math.max(1, height)) };
}

async function once(options: MonitorOptions, colour: boolean, env: NodeJS.ProcessEnv): Promise<number> {
  const { width, height } = screenSize(env);
  const read = await readMonitor(queryOf(options, options.filter, height), READ_TIMEOUT_MS);
  if (!read.ok) {
    process.stderr.write(`vigil-cache-monitor: ${read.message}\n`);
    return 1;
  }
  const now = Date.now();
  const frame: FrameData = { ...frameOptions(options), answer: read.answer, answeredAt: now, error: undefined, paused: false, prompt: undefined, interactive: false, now };
  process.stdout.write(`${render(frame, width, height, colour)}\n`);
  return 0;
}

function frameOptions(options: MonitorOptions): Pick<FrameData, "url" | "app" | "filter" | "type" | "intervalS"> {
  return { url: options.url, app: options.app, filter: options.filter, type: options.type, intervalS: options.intervalS };
}

/**
 * Redraws every interval until `q`, Ctrl-C, SIGTERM or SIGHUP (the SSH session ended).
 * On a terminal it draws in the alternate screen and reads keys in raw mode; both are
 * undone on every way out, including a crash (the `exit` handler).
 */
function live(options: MonitorOptions, colour: boolean, env: NodeJS.ProcessEnv): Promise<number> {
  const out = process.stdout;
  const input = process.stdin;
  const screen = Boolean(out.isTTY);
  const keys = Boolean(input.isTTY);
  let view: ViewState = { paused: false, intervalS: options.intervalS, filter: options.filter, prompt: undefined };
  let answer: MonitorAnswer | undefined;
  let answeredAt: number | undefined;
  let error: string | undefined;
  let timer: NodeJS.Timeout | undefined;
  let reading = false;
  let readAgain = false;
  let stopped = false;
  const cancel = new AbortController();

  function draw(): void {
    const { width, height } = screenSize(env);
    const frame: FrameData = { ...frameOptions(options), ...view, answer, answeredAt, error, interactive: keys, now: Date.now() };
    const text = render(frame, width, height, colour);
    if (screen) out.write(`${HOME}${text.split("\n").join(`${CLEAR_LINE_END}\n`)}${CLEAR_LINE_END}${CLEAR_BELOW}`);
    else out.write(`${text}\n\n`);
  }

  function schedule(): void {
    clearTimeout(timer);
    if (!stopped && !view.paused) timer = setTimeout(() => void refresh(), view.intervalS * 1000);
  }

  /**
   * One read, then the next is scheduled; a read asked for meanwhile (new filter) follows at
   * once. While paused nothing is read, except once when the filter changes (`explicit`):
   * the screen must never show one filter's data under another's name.
   */
  async function refresh(explicit = false): Promise<void> {
    clearTimeout(timer);
    if (stopped || (view.paused && !explicit)) return;
    if (reading) {
      readAgain = true;
      return;
    }
    reading = true;
    const read = await readMonitor(queryOf(options, view.filter, screenSize(env).height), READ_TIMEOUT_MS, cancel.signal);
    reading = false;
    if (stopped) return;
    if (readAgain) {
      // The filter changed while this read was out: its answer is for the old one.
      readAgain = false;
      return refresh(true);
    }
    if (view.paused && !explicit) return;
    if (read.ok) {
      answer = read.answer;
      answeredAt = Date.now();
      error = undefined;
    } else error = read.message;
    draw();
    schedule();
  }

  return new Promise<number>((resolve) => {
    const restore = () => {
      if (keys && input.isRaw) input.setRawMode(false);
      if (screen) out.write(LEAVE_SCREEN);
    };
    const stop = () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      cancel.abort();
      input.off("data", onInput);
      if (keys) input.pause();
      out.off("resize", draw);
      for (const signal of SIGNALS) process.off(signal, stop);
      process.off("exit", restore);
      restore();
      resolve(0);
    };
    const onInput = (chunk: string) => {
      const step = applyInput(view, chunk);
      view = step.state;
      switch (step.effect) {
        case "quit":
          return stop();
        case "refetch":
          draw();
          return void refresh(true);
        case "reschedule":
          draw();
          return schedule();
        case "redraw":
          return draw();
        case "none":
          return;
      }
    };

    process.on("exit", restore);
    for (const signal of SIGNALS) process.on(signal, stop);
    if (screen) {
      out.write(ENTER_SCREEN);
      out.on("resize", draw);
    }
    if (keys) {
      input.setRawMode(true);
      input.setEncoding("utf8");
      input.on("data", onInput);
      input.resume();
    }
    draw();
    void refresh();
  });
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;
