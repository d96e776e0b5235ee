import type { EventInput } from "@vigil/plugin-sdk";
import type { CacheOpAttrs, Mode, Op, Settings } from "../contract.js";

export interface MonitorOptions {
  /** The app's name (APP_NAME): every event carries it and the agent picks its settings by it. */
  app: string;
  /** The local agent's intake. Default `process.env.VIGIL_AGENT_URL ?? "http://127.0.0.1:4601"`. */
  agentUrl?: string;
  /** The agent's cache-db plugin instance id, whose published settings the SDK reads. Default "cache-db". */
  pluginId?: string;
  /** Reduces a key to its label. Default: the prefix before the first ":" (the whole key when it has none). */
  keyLabel?: (key: string) => string;
  /** Ship the first 12 hex digits of each label's sha256 instead of the label. */
  hashLabels?: boolean;
  /** How often cache.stats and the buffered cache.op events are shipped. Default 5000 ms. */
  flushIntervalMs?: number;
  /** How often the agent is asked for settings. Default 2000 ms. */
  settingsPollMs?: number;
  /** Settings in force until the agent's arrive. */
  settings?: Partial<Settings>;
  /** Events kept while the agent is unreachable; the oldest are dropped (and counted) beyond it. Default 10000. */
  maxBacklog?: number;
  /** false: in process only, no timers and no network (tests, benchmarks). Default true. */
  ship?: boolean;
  /** Uniform in [0, 1): decides which ops a sampled mode logs. Default a fast PRNG. */
  random?: () => number;
  /** Milliseconds from any origin, monotonic: times ops and the ops/s window. Default performance.now. */
  now?: () => number;
}

export interface CacheReadResult {
  hit?: boolean;
  /** Some of a multi-key read was found: wins over `hit`. */
  partial?: boolean;
  /** Keys or items read. Default 1. */
  count?: number;
  durationMs: number;
  /** Who served it ("redis", "memory", …): the event's `origin`. */
  source?: string;
}

export interface OpResult {
  count?: number;
  durationMs: number;
  source?: string;
}

export interface HybridResult {
  cacheCount: number;
  dbCount: number;
  cacheMs: number;
  dbMs: number;
}

/** attrs of the cache.op events this SDK ships; `error` is set on calls a wrapped client failed. */
export type CacheOpEventAttrs = CacheOpAttrs;

/** One `cache.op` event, as shipped to the agent and as `recent()` returns it. */
export type CacheOpEvent = Omit<EventInput, "attrs" | "ts" | "severity"> & {
  ts: number;
  severity: "info" | "warning";
  attrs: CacheOpEventAttrs;
};

/** Exact counts since the monitor started, whatever the mode. */
export interface Totals {
  hits: number;
  misses: number;
  partial_hits: number;
  cache_writes: number;
  db_reads: number;
  db_writes: number;
  hybrid_queries: number;
  ops: number;
}

export interface CacheMonitor {
  logCacheRead(key: string, r: CacheReadResult): void;
  logCacheWrite(key: string, r: OpResult): void;
  logDbRead(key: string, r: OpResult): void;
  logDbWrite(key: string, r: OpResult): void;
  logHybridQuery(key: string, r: HybridResult): void;
  /** Records every keyed read and write the ioredis client (Redis or Cluster) sends; returns the same client. */
  instrumentIoredis<T extends object>(client: T): T;
  /** Records every keyed read and write a node-redis (v4, v5) client sends; returns the same client. */
  instrumentNodeRedis<T extends object>(client: T): T;
  /** Records the reads and writes of a pg Client, or of every client of a pg Pool; returns the same object. */
  instrumentPg<T extends object>(clientOrPool: T): T;
  /** "disabled" when settings.enabled is false. */
  mode(): Mode;
  /** Ops logged over the last second (sliding window). */
  opsPerSecond(): number;
  settings(): Settings;
  /** Applies settings now (what the settings poll does); throws on invalid settings. */
  applySettings(settings: Settings): void;
  /** The ring buffer's cache.op events, oldest first. */
  recent(filter?: { keyLabel?: string; op?: Op }): CacheOpEvent[];
  totals(): Totals;
  /** Events lost since start: backlog full while the agent was unreachable, or overwritten in the ring before shipping. */
  dropped(): number;
  /** Ships now; resolves when the POST finished or failed (never rejects). */
  flush(): Promise<void>;
  /** Final flush, then stops the timers. Safe to call twice. */
  close(): Promise<void>;
}
