import type { TenantScope } from "../storage/tenant-scope.js";
import { Params, attrExpr, filtersSql, numericAttrExpr, selectionSql, timeRangeSql } from "./compile.js";
import { compare, noDataState, type AbsenceRule, type Aggregation, type AnomalyRule, type Rule, type ThresholdRule } from "./rule.js";

/**
 * One evaluation of a rule at a given time: a query per rule (parameterised, tenant-
 * scoped by the TenantScope it runs through), reduced to one sample per group.
 */

/** One group's outcome: whether its condition holds, and the value shown. */
export interface Sample {
  labels: Record<string, string>;
  value: number | null;
  active: boolean;
}

export interface Evaluation {
  samples: Sample[];
  /** The rule saw no data at all (and its no_data setting says so); one rule-level alert. */
  noData?: { state: "nodata" | "firing" };
  /** Anomaly rules: history the band is computed from, and what it needs before firing. */
  history?: { have_ms: number; need_ms: number };
}

const DAY = 86_400_000;

function groupColumns(groupBy: readonly string[], params: Params): { select: string; names: string[] } {
  const names = groupBy.map((_, i) => `g${i}`);
  return { select: groupBy.map((attr, i) => `${attrExpr(attr, params)} AS g${i}`).join(", "), names };
}

function labelsOf(groupBy: readonly string[], row: Record<string, unknown>): Record<string, string> {
  const labels: Record<string, string> = {};
  groupBy.forEach((attr, i) => (labels[attr] = String(row[`g${i}`] ?? "")));
  return labels;
}

/** The SQL aggregate of one value per event; `range_s` turns a count into a rate. */
function aggregateSql(aggregation: Aggregation, field: string | undefined, params: Params, rangeS: number): string {
  const x = () => numericAttrExpr(field!, params);
  switch (aggregation) {
    case "count":
      return "toFloat64(count())";
    case "rate":
      return `count() / ${params.bind(rangeS, "Float64")}`;
    case "sum":
      return `sum(${x()})`;
    case "avg":
      return `avg(${x()})`;
    case "min":
      return `min(${x()})`;
    case "max":
      return `max(${x()})`;
    case "p50":
      return `quantile(0.5)(${x()})`;
    case "p95":
      return `quantile(0.95)(${x()})`;
    case "p99":
      return `quantile(0.99)(${x()})`;
    default:
      throw new Error(`aggregation ${aggregation} has no single-value SQL`);
  }
}

/** Threshold rules that can share one scan: same tenant, source, type and group_by. */
export function thresholdBatchKey(rule: ThresholdRule): string {
  return JSON.stringify([rule.source ?? null, rule.type ?? null, rule.group_by]);
}

/** Most rules one shared query computes (its SQL grows with each). */
export const MAX_BATCH_RULES = 200;

/**
 * Evaluates threshold rules that share source, type and group_by in ONE scan of the
 * longest window: each rule's value is a conditional aggregate (`countIf`, `avgIf`,
 * `quantileIf`, …) over its own window and filters, beside a count of its own matching
 * rows, so a group is only a group of the rules that saw events in it. The events' attrs
 * map is then read once per scan instead of once per rule — the bulk of the cost (see
 * `pnpm bench:alerts`). A single rule is a batch of one: one code path.
 */
