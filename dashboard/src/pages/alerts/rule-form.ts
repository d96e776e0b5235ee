import type { Filter, FilterOp, RatioSide, RuleKind, RuleView, Scalar, Template } from "./types.js";

/**
 * The rule builder's state and its mapping to and from the API's rule body
 * (collector/src/alerts/rule.ts). The form edits text (what inputs hold); `toRuleBody`
 * turns it into the body the server validates, leaving out empty optional fields so the
 * server's defaults apply. Validation is the server's: the preview call reports problems
 * by field as the user types, and the form shows them next to the inputs.
 */

export const KINDS: { value: RuleKind; label: string; hint: string }[] = [
  { value: "threshold", label: "Threshold", hint: "An aggregate over a window (count, rate, p95, ratio…) compared with a number." },
  { value: "absence", label: "Absence", hint: "Nothing matching arrived for a while (per group), or an agent stopped sending heartbeats." },
  { value: "anomaly", label: "Anomaly", hint: "An aggregate outside its usual band, learnt from the trailing baseline." },
  { value: "event", label: "Event", hint: "Every matching event fires at once, as it is stored." },
];

export const AGGREGATIONS = ["count", "rate", "sum", "avg", "min", "max", "p50", "p95", "p99", "ratio"] as const;
/** Aggregations of a numeric attribute: they need `field`. */
export const FIELD_AGGREGATIONS: readonly string[] = ["sum", "avg", "min", "max", "p50", "p95", "p99"];
export const CONDITIONS = [">", ">=", "<", "<=", "==", "!="] as const;
export const FILTER_OPS: { value: FilterOp; label: string }[] = [
  { value: "=", label: "=" },
  { value: "!=", label: "≠" },
  { value: ">", label: ">" },
  { value: ">=", label: "≥" },
  { value: "<", label: "<" },
  { value: "<=", label: "≤" },
  { value: "in", label: "in" },
  { value: "not_in", label: "not in" },
  { value: "contains", label: "contains" },
  { value: "exists", label: "exists" },
  { value: "not_exists", label: "does not exist" },
];

export interface FilterDraft {
  attr: string;
  op: FilterOp;
  /** Text; a comma-separated list for in / not_in; unused for exists / not_exists. */
  value: string;
}

export interface SideDraft {
  where: FilterDraft[];
  field: string;
}

export interface PairDraft {
  key: string;
  value: string;
}

export interface RuleDraft {
  kind: RuleKind;
  name: string;
  description: string;
  enabled: boolean;
  source: string;
  /** One type, or several separated by commas. */
  type: string;
  where: FilterDraft[];
  /** Attribute names separated by commas. */
  group_by: string;
  labels: PairDraft[];
  /** The `summary` annotation (a template: {{value}}, {{labels.NAME}}…). */
  summary: string;
  interval: string;
  for: string;
  keep_firing_for: string;
  // threshold and anomaly
  aggregation: string;
  field: string;
  window: string;
  condition: string;
  threshold: string;
  no_data: "" | "nodata" | "ok" | "firing";
  numerator: SideDraft;
  denominator: SideDraft;
  baseline: string;
  seasonality: "none" | "daily" | "weekly";
  z: string;
  direction: "both" | "up" | "down";
  // absence
  of: "events" | "agent_heartbeats";
  absent_for: string;
  lookback: string;
  /**
   * What the form has no input for, kept from the rule being edited so a save does not
   * drop it: flap damping, on_error, annotations other than summary.
   */
  kept: { flap?: unknown; on_error?: string; annotations?: Record<string, string> };
}

export function emptyFilter(): FilterDraft {
  return { attr: "", op: "=", value: "" };
}

/** A new rule of `kind`, with starting values that make a valid, previewable rule once named. */
export function emptyDraft(kind: RuleKind = "threshold"): RuleDraft {
  return {
    kind,
    name: "",
    description: "",
    enabled: true,
    source: "",
    type: "",
    where: [],
    group_by: "",
    labels: [{ key: "severity", value: "warning" }],
    summary: "",
    interval: "",
    for: "",
    keep_firing_for: "",
    aggregation: "count",
    field: "",
    window: "5m",
    condition: ">",
    threshold: "0",
    no_data: "",
    numerator: { where: [], field: "" },
    denominator: { where: [], field: "" },
    baseline: "",
    seasonality: "none",
    z: "",
    direction: "both",
    of: "events",
    absent_for: "5m",
    lookback: "",
    kept: {},
  };
}

const SIZES: [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1000],
  ["ms", 1],
];

