import type { Query } from "../../lib/api.js";

/**
 * The events explorer's filters: read from and written to the URL's query string (so a
 * filtered view can be bookmarked and shared, and Back restores the previous filters),
 * and turned into the query of `GET /api/events` (collector/src/storage/event-queries.ts).
 */

export const EVENTS_PATH = "/api/events";

export const RANGES = [
  { value: "15m", label: "Last 15 minutes", ms: 15 * 60_000 },
  { value: "1h", label: "Last hour", ms: 3_600_000 },
  { value: "6h", label: "Last 6 hours", ms: 6 * 3_600_000 },
  { value: "24h", label: "Last 24 hours", ms: 86_400_000 },
  { value: "7d", label: "Last 7 days", ms: 7 * 86_400_000 },
  { value: "all", label: "Any time", ms: 0 },
  { value: "custom", label: "Custom…", ms: 0 },
] as const;
export type RangeValue = (typeof RANGES)[number]["value"];

export interface EventFilters {
  source: string;
  type: string;
  /** Text searched in the body (case-insensitive). */
  q: string;
  /** `key=value` pairs separated by spaces; `key="a value"` when the value has spaces. */
  attrs: string;
  range: RangeValue;
  /** For the custom range: `datetime-local` values (local time, no zone). */
  since: string;
  until: string;
}

export const DEFAULT_RANGE: RangeValue = "24h";

export function filtersFromQuery(query: URLSearchParams): EventFilters {
  const range = query.get("range");
  return {
    source: query.get("source") ?? "",
    type: query.get("type") ?? "",
    q: query.get("q") ?? "",
    attrs: query.get("attrs") ?? "",
    range: RANGES.some((r) => r.value === range) ? (range as RangeValue) : DEFAULT_RANGE,
    since: query.get("since") ?? "",
    until: query.get("until") ?? "",
  };
}

/** The URL query for `filters`: defaults and empty fields are left out, keeping links short. */
export function filtersToQuery(filters: EventFilters): Record<string, string | null> {
  const custom = filters.range === "custom";
  return {
    source: filters.source.trim() || null,
    type: filters.type.trim() || null,
    q: filters.q.trim() || null,
    attrs: filters.attrs.trim() || null,
    range: filters.range === DEFAULT_RANGE ? null : filters.range,
    since: custom ? filters.since || null : null,
    until: custom ? filters.until || null : null,
  };
}

export interface AttrFilter {
  key: string;
  value: string;
}

const KEY = /^[a-z][a-z0-9_.]*$/;

/**
 * `status=500 url_host=example.com msg="two words"` → pairs. Keys follow the event
 * schema's rule (snake_case, dots allowed), as the server checks them.
 */
export function parseAttrFilters(text: string): { filters: AttrFilter[]; error: string | null } {
  const filters: AttrFilter[] = [];
  const tokens = text.match(/[^\s"=]+="[^"]*"|[^\s"]+="[^"]*"?|\S+/g) ?? [];
  for (const token of tokens) {
    const eq = token.indexOf("=");
    if (eq <= 0) return { filters: [], error: `"${token}" is not key=value (e.g. status=500)` };
    const key = token.slice(0, eq);
    let value = token.slice(eq + 1);
    if (!KEY.test(key)) return { filters: [], error: `"${key}" is not an attribute name: use lower-case letters, digits, "_" and "." (e.g. url_host)` };
    if (value.startsWith('"')) {
      if (value.length < 2 || !value.endsWith('"')) return { filters: [], error: `the value of ${key} opens a quote but does not close it` };
      value = value.slice(1, -1);
    }
    filters.push({ key, value });
  }
  if (filters.length > 16) return { filters: [], error: "at most 16 attribute filters" };
  return { filters, error: null };
}

/** Since/until in epoch ms for the chosen range, as of `now`. */
export function timeBounds(filters: EventFilters, now: number): { since?: number; until?: number; error?: string } {
  if (filters.range === "custom") {
    const since = filters.since ? Date.parse(filters.since) : undefined;
    const until = filters.until ? Date.parse(filters.until) : undefined;
    if (since !== undefined && Number.isNaN(since)) return { error: "the start time is not a valid date" };
    if (until !== undefined && Number.isNaN(until)) return { error: "the end time is not a valid date" };
    if (since !== undefined && until !== undefined && since >= until) return { error: "the start time must be before the end time" };
    return { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}) };
  }
  const range = RANGES.find((r) => r.value === filters.range);
  return range && range.ms > 0 ? { since: now - range.ms } : {};
}

/** The `GET /api/events` query for these filters (throws the validation message for bad input). */
export function eventsQuery(filters: EventFilters, now: number, cursor?: string | null, limit = 100): Query {
  const attrs = parseAttrFilters(filters.attrs);
  if (attrs.error) throw new Error(`Attribute filter: ${attrs.error}`);
  const bounds = timeBounds(filters, now);
  if (bounds.error) throw new Error(`Time range: ${bounds.error}`);
  const query: Query = {
    source: filters.source.trim() || undefined,
    type: filters.type.trim() || undefined,
    q: filters.q.trim() || undefined,
    since: bounds.since,
    until: bounds.until,
    limit,
    cursor: cursor ?? undefined,
  };
  for (const { key, value } of attrs.filters) {
    const name = `attr.${key}`;
    const existing = query[name];
    query[name] = Array.isArray(existing) ? [...existing, value] : [value];
  }
  return query;
}

/** The live tail's params: the topic filters by source, type and body text only. */
export function tailParams(filters: EventFilters): Record<string, string> {
  const params: Record<string, string> = {};
  if (filters.source.trim()) params.source = filters.source.trim();
  if (filters.type.trim()) params.type = filters.type.trim();
  if (filters.q.trim()) params.q = filters.q.trim();
  return params;
}

/** The attribute filters the tail applies in the browser (the topic has none). */
export function matchesAttrs(attrs: Record<string, string | number | boolean>, filters: AttrFilter[]): boolean {
  return filters.every(({ key, value }) => key in attrs && String(attrs[key]) === value);
}
