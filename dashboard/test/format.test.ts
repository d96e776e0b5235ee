import { describe, expect, test } from "vitest";
import { formatBytes, formatDateTime, formatDuration, formatNumber, formatPercent, formatRate, formatRelative, formatSeconds } from "../src/lib/format.js";

describe("format", () => {
  test("numbers", () => {
    expect(formatNumber(1234567)).toBe("1,234,567");
    expect(formatNumber(1234567, { compact: true })).toBe("1.2M");
    expect(formatNumber(9999, { compact: true })).toBe("9,999");
    expect(formatNumber(3.14159)).toBe("3.14");
    expect(formatNumber(null)).toBe("—");
    expect(formatNumber(Number.NaN)).toBe("—");
  });

  test("percents", () => {
    expect(formatPercent(0.125)).toBe("13%");
    expect(formatPercent(0.125, { digits: 1 })).toBe("12.5%");
    expect(formatPercent(0.031)).toBe("3.1%");
    expect(formatPercent(1)).toBe("100%");
    expect(formatPercent(0)).toBe("0%");
    expect(formatPercent(42, { ratio: false })).toBe("42%");
    expect(formatPercent(undefined)).toBe("—");
  });

  test("rates", () => {
    expect(formatRate(0)).toBe("0/s");
    expect(formatRate(0.0123)).toBe("0.012/s");
    expect(formatRate(12.34)).toBe("12.3/s");
    expect(formatRate(25_000)).toBe("25K/s");
  });

  test("durations use the two largest units", () => {
    expect(formatDuration(850)).toBe("850ms");
    expect(formatDuration(1500)).toBe("1.5s");
    expect(formatDuration(90_000)).toBe("1m 30s");
    expect(formatDuration(7_200_000)).toBe("2h");
    expect(formatDuration(93_784_000)).toBe("1d 2h");
    expect(formatDuration(-90_000)).toBe("-1m 30s");
    expect(formatSeconds(3661)).toBe("1h 1m");
    expect(formatSeconds(null)).toBe("—");
  });

  test("bytes in binary multiples", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(256 * 1024 * 1024)).toBe("256 MB");
    expect(formatBytes(5 * 1024 ** 4)).toBe("5 TB");
  });

  test("relative times, past and future", () => {
    const now = Date.parse("2026-11-27T10:00:00Z");
    expect(formatRelative("2026-11-27T09:59:58Z", now)).toBe("just now");
    expect(formatRelative("2026-11-27T09:59:30Z", now)).toBe("30s ago");
    expect(formatRelative("2026-11-27T09:55:00Z", now)).toBe("5m ago");
    expect(formatRelative("2026-11-27T07:00:00Z", now)).toBe("3h ago");
    expect(formatRelative("2026-11-23T10:00:00Z", now)).toBe("4d ago");
    expect(formatRelative("2026-11-27T10:05:00Z", now)).toBe("in 5m");
    expect(formatRelative("2026-09-01T10:00:00Z", now)).toMatch(/^2026-09-0[12]$/);
    expect(formatRelative(null, now)).toBe("—");
    expect(formatRelative("not a date", now)).toBe("—");
  });

  test("date-times are local, sortable text", () => {
    const at = new Date(2026, 10, 27, 9, 5, 7);
    expect(formatDateTime(at)).toBe("2026-11-27 09:05:07");
  });
});
