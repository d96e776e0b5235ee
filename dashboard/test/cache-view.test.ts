import { describe, expect, test } from "vitest";
import type { MonitorAnswer } from "../src/pages/cache/types.js";
import {
  entriesFromAnswer,
  entryFromLiveEvent,
  figures,
  logClass,
  matchesFilters,
  mergeLog,
  modeNote,
  monitorQuery,
  pruneLive,
  sampleText,
  seriesData,
  switchBody,
  switchTarget,
  type LogEntry,
} from "../src/pages/cache/view.js";
import { cacheDefaults, cacheSummary } from "./support/fixtures.js";

const op = (ts: string, over: Partial<LogEntry> = {}): LogEntry => ({
  key: ts,
  app: "checkout",
  ts,
  op: "cache_read",
  key_label: "user",
  result: "hit",
  count: 1,
  duration_ms: 0.5,
  sample_rate: 1,
  origin: null,
  error: false,
  ...over,
});

describe("cache monitor: the event log", () => {
  test("colours each operation as the terminal view does: hits green, misses red, partial yellow, writes blue, DB reads and hybrid magenta", () => {
    expect(logClass({ op: "cache_read", result: "hit" })).toBe("hit");
    expect(logClass({ op: "cache_read", result: "miss" })).toBe("miss");
    expect(logClass({ op: "cache_read", result: "partial" })).toBe("partial");
    // A failed read counts as a miss (the SDK records it so); without a result it is one too.
    expect(logClass({ op: "cache_read", result: null })).toBe("miss");
    expect(logClass({ op: "cache_write", result: null })).toBe("write");
    expect(logClass({ op: "db_write", result: null })).toBe("write");
    expect(logClass({ op: "db_read", result: null })).toBe("db-read");
    expect(logClass({ op: "hybrid", result: null })).toBe("hybrid");
    expect(logClass({ op: "something_new", result: null })).toBe("other");
  });

  test("a sampled operation says how many it stands for", () => {
    expect(sampleText(1)).toBe("");
    expect(sampleText(0.05)).toBe("1/20");
    expect(sampleText(0.1)).toBe("1/10");
    expect(sampleText(null)).toBe("");
  });

  test("the key label filter is exact, as the API's; app and kind narrow too", () => {
    const entry = { app: "checkout", key_label: "user", op: "cache_read" };
    expect(matchesFilters(entry, { app: "", keyLabel: "", op: "" })).toBe(true);
    expect(matchesFilters(entry, { app: "", keyLabel: " user ", op: "" })).toBe(true);
    expect(matchesFilters(entry, { app: "", keyLabel: "use", op: "" })).toBe(false);
    expect(matchesFilters(entry, { app: "search", keyLabel: "", op: "" })).toBe(false);
    expect(matchesFilters(entry, { app: "checkout", keyLabel: "user", op: "cache_write" })).toBe(false);
  });

  test("a live cache.op event becomes a log entry (its attributes arrive as strings); other events are ignored", () => {
    const entry = entryFromLiveEvent({
      ts: "2026-11-27T10:58:08.044Z",
      source: "cache",
      type: "cache.op",
      attrs: { app: "search", op: "cache_read", key_label: "query", result: "partial", count: "3", duration_ms: "0.45", sample_rate: "0.05", mode: "sampled", origin: "memory", error: "true" },
    });
    expect(entry).toMatchObject({ app: "search", op: "cache_read", key_label: "query", result: "partial", count: 3, duration_ms: 0.45, sample_rate: 0.05, origin: "memory", error: true, live: true });
    expect(entryFromLiveEvent({ ts: "x", source: "cache", type: "cache.stats", attrs: { app: "a", op: "cache_read" } })).toBeNull();
    expect(entryFromLiveEvent({ ts: "x", source: "http", type: "cache.op", attrs: { app: "a", op: "cache_read" } })).toBeNull();
  });

  test("every app's recent operations in one list, newest first", () => {
    const answer = {
      apps: [
        { app: "a", recent: [{ ts: "2026-01-01T00:00:03.000Z", op: "cache_read", key_label: "x", result: "hit", count: 1, duration_ms: 1, sample_rate: 1, mode: "detailed", origin: null }] },
        {
          app: "b",
          recent: [
            { ts: "2026-01-01T00:00:04.000Z", op: "db_read", key_label: "y", result: null, count: 2, duration_ms: 3, sample_rate: 1, mode: "detailed", origin: "pg" },
            { ts: "2026-01-01T00:00:01.000Z", op: "hybrid", key_label: "z", result: null, count: 4, duration_ms: 5, sample_rate: 1, mode: "detailed", origin: null },
          ],
        },
      ],
    } as unknown as MonitorAnswer;
    expect(entriesFromAnswer(answer).map((e) => `${e.app}:${e.op}`)).toEqual(["b:db_read", "a:cache_read", "b:hybrid"]);
  });

  test("live arrivals sit above the polled ones until a poll covers them, so nothing shows twice", () => {
    const polled = [op("2026-01-01T00:00:05.000Z"), op("2026-01-01T00:00:04.000Z")];
    const live = [op("2026-01-01T00:00:07.000Z", { live: true, key: "l2" }), op("2026-01-01T00:00:05.000Z", { live: true, key: "l1" })];
    expect(mergeLog(live, polled).map((e) => e.key)).toEqual(["l2", "2026-01-01T00:00:05.000Z", "2026-01-01T00:00:04.000Z"]);
    expect(pruneLive(live, polled).map((e) => e.key)).toEqual(["l2"]);
    expect(mergeLog(live, []).map((e) => e.key)).toEqual(["l2", "l1"]);
    expect(mergeLog(live, polled, 2)).toHaveLength(2);
  });
});

