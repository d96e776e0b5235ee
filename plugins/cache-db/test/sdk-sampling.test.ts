import { describe, expect, it } from "vitest";
import { seededRandom } from "../../../test/support/random.js";
import { createMonitor, type CacheMonitor, type MonitorOptions } from "../src/sdk.js";

/** A monitor on a clock only the test moves, so rates are exact and runs repeat. */
function monitor(options: Partial<MonitorOptions> = {}) {
  const clock = { t: 0 };
  const m = createMonitor({ app: "sampling-test", ship: false, now: () => clock.t, random: seededRandom(7), ...options });
  return { m, clock };
}

/** Logs `opsPerSecond` evenly spaced cache reads for `seconds` of the test clock. */
function drive(m: CacheMonitor, clock: { t: number }, opsPerSecond: number, seconds: number, log: (i: number) => void = () => m.logCacheRead("user:1", { hit: true, durationMs: 0.5 })): void {
  const step = 1000 / opsPerSecond;
  const ops = Math.round(opsPerSecond * seconds);
  for (let i = 0; i < ops; i++) {
    clock.t += step;
    log(i);
  }
}

function lastRate(m: CacheMonitor): number | undefined {
  return m.recent().at(-1)?.attrs.sample_rate;
}

describe("mode by ops/s (sliding one-second window)", () => {
  it("measures ops over the last second", () => {
    const { m, clock } = monitor();
    drive(m, clock, 50, 3);
    expect(m.opsPerSecond()).toBeGreaterThanOrEqual(49);
    expect(m.opsPerSecond()).toBeLessThanOrEqual(51);
    clock.t += 500;
    expect(m.opsPerSecond()).toBeGreaterThanOrEqual(24);
    expect(m.opsPerSecond()).toBeLessThanOrEqual(26);
    clock.t += 1000;
    expect(m.opsPerSecond()).toBe(0);
  });

  it("switches up at each threshold of the default settings, with the tier's sample rate", () => {
    const { m, clock } = monitor();
    const steps: [number, string, number | undefined][] = [
      [98, "detailed", 1],
      [102, "sampled", 0.1],
      [196, "sampled", 0.1],
      [204, "sampled", 0.05],
      [490, "sampled", 0.05],
      [510, "sampled", 0.01],
      [980, "sampled", 0.01],
    ];
    for (const [rate, mode, sampleRate] of steps) {
      drive(m, clock, rate, 3);
      expect(m.mode(), `at ${rate} ops/s`).toBe(mode);
      expect(m.recent().at(-1)?.attrs.mode).toBe(mode);
      drive(m, clock, rate, 2);
      expect(lastRate(m), `at ${rate} ops/s`).toBe(sampleRate);
    }
    const logged = m.recent().length;
    drive(m, clock, 1020, 3);
    expect(m.mode()).toBe("aggregated");
    const inAggregated = m.recent().length;
    drive(m, clock, 5000, 2);
    expect(m.recent().length, "aggregated mode logs no op").toBe(inAggregated);
    expect(inAggregated).toBeGreaterThanOrEqual(logged);
  });

  it("switches down once the rate is 10 % under a threshold, so it does not flap", () => {
    const { m, clock } = monitor();
    drive(m, clock, 1200, 2);
    expect(m.mode()).toBe("aggregated");
    drive(m, clock, 950, 2);
    expect(m.mode(), "950 ops/s is within 10 % of 1000").toBe("aggregated");
    drive(m, clock, 880, 2);
    expect(m.mode()).toBe("sampled");
    drive(m, clock, 880, 1);
    expect(lastRate(m)).toBe(0.01);
    drive(m, clock, 300, 2);
    expect(lastRate(m)).toBe(0.05);
    drive(m, clock, 150, 2);
    expect(lastRate(m)).toBe(0.1);
    drive(m, clock, 95, 2);
    expect(m.mode(), "95 ops/s is within 10 % of 100").toBe("sampled");
    drive(m, clock, 80, 2);
    expect(m.mode()).toBe("detailed");
    expect(lastRate(m)).toBe(1);
  });

  it("falls back to detailed when the app goes idle, without another op", () => {
    const { m, clock } = monitor();
    drive(m, clock, 2000, 2);
    expect(m.mode()).toBe("aggregated");
    clock.t += 1500;
    expect(m.mode()).toBe("detailed");
  });

  it("follows thresholds and rates changed at runtime", () => {
    const { m, clock } = monitor();
    drive(m, clock, 300, 2);
    expect(lastRate(m)).toBe(0.05);
    m.applySettings({ enabled: true, detailed_below: 20, sampled: [{ below: 250, rate: 0.5 }], aggregated_at: 400, buffer_size: 1000 });
    drive(m, clock, 300, 2);
    expect(m.mode()).toBe("sampled");
    expect(lastRate(m)).toBe(0.5);
    drive(m, clock, 410, 2);
    expect(m.mode()).toBe("aggregated");
    drive(m, clock, 10, 2);
    expect(m.mode()).toBe("detailed");
  });

  it("goes on sampling at the last tier's rate between the last tier and aggregated_at", () => {
    const { m, clock } = monitor({ settings: { detailed_below: 10, sampled: [{ below: 50, rate: 0.2 }], aggregated_at: 500 } });
    drive(m, clock, 300, 3);
    expect(m.mode()).toBe("sampled");
    expect(lastRate(m)).toBe(0.2);
  });
});

