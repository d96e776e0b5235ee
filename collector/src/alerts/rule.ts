import { z } from "zod";
import { durationSchema } from "@vigil/plugin-sdk";

/**
 * The alert rule language (DESIGN.md "Alerts"): structured, never raw SQL, so the engine
 * can add the tenant filter and bind every value as a query parameter. One schema serves
 * the API, the YAML rule files and the templates plugins ship.
 *
 * Durations are kept as the text the user wrote ("5m") in the stored rule, and as
 * milliseconds in the parsed one the engine runs.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** An attribute name as agents send them (`status_code`, `job.id`). */
const attrName = z
  .string({ error: "expected an attribute name" })
  .regex(/^[A-Za-z_][A-Za-z0-9_.:-]{0,99}$/, "must be an attribute name: letters, digits, '_', '.', ':' or '-', starting with a letter or '_'");

const LABEL_NAME_RULE = "label names are letters, digits and '_', starting with a letter or '_' (as in Prometheus)";
const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,99}$/, LABEL_NAME_RULE);
/** zod reports a bad record key as "Invalid key in record": say what a label name is instead. */
const labelKeyError = { error: (issue: { code?: string }) => (issue.code === "invalid_key" ? LABEL_NAME_RULE : undefined) };

/** Columns every event has; they are text, so they can be filtered or grouped on, never aggregated. */
export const EVENT_COLUMNS = ["source", "type", "severity", "agent"] as const;

const scalar = z.union([z.string().max(1000), z.number(), z.boolean()], { error: "value must be a string, number or boolean" });

const COMPARISONS = ["=", "!=", ">", ">=", "<", "<="] as const;

export const filterSchema = z
  .object({
    attr: attrName,
    op: z
      .enum([...COMPARISONS, "in", "not_in", "contains", "exists", "not_exists"], {
        error: 'op must be one of "=", "!=", ">", ">=", "<", "<=", "in", "not_in", "contains", "exists", "not_exists"',
      })
      .default("="),
    value: z.union([scalar, z.array(scalar).min(1, "an in / not_in list needs at least one value").max(1000)]).optional(),
  })
  .strict()
  .superRefine((filter, ctx) => {
    const needsList = filter.op === "in" || filter.op === "not_in";
    const needsNothing = filter.op === "exists" || filter.op === "not_exists";
    if (needsNothing) {
      if (filter.value !== undefined) ctx.addIssue({ code: "custom", path: ["value"], message: `op "${filter.op}" takes no value` });
    } else if (filter.value === undefined) {
      ctx.addIssue({ code: "custom", path: ["value"], message: `op "${filter.op}" needs a value` });
    } else if (needsList !== Array.isArray(filter.value)) {
      ctx.addIssue({ code: "custom", path: ["value"], message: needsList ? `op "${filter.op}" needs a list of values` : `op "${filter.op}" needs one value, not a list` });
    } else if ([">", ">=", "<", "<="].includes(filter.op) && typeof filter.value !== "number") {
      ctx.addIssue({ code: "custom", path: ["value"], message: `op "${filter.op}" compares numbers: value must be a number` });
    }
  });

export type Filter = z.output<typeof filterSchema>;

/** Which events a rule looks at. */
const selectionFields = {
  source: z.string().min(1).max(100).optional().describe("Only events of this source (e.g. http, reddit)."),
  type: z
    .union([z.string().min(1).max(100), z.array(z.string().min(1).max(100)).min(1).max(50)])
    .optional()
    .describe("Only events of this type, or of one of these types."),
  where: z.array(filterSchema).max(20, "at most 20 filters").default([]).describe("Attribute filters, all of which must hold."),
};

export const AGGREGATIONS = ["count", "sum", "avg", "min", "max", "p50", "p95", "p99", "rate", "ratio"] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];
/** Aggregations over an attribute's numeric value. */
export const FIELD_AGGREGATIONS: readonly Aggregation[] = ["sum", "avg", "min", "max", "p50", "p95", "p99"];

const aggregationSchema = z.enum(AGGREGATIONS, { error: `aggregation must be one of ${AGGREGATIONS.join(", ")}` });

/** One side of a ratio: extra filters and, optionally, an attribute to sum instead of counting. */
const ratioSideSchema = z
  .object({
    where: z.array(filterSchema).max(20).default([]),
    field: attrName.optional().describe("Sum this attribute instead of counting events."),
  })
  .strict();

