import { describe, expect, test } from "vitest";
import { eventsQuery, filtersFromQuery, filtersToQuery, matchesAttrs, parseAttrFilters, tailParams, timeBounds, type EventFilters } from "../src/pages/events/filters.js";
import { LiveTail, TAIL_LIMIT } from "../src/pages/events/tail.svelte.js";

const none: EventFilters = { source: "", type: "", q: "", attrs: "", range: "24h", since: "", until: "" };

describe("event filters", () => {
  test("attribute filters: pairs, quoted values, and errors that say what is wrong", () => {
    expect(parseAttrFilters('status=500 url_host=example.com msg="two words" empty=')).toEqual({
      filters: [
        { key: "status", value: "500" },
        { key: "url_host", value: "example.com" },
        { key: "msg", value: "two words" },
        { key: "empty", value: "" },
      ],
      error: null,
    });
    expect(parseAttrFilters("").filters).toEqual([]);
    expect(parseAttrFilters("status").error).toMatch(/not key=value/);
    expect(parseAttrFilters("Status=1").error).toMatch(/not an attribute name/);
    expect(parseAttrFilters('msg="open').error).toMatch(/does not close/);
  });

  test("the URL round-trips, leaving defaults out", () => {
    const filters: EventFilters = { ...none, source: "reddit", attrs: "status=500", range: "1h" };
    const query = filtersToQuery(filters);
    expect(query).toMatchObject({ source: "reddit", attrs: "status=500", range: "1h", type: null, since: null });
    const params = new URLSearchParams(Object.entries(query).filter((e): e is [string, string] => e[1] !== null));
    expect(filtersFromQuery(params)).toEqual(filters);
    expect(filtersToQuery(none).range).toBeNull();
    expect(filtersFromQuery(new URLSearchParams("range=bogus")).range).toBe("24h");
  });

  test("the API query: time bounds from the range, attr.<key> parameters", () => {
    const now = Date.parse("2026-11-27T10:00:00Z");
    const query = eventsQuery({ ...none, type: "http.check", attrs: "status=500 status=502", range: "15m" }, now, "cur", 50);
    expect(query).toEqual({ source: undefined, type: "http.check", q: undefined, since: now - 15 * 60_000, until: undefined, limit: 50, cursor: "cur", "attr.status": ["500", "502"] });
    expect(eventsQuery({ ...none, range: "all" }, now).since).toBeUndefined();
    expect(() => eventsQuery({ ...none, attrs: "bad" }, now)).toThrow(/Attribute filter/);
  });

  test("a custom range is checked: start before end", () => {
    const custom = { ...none, range: "custom" as const };
    expect(timeBounds({ ...custom, since: "2026-11-27T10:00", until: "2026-11-27T09:00" }, 0).error).toMatch(/before/);
    const ok = timeBounds({ ...custom, since: "2026-11-27T09:00", until: "2026-11-27T10:00" }, 0);
    expect(ok.until! - ok.since!).toBe(3_600_000);
  });

  test("the tail filters what the topic cannot", () => {
    expect(tailParams({ ...none, source: " reddit ", q: "outage", attrs: "a=1" })).toEqual({ source: "reddit", q: "outage" });
    expect(matchesAttrs({ status: 500, host: "a" }, [{ key: "status", value: "500" }])).toBe(true);
    expect(matchesAttrs({ status: 500 }, [{ key: "host", value: "a" }])).toBe(false);
  });
});

describe("LiveTail", () => {
  const event = (n: number, attrs: Record<string, string> = {}) => ({ ts: new Date(n).toISOString(), source: "s", type: "s.t", agent: "a", attrs, body: `e${n}` });

  test("newest first; paused arrivals wait and come on top on resume", () => {
    const tail = new LiveTail();
    tail.receive({ events: [event(1), event(2)], skipped: 0 }, []);
    expect(tail.events.map((e) => e.body)).toEqual(["e2", "e1"]);
    tail.pause();
    tail.receive({ events: [event(3)], skipped: 0 }, []);
    expect(tail.events.map((e) => e.body)).toEqual(["e2", "e1"]);
    expect(tail.pending).toHaveLength(1);
    tail.resume();
    expect(tail.events.map((e) => e.body)).toEqual(["e3", "e2", "e1"]);
    expect(tail.pending).toHaveLength(0);
  });

  test("attribute filters apply; overflow and server-skipped events are counted", () => {
    const tail = new LiveTail();
    tail.receive({ events: [event(1, { status: "500" }), event(2, { status: "200" })], skipped: 3 }, [{ key: "status", value: "500" }]);
    expect(tail.events.map((e) => e.body)).toEqual(["e1"]);
    expect(tail.dropped).toBe(3);
    tail.receive({ events: Array.from({ length: TAIL_LIMIT + 10 }, (_, i) => event(i + 10)), skipped: 0 }, []);
    expect(tail.events).toHaveLength(TAIL_LIMIT);
    expect(tail.dropped).toBe(3 + 11);
  });
});
