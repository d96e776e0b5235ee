import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { checkEvent } from "@vigil/plugin-sdk";
import { describe, expect, it } from "vitest";
import plugin from "../src/agent.js";

const { parse: parseYaml } = createRequire(new URL("../../../agent/package.json", import.meta.url))("yaml") as { parse(text: string): unknown };
const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const example = readFileSync(new URL("../example.yaml", import.meta.url), "utf8");

describe("README and example.yaml", () => {
  it("has the sections every plugin README has, in order", () => {
    const sections = [...readme.matchAll(/^## (.+)$/gm)].map((match) => match[1]);
    expect(sections).toEqual(["Summary", "Configuration", "Events emitted", "Metrics", "Delivery guarantee", "Example output"]);
  });

  it("embeds example.yaml unchanged", () => {
    const embedded = /<!-- generated:example -->\n```yaml\n([\s\S]*?)```\n<!-- \/generated:example -->/.exec(readme);
    expect(embedded?.[1]).toBe(example);
  });

  it("has an example.yaml the plugin accepts", () => {
    const result = plugin.configSchema.safeParse(parseYaml(example));
    expect(result.error?.issues ?? []).toEqual([]);
  });

  it("shows example events that are valid and carry the attrs the plugin emits", () => {
    const shown = [...readme.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => checkEvent(JSON.parse(match[1]!)));
    expect(shown.map((result) => result.ok)).toEqual([true, true]);
    const [run, change] = shown.map((result) => (result.ok ? result.event : undefined));
    expect(Object.keys(run!.attrs).sort()).toEqual(["check_name", "error_class", "latency_ms", "method", "status_code", "tls_days_left", "up", "url_host"]);
    expect(Object.keys(change!.attrs).sort()).toEqual(["check_name", "consecutive_failures", "previous_state", "state"]);
  });

  it("states the delivery guarantee the plugin's metadata declares", () => {
    expect(plugin.metadata).toMatchObject({ stability: "beta", delivery: "at_least_once" });
    expect(readme).toContain("**`at_least_once`**");
  });
});