const groupBySchema = z
  .array(attrName)
  .max(10, "group by at most 10 attributes")
  .default([])
  .refine((names) => new Set(names).size === names.length, "group_by names an attribute twice")
  .describe("Attributes whose values split the rule into one alert per group.");

const flapSchema = z
  .object({
    window: durationSchema({ min: MINUTE, max: DAY }).default(30 * MINUTE),
    max_changes: z.number().int().min(2, "max_changes is at least 2").max(100).default(6),
  })
  .strict()
  .describe("Flap damping: more than max_changes between firing and ok within window holds the alert.");

const common = {
  id: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, "id is 1–64 letters, digits, '_' or '-'")
    .optional()
    .describe("Set by the server when absent (API); required in rule files."),
  name: z.string().trim().min(1, "name is required").max(200, "name is at most 200 characters"),
  description: z.string().max(2000).default(""),
  enabled: z.boolean().default(true),
  labels: z.record(labelName, z.string().max(500), labelKeyError).default({}).describe("Labels that routes and silences match (e.g. severity: critical)."),
  annotations: z
    .record(labelName, z.string().max(4000), labelKeyError)
    .default({})
    .describe("Templates: {{value}}, {{threshold}}, {{rule}} and {{labels.NAME}} are filled in."),
  interval: durationSchema({ min: 5 * SECOND, max: DAY }).default(MINUTE).describe("How often the rule is evaluated."),
  for: durationSchema({ min: 0, max: 7 * DAY }).default(0).describe("How long the condition must hold before firing (pending until then)."),
  keep_firing_for: durationSchema({ min: 0, max: 7 * DAY }).default(0).describe("How long an alert keeps firing after its condition cleared."),
  flap: flapSchema.prefault({}),
};

const thresholdSchema = z
  .object({
    kind: z.literal("threshold"),
    ...common,
    ...selectionFields,
    aggregation: aggregationSchema,
    field: attrName.optional().describe("The numeric attribute sum/avg/min/max/p50/p95/p99 aggregate."),
    numerator: ratioSideSchema.optional(),
    denominator: ratioSideSchema.optional(),
    window: durationSchema({ min: 10 * SECOND, max: 31 * DAY }).default(5 * MINUTE),
    group_by: groupBySchema,
    condition: z.enum([">", ">=", "<", "<=", "==", "!="], { error: 'condition must be one of ">", ">=", "<", "<=", "==", "!="' }),
    threshold: z.number({ error: "threshold must be a number" }).finite(),
    no_data: z.enum(["nodata", "ok", "firing"]).optional().describe("State when no event matches (count and rate always have data: zero)."),
    on_error: z.enum(["error", "firing"]).default("error"),
  })
  .strict();

const absenceSchema = z
  .object({
    kind: z.literal("absence"),
    ...common,
    ...selectionFields,
    of: z.enum(["events", "agent_heartbeats"]).default("events").describe("agent_heartbeats: an agent that stopped reporting (group per agent)."),
    group_by: groupBySchema,
    absent_for: durationSchema({ min: 10 * SECOND, max: 31 * DAY }).describe("Fire when no matching event arrived for this long."),
    lookback: durationSchema({ min: MINUTE, max: 31 * DAY }).default(DAY).describe("How far back groups are remembered (a group not seen for this long is forgotten)."),
    interval: durationSchema({ min: 5 * SECOND, max: DAY }).default(30 * SECOND),
    on_error: z.enum(["error", "firing"]).default("error"),
  })
  .strict();

const anomalySchema = z
  .object({
    kind: z.literal("anomaly"),
    ...common,
    ...selectionFields,
    aggregation: z.enum(["count", "sum", "avg", "min", "max", "p50", "p95", "p99", "rate"], { error: "aggregation of an anomaly rule is one of count, sum, avg, min, max, p50, p95, p99, rate" }),
    field: attrName.optional(),
    window: durationSchema({ min: MINUTE, max: DAY }).default(5 * MINUTE).describe("Bucket size: the value compared is one window's aggregate."),
    group_by: groupBySchema,
    baseline: durationSchema({ min: HOUR, max: 31 * DAY }).default(7 * DAY).describe("Trailing history the band is computed from."),
    seasonality: z.enum(["none", "daily", "weekly"]).default("none").describe("Compare with the same time of day / week only."),
    z: z.number({ error: "z must be a number" }).min(0.5, "z is at least 0.5").max(20).default(3).describe("Band half-width in standard deviations."),
    direction: z.enum(["both", "up", "down"]).default("both"),
    on_error: z.enum(["error", "firing"]).default("error"),
  })
  .strict();

