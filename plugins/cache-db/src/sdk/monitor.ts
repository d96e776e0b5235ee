import { performance } from "node:perf_hooks";
import { agentUrlFrom, createAppShipper, uuidv7, type AppEvent } from "@vigil/plugin-sdk";
import { APP_NAME, MODES, PUBLISHED_SETTINGS_NAME, MODE_EVENT, OPS, SOURCE, STATS_EVENT, type Mode, type Settings } from "../contract.js";
import {
  MODE_AGGREGATED,
  MODE_DETAILED,
  MODE_DISABLED,
  OP_CACHE_READ,
  OP_CACHE_WRITE,
  OP_DB_READ,
  OP_DB_WRITE,
  OP_HYBRID,
  RESULT_HIT,
  RESULT_MISS,
  RESULT_PARTIAL,
} from "./codes.js";
import { instrumentIoredis } from "./ioredis.js";
import { createLabelTable, type LabelEntry } from "./labels.js";
import { instrumentNodeRedis } from "./node-redis.js";
import { createIdSession, opEvent } from "./op-event.js";
import { createOpRing, oldestSeq, pushOp, resizeOpRing } from "./op-ring.js";
import { STAT_OPS, STAT_WIDTH, countOp, statsAttrs } from "./op-stats.js";
import { instrumentPg } from "./pg.js";
import { itemCount, millis, parseSettings, positive } from "./inputs.js";
import { createRandom } from "./random.js";
import { createRateWindow } from "./rate-window.js";
import type { Recorder } from "./recorder.js";
import { startSettingsPoll, type SettingsPoll } from "./settings-poll.js";
import { DOWN_HYSTERESIS, buildTiers, tierIndexFor } from "./tiers.js";
import type { CacheMonitor, CacheOpEvent, MonitorOptions, Totals } from "./types.js";

const DEFAULTS = { pluginId: "cache-db", flushIntervalMs: 5000, settingsPollMs: 2000, maxBacklog: 10_000 };

/**
 * The monitor. All of its state is in this closure; the log calls share one hot path,
 * `recordOp`, which allocates nothing once a label is known: it counts the op in the
 * O(1) ops/s window, checks the mode's bounds (two comparisons), adds it to the label's
 * preallocated counters and, when the mode logs it, writes it into the ring's typed
 * arrays. Events are built off that path, when read or shipped.
 */
