import type { Logger } from "pino";
import { Counter, Gauge, Registry } from "prom-client";
import type { CollectorPart, PluginMetric } from "@vigil/plugin-sdk";
import type { Database } from "../storage/database.js";
import { pluginTableName } from "./load.js";

/** A scrape within this long of the last query is answered from its result. */
const RESULT_TTL_MS = 10_000;
/** A query slower than this is left out of the scrape (it keeps running; its result is not waited for). */
const QUERY_TIMEOUT_MS = 5_000;
const DEFAULT_MAX_SERIES = 1000;
const OVERFLOW_VALUE = "other";

type Row = Record<string, unknown>;
interface Series {
  labels: Record<string, string>;
  value: number;
}

export interface PluginMetricsOptions {
  db: Database;
  parts: readonly CollectorPart[];
  log: Logger;
  /** undefined when storage is migrated and answering; scrapes skip plugin metrics until then. */
  storageProblem(): string | undefined;
}

/**
 * The plugins' metrics (`CollectorPart.metrics`) in a registry of their own, each one
 * computed by its query when Prometheus scrapes. Results are cached for RESULT_TTL_MS so
 * several scrapers (or replicas of Prometheus) cost one query; a failing or slow query
 * is logged and its metric served without samples, never failing `/metrics`.
 */
export function createPluginMetrics(options: PluginMetricsOptions): Registry {
  const registry = new Registry();
  for (const part of options.parts) {
    const ctx = { table: (name: string) => options.db.table(pluginTableName(part, name)), events: options.db.table("events") };
    for (const metric of part.metrics ?? []) register(registry, metric, () => metric.query(ctx), part.name, options);
  }
  return registry;
}

function register(registry: Registry, metric: PluginMetric, sql: () => string, plugin: string, options: PluginMetricsOptions): void {
  const labelNames = ["tenant", ...metric.labelNames];
  let cached: { at: number; series: Series[] } | undefined;
  let running: Promise<Series[]> | undefined;

  async function load(): Promise<Series[]> {
    const rows = await withTimeout(options.db.query<Row>(sql()), QUERY_TIMEOUT_MS);
    const series: Series[] = [];
    for (const row of rows) {
      const value = Number(row.value);
      if (!Number.isFinite(value)) continue;
      series.push({ labels: Object.fromEntries(labelNames.map((name) => [name, String(row[name] ?? "")])), value });
    }
    return capSeries(series, metric, labelNames, options.log);
  }

  async function current(): Promise<Series[]> {
    if (options.storageProblem() !== undefined) return [];
    if (cached && Date.now() - cached.at < RESULT_TTL_MS) return cached.series;
    running ??= load().finally(() => (running = undefined));
    try {
      const series = await running;
      cached = { at: Date.now(), series };
      return series;
    } catch (error) {
      options.log.warn({ plugin, metric: metric.name, err: (error as Error).message }, "plugin metric query failed; left out of this scrape");
      return [];
    }
  }

  if (metric.type === "gauge") {
    new Gauge({
      name: metric.name,
      help: metric.help,
      labelNames,
      registers: [registry],
      async collect() {
        const series = await current();
        this.reset();
        for (const s of series) this.set(s.labels, s.value);
      },
    });
  } else {
    new Counter({
      name: metric.name,
      help: metric.help,
      labelNames,
      registers: [registry],
      async collect() {
        const series = await current();
        // The query yields totals: the counter shows them as they are.
        this.reset();
        for (const s of series) if (s.value >= 0) this.inc(s.labels, s.value);
      },
    });
  }
}

/**
 * At most `maxSeries` series: the largest are kept; for a counter the rest are added into
 * an "other" series per remaining label set (so the totals stay whole), for a gauge they
 * are dropped. Either is logged.
 */
function capSeries(series: Series[], metric: PluginMetric, labelNames: readonly string[], log: Logger): Series[] {
  const max = metric.maxSeries ?? DEFAULT_MAX_SERIES;
  if (series.length <= max) return series;
  const sorted = [...series].sort((a, b) => b.value - a.value);
  const overflow = metric.type === "counter" ? metric.overflowLabel : undefined;
  if (!overflow) {
    log.warn({ metric: metric.name, series: series.length, kept: max }, "plugin metric has more series than its cap; the smallest are left out");
    return sorted.slice(0, max);
  }
  const foldKey = (s: Series) => labelNames.map((name) => (name === overflow ? OVERFLOW_VALUE : s.labels[name])).join("\u0000");
  // Series the query already named "other" are always folded, so no label set appears twice.
  const named = sorted.filter((s) => s.labels[overflow] !== OVERFLOW_VALUE);
  const groups = new Set<string>();
  for (const s of sorted) if (s.labels[overflow] === OVERFLOW_VALUE) groups.add(foldKey(s));
  // Keep the largest named series while they and the "other" series of the rest fit.
  let keep = named.length;
  while (keep > 0 && keep + groups.size > max) {
    keep--;
    groups.add(foldKey(named[keep]!));
  }
  const folded = new Map<string, Series>();
  for (const s of [...named.slice(keep), ...sorted.filter((x) => x.labels[overflow] === OVERFLOW_VALUE)]) {
    const key = foldKey(s);
    const into = folded.get(key);
    if (into) into.value += s.value;
    else folded.set(key, { labels: { ...s.labels, [overflow]: OVERFLOW_VALUE }, value: s.value });
  }
  // Only when the "other" series alone outnumber the cap does anything still fall off.
  const result = [...named.slice(0, keep), ...folded.values()];
  log.warn({ metric: metric.name, series: series.length, kept: keep, folded_into: `${overflow}="${OVERFLOW_VALUE}"` }, "plugin metric has more series than its cap; the smallest were folded");
  return result.slice(0, max);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
