import type { Filter } from "./rule.js";

/**
 * Turns a rule's selection (source, type, attribute filters) into a SQL condition with
 * every value bound as a query parameter, and into the same predicate in JavaScript for
 * event rules, which are matched at ingest. The two must agree: the tests run both on the
 * same events.
 *
 * The tenant filter is not here: the engine runs every query through a TenantScope,
 * which refuses SQL without `tenant = {tenant:String}` and fills the value itself.
 */

export interface Selection {
  source?: string | undefined;
  type?: string | string[] | undefined;
  where: Filter[];
}

/** Collects query parameters under generated names (p0, p1, …). */
export class Params {
  readonly values: Record<string, unknown> = {};
  private next = 0;
  bind(value: unknown, type: string): string {
    const name = `p${this.next++}`;
    this.values[name] = value;
    return `{${name}:${type}}`;
  }
}

/** Attribute values are text; numbers compare by value and booleans by their JSON spelling. */
function asText(value: string | number | boolean): string {
  return String(value);
}

/**
 * A number is bound as its text, which ClickHouse parses exactly: chDB refuses to bind an
 * integer-valued number beyond ±2^53 (a filter like `bytes > 1e20`) given as a number.
 */
function bindNumber(value: number, params: Params): string {
  return params.bind(String(value), "Float64");
}

export function attrExpr(name: string, params: Params): string {
  return `attrs[${params.bind(name, "String")}]`;
}

export function numericAttrExpr(name: string, params: Params): string {
  return `toFloat64OrNull(${attrExpr(name, params)})`;
}

function filterSql(filter: Filter, params: Params): string {
  const attr = attrExpr(filter.attr, params);
  const value = filter.value;
  switch (filter.op) {
    case "exists":
      return `mapContains(attrs, ${params.bind(filter.attr, "String")})`;
    case "not_exists":
      return `NOT mapContains(attrs, ${params.bind(filter.attr, "String")})`;
    case "in":
    case "not_in": {
      const list = (value as (string | number | boolean)[]).map(asText);
      return `${attr} ${filter.op === "in" ? "IN" : "NOT IN"} ${params.bind(list, "Array(String)")}`;
    }
    case "contains":
      return `position(${attr}, ${params.bind(asText(value as string), "String")}) > 0`;
    case "=":
    case "!=":
      if (typeof value === "number") {
        const expr = `toFloat64OrNull(${attr}) = ${bindNumber(value, params)}`;
        // A missing or non-numeric attribute is "not equal", as in the JavaScript predicate.
        return filter.op === "=" ? expr : `NOT ifNull(${expr}, false)`;
      }
      return `${attr} ${filter.op} ${params.bind(asText(value as string | boolean), "String")}`;
    default:
      return `toFloat64OrNull(${attr}) ${filter.op} ${bindNumber(value as number, params)}`;
  }
}

/** `a AND b AND …` for the filters alone ("1" when none). */
export function filtersSql(filters: readonly Filter[], params: Params): string {
  return filters.length === 0 ? "1" : filters.map((f) => `(${filterSql(f, params)})`).join(" AND ");
}

/** The selection's WHERE terms (source and type first: they lead the events sort key). */
export function selectionSql(selection: Selection, params: Params): string {
  const terms: string[] = [];
  if (selection.source) terms.push(`source = ${params.bind(selection.source, "String")}`);
  if (typeof selection.type === "string") terms.push(`type = ${params.bind(selection.type, "String")}`);
  else if (selection.type) terms.push(`type IN ${params.bind(selection.type, "Array(String)")}`);
  if (selection.where.length > 0) terms.push(filtersSql(selection.where, params));
  return terms.length === 0 ? "1" : terms.join(" AND ");
}

/** The time range (from, to] in epoch milliseconds. */
export function timeRangeSql(fromMs: number, toMs: number, params: Params): string {
  return `ts > fromUnixTimestamp64Milli(${params.bind(fromMs, "Int64")}, 'UTC') AND ts <= fromUnixTimestamp64Milli(${params.bind(toMs, "Int64")}, 'UTC')`;
}

/** The fields of an event a predicate reads. */
export interface EventLike {
  source: string;
  type: string;
  attrs: Record<string, string>;
}

/** What ClickHouse's toFloat64OrNull reads: decimal notation only (no spaces, no 0x), and inf / infinity / nan in any case. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/** The number the SQL side reads from an attribute's text (NaN compares false, as there); null when it is not one. */
function toNumber(text: string | undefined): number | null {
  if (text === undefined) return null;
  if (DECIMAL.test(text)) return Number(text);
  const special = SPECIAL.exec(text);
  if (!special) return null;
  if (special[2]!.toLowerCase() === "nan") return Number.NaN;
  return special[1] === "-" ? -Infinity : Infinity;
}

function filterMatches(filter: Filter, attrs: Record<string, string>): boolean {
  const has = Object.hasOwn(attrs, filter.attr);
  // ClickHouse reads a missing map key as '': keep the same meaning here.
  const text = has ? attrs[filter.attr]! : "";
  const value = filter.value;
  switch (filter.op) {
    case "exists":
      return has;
    case "not_exists":
      return !has;
    case "in":
      return (value as (string | number | boolean)[]).some((v) => asText(v) === text);
    case "not_in":
      return !(value as (string | number | boolean)[]).some((v) => asText(v) === text);
    case "contains":
      return text.includes(asText(value as string));
    case "=":
    case "!=": {
      const equal = typeof value === "number" ? toNumber(text) === value : text === asText(value as string | boolean);
      return filter.op === "=" ? equal : !equal;
    }
    default: {
      const n = toNumber(text);
      if (n === null) return false;
      const v = value as number;
      return filter.op === ">" ? n > v : filter.op === ">=" ? n >= v : filter.op === "<" ? n < v : n <= v;
    }
  }
}

/** The selection as a JavaScript predicate (event rules, matched at ingest). */
export function selectionMatcher(selection: Selection): (event: EventLike) => boolean {
  const types = typeof selection.type === "string" ? new Set([selection.type]) : selection.type ? new Set(selection.type) : undefined;
  return (event) =>
    (selection.source === undefined || event.source === selection.source) &&
    (types === undefined || types.has(event.type)) &&
    selection.where.every((filter) => filterMatches(filter, event.attrs));
}
