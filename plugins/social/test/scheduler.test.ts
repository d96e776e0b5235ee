// The job scheduler on a fake clock (vitest's fake timers move Date, setTimeout and croner
// together): slots fire when due, a job never overlaps itself, slots missed while the agent
// was down run once, paused and deleted jobs stop.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Schedule } from "../src/jobs-protocol.js";
import { createJobScheduler, type Due, type SchedulerJob } from "../src/scheduler.js";

const T0 = Date.parse("2026-11-27T10:00:30.000Z");

function setup(options: { lastRunAt?: Record<string, number>; knownSince?: Record<string, number>; pollMs?: number } = {}) {
  const fired: (Due & { at: number })[] = [];
  const lastRunAt = new Map(Object.entries(options.lastRunAt ?? {}));
  const knownSince = new Map(Object.entries(options.knownSince ?? {}));
  const scheduler = createJobScheduler({
    lastRunAt: (id) => lastRunAt.get(id),
    knownSince: (id) => knownSince.get(id) ?? T0,
    onDue: (due) => fired.push({ ...due, at: Date.now() }),
    ...(options.pollMs ? { pollMs: options.pollMs } : {}),
  });
  /** What the agent does when a run starts and ends. */
  const run = (id: string, startedAt = Date.now()) => lastRunAt.set(id, startedAt);
  return { scheduler, fired, run };
}

