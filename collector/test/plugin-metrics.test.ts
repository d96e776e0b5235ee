import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineCollectorPart, type PluginMetric } from "@vigil/plugin-sdk";
import { REPO_ROOT, tempDir } from "../../test/support/collector-process.js";
import { startInProcess } from "../../test/support/in-process.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
const scratch = tempDir("vigil-plugin-metrics-");

beforeAll(async () => {
  env = await startInProcess({ plugins: [join(REPO_ROOT, "test/fixtures/collector-parts/metrics.js")] });
});
afterAll(async () => {
  await env?.close();
  scratch.remove();
});

describe("plugin metrics on /metrics", () => {
  it("are served beside the collector's own, capped, and a failing query leaves only its own metric empty", async () => {
    const res = await env.request("GET", "/metrics", { token: null });
    expect(res.status).toBe(200);
    const lines = res.text.split("\n");
    expect(lines.some((l) => l.startsWith("vigil_ingest_queue_rows"))).toBe(true);

    // A counter over its cap: the largest series stay, the rest add up as item="other" per label set.
    const items = lines.filter((l) => l.startsWith("vigil_probe_items_total{"));
    expect(items.sort()).toEqual(
      [
        'vigil_probe_items_total{tenant="default",item="7",kind="thing"} 7',
        'vigil_probe_items_total{tenant="default",item="6",kind="thing"} 6',
        'vigil_probe_items_total{tenant="tenant-b",item="8",kind="thing"} 8',
        'vigil_probe_items_total{tenant="default",item="5",kind="thing"} 5',
        'vigil_probe_items_total{tenant="default",item="other",kind="thing"} 10',
      ].sort(),
    );
    // A gauge over its cap: the largest stay.
    expect(lines.filter((l) => l.startsWith("vigil_probe_levels{")).sort()).toEqual(['vigil_probe_levels{tenant="default",level="1"} 0.1', 'vigil_probe_levels{tenant="default",level="2"} 0.2']);
    expect(lines).toContain("# TYPE vigil_probe_broken gauge");
    expect(lines.some((l) => l.startsWith("vigil_probe_broken{") || l.startsWith("vigil_probe_broken "))).toBe(false);

    const file = join(scratch.path, "metrics.txt");
    writeFileSync(file, res.text);
    const check = spawnSync("sh", ["-c", `promtool check metrics < ${file}`], { encoding: "utf8" });
    expect(check.stdout + check.stderr).toBe("");
    expect(check.status).toBe(0);
  });

  it.each([
    [{ name: "vigil_other_items_total", type: "counter" }, "must be named vigil_probe_<what>_<unit>"],
    [{ name: "vigil_probe_items", type: "counter" }, "its name must end in _total"],
    [{ name: "vigil_probe_level_total", type: "gauge" }, "_total is reserved for counters"],
    [{ name: "vigil_probe_items_total", type: "counter", labelNames: ["tenant"] }, 'label "tenant" is given twice'],
    [{ name: "vigil_probe_items_total", type: "counter", labelNames: ["Bad-Label"] }, 'label "Bad-Label"'],
    [{ name: "vigil_probe_items_total", type: "counter", overflowLabel: "item" }, 'overflowLabel "item" is not one of its labelNames'],
  ])("a declaration like %j is refused when the part is defined", (metric, message) => {
    const declared = { help: "h", labelNames: [], query: () => "", ...metric } as PluginMetric;
    expect(() => defineCollectorPart({ name: "probe", migrations: [], routes: [], metrics: [declared] })).toThrow(message);
  });
});