const eventRuleSchema = z
  .object({
    kind: z.literal("event"),
    ...common,
    ...selectionFields,
    group_by: groupBySchema,
    keep_firing_for: durationSchema({ min: 0, max: DAY }).default(5 * MINUTE).describe("How long each matching event shows as firing."),
  })
  .strict();

const KINDS = ["threshold", "absence", "anomaly", "event"] as const;

/** A rule as the API and rule files take it (before the checks that need the rule as a whole). */
export const ruleInputSchema = z.discriminatedUnion("kind", [thresholdSchema, absenceSchema, anomalySchema, eventRuleSchema], {
  error: (issue) => (issue.code === "invalid_union" ? `kind must be one of ${KINDS.join(", ")}` : undefined),
});

/** Adds the cross-field rules; used by every entry point so a rule file and the API refuse the same rules. */
export const ruleSchema = ruleInputSchema.superRefine((rule, ctx) => {
  const at = (path: string, message: string) => ctx.addIssue({ code: "custom", path: [path], message });
  if (rule.kind === "threshold" || rule.kind === "anomaly") {
    const needsField = FIELD_AGGREGATIONS.includes(rule.aggregation);
    if (needsField && !rule.field) at("field", `aggregation "${rule.aggregation}" needs field: the numeric attribute to aggregate`);
    if (!needsField && rule.field) at("field", `aggregation "${rule.aggregation}" takes no field`);
    if (rule.field && (EVENT_COLUMNS as readonly string[]).includes(rule.field)) at("field", `"${rule.field}" is text, not a number: aggregate a numeric attribute`);
  }
  if (rule.kind === "threshold") {
    const isRatio = rule.aggregation === "ratio";
    if (isRatio && (!rule.numerator || !rule.denominator)) at(rule.numerator ? "denominator" : "numerator", 'aggregation "ratio" needs numerator and denominator: {where: [...], field?}');
    if (!isRatio && (rule.numerator || rule.denominator)) at(rule.numerator ? "numerator" : "denominator", 'numerator and denominator belong to aggregation "ratio"');
    if (rule.interval > rule.window) at("interval", "interval is longer than window: events between windows would never be looked at");
  }
  if (rule.kind === "absence") {
    if (rule.lookback <= rule.absent_for) at("lookback", "lookback must be longer than absent_for, or no group is ever known to be missing");
    if (rule.of === "agent_heartbeats" && (rule.source || rule.type || rule.where.length || rule.group_by.length)) {
      at("of", "an agent_heartbeats rule groups per agent by itself: drop source, type, where and group_by");
    }
  }
  if (rule.kind === "anomaly") {
    const slot = rule.seasonality === "daily" ? DAY : rule.seasonality === "weekly" ? 7 * DAY : 0;
    if (slot && slot % rule.window !== 0) at("window", `with seasonality "${rule.seasonality}" the window must divide ${slot === DAY ? "a day" : "a week"} evenly (e.g. 5m, 15m, 1h)`);
    if (slot && rule.baseline < 3 * slot) at("baseline", `seasonality "${rule.seasonality}" needs a baseline of at least ${slot === DAY ? "3d" : "21d"} (three past ${rule.seasonality === "daily" ? "days" : "weeks"})`);
    if (rule.baseline < 12 * rule.window) at("baseline", "baseline must hold at least 12 windows");
  }
});

export type RuleInput = z.input<typeof ruleInputSchema>;
export type Rule = z.output<typeof ruleInputSchema> & { id: string };
export type ThresholdRule = Extract<Rule, { kind: "threshold" }>;
export type AbsenceRule = Extract<Rule, { kind: "absence" }>;
export type AnomalyRule = Extract<Rule, { kind: "anomaly" }>;
export type EventRule = Extract<Rule, { kind: "event" }>;
export type Condition = ThresholdRule["condition"];

export function compare(value: number, condition: string, threshold: number): boolean {
  switch (condition) {
    case ">":
      return value > threshold;
    case ">=":
      return value >= threshold;
    case "<":
      return value < threshold;
    case "<=":
      return value <= threshold;
    case "==":
      return value === threshold;
    default:
      return value !== threshold;
  }
}

/** The states a rule's "no data" may be mapped to; count and rate never lack data. */
export function noDataState(rule: ThresholdRule): "nodata" | "ok" | "firing" {
  return rule.no_data ?? (rule.aggregation === "count" || rule.aggregation === "rate" ? "ok" : "nodata");
}