/** A duration as the API may hold it ("5m", or milliseconds) → text for the input ("5m", "1h30m"). */
export function durationText(value: string | number | undefined): string {
  if (value === undefined) return "";
  if (typeof value === "string") return value;
  if (value === 0) return "0s";
  let rest = value;
  let text = "";
  for (const [unit, size] of SIZES) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}

function scalarText(value: Scalar | Scalar[] | undefined): string {
  if (value === undefined) return "";
  return Array.isArray(value) ? value.map(String).join(", ") : String(value);
}

function filterDraft(filter: Filter): FilterDraft {
  return { attr: filter.attr, op: filter.op ?? "=", value: scalarText(filter.value) };
}

function sideDraft(side: RatioSide | undefined): SideDraft {
  return { where: (side?.where ?? []).map(filterDraft), field: side?.field ?? "" };
}

/**
 * A rule (from the API, or a template's rule) → the form. Durations and numbers become
 * text; lists become comma-separated text.
 */
export function draftFromRule(rule: Partial<RuleView> & { kind: RuleKind }): RuleDraft {
  const base = emptyDraft(rule.kind);
  const { summary = "", ...otherAnnotations } = rule.annotations ?? {};
  const kept: RuleDraft["kept"] = {};
  if (rule.flap !== undefined) kept.flap = rule.flap;
  if (rule.on_error !== undefined) kept.on_error = rule.on_error;
  if (Object.keys(otherAnnotations).length) kept.annotations = otherAnnotations;
  return {
    ...base,
    name: rule.name ?? "",
    description: rule.description ?? "",
    enabled: rule.enabled ?? true,
    source: rule.source ?? "",
    type: Array.isArray(rule.type) ? rule.type.join(", ") : (rule.type ?? ""),
    where: (rule.where ?? []).map(filterDraft),
    group_by: (rule.group_by ?? []).join(", "),
    labels: Object.entries(rule.labels ?? {}).map(([key, value]) => ({ key, value })),
    summary,
    interval: durationText(rule.interval),
    for: durationText(rule.for),
    keep_firing_for: durationText(rule.keep_firing_for),
    aggregation: rule.aggregation ?? base.aggregation,
    field: rule.field ?? "",
    window: rule.window === undefined ? (rule.kind === "threshold" || rule.kind === "anomaly" ? "" : base.window) : durationText(rule.window),
    condition: rule.condition ?? base.condition,
    threshold: rule.threshold === undefined ? "" : String(rule.threshold),
    no_data: rule.no_data ?? "",
    numerator: sideDraft(rule.numerator),
    denominator: sideDraft(rule.denominator),
    baseline: durationText(rule.baseline),
    seasonality: rule.seasonality ?? "none",
    z: rule.z === undefined ? "" : String(rule.z),
    direction: rule.direction ?? "both",
    of: rule.of ?? "events",
    absent_for: rule.absent_for === undefined ? (rule.kind === "absence" ? "" : base.absent_for) : durationText(rule.absent_for),
    lookback: durationText(rule.lookback),
    kept,
  };
}

/** A template's rule, to start the form from. */
export function draftFromTemplate(template: Template): RuleDraft {
  return draftFromRule(template.rule as unknown as RuleView);
}

/** "a, b ,, c" → ["a", "b", "c"]. */
export function splitList(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
}

/** Text the user typed where a number is expected: the number, or the text itself so the server can say what is wrong. */
function numberOrText(text: string): number | string {
  const trimmed = text.trim();
  const number = Number(trimmed);
  return trimmed !== "" && Number.isFinite(number) ? number : trimmed;
}

const NUMERIC_OPS: readonly FilterOp[] = [">", ">=", "<", "<="];

/**
 * One filter row → the API's filter. Attribute values are text on the server (a number
 * compares by value), so `=` / `contains` send the text as typed; the comparisons send a
 * number; `in` lists split on commas; `exists` takes no value.
 */
export function filterBody(filter: FilterDraft): Filter {
  const attr = filter.attr.trim();
  switch (filter.op) {
    case "exists":
    case "not_exists":
      return { attr, op: filter.op };
    case "in":
    case "not_in":
      return { attr, op: filter.op, value: splitList(filter.value) };
    default:
      return { attr, op: filter.op, value: NUMERIC_OPS.includes(filter.op) ? numberOrText(filter.value) : filter.value };
  }
}

/** Rows left completely blank (a row just added) are not sent. */
function filtersBody(rows: FilterDraft[]): Filter[] {
  return rows.filter((row) => row.attr.trim() !== "" || row.value.trim() !== "").map(filterBody);
}

function sideBody(side: SideDraft): RatioSide {
  const body: RatioSide = { where: filtersBody(side.where) };
  if (side.field.trim()) body.field = side.field.trim();
  return body;
}

