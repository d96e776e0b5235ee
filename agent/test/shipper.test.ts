import { describe, expect, it } from "vitest";
import { BATCH_ID_PATTERN } from "@vigil/plugin-sdk";
import { splitBatch } from "../src/shipper/shipper.js";

const record = (n: number, size = 10) => Buffer.from(String(n).padEnd(size, "x"));

describe("splitting a queue batch into requests", () => {
  it("cuts by record count and by bytes, keeping order", () => {
    const batch = { id: "0123456789abcdef:1.0-1.500", records: Array.from({ length: 25 }, (_, i) => record(i)), bytes: 250 };
    const byCount = splitBatch(batch, 10, 1_000_000);
    expect(byCount.map((c) => c.records.length)).toEqual([10, 10, 5]);
    expect(byCount.flatMap((c) => c.records)).toEqual(batch.records);
    const byBytes = splitBatch(batch, 1000, 45);
    expect(byBytes.map((c) => c.records.length)).toEqual([4, 4, 4, 4, 4, 4, 1]);
  });

  it("gives each chunk an id derived from the batch id and its position, valid as a Vigil-Batch-Id", () => {
    const batch = { id: "0123456789abcdef:1.0-1.500", records: Array.from({ length: 3 }, (_, i) => record(i)), bytes: 30 };
    const first = splitBatch(batch, 2, 1_000_000).map((c) => c.id);
    expect(first).toEqual(["0123456789abcdef:1.0-1.500:0", "0123456789abcdef:1.0-1.500:1"]);
    expect(splitBatch(batch, 2, 1_000_000).map((c) => c.id)).toEqual(first);
    for (const id of first) expect(id).toMatch(BATCH_ID_PATTERN);
  });

  it("never makes an empty chunk, and lets one oversize record through alone", () => {
    const batch = { id: "0123456789abcdef:1.0-1.500", records: [record(1, 100), record(2, 5)], bytes: 105 };
    expect(splitBatch(batch, 10, 50).map((c) => c.records.length)).toEqual([1, 1]);
  });
});