describe("cache monitor: figures and controls", () => {
  test("the headline figures, with the hit rate in bad tone under the alert template's 80 %", () => {
    const shown = figures(cacheSummary);
    expect(shown.map((f) => `${f.label}=${f.value}`)).toEqual([
      "Hit rate=87.6%",
      "Hits=197",
      "Misses=27",
      "Partial hits=1",
      "Cache writes=24",
      "DB reads=9",
      "DB writes=24",
      "Hybrid queries=0",
    ]);
    expect(shown[0]!.tone).toBe("ok");
    expect(shown[1]!.hint).toBe("88% of 225 cache reads");
    expect(figures({ ...cacheSummary, hit_rate: 0.5 })[0]!.tone).toBe("bad");
    expect(figures({ ...cacheSummary, hit_rate: null, cache_reads: 0 })[0]).toMatchObject({ value: "—", tone: "neutral", hint: "no cache reads in the window" });
  });

  test("the query: empty filters are left out, the key label is trimmed", () => {
    expect(monitorQuery({ app: "", keyLabel: "", op: "", window: "1m" })).toEqual({ app: undefined, key_label: undefined, type: undefined, window: "1m", limit: 100 });
    expect(monitorQuery({ app: "checkout", keyLabel: " user ", op: "db_read", window: "5m" })).toMatchObject({ app: "checkout", key_label: "user", type: "db_read", window: "5m" });
  });

  test("the switch targets * for every app, or the selected app, whose own settings win over *", () => {
    const settings = { "*": { ...cacheDefaults, enabled: false }, checkout: { ...cacheDefaults, enabled: true } };
    expect(switchTarget(settings, "")).toEqual({ app: "*", enabled: false, own: false });
    expect(switchTarget(settings, "checkout")).toEqual({ app: "checkout", enabled: true, own: true });
    expect(switchTarget(settings, "search")).toEqual({ app: "search", enabled: false, own: false });
    expect(switchBody(switchTarget(settings, ""), true)).toEqual({ app: "*", settings: { enabled: true } });
  });

  test("the mode indicator notes an app that has not applied its switch yet", () => {
    expect(modeNote({ mode: "detailed", enabled: true })).toBeNull();
    expect(modeNote({ mode: "disabled", enabled: false })).toBeNull();
    expect(modeNote({ mode: "sampled", enabled: false })).toContain("switched off: waiting for the app");
    expect(modeNote({ mode: "disabled", enabled: true })).toContain("switched on: waiting for the app");
    expect(modeNote({ mode: null, enabled: true })).toBe("has not reported a mode yet");
  });

  test("the chart needs two points", () => {
    expect(seriesData(undefined)).toEqual([[]]);
    const points = [
      { t: "2026-01-01T00:00:00.000Z", ops: 60, ops_per_s: 1, hit_rate: null, p95_ms: null },
      { t: "2026-01-01T00:01:00.000Z", ops: 120, ops_per_s: 2, hit_rate: 0.5, p95_ms: 1 },
    ];
    expect(seriesData({ step: "minute", since: "", until: "", filters: { app: null, key_label: null, op: null }, points })).toEqual([[1767225600, 1767225660], [1, 2]]);
  });
});
