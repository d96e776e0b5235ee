import { OPS, type Op } from "../contract.js";
import { timeMs, type AppView, type MonitorAnswer, type RecentOp } from "./answer.js";

/** Everything one frame shows; `render` is a pure function of it. */
export interface FrameData {
  /** The last good answer; kept on screen (stale) while the collector cannot be read. */
  answer: MonitorAnswer | undefined;
  /** When `answer` was read, epoch ms. */
  answeredAt: number | undefined;
  /** The last read's problem, if it failed. */
  error: string | undefined;
  url: string;
  app: string | undefined;
  filter: string | undefined;
  type: Op | undefined;
  intervalS: number;
  paused: boolean;
  /** The filter being typed after `f`, or undefined. */
  prompt: string | undefined;
  /** Keys work (stdin is a terminal): show the key help line. */
  interactive: boolean;
  /** Epoch ms, for "seen 3 s ago". */
  now: number;
}

type Style = "bold" | "dim" | "red" | "green" | "yellow" | "blue" | "magenta" | "cyan" | "grey";
const SGR: Record<Style, string> = { bold: "1", dim: "2", red: "31", green: "32", yellow: "33", blue: "34", magenta: "35", cyan: "36", grey: "90" };
type Segment = string | readonly [text: string, style: Style | undefined];
type Line = readonly Segment[];

const MODE_STYLE: Record<string, Style> = { detailed: "green", sampled: "yellow", aggregated: "cyan", disabled: "grey" };
const DASH = "—";

/**
 * One screen: a title, per app its mode, hit rate, rates, counts and p95 per operation,
 * then the live event log (newest first, as many as fit), then the key help. At most
 * `height` lines of at most `width` visible characters; ANSI colours only when `colour`.
 */
export function render(frame: FrameData, width: number, height: number, colour: boolean): string {
  const footer: Line[] = frame.interactive ? [footerLine(frame)] : [];
  const top: Line[] = [titleLine(frame)];
  if (frame.error) {
    const stale = frame.answer && frame.answeredAt ? `; showing data from ${clock(frame.answeredAt)}` : "";
    top.push([[`! ${frame.error}`, "red"], `${frame.paused ? "" : `; retrying every ${frame.intervalS} s`}${stale}`]);
  }
  const answer = frame.answer;
  if (!answer) {
    if (!frame.error) top.push([["waiting for the collector…", "dim"]]);
  } else if (answer.apps.length === 0) {
    const scope = describeScope(frame);
    top.push([[scope ? `no app matches ${scope}` : "no app has reported to this collector yet", "dim"]]);
  } else for (const app of answer.apps) top.push(...appLines(app, frame.now, width));

  const events = answer ? recentOps(answer) : [];
  const room = height - top.length - footer.length - 3;
  const body: Line[] = [...top];
  if (answer && room > 0) {
    body.push([], [["events, newest first", "bold"]]);
    const appWidth = clamp(Math.max(3, ...events.map((event) => event.app.length)), 3, 16);
    const layout = eventLayout(width, appWidth);
    body.push([[eventHeader(layout), "dim"]]);
    if (events.length === 0) body.push([["no recent operations (an app in aggregated mode keeps counters only)", "dim"]]);
    for (const event of events.slice(0, room)) body.push(eventLine(event, layout));
  }
  const lines = [...body.slice(0, Math.max(0, height - footer.length)), ...footer];
  return lines.map((line) => fit(line, width, colour)).join("\n");
}

function titleLine(frame: FrameData): Line {
  const scope = describeScope(frame);
  return [
    ["vigil cache monitor", "bold"],
    `  ${frame.url.replace(/^https?:\/\//, "")}  every ${frame.intervalS} s`,
    scope ? `  ${scope}` : "",
    frame.paused ? ["  PAUSED", "yellow"] : "",
    frame.answeredAt ? `  updated ${clock(frame.answeredAt)}` : "",
  ];
}