const every = (ms: number): Schedule => ({ kind: "interval", every_ms: ms });
const cron = (expression: string, timezone = "UTC"): Schedule => ({ kind: "cron", cron: expression, timezone });
const job = (id: string, schedule: Schedule, active = true): SchedulerJob => ({ id, schedule, active });

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("job scheduler", () => {
  it("runs an interval job that never ran at once, then every interval after its run's start", async () => {
    const { scheduler, fired, run } = setup();
    scheduler.set([job("a", every(5_000))]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toEqual([{ jobId: "a", scheduledAt: T0, onSlot: true, trigger: "schedule", at: T0 }]);
    run("a", T0);
    await vi.advanceTimersByTimeAsync(200);
    scheduler.release("a");
    expect(scheduler.nextRunAt("a")).toBe(T0 + 5_000);
    await vi.advanceTimersByTimeAsync(4_800);
    expect(fired.map((f) => [f.scheduledAt, f.at])).toEqual([
      [T0, T0],
      [T0 + 5_000, T0 + 5_000],
    ]);
    scheduler.stop();
  });

  it("runs a cron job at each time of its expression, in its time zone", async () => {
    const { scheduler, fired, run } = setup();
    scheduler.set([job("utc", cron("*/2 * * * *")), job("paris", cron("0 12 * * *", "Europe/Paris"))]);
    scheduler.start();
    expect(scheduler.nextRunAt("utc")).toBe(Date.parse("2026-11-27T10:02:00Z"));
    // Noon in Paris is 11:00 UTC in November.
    expect(scheduler.nextRunAt("paris")).toBe(Date.parse("2026-11-27T11:00:00Z"));
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(scheduler.nextRunAt("utc")! - Date.now());
      const due = fired.at(-1)!;
      run(due.jobId, Date.now());
      scheduler.release(due.jobId);
    }
    expect(fired.map((f) => [f.jobId, new Date(f.scheduledAt).toISOString(), f.at - f.scheduledAt])).toEqual([
      ["utc", "2026-11-27T10:02:00.000Z", 0],
      ["utc", "2026-11-27T10:04:00.000Z", 0],
      ["utc", "2026-11-27T10:06:00.000Z", 0],
    ]);
    await vi.advanceTimersByTimeAsync(Date.parse("2026-11-27T11:00:00Z") - Date.now());
    expect(fired.filter((f) => f.jobId === "paris")).toHaveLength(1);
    scheduler.stop();
  });

  it("never overlaps runs of one job: a slot that passes during a run is run once, when it ends", async () => {
    const { scheduler, fired, run } = setup();
    scheduler.set([job("slow", cron("* * * * *"))]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(fired).toHaveLength(1);
    run("slow");
    // The run takes three and a half minutes: three slots pass meanwhile.
    await vi.advanceTimersByTimeAsync(210_000);
    expect(fired).toHaveLength(1);
    scheduler.release("slow");
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toHaveLength(2);
    expect(fired[1]).toMatchObject({ trigger: "schedule", onSlot: false, at: Date.now() });
    scheduler.stop();
  });

  it("runs a job whose slots were missed while the agent was down once, as a catch-up", async () => {
    // Last run 09:00; the agent starts at 10:00:30: sixty slots of an every-minute job were missed.
    const { scheduler, fired, run } = setup({ lastRunAt: { missed: Date.parse("2026-11-27T09:00:00Z"), fine: T0 - 10_000 } });
    scheduler.set([job("missed", cron("* * * * *")), job("fine", every(60_000))]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toEqual([{ jobId: "missed", scheduledAt: T0, onSlot: false, trigger: "catch_up", at: T0 }]);
    run("missed");
    scheduler.release("missed");
    expect(scheduler.nextRunAt("missed")).toBe(Date.parse("2026-11-27T10:01:00Z"));
    expect(scheduler.nextRunAt("fine")).toBe(T0 + 50_000);
    await vi.advanceTimersByTimeAsync(31_000);
    expect(fired.map((f) => [f.jobId, f.trigger])).toEqual([
      ["missed", "catch_up"],
      ["missed", "schedule"],
    ]);
    scheduler.stop();
  });

  it("counts a cron job that never ran from when the agent first knew it", async () => {
    // Known since 09:58:30, never run, agent down until 10:00:30: the 09:59 and 10:00 slots were missed.
    const { scheduler, fired } = setup({ knownSince: { a: T0 - 120_000 } });
    scheduler.set([job("a", cron("* * * * *")), job("b", cron("* * * * *"))]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(fired.map((f) => [f.jobId, f.trigger])).toEqual([["a", "catch_up"]]);
    expect(scheduler.nextRunAt("b")).toBe(Date.parse("2026-11-27T10:01:00Z"));
    scheduler.stop();
  });

  it("gives a paused job no slot, and a resumed one its next", async () => {
    const { scheduler, fired, run } = setup({ lastRunAt: { a: T0 } });
    scheduler.set([job("a", every(10_000))]);
    scheduler.start();
    expect(scheduler.nextRunAt("a")).toBe(T0 + 10_000);
    scheduler.set([job("a", every(10_000), false)]);
    expect(scheduler.nextRunAt("a")).toBeNull();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fired).toHaveLength(0);
    scheduler.set([job("a", every(10_000))]);
    await vi.advanceTimersByTimeAsync(0);
    // Its slot passed while paused: due at once.
    expect(fired).toEqual([{ jobId: "a", scheduledAt: T0 + 60_000, onSlot: false, trigger: "schedule", at: T0 + 60_000 }]);
    run("a");
    scheduler.release("a");
    expect(scheduler.nextRunAt("a")).toBe(T0 + 70_000);
    scheduler.stop();
  });

  it("drops a deleted job, and a changed schedule takes effect at once", async () => {
    const { scheduler, fired } = setup({ lastRunAt: { gone: T0, changed: T0 } });
    scheduler.set([job("gone", every(10_000)), job("changed", every(3_600_000))]);
    scheduler.start();
    scheduler.set([job("changed", every(20_000))]);
    expect(scheduler.nextRunAt("gone")).toBeNull();
    expect(scheduler.nextRunAt("changed")).toBe(T0 + 20_000);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(fired.map((f) => [f.jobId, f.scheduledAt])).toEqual([["changed", T0 + 20_000]]);
    scheduler.stop();
  });

  it("holds a job run by execute: no slot until its run ends", async () => {
    const { scheduler, fired, run } = setup({ lastRunAt: { a: T0 - 5_000 } });
    scheduler.set([job("a", every(10_000))]);
    scheduler.start();
    scheduler.hold("a");
    run("a");
    await vi.advanceTimersByTimeAsync(30_000);
    expect(fired).toHaveLength(0);
    scheduler.release("a");
    // The execute run started at T0: the next slot is an interval after it, long passed.
    await vi.advanceTimersByTimeAsync(0);
    expect(fired).toHaveLength(1);
    scheduler.stop();
  });

  it("keeps one timer for a thousand jobs", async () => {
    const { scheduler, fired, run } = setup();
    const jobs = Array.from({ length: 1000 }, (_, i) => job(`j${i}`, i % 2 === 0 ? every(1_000 * (1 + (i % 7))) : cron(`*/${1 + (i % 5)} * * * *`)));
    scheduler.set(jobs);
    scheduler.start();
    expect(vi.getTimerCount()).toBe(1);
    // Every run is released at once: the jobs run on their own slots for two minutes.
    const started = fired.length;
    for (let t = 0; t < 120; t++) {
      await vi.advanceTimersByTimeAsync(1_000);
      for (const due of fired.splice(0)) {
        expect(due.at - due.scheduledAt).toBeLessThan(1_000);
        run(due.jobId);
        scheduler.release(due.jobId);
      }
      expect(vi.getTimerCount()).toBe(1);
    }
    expect(started).toBe(0);
    scheduler.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it("with a due-check cadence, runs what is due at each check", async () => {
    const { scheduler, fired } = setup({ lastRunAt: { a: T0 - 55_000 }, pollMs: 60_000 });
    scheduler.set([job("a", every(60_000))]);
    scheduler.start();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(fired).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toEqual([{ jobId: "a", scheduledAt: T0 + 5_000, onSlot: true, trigger: "schedule", at: T0 + 60_000 }]);
    scheduler.stop();
  });

  it("takes every due job at once for a run-once, holding them", () => {
    const { scheduler } = setup({ lastRunAt: { due: T0 - 120_000, later: T0 - 1_000 } });
    scheduler.set([job("due", every(60_000)), job("later", every(60_000)), job("new", every(60_000)), job("paused", every(1_000), false)]);
    expect(scheduler.takeDue().map((d) => d.jobId).sort()).toEqual(["due", "new"]);
    expect(scheduler.takeDue()).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
