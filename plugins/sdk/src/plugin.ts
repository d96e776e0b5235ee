import { z as zod, type z } from "zod";
import type { EventInput } from "./event.js";

/**
 * The contract between the agent and a source plugin. A plugin package default-exports
 * the value of `definePlugin(...)`; the agent loads it by package name (`use:` in the
 * agent's configuration), validates the plugin's `config:` with `configSchema`, calls
 * `create(ctx)` and then `start()`.
 */

/** Vector's words, defined in docs/guarantees.md. */
export type DeliveryGuarantee = "at_least_once" | "best_effort";
export type Stability = "development" | "alpha" | "beta" | "stable";

export interface PluginMetadata {
  stability: Stability;
  /** What happens to an event the plugin has seen when the agent crashes. */
  delivery: DeliveryGuarantee;
  description: string;
}

export type PluginState = "starting" | "ok" | "degraded" | "failing" | "stopped";

export interface PluginStatus {
  state: PluginState;
  /** One line a person can act on, e.g. "2 of 5 checks down". */
  message?: string;
  /** Small, flat facts shown by `vigil-agent status` and the collector's agent list. */
  details?: Record<string, string | number | boolean>;
}

export interface PluginInstance {
  /** Starts the plugin's work. Must undo what it started if it fails. */
  start(): Promise<void>;
  /** Stops the work and waits for work in flight. Safe to call twice. */
  stop(): Promise<void>;
  status(): PluginStatus;
}

export interface Logger {
  debug(obj: object | string, msg?: string): void;
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
}

export type Labels = Record<string, string>;

/** Metrics land in the agent's Prometheus registry; name them `vigil_<plugin>_<what>_<unit>`. */
export interface PluginMetrics {
  counter(options: { name: string; help: string; labelNames?: readonly string[] }): { inc(labels?: Labels, value?: number): void };
  gauge(options: { name: string; help: string; labelNames?: readonly string[] }): { set(value: number, labels?: Labels): void };
  histogram(options: { name: string; help: string; labelNames?: readonly string[]; buckets?: number[] }): {
    observe(value: number, labels?: Labels): void;
  };
}