function describeScope(frame: FrameData): string {
  return [frame.app && `app=${frame.app}`, frame.filter && `key_label=${frame.filter}`, frame.type && `type=${frame.type}`].filter(Boolean).join(" ");
}

function footerLine(frame: FrameData): Line {
  if (frame.prompt !== undefined) return [["filter key_label: ", "bold"], `${frame.prompt}_`, ["   Enter applies (empty clears) · Esc cancels", "dim"]];
  return [[`p ${frame.paused ? "resume" : "pause"} · +/- interval · f filter${frame.filter ? ` (now ${frame.filter})` : ""} · q quit`, "dim"]];
}

function appLines(app: AppView, now: number, width: number): Line[] {
  const s = app.summary;
  const mode = app.mode ?? (app.enabled === false ? "disabled" : "unknown");
  const seen = timeMs(app.last_seen);
  const header: Line = [
    [app.app, "bold"],
    "  ",
    [`[${mode}]`, MODE_STYLE[mode]],
    `  hit rate ${percent(s.hit_rate)}  ${rate(app.ops_per_s)} ops/s`,
    seen !== undefined ? `  seen ${ago(now - seen)}` : "",
    app.dropped_events ? [`  dropped ${count(app.dropped_events)}`, "red"] : "",
  ];
  const windowLabel = s.window_s !== undefined ? `last ${count(s.window_s)} s:` : "window:";
  const counts = [`${windowLabel} ${count(s.ops)} ops`, `hits ${count(s.hits)}`, `misses ${count(s.misses)}`, `partial ${count(s.partial_hits)}`, `writes ${count(s.cache_writes)}`, `db reads ${count(s.db_reads)}`, `db writes ${count(s.db_writes)}`, `hybrid ${count(s.hybrid_queries)}`];
  const known = [...OPS, ...Object.keys(s.latency_ms).filter((op) => !(OPS as readonly string[]).includes(op))];
  const p95 = known.flatMap((op) => {
    const value = s.latency_ms[op]?.p95;
    return value === undefined ? [] : [`${op} ${ms(value)}`];
  });
  const lines: Line[] = [header, ...wrap(counts, width), ...wrap([`p95: ${p95.shift() ?? DASH}`, ...p95], width)];
  // Key labels: one line, cut to the width (the busiest come first from the collector).
  if (app.key_labels.length > 0) lines.push([`  keys: ${app.key_labels.map((k) => `${k.key_label} ${count(k.ops)} ops ${percent(k.hit_rate)}`).join(" · ")}`]);
  return lines;
}

type RecentWithApp = RecentOp & { app: string };

/** Every app's recent operations, newest first. */
function recentOps(answer: MonitorAnswer): RecentWithApp[] {
  const all = answer.apps.flatMap((app) => app.recent.map((event) => ({ ...event, app: app.app, at: timeMs(event.ts) ?? -Infinity })));
  return all.sort((a, b) => b.at - a.at);
}

interface EventLayout {
  app: number;
  key: number;
}

const TIME_W = 12;
const OP_W = 11;
const RESULT_W = 7;
const COUNT_W = 5;
const DURATION_W = 10;
const SAMPLE_W = 8;
const GAPS = 2 * 5;

function eventLayout(width: number, appWidth: number): EventLayout {
  const fixed = TIME_W + appWidth + OP_W + RESULT_W + COUNT_W + DURATION_W + SAMPLE_W + GAPS;
  return { app: appWidth, key: clamp(width - fixed, 8, 40) };
}

function eventHeader(layout: EventLayout): string {
  return `${"time".padEnd(TIME_W)}  ${"app".padEnd(layout.app)}  ${"op".padEnd(OP_W)}  ${"key label".padEnd(layout.key)}  ${"result".padEnd(RESULT_W)}${"n".padStart(COUNT_W)}${"duration".padStart(DURATION_W)}  sample`;
}