export function createMonitor(options: MonitorOptions): CacheMonitor {
  const app = options.app;
  if (typeof app !== "string" || !APP_NAME.test(app)) {
    throw new Error(`createMonitor: app must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit (got ${JSON.stringify(app)})`);
  }
  const startSettings = parseSettings(options.settings ?? {}, "createMonitor");
  const flushIntervalMs = positive("flushIntervalMs", options.flushIntervalMs, DEFAULTS.flushIntervalMs);
  const settingsPollMs = positive("settingsPollMs", options.settingsPollMs, DEFAULTS.settingsPollMs);
  const maxBacklog = positive("maxBacklog", options.maxBacklog, DEFAULTS.maxBacklog, true);
  const agentUrl = agentUrlFrom(options.agentUrl);
  const pluginId = options.pluginId ?? DEFAULTS.pluginId;
  const now = options.now ?? (() => performance.now());
  const random = options.random ?? createRandom();
  const labels = createLabelTable({ ...(options.keyLabel ? { keyLabel: options.keyLabel } : {}), hashLabels: options.hashLabels ?? false });
  const window = createRateWindow();
  const session = createIdSession();
  // Events carry wall-clock ms; ops are timed on the monotonic clock. Fixed once, so an
  // op keeps the same ts (and id) however often it is read.
  const epochOffsetMs = Date.now() - now();

  let settings = startSettings;
  let enabled = settings.enabled;
  let tiers = buildTiers(settings);
  let mode = enabled ? MODE_DETAILED : MODE_DISABLED;
  let rate = 1;
  /** The window's ops/s at which the mode is looked at again: at or above `upAt`, or below `downBelow`. */
  let upAt = tiers[0]!.below;
  let downBelow = 0;
  let ring = createOpRing(settings.buffer_size);
  const counts: Totals = { hits: 0, misses: 0, partial_hits: 0, cache_writes: 0, db_reads: 0, db_writes: 0, hybrid_queries: 0, ops: 0 };

  const ship = options.ship ?? true;
  const shipper = ship
    ? createAppShipper({
        eventsUrl: `${agentUrl}/v1/events`,
        maxBacklog,
        batchPrefix: `cache-${session.randA}${session.randB}`,
        what: "cache monitor",
        eventNoun: "cache",
        warningCodePrefix: "VIGIL_CACHE",
      })
    : undefined;
  /** Ops up to this sequence number have gone to the shipper (or were overwritten first: `lostInRing`). */
  let shippedSeq = 0;
  let lostInRing = 0;
  let drainAt = Math.max(1, settings.buffer_size >>> 1);
  let drainScheduled = false;
  let statsWindowStart = Date.now();
  let closing: Promise<void> | undefined;

  function emit(event: AppEvent): void {
    shipper?.add(event);
  }

  function changeMode(to: number, opsPerSecond: number): void {
    const from = mode;
    mode = to;
    const ts = Date.now();
    emit({ id: uuidv7(ts), ts, source: SOURCE, type: MODE_EVENT, severity: "notice", attrs: { app, from: MODES[from]!, to: MODES[to]!, ops_per_s: Math.round(opsPerSecond) } });
  }

  function enterTier(index: number, opsPerSecond: number): void {
    const tier = tiers[index]!;
    rate = tier.rate;
    upAt = tier.below;
    downBelow = tier.from * DOWN_HYSTERESIS;
    if (tier.mode !== mode) changeMode(tier.mode, opsPerSecond);
  }

  function newStats(entry: LabelEntry, op: number): Float64Array {
    const stats = new Float64Array(STAT_WIDTH);
    entry.stats[op] = stats;
    return stats;
  }

  function recordOp(op: number, key: string, result: number, count: number, durationMs: number, origin: string | undefined, dbCount: number, dbMs: number): void {
    const time = now();
    const opsPerSecond = window.add(time);
    if (opsPerSecond >= upAt || opsPerSecond < downBelow) enterTier(tierIndexFor(tiers, opsPerSecond), opsPerSecond);
    const entry = labels.lookup(typeof key === "string" ? key : String(key));
    countOp(entry.stats[op] ?? newStats(entry, op), result & 3, count + dbCount, durationMs + dbMs);
    counts.ops++;
    if (op === OP_CACHE_READ) {
      if ((result & 3) === RESULT_HIT) counts.hits++;
      else if ((result & 3) === RESULT_PARTIAL) counts.partial_hits++;
      else counts.misses++;
    } else if (op === OP_CACHE_WRITE) counts.cache_writes++;
    else if (op === OP_DB_READ) counts.db_reads++;
    else if (op === OP_DB_WRITE) counts.db_writes++;
    else counts.hybrid_queries++;
    if (mode === MODE_AGGREGATED) return;
    if (rate < 1 && !(random() < rate)) return;
    pushOp(ring, time, op, result, mode, count, durationMs, dbCount, dbMs, rate, entry, origin);
    if (ring.written - shippedSeq >= drainAt && !drainScheduled && shipper !== undefined && closing === undefined) scheduleDrain();
  }

  /** Looks at the mode again without an op: a rate that fell while the app was idle. */
  function refreshMode(): void {
    const opsPerSecond = window.rate(now());
    if (enabled && (opsPerSecond >= upAt || opsPerSecond < downBelow)) enterTier(tierIndexFor(tiers, opsPerSecond), opsPerSecond);
  }

  /** Moves the ring's unshipped ops to the shipper as events. */
  function drainRing(): void {
    const oldest = oldestSeq(ring);
    if (shippedSeq < oldest) {
      lostInRing += oldest - shippedSeq;
      shippedSeq = oldest;
    }
    for (let seq = shippedSeq; seq < ring.written; seq++) emit(opEvent(ring, seq, app, epochOffsetMs, session));
    shippedSeq = ring.written;
  }

  /** One cache.stats event per (label, op) with ops since the last flush; counters restart. */
  function emitStats(): void {
    const end = Date.now();
    const start = statsWindowStart;
    statsWindowStart = end;
    for (const entry of labels.entries()) {
      for (let op = 0; op < entry.stats.length; op++) {
        const stats = entry.stats[op];
        if (stats === undefined || stats[STAT_OPS] === 0) continue;
        emit({
          id: uuidv7(end),
          ts: end,
          source: SOURCE,
          type: STATS_EVENT,
          severity: "info",
          attrs: { app, key_label: entry.name, op: OPS[op]!, mode: MODES[mode]!, window_start_ms: start, window_end_ms: end, ...statsAttrs(stats), dropped_events: dropped() },
        });
        stats.fill(0);
      }
    }
  }

  /**
   * When the ring fills faster than flushes empty it (a small buffer_size, a long flush
   * interval), its unshipped half is shipped at once instead of being overwritten.
   * Scheduled, not run, so the op that noticed returns at once.
   */
  function scheduleDrain(): void {
    drainScheduled = true;
    setTimeout(drainSoon, 0).unref();
  }
  function drainSoon(): void {
    drainScheduled = false;
    try {
      drainRing();
      void shipper!.send();
    } catch (error) {
      warnFailure(error);
    }
  }

  function warnFailure(error: unknown): void {
    process.emitWarning(`Vigil cache monitor: shipping failed: ${(error as Error)?.message ?? String(error)}`, { code: "VIGIL_CACHE_SHIP_FAILED" });
  }

  async function flush(): Promise<void> {
    if (shipper === undefined) return;
    try {
      refreshMode();
      drainRing();
      emitStats();
    } catch (error) {
      warnFailure(error);
    }
    await shipper.send();
  }

  function dropped(): number {
    return lostInRing + (shipper?.dropped() ?? 0);
  }

  function applySettings(next: Settings): void {
    const parsed = parseSettings(next, "applySettings");
    settings = parsed;
    tiers = buildTiers(parsed);
    if (parsed.buffer_size !== ring.capacity) {
      ring = resizeOpRing(ring, parsed.buffer_size);
      drainAt = Math.max(1, parsed.buffer_size >>> 1);
    }
    if (!parsed.enabled) {
      enabled = false;
      if (mode !== MODE_DISABLED) changeMode(MODE_DISABLED, window.rate(now()));
      return;
    }
    if (!enabled) {
      // The window stood still while disabled: start counting afresh.
      window.reset();
      enabled = true;
    }
    const opsPerSecond = window.rate(now());
    enterTier(tierIndexFor(tiers, opsPerSecond), opsPerSecond);
  }

  const recorder: Recorder = {
    active: () => enabled,
    now,
    record(op, key, result, count, durationMs, origin) {
      if (!enabled) return;
      recordOp(op, key, result, count, durationMs, origin, 0, 0);
    },
  };

  let flushTimer: NodeJS.Timeout | undefined;
  let poll: SettingsPoll | undefined;
  if (ship) {
    flushTimer = setInterval(() => void flush().catch(warnFailure), flushIntervalMs);
    flushTimer.unref();
    poll = startSettingsPoll({
      url: `${agentUrl}/v1/plugins/${encodeURIComponent(pluginId)}/${PUBLISHED_SETTINGS_NAME}`,
      app,
      intervalMs: settingsPollMs,
      fallback: startSettings,
      apply: applySettings,
    });
  }

  return {
    logCacheRead(key, r) {
      if (!enabled) return;
      recordOp(OP_CACHE_READ, key, r.partial ? RESULT_PARTIAL : r.hit ? RESULT_HIT : RESULT_MISS, itemCount(r.count, 1), millis(r.durationMs), r.source, 0, 0);
    },
    logCacheWrite(key, r) {
      if (!enabled) return;
      recordOp(OP_CACHE_WRITE, key, 0, itemCount(r.count, 1), millis(r.durationMs), r.source, 0, 0);
    },
    logDbRead(key, r) {
      if (!enabled) return;
      recordOp(OP_DB_READ, key, 0, itemCount(r.count, 1), millis(r.durationMs), r.source, 0, 0);
    },
    logDbWrite(key, r) {
      if (!enabled) return;
      recordOp(OP_DB_WRITE, key, 0, itemCount(r.count, 1), millis(r.durationMs), r.source, 0, 0);
    },
    logHybridQuery(key, r) {
      if (!enabled) return;
      recordOp(OP_HYBRID, key, 0, itemCount(r.cacheCount, 0), millis(r.cacheMs), undefined, itemCount(r.dbCount, 0), millis(r.dbMs));
    },
    instrumentIoredis: (client) => instrumentIoredis(client, recorder),
    instrumentNodeRedis: (client) => instrumentNodeRedis(client, recorder),
    instrumentPg: (clientOrPool) => instrumentPg(clientOrPool, recorder),
    mode(): Mode {
      if (!enabled) return "disabled";
      refreshMode();
      return MODES[mode]!;
    },
    opsPerSecond: () => (enabled ? Math.round(window.rate(now())) : 0),
    settings: () => structuredClone(settings),
    applySettings,
    recent(filter = {}): CacheOpEvent[] {
      const op = filter.op === undefined ? -1 : OPS.indexOf(filter.op);
      const events: CacheOpEvent[] = [];
      for (let seq = oldestSeq(ring); seq < ring.written; seq++) {
        const slot = seq % ring.capacity;
        if (op !== -1 && ring.op[slot] !== op) continue;
        if (filter.keyLabel !== undefined && ring.label[slot]!.name !== filter.keyLabel) continue;
        events.push(opEvent(ring, seq, app, epochOffsetMs, session));
      }
      return events;
    },
    totals: () => ({ ...counts }),
    dropped,
    flush,
    close() {
      closing ??= (async () => {
        if (flushTimer !== undefined) clearInterval(flushTimer);
        poll?.stop();
        await flush();
      })();
      return closing;
    },
  };
}
