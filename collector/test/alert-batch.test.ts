import { afterAll, beforeAll, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { startInProcess } from "../../test/support/in-process.js";
import { evaluateThreshold, evaluateThresholdBatch } from "../src/alerts/evaluate.js";
import { ruleSchema, type ThresholdRule } from "../src/alerts/rule.js";
import { scopeToTenant } from "../src/storage/tenant-scope.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
const now = Date.now();

beforeAll(async () => {
  env = await startInProcess({ alerting: "off" });
  // 600 checks over the last 50 minutes: 3 check names, some failing, latencies spread.
  const events = Array.from({ length: 600 }, (_, i) => ({
    id: uuidv7(now - i * 5000),
    ts: now - i * 5000,
    source: "http",
    type: "http.check",
    attrs: { check_name: ["api", "web", "db"][i % 3]!, up: i % 7 === 0 ? false : true, latency_ms: (i * 37) % 900, status_code: i % 11 === 0 ? 503 : 200, ...(i % 5 === 0 ? { note: "text" } : {}) },
  }));
  expect((await env.request("POST", "/v1/events", { body: events })).status).toBe(202);
});
afterAll(async () => {
  await env?.close();
});

function rule(id: string, fields: Record<string, unknown>): ThresholdRule {
  return { ...ruleSchema.parse({ kind: "threshold", name: id, source: "http", type: "http.check", condition: ">", threshold: 0, ...fields }), id } as ThresholdRule;
}

it("a shared scan gives every rule exactly what it gets alone", async () => {
  const scope = scopeToTenant(env.collector.services.db, "default");
  for (const groupBy of [[], ["check_name"]]) {
    const rules = [
      rule("count5m", { aggregation: "count", window: "5m", group_by: groupBy }),
      rule("count1h", { aggregation: "count", window: "1h", group_by: groupBy, where: [{ attr: "status_code", value: 503 }] }),
      rule("rate", { aggregation: "rate", window: "10m", group_by: groupBy }),
      rule("avg", { aggregation: "avg", field: "latency_ms", window: "30m", group_by: groupBy }),
      rule("p95", { aggregation: "p95", field: "latency_ms", window: "1h", group_by: groupBy, where: [{ attr: "up", value: true }] }),
      rule("max", { aggregation: "max", field: "latency_ms", window: "15m", group_by: groupBy, condition: "<", threshold: 500 }),
      rule("ratio", { aggregation: "ratio", numerator: { where: [{ attr: "up", value: false }] }, denominator: {}, window: "20m", group_by: groupBy }),
      rule("sumratio", { aggregation: "ratio", numerator: { field: "latency_ms", where: [{ attr: "up", value: true }] }, denominator: { field: "latency_ms" }, window: "1h", group_by: groupBy }),
      // Nothing matches: no data for value aggregations, zero for counts.
      rule("none-avg", { aggregation: "avg", field: "latency_ms", window: "5m", group_by: groupBy, where: [{ attr: "check_name", value: "nope" }] }),
      rule("none-count", { aggregation: "count", window: "5m", group_by: groupBy, where: [{ attr: "check_name", value: "nope" }] }),
    ];
    const together = await evaluateThresholdBatch(scope, rules, now);
    for (const r of rules) {
      const alone = await evaluateThreshold(scope, r, now);
      const sort = (e: typeof alone) => ({ ...e, samples: [...e.samples].sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels))) });
      const shared = sort(together.get(r.id)!);
      const single = sort(alone);
      expect(shared.noData, `${r.id} ${JSON.stringify(groupBy)}`).toEqual(single.noData);
      expect(shared.samples.map((s) => s.labels), r.id).toEqual(single.samples.map((s) => s.labels));
      shared.samples.forEach((s, i) => {
        // Quantiles are estimates; everything else is exact.
        if (r.aggregation === "p95") expect(s.value!).toBeCloseTo(single.samples[i]!.value!, -1);
        else expect(s.value, r.id).toBeCloseTo(single.samples[i]!.value!, 9);
        expect(s.active, r.id).toBe(single.samples[i]!.active);
      });
    }
    // The groups a rule sees are its own: the 503 count has only groups with a 503.
    const grouped = together.get("count1h")!;
    expect(grouped.samples.every((s) => s.value! > 0)).toBe(true);
    expect(together.get("none-count")!.samples.map((s) => s.value)).toEqual(groupBy.length ? [] : [0]);
    expect(together.get("none-avg")!.noData).toEqual({ state: "nodata" });
  }
});