export async function evaluateThresholdBatch(scope: TenantScope, rules: readonly ThresholdRule[], now: number): Promise<Map<string, Evaluation>> {
  const first = rules[0]!;
  const params = new Params();
  const groups = groupColumns(first.group_by, params);
  const columns: string[] = [];
  rules.forEach((rule, i) => {
    let cond = `ts > fromUnixTimestamp64Milli(${params.bind(now - rule.window, "Int64")}, 'UTC')`;
    if (rule.where.length) cond += ` AND ${filtersSql(rule.where, params)}`;
    if (rule.aggregation === "ratio") {
      const side = (s: NonNullable<ThresholdRule["numerator"]>) => {
        const sideCond = s.where.length ? `${cond} AND ${filtersSql(s.where, params)}` : cond;
        return s.field ? `sumIf(toFloat64OrZero(${attrExpr(s.field, params)}), ${sideCond})` : `toFloat64(countIf(${sideCond}))`;
      };
      // A zero denominator is no data, not infinity.
      columns.push(`${side(rule.numerator!)} / nullIf(${side(rule.denominator!)}, 0) AS v${i}`, `countIf(${cond}) AS n${i}`);
    } else if (rule.field) {
      // Rows without a numeric value are left out, so an avg over none is "no data", not 0.
      const x = numericAttrExpr(rule.field, params);
      const fieldCond = `${cond} AND ${x} IS NOT NULL`;
      const agg = { sum: "sumIf", avg: "avgIf", min: "minIf", max: "maxIf", p50: "quantileIf(0.5)", p95: "quantileIf(0.95)", p99: "quantileIf(0.99)" }[rule.aggregation as "sum"];
      columns.push(`${agg}(toFloat64(${x}), ${fieldCond}) AS v${i}`, `countIf(${fieldCond}) AS n${i}`);
    } else {
      columns.push(`countIf(${cond}) AS n${i}`);
    }
  });
  const longest = Math.max(...rules.map((r) => r.window));
  const sql = `SELECT ${[groups.select, ...columns].filter(Boolean).join(", ")}
    FROM ${scope.table("events")}
    WHERE tenant = {tenant:String} AND ${selectionSql({ source: first.source, type: first.type, where: [] }, params)} AND ${timeRangeSql(now - longest, now, params)}
    ${groups.names.length ? `GROUP BY ${groups.names.join(", ")}` : ""}
    LIMIT 10000`;
  const rows = await scope.query<Record<string, unknown>>(sql, params.values);
  const out = new Map<string, Evaluation>();
  rules.forEach((rule, i) => {
    const counted = rule.aggregation === "count" || rule.aggregation === "rate";
    const samples: Sample[] = [];
    for (const row of rows) {
      const n = Number(row[`n${i}`] ?? 0);
      // Without group_by the one row always counts for count and rate (no event is the value 0).
      if (n === 0 && !(counted && first.group_by.length === 0)) continue;
      const raw = counted ? (rule.aggregation === "rate" ? n / (rule.window / 1000) : n) : row[`v${i}`];
      const v = raw === null || raw === undefined ? null : Number(raw);
      if (v === null || !Number.isFinite(v)) continue;
      samples.push({ labels: labelsOf(rule.group_by, row), value: v, active: compare(v, rule.condition, rule.threshold) });
    }
    const state = noDataState(rule);
    out.set(rule.id, samples.length === 0 && state !== "ok" ? { samples, noData: { state } } : { samples });
  });
  return out;
}

export async function evaluateThreshold(scope: TenantScope, rule: ThresholdRule, now: number): Promise<Evaluation> {
  return (await evaluateThresholdBatch(scope, [rule], now)).get(rule.id)!;
}

export async function evaluateAbsence(scope: TenantScope, rule: AbsenceRule, now: number): Promise<Evaluation> {
  const params = new Params();
  let rows: Record<string, unknown>[];
  let labelNames: string[];
  if (rule.of === "agent_heartbeats") {
    labelNames = ["agent_id", "agent_name"];
    rows = await scope.query<Record<string, unknown>>(
      `SELECT id AS g0, name AS g1, toUnixTimestamp64Milli(last_heartbeat) AS last_ms
       FROM ${scope.table("agents")} FINAL
       WHERE tenant = {tenant:String} AND is_deleted = 0
         AND last_heartbeat > fromUnixTimestamp64Milli(${params.bind(now - rule.lookback, "Int64")}, 'UTC')
       LIMIT 10000`,
      params.values,
    );
  } else {
    labelNames = rule.group_by;
    const groups = groupColumns(rule.group_by, params);
    rows = await scope.query<Record<string, unknown>>(
      `SELECT ${groups.select ? `${groups.select}, ` : ""}toUnixTimestamp64Milli(max(ts)) AS last_ms, count() AS n
       FROM ${scope.table("events")}
       WHERE tenant = {tenant:String} AND ${selectionSql(rule, params)} AND ${timeRangeSql(now - rule.lookback, now, params)}
       ${groups.names.length ? `GROUP BY ${groups.names.join(", ")}` : ""}
       LIMIT 10000`,
      params.values,
    );
  }
  const samples: Sample[] = rows.map((row) => {
    // Without group_by the aggregate always answers one row; n = 0 means never seen in the lookback.
    const seen = row.n === undefined || Number(row.n) > 0;
    const silentMs = seen ? now - Number(row.last_ms) : rule.lookback;
    return { labels: labelsOf(labelNames, row), value: Math.round(silentMs / 1000), active: silentMs >= rule.absent_for };
  });
  return { samples };
}