describe("sampled events rebuild the true counts", () => {
  /** Sum of 1/sample_rate over the logged events, against the ops that happened. */
  function weighted(opsPerSecond: number, ops: number, seed: number) {
    const { m, clock } = monitor({ random: seededRandom(seed), settings: { buffer_size: 100_000 } });
    drive(m, clock, opsPerSecond, ops / opsPerSecond);
    const events = m.recent();
    const estimate = events.reduce((sum, event) => sum + 1 / event.attrs.sample_rate, 0);
    return { estimate, actual: m.totals().ops, events: events.length, rates: new Set(events.map((e) => e.attrs.sample_rate)) };
  }

  it.each([
    [150, 0.1, 100_000],
    [350, 0.05, 200_000],
    [750, 0.01, 500_000],
  ])("at %i ops/s (sample rate %f): within 5 percent over %i ops", (opsPerSecond, rate, ops) => {
    for (const seed of [1, 2, 3]) {
      const { estimate, actual, events, rates } = weighted(opsPerSecond, ops, seed);
      expect(actual).toBe(ops);
      expect(rates.has(rate)).toBe(true);
      expect(events).toBeLessThan(ops * rate * 1.2 + 300);
      expect(Math.abs(estimate - actual) / actual, `seed ${seed}: estimate ${estimate} for ${actual} ops`).toBeLessThan(0.05);
    }
  });

  it("also across mode changes: the exact counters match whatever was logged", () => {
    const { m, clock } = monitor({ random: seededRandom(11), settings: { buffer_size: 100_000 } });
    const truth = { hits: 0, misses: 0, partial_hits: 0, cache_writes: 0, db_reads: 0, db_writes: 0, hybrid_queries: 0, ops: 0 };
    const pick = seededRandom(99);
    const mixed = () => {
      const r = pick();
      truth.ops++;
      if (r < 0.3) (truth.hits++, m.logCacheRead("user:1", { hit: true, durationMs: 0.3 }));
      else if (r < 0.45) (truth.misses++, m.logCacheRead("user:2", { hit: false, durationMs: 0.3 }));
      else if (r < 0.5) (truth.partial_hits++, m.logCacheRead("user:3", { partial: true, count: 4, durationMs: 0.9 }));
      else if (r < 0.7) (truth.cache_writes++, m.logCacheWrite("session:1", { durationMs: 0.2 }));
      else if (r < 0.85) (truth.db_reads++, m.logDbRead("orders", { count: 3, durationMs: 2 }));
      else if (r < 0.95) (truth.db_writes++, m.logDbWrite("orders", { durationMs: 4 }));
      else (truth.hybrid_queries++, m.logHybridQuery("cart:1", { cacheCount: 1, dbCount: 2, cacheMs: 0.4, dbMs: 3 }));
    };
    for (const rate of [50, 150, 400, 800, 3000, 800, 50]) drive(m, clock, rate, 20, mixed);
    expect(m.totals()).toEqual(truth);
    const events = m.recent();
    const estimate = events.reduce((sum, event) => sum + 1 / event.attrs.sample_rate, 0);
    const loggedOps = truth.ops - 3000 * 20;
    expect(Math.abs(estimate - loggedOps) / loggedOps).toBeLessThan(0.05);
    expect(new Set(events.map((e) => e.attrs.sample_rate))).toEqual(new Set([1, 0.1, 0.05, 0.01]));
  });
});
