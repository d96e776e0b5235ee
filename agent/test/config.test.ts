import { describe, expect, it } from "vitest";
import { parseAgentConfig } from "../src/config/load.js";
import { ConfigError } from "../src/config/problems.js";
import { mergeRemoteConfig } from "../src/config/merge.js";

const minimal = (extra = "") => `collector:\n  url: http://127.0.0.1:4600\n  api_key: \${KEY}\n${extra}`;

function problems(text: string, env: Record<string, string> = {}): string[] {
  try {
    parseAgentConfig(text, env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => `${p.path}: ${p.message}`);
    throw error;
  }
  throw new Error("expected the config to be refused");
}

describe("agent configuration file", () => {
  it("interpolates variables inside values only, keeping their text intact", () => {
    const config = parseAgentConfig(minimal(), { KEY: "vgl_with # hash: and colon" });
    expect(config.collector.api_key).toBe("vgl_with # hash: and colon");
  });

  it("gives a whole-value reference the variable's YAML type, and uses fallbacks", () => {
    const config = parseAgentConfig(minimal("config_channel:\n  backup_poll_seconds: ${POLL}\n  push: ${PUSH:-false}\n"), { KEY: "vgl_12345678", POLL: "42" });
    expect(config.config_channel).toEqual({ backup_poll_seconds: 42, push: false });
  });

  it("names the path of an unset variable and ignores references in comments", () => {
    expect(problems(`# \${NOT_HERE_EITHER}\n${minimal()}`)).toEqual([
      "collector.api_key: environment variable KEY is not set (used as ${KEY}); set it or write ${KEY:-default}",
    ]);
  });

  it("applies every default", () => {
    const config = parseAgentConfig(minimal(), { KEY: "vgl_12345678" });
    expect(config.queue).toEqual({ max_bytes: 256 * 1024 * 1024, policy: "block" });
    expect(config.intake.address).toEqual({ host: "127.0.0.1", port: 4601 });
    expect(config.heartbeat_interval).toBe(15_000);
    expect(config.shipper.batch_max_bytes).toBe(1024 * 1024);
  });

  it("refuses batch sizes the collector would refuse", () => {
    const text = minimal("shipper:\n  batch_max_bytes: 64MiB\n");
    const found = problems(text, { KEY: "vgl_12345678" });
    expect(found.join("\n")).toContain("shipper.batch_max_bytes: shipper.batch_max_bytes is at most");
  });

  it("refuses a plugin id used twice", () => {
    const found = problems(minimal('plugins:\n  - use: "@vigil/plugin-http-check"\n  - use: "@vigil/plugin-http-check"\n'), { KEY: "vgl_12345678" });
    expect(found).toEqual(['plugins[1].id: plugin id "http-check" is used twice: give each instance its own id']);
  });
});

describe("remote configuration merge", () => {
  const file = [{ use: "@vigil/plugin-http-check", enabled: true, config: { checks: [{ name: "a" }], options: { x: 1, y: 2 } } }];

  it("deep-merges objects, replaces arrays, and can add or disable plugins", () => {
    const merged = mergeRemoteConfig(file, {
      plugins: { "http-check": { enabled: false, config: { checks: [{ name: "b" }], options: { y: 3 } } }, extra: { use: "./extra.js", config: { z: 1 } } },
    });
    expect(merged.problems).toEqual([]);
    expect(merged.plugins).toEqual([
      { id: "http-check", use: "@vigil/plugin-http-check", enabled: false, config: { checks: [{ name: "b" }], options: { x: 1, y: 3 } }, fileIndex: 0 },
      { id: "extra", use: "./extra.js", enabled: true, config: { z: 1 } },
    ]);
  });

  it("refuses swapping a file plugin's package and adding a plugin without use", () => {
    const merged = mergeRemoteConfig(file, { plugins: { "http-check": { use: "other" }, ghost: { config: {} } } });
    expect(merged.problems.map((p) => p.path)).toEqual(["plugins.http-check.use", "plugins.ghost.use"]);
  });
});