/** Sets `body[key]` to the trimmed text when it is not empty (empty means: the server's default). */
function putText(body: Record<string, unknown>, key: string, text: string): void {
  if (text.trim() !== "") body[key] = text.trim();
}

/** Whether the aggregation reads a numeric attribute (`field`). */
export function needsField(aggregation: string): boolean {
  return FIELD_AGGREGATIONS.includes(aggregation);
}

/**
 * The form → the body of `POST /api/alerts/rules` (and of `PUT` and the preview). Only
 * the fields of `draft.kind` are sent: the server refuses unknown fields per kind.
 */
export function toRuleBody(draft: RuleDraft): Record<string, unknown> {
  const body: Record<string, unknown> = { kind: draft.kind, name: draft.name.trim() };
  if (draft.description.trim()) body.description = draft.description.trim();
  if (!draft.enabled) body.enabled = false;

  const heartbeats = draft.kind === "absence" && draft.of === "agent_heartbeats";
  if (!heartbeats) {
    putText(body, "source", draft.source);
    const types = splitList(draft.type);
    if (types.length === 1) body.type = types[0];
    else if (types.length > 1) body.type = types;
    const where = filtersBody(draft.where);
    if (where.length) body.where = where;
    const groupBy = splitList(draft.group_by);
    if (groupBy.length) body.group_by = groupBy;
  }

  const labels: Record<string, string> = {};
  for (const pair of draft.labels) if (pair.key.trim()) labels[pair.key.trim()] = pair.value;
  if (Object.keys(labels).length) body.labels = labels;
  const annotations: Record<string, string> = { ...draft.kept.annotations };
  if (draft.summary.trim()) annotations.summary = draft.summary;
  if (Object.keys(annotations).length) body.annotations = annotations;

  putText(body, "interval", draft.interval);
  putText(body, "for", draft.for);
  putText(body, "keep_firing_for", draft.keep_firing_for);
  if (draft.kept.flap !== undefined) body.flap = draft.kept.flap;
  if (draft.kept.on_error !== undefined && draft.kind !== "event") body.on_error = draft.kept.on_error;

  switch (draft.kind) {
    case "threshold":
      body.aggregation = draft.aggregation;
      if (needsField(draft.aggregation)) putText(body, "field", draft.field);
      if (draft.aggregation === "ratio") {
        body.numerator = sideBody(draft.numerator);
        body.denominator = sideBody(draft.denominator);
      }
      putText(body, "window", draft.window);
      body.condition = draft.condition;
      if (draft.threshold.trim() !== "") body.threshold = numberOrText(draft.threshold);
      if (draft.no_data) body.no_data = draft.no_data;
      break;
    case "anomaly":
      body.aggregation = draft.aggregation === "ratio" ? "count" : draft.aggregation;
      if (needsField(draft.aggregation)) putText(body, "field", draft.field);
      putText(body, "window", draft.window);
      putText(body, "baseline", draft.baseline);
      if (draft.seasonality !== "none") body.seasonality = draft.seasonality;
      if (draft.z.trim() !== "") body.z = numberOrText(draft.z);
      if (draft.direction !== "both") body.direction = draft.direction;
      break;
    case "absence":
      if (heartbeats) body.of = "agent_heartbeats";
      putText(body, "absent_for", draft.absent_for);
      putText(body, "lookback", draft.lookback);
      break;
    case "event":
      break;
  }
  return body;
}

/**
 * The server's problems (path → message) that the form shows next to an input, and the
 * rest, shown in a list above the form. `shown` is every path an input displays.
 */
export function unplacedErrors(errors: Record<string, string>, shown: (path: string) => boolean): [string, string][] {
  return Object.entries(errors).filter(([path]) => !shown(path));
}

/** Paths of the inputs the builder has (a filter row shows `where.N`, `where.N.attr`, …). */
export function isFormPath(path: string): boolean {
  const first = path.split(".")[0] ?? "";
  return [
    "kind",
    "name",
    "description",
    "source",
    "type",
    "where",
    "group_by",
    "labels",
    "annotations",
    "interval",
    "for",
    "keep_firing_for",
    "aggregation",
    "field",
    "numerator",
    "denominator",
    "window",
    "condition",
    "threshold",
    "no_data",
    "baseline",
    "seasonality",
    "z",
    "direction",
    "of",
    "absent_for",
    "lookback",
  ].includes(first);
}

/** The first error at `path` or below it (`labels` gathers `labels.Bad-Name`). */
export function errorAt(errors: Record<string, string>, path: string): string | undefined {
  if (errors[path]) return errors[path];
  const prefix = `${path}.`;
  for (const [key, message] of Object.entries(errors)) if (key.startsWith(prefix)) return message;
  return undefined;
}
