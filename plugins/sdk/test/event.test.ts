import { describe, expect, it } from "vitest";
import {
  BatchFormatError,
  MAX_ATTRS_PER_EVENT,
  MAX_BODY_LENGTH,
  MAX_EVENTS_PER_BATCH,
  checkEvent,
  eventSchema,
  parseBatchText,
  uuidv7,
} from "../src/index.js";

const valid = { id: "019ac3a0-0000-7000-8000-000000000001", ts: "2026-11-27T07:00:00Z", source: "http", type: "http.check" };

function problems(input: unknown) {
  const result = checkEvent(input);
  if (result.ok) throw new Error("expected the event to be invalid");
  return result.problems;
}

describe("event schema", () => {
  it("accepts a minimal event and applies defaults", () => {
    const result = checkEvent(valid);
    expect(result).toEqual({
      ok: true,
      event: { ...valid, ts: Date.parse("2026-11-27T07:00:00Z"), severity: "info", attrs: {} },
    });
  });

  it("accepts epoch milliseconds for ts", () => {
    const result = checkEvent({ ...valid, ts: 1_795_000_000_000 });
    expect(result.ok && result.event.ts).toBe(1_795_000_000_000);
  });

  it("names every problem with its path", () => {
    const found = problems({ id: "nope", ts: "yesterday", source: "HTTP", type: "check", severity: "loud" });
    expect(found.map((p) => p.path).sort()).toEqual(["id", "severity", "source", "ts", "type"]);
    expect(found.find((p) => p.path === "severity")!.message).toContain("debug, info, notice, warning, error, critical");
    expect(found.find((p) => p.path === "type")!.message).toContain("<source>.<noun>");
  });

  it("refuses unknown fields, including tenant and agent", () => {
    const found = problems({ ...valid, tenant: "other", agent: "x" });
    expect(found[0]!.message).toMatch(/tenant/);
    expect(found[0]!.message).toMatch(/agent/);
  });

  it("refuses nested attrs, non-snake_case keys and too many attrs", () => {
    expect(problems({ ...valid, attrs: { nested: { a: 1 } } })[0]!.message).toContain("flatten objects");
    expect(problems({ ...valid, attrs: { UserId: "1" } })[0]).toMatchObject({ path: "attrs.UserId", message: expect.stringContaining("snake_case") });
    const many = Object.fromEntries(Array.from({ length: MAX_ATTRS_PER_EVENT + 1 }, (_, i) => [`k${i}`, i]));
    expect(problems({ ...valid, attrs: many })[0]!.message).toContain("MAX_ATTRS_PER_EVENT");
  });

  it("limits the body", () => {
    expect(problems({ ...valid, body: "x".repeat(MAX_BODY_LENGTH + 1) })[0]!.message).toContain("MAX_BODY_LENGTH");
  });
});

describe("uuidv7", () => {
  it("is a version 7 UUID that sorts by time", () => {
    const a = uuidv7(1_000);
    const b = uuidv7(2_000);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(checkEvent({ ...valid, id: a }).ok).toBe(true);
  });
});

describe("batch text", () => {
  it("reads a JSON array and NDJSON alike", () => {
    expect(parseBatchText(JSON.stringify([valid, valid]))).toHaveLength(2);
    expect(parseBatchText(`${JSON.stringify(valid)}\n\n${JSON.stringify(valid)}\n`)).toHaveLength(2);
  });

  it("says which NDJSON line is broken", () => {
    expect(() => parseBatchText(`${JSON.stringify(valid)}\n{oops`)).toThrow(/line 2 is not valid JSON/);
    try {
      parseBatchText(`${JSON.stringify(valid)}\n{oops`);
    } catch (error) {
      expect((error as BatchFormatError).line).toBe(2);
    }
  });

  it("refuses empty bodies and non-arrays", () => {
    expect(() => parseBatchText("  ")).toThrow(/empty/);
    expect(() => parseBatchText("[]")).toThrow(/no events/);
    expect(() => parseBatchText("[1")).toThrow(/not valid JSON/);
  });

  it("stops reading NDJSON past the batch limit", () => {
    const lines = Array.from({ length: MAX_EVENTS_PER_BATCH + 5 }, () => "{}").join("\n");
    expect(parseBatchText(lines).length).toBe(MAX_EVENTS_PER_BATCH + 1);
  });
});

describe("the fast path agrees with the schema", () => {
  const base = { id: "019ac3a0-0000-7000-8000-000000000001", ts: 1_795_000_000_000, source: "http", type: "http.check" };
  const variants: unknown[] = [
    base,
    { ...base, severity: "critical", attrs: { a: 1, b: "x", c: true, "d.e_f": 2.5 }, body: "hello" },
    { ...base, body: "" },
    { ...base, attrs: {} },
    { ...base, severity: undefined, body: undefined },
    { ...base, ts: 0 },
    { ...base, ts: -1 },
    { ...base, ts: 1.5 },
    { ...base, ts: Number.MAX_SAFE_INTEGER + 2 },
    { ...base, ts: Number.NaN },
    { ...base, ts: "2026-11-27T07:00:00Z" },
    { ...base, id: "019AC3A0-0000-7000-8000-000000000001" },
    { ...base, id: "not-a-uuid" },
    { ...base, source: "" },
    { ...base, source: "a".repeat(65) },
    { ...base, source: "Http" },
    { ...base, type: "http" },
    { ...base, type: `http.${"x".repeat(130)}` },
    { ...base, severity: "fatal" },
    { ...base, severity: null },
    { ...base, attrs: null },
    { ...base, attrs: [] },
    { ...base, attrs: { a: null } },
    { ...base, attrs: { a: { b: 1 } } },
    { ...base, attrs: { a: Number.POSITIVE_INFINITY } },
    { ...base, attrs: { A: 1 } },
    { ...base, attrs: { ["k".repeat(129)]: 1 } },
    { ...base, attrs: { a: "v".repeat(4097) } },
    { ...base, attrs: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`k${i}`, i])) },
    { ...base, attrs: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, i])) },
    { ...base, body: "b".repeat(16 * 1024 + 1) },
    { ...base, body: 5 },
    { ...base, extra: 1 },
    JSON.parse(`{"id":"${base.id}","ts":1,"source":"a","type":"a.b","attrs":{"__proto__":1}}`),
    null,
    [],
    "event",
  ];

  it.each(variants.map((v, i) => [i, v]))("variant %i", (_i, input) => {
    const viaSchema = eventSchema.safeParse(input);
    const checked = checkEvent(input);
    expect(checked.ok).toBe(viaSchema.success);
    if (checked.ok && viaSchema.success) expect(checked.event).toEqual(viaSchema.data);
  });

  it("copies attrs instead of sharing the caller's object", () => {
    const attrs = { a: 1 };
    const checked = checkEvent({ ...base, attrs });
    expect(checked.ok && checked.event.attrs).not.toBe(attrs);
  });
});