function eventLine(event: RecentWithApp, layout: EventLayout): Line {
  const at = timeMs(event.ts);
  const sampled = event.sample_rate !== undefined && event.sample_rate > 0 && event.sample_rate < 1 ? `1/${Math.round(1 / event.sample_rate)}` : "";
  const rest =
    `${cell(event.op ?? DASH, OP_W)}  ${cell(event.key_label ?? DASH, layout.key)}  ${cell(event.result ?? "", RESULT_W)}` +
    `${(event.count !== undefined ? count(event.count) : "").padStart(COUNT_W)}${(event.duration_ms !== undefined ? ms(event.duration_ms) : DASH).padStart(DURATION_W)}  ${sampled}`;
  return [[at !== undefined ? clock(at, true) : DASH.padEnd(TIME_W), "dim"], `  ${cell(event.app, layout.app)}  `, [rest, eventStyle(event)]];
}

/**
 * Hits green, misses red, partial hits yellow, writes (cache or database) blue, database
 * reads and hybrid queries magenta; a hybrid query that says how the cache did takes that colour.
 */
function eventStyle(event: RecentOp): Style | undefined {
  if (event.result === "hit") return "green";
  if (event.result === "miss") return "red";
  if (event.result === "partial") return "yellow";
  if (event.op === "cache_write" || event.op === "db_write") return "blue";
  if (event.op === "db_read" || event.op === "hybrid") return "magenta";
  return undefined;
}

/** Pads or cuts (with "…") to exactly `width` characters. */
function cell(text: string, width: number): string {
  const chars = [...text];
  return chars.length > width ? `${chars.slice(0, width - 1).join("")}…` : text.padEnd(width);
}

/** Cuts a line to `width` visible characters (marking the cut with "…") and colours its segments. */
function fit(line: Line, width: number, colour: boolean): string {
  let room = width;
  let out = "";
  for (const segment of line) {
    const [text, style] = typeof segment === "string" ? [segment, undefined] : segment;
    if (text === "") continue;
    if (room <= 0) break;
    const chars = [...text];
    let shown = text;
    if (chars.length > room) shown = room > 1 ? `${chars.slice(0, room - 1).join("")}…` : "…";
    room -= Math.min(chars.length, room);
    out += colour && style ? `\x1b[${SGR[style]}m${shown}\x1b[0m` : shown;
  }
  return out.replace(/ +$/, "");
}

/** Items joined with " · ", indented, onto as many lines of `width` as they need. */
function wrap(items: readonly string[], width: number): Line[] {
  const lines: string[] = [];
  let current = "";
  for (const item of items) {
    const next = current ? `${current} · ${item}` : `  ${item}`;
    if (current && next.length > width) {
      lines.push(current);
      current = `    ${item}`;
    } else current = next;
  }
  if (current) lines.push(current);
  return lines.map((line) => [line]);
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function count(value: number | undefined): string {
  return value === undefined ? DASH : Math.round(value).toLocaleString("en-US");
}

function rate(value: number | undefined): string {
  if (value === undefined) return DASH;
  return value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString("en-US");
}

function percent(value: number | undefined): string {
  return value === undefined ? DASH : `${(value * 100).toFixed(1)}%`;
}

export function ms(value: number): string {
  if (value < 10) return `${value.toFixed(2)} ms`;
  if (value < 100) return `${value.toFixed(1)} ms`;
  return `${Math.round(value).toLocaleString("en-US")} ms`;
}

function ago(elapsedMs: number): string {
  const s = Math.max(0, Math.round(elapsedMs / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** Local wall-clock time, HH:MM:SS (with .mmm for events). */
function clock(epochMs: number, millis = false): string {
  const d = new Date(epochMs);
  const two = (n: number) => String(n).padStart(2, "0");
  const base = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return millis ? `${base}.${String(d.getMilliseconds()).padStart(3, "0")}` : base;
}