/** How many windows of one season: daily and weekly compare the same slot only. */
function seasonWindows(rule: AnomalyRule): number {
  if (rule.seasonality === "none") return 1;
  return Math.round((rule.seasonality === "daily" ? DAY : 7 * DAY) / rule.window);
}

/** History an anomaly rule needs before it can fire: 12 windows, or three past seasons. */
export function historyNeeded(rule: AnomalyRule): number {
  return rule.seasonality === "none" ? 12 * rule.window : 3 * seasonWindows(rule) * rule.window;
}

/**
 * The value of the last window against the mean and standard deviation of the same
 * aggregate over the baseline's windows (or only the same time of day / week). Windows
 * are aligned on the evaluation time, so "now" is always a full window.
 */
export async function evaluateAnomaly(scope: TenantScope, rule: AnomalyRule, now: number): Promise<Evaluation> {
  const params = new Params();
  const groups = groupColumns(rule.group_by, params);
  const windowMs = rule.window;
  const from = now - rule.baseline - windowMs;
  const where = [`tenant = {tenant:String}`, selectionSql(rule, params), timeRangeSql(from, now, params)];
  if (rule.field) where.push(`${numericAttrExpr(rule.field, params)} IS NOT NULL`);
  const age = `intDiv(${params.bind(now, "Int64")} - toUnixTimestamp64Milli(ts), ${params.bind(windowMs, "Int64")})`;
  const value = aggregateSql(rule.aggregation, rule.field, params, windowMs / 1000);
  const rows = await scope.query<Record<string, unknown>>(
    `SELECT ${groups.select ? `${groups.select}, ` : ""}${age} AS age, ${value} AS value
     FROM ${scope.table("events")}
     WHERE ${where.join(" AND ")}
     GROUP BY ${[...groups.names, "age"].join(", ")}
     LIMIT 200000`,
    params.values,
  );
  const byGroup = new Map<string, { labels: Record<string, string>; values: Map<number, number> }>();
  for (const row of rows) {
    const labels = labelsOf(rule.group_by, row);
    const key = JSON.stringify(labels);
    let group = byGroup.get(key);
    if (!group) byGroup.set(key, (group = { labels, values: new Map() }));
    const v = Number(row.value);
    if (Number.isFinite(v)) group.values.set(Number(row.age), v);
  }
  const season = seasonWindows(rule);
  const lastAge = Math.floor(rule.baseline / windowMs);
  const zeroFill = rule.aggregation === "count" || rule.aggregation === "rate";
  const need = historyNeeded(rule);
  let haveMax = 0;
  const samples: Sample[] = [];
  for (const group of byGroup.values()) {
    const oldest = Math.max(...group.values.keys());
    const have = (oldest + 1) * windowMs;
    haveMax = Math.max(haveMax, have);
    const baseline: number[] = [];
    for (let a = season; a <= Math.min(lastAge, oldest); a += season) {
      const v = group.values.get(a);
      if (v !== undefined) baseline.push(v);
      else if (zeroFill) baseline.push(0);
    }
    const current = group.values.get(0) ?? (zeroFill ? 0 : null);
    if (current === null || have < need || baseline.length < 3) {
      samples.push({ labels: group.labels, value: current, active: false });
      continue;
    }
    const mean = baseline.reduce((s, v) => s + v, 0) / baseline.length;
    const sd = Math.sqrt(baseline.reduce((s, v) => s + (v - mean) ** 2, 0) / (baseline.length - 1));
    // A perfectly flat baseline gets a floor of 5 % of its mean (at least 1 for counts),
    // so one extra event over a constant series is not an anomaly.
    const spread = Math.max(sd, Math.abs(mean) * 0.05, zeroFill ? 1 : 1e-9);
    const z = (current - mean) / spread;
    const active = rule.direction === "up" ? z > rule.z : rule.direction === "down" ? z < -rule.z : Math.abs(z) > rule.z;
    samples.push({ labels: group.labels, value: current, active });
  }
  return { samples, history: { have_ms: haveMax, need_ms: need } };
}

export function evaluateRule(scope: TenantScope, rule: Rule, now: number): Promise<Evaluation> {
  switch (rule.kind) {
    case "threshold":
      return evaluateThreshold(scope, rule, now);
    case "absence":
      return evaluateAbsence(scope, rule, now);
    case "anomaly":
      return evaluateAnomaly(scope, rule, now);
    default:
      // Event rules are matched at ingest; between events they have nothing to evaluate.
      return Promise.resolve({ samples: [] });
  }
}
