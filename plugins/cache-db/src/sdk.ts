/**
 * # Vigil cache/DB monitor — in-app SDK
 *
 * Counts your app's cache and database operations exactly, logs a sample of them as
 * events whose rate adapts to the load, and ships both to the local Vigil agent.
 *
 * ```ts
 * import Redis from "ioredis";
 * import pg from "pg";
 * import { createMonitor } from "@vigil/plugin-cache-db/sdk";
 *
 * const monitor = createMonitor({ app: "checkout" });        // agent at VIGIL_AGENT_URL or http://127.0.0.1:4601
 *
 * // Wrap the clients you already have: same objects, same results, now measured.
 * const redis = monitor.instrumentIoredis(new Redis());      // or monitor.instrumentNodeRedis(createClient())
 * const db = monitor.instrumentPg(new pg.Pool());            // a pg Client works too
 * await redis.get("user:42");                                // cache_read, key_label "user", hit or miss
 * await db.query("SELECT * FROM orders WHERE id = $1", [7]); // db_read, key_label "orders", count = rows
 *
 * // Or log what no wrapper sees.
 * monitor.logCacheRead("session:9f2", { hit: false, durationMs: 0.4, source: "memory" });
 * monitor.logHybridQuery("cart:42", { cacheCount: 3, dbCount: 1, cacheMs: 0.8, dbMs: 4.2 });
 *
 * monitor.totals();            // exact counts since start: { hits, misses, partial_hits, … }
 * monitor.recent({ op: "cache_read" }); // the last buffer_size logged ops, oldest first
 * await monitor.close();       // on shutdown: last flush, timers stopped
 * ```
 *
 * - **Labels, not keys.** A key is reduced to a label (default: the part before the first
 *   ":"; `keyLabel` to choose, `hashLabels` to ship sha256 prefixes). At most 256 labels,
 *   then "other". Values are never read.
 * - **Adaptive sampling.** Under `detailed_below` ops/s (100) every op is logged; up to each
 *   sampled tier's bound (200, 500, 1000) with its rate (10 %, 5 %, 1 %), each event
 *   carrying `sample_rate`; from `aggregated_at` (1000) only counters. Counters
 *   (`cache.stats` every `flushIntervalMs`, `totals()`) are exact in every mode.
 * - **Runtime switch.** Settings published by the agent's cache-db plugin apply within 5 s;
 *   `enabled: false` makes every call return at its first line.
 * - **Never in the app's way.** Calls are synchronous and allocate nothing once a label is
 *   known; shipping happens on unref'd timers. With the agent down, the newest
 *   `maxBacklog` events wait for it and `dropped()` counts the rest.
 */
export { createMonitor } from "./sdk/monitor.js";
export { DEFAULT_AGENT_URL } from "@vigil/plugin-sdk";
export type { CacheMonitor, CacheOpEvent, CacheOpEventAttrs, CacheReadResult, HybridResult, MonitorOptions, OpResult, Totals } from "./sdk/types.js";
export type { Mode, Op, Settings } from "./contract.js";