/** Durable key-value state of one plugin: cursors, seen ids. Survives restarts. */
export interface PluginStore {
  get<T = unknown>(key: string): T | undefined;
  /** Resolves once the value is on disk. */
  set(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface ScheduledJob {
  stop(): void;
  /** Next planned run, when known. */
  nextRun(): Date | null;
}

export interface Scheduler {
  /**
   * Runs `task` on a schedule: `every` is a duration ("30s", "5m") or milliseconds, with
   * the first run at once; `cron` a cron pattern (seconds optional), first run at the
   * first match. Runs never overlap; a throwing task is logged and the schedule goes on.
   */
  schedule(name: string, when: { every: string | number } | { cron: string; timezone?: string }, task: () => Promise<void> | void): ScheduledJob;
}

export interface HttpRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Whole request, ms. Default 10 s. */
  timeoutMs?: number;
  /** Retries after network errors and 5xx/429; only for GET/HEAD/PUT/DELETE/OPTIONS unless `retryUnsafe`. Default 2. */
  retries?: number;
  retryUnsafe?: boolean;
  /** Cancels the request (and its retries), e.g. the plugin's `ctx.signal` on stop. */
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** Body text (bounded by the agent). */
  text: string;
  /** Milliseconds from sending to the end of the body. */
  durationMs: number;
  /** The URL actually requested, after base-URL overrides. */
  url: string;
}

export interface HttpClient {
  /**
   * Sends a request with the agent's User-Agent, a timeout and safe retries. URLs whose
   * origin is listed in the agent's `http.base_urls` are sent to the replacement origin
   * (how tests point a plugin at a fake of a third-party API).
   */
  request(url: string, request?: HttpRequest): Promise<HttpResponse>;
}

export interface CollectorApi {
  request(path: string, request?: HttpRequest): Promise<HttpResponse>;
}

export interface PluginContext<Config> {
  agent: { id: string; name: string; version: string };
  /** The plugin's instance id (its `id:` in the agent config; defaults to its name). */
  instanceId: string;
  config: Config;
  /**
   * Queues an event. Resolves once the event is durable in the agent's on-disk queue;
   * rejects with a message naming each problem when the event is invalid.
   */
  emit(event: EventInput): Promise<void>;
  log: Logger;
  metrics: PluginMetrics;
  state: PluginStore;
  scheduler: Scheduler;
  http: HttpClient;
  /** A directory of the plugin's own under the agent's data dir. */
  dataDir: string;
  /**
   * The collector's own API, called with the agent's key and id: a plugin's collector part
   * can offer routes with scope `ingest` for its agents (the Reddit plugin's keyword sync).
   * `path` is absolute (`/api/...`); the agent's timeout applies unless `timeoutMs` is set.
   */
  collector: CollectorApi;
  /**
   * Makes a JSON value readable by apps on this host at the agent's local intake,
   * `GET /v1/plugins/<instance id>/<name>` (the last value published; 404 before the
   * first). How an in-app SDK gets what the plugin relays from the collector, e.g. the
   * cache monitor's settings. `name`: lower-case letters, digits and '-'.
   */
  publish(name: string, value: unknown): void;
  /** Called with the new, validated config whenever the remote configuration changes it. */
  onConfig(listener: (config: Config) => void | Promise<void>): void;
  /**
   * Handles a command an admin pushes through the collector (`POST /api/agents/:id/commands`),
   * e.g. `run-job` or `set-sampling`.
   */
  onCommand(name: string, handler: (args: Record<string, unknown>) => unknown): void;
  /** Aborted when the plugin is being stopped. */
  signal: AbortSignal;
}

export interface PluginDefinition<Schema extends z.ZodType = z.ZodType> {
  name: string;
  metadata: PluginMetadata;
  /** Holds every default (`.default()`), a description per field (`.describe()`), and is `.strict()`. */
  configSchema: Schema;
  create(ctx: PluginContext<z.output<Schema>>): PluginInstance;
}

export function definePlugin<Schema extends z.ZodType>(definition: PluginDefinition<Schema>): PluginDefinition<Schema> {
  if (!/^[a-z][a-z0-9-]*$/.test(definition.name)) throw new Error(`plugin name "${definition.name}" must be lower-case letters, digits and '-'`);
  return definition;
}

/** Parses "30s", "5m", "1h30m", "250ms" or a number of milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new Error(`expected a duration like "30s", got ${value}`);
    return value;
  }
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let consumed = "";
  for (const match of value.trim().matchAll(pattern)) {
    total += Number(match[1]) * units[match[2]!]!;
    consumed += match[0];
  }
  if (consumed.length === 0 || consumed !== value.trim()) throw new Error(`expected a duration like "30s", got "${value}"`);
  return total;
}

const DURATION_UNITS: [string, number][] = [
  ["d", 86_400_000],
  ["h", 3_600_000],
  ["m", 60_000],
  ["s", 1_000],
];

/** 300000 → "5m", 5400000 → "1h30m", 1500 → "1.5s", 250 → "250ms", 0 → "0s": how durations are written in configs. */
export function formatDuration(ms: number): string {
  if (ms === 0) return "0s";
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(3))}s`;
  let rest = Math.round(ms / 1_000) * 1_000;
  let text = "";
  for (const [unit, size] of DURATION_UNITS) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}

/**
 * A config field holding a duration: "30s", "5m", or milliseconds. Yields milliseconds.
 * `min`/`max` (ms) bound it, e.g. a sync interval of 0 would read back to back.
 */
export function durationSchema(bounds: { min?: number; max?: number } = {}) {
  return zod
    .union([zod.string(), zod.number()], { error: 'expected a duration like "30s"' })
    .transform((value, ctx) => {
      let ms: number;
      try {
        ms = parseDuration(value);
      } catch {
        ctx.addIssue({ code: "custom", message: 'expected a duration like "30s"' });
        return zod.NEVER;
      }
      if (bounds.min !== undefined && ms < bounds.min) {
        ctx.addIssue({ code: "custom", message: `must be at least ${formatDuration(bounds.min)}` });
        return zod.NEVER;
      }
      if (bounds.max !== undefined && ms > bounds.max) {
        ctx.addIssue({ code: "custom", message: `must be at most ${formatDuration(bounds.max)}` });
        return zod.NEVER;
      }
      return ms;
    });
}

/** Why a request got no HTTP answer; plugins report it as their error class. */
export type HttpFailureKind = "timeout" | "dns" | "connect" | "tls" | "network" | "aborted";

export class HttpRequestError extends Error {
  constructor(
    readonly kind: HttpFailureKind,
    message: string,
    readonly url: string,
  ) {
    super(message);
    this.name = "HttpRequestError";
  }
}
