import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { problemsFromIssues, formatProblems } from "../../../agent/src/config/problems.js";
import plugin from "../src/agent.js";
import { scheduleOf } from "../src/config.js";
import { parseJsonPath } from "../src/json-path.js";

/** The agent's YAML parser, so fixtures read exactly as an agent config would. */
const { parse: parseYaml } = createRequire(new URL("../../../agent/package.json", import.meta.url))("yaml") as { parse(text: string): unknown };

const fixtures = new URL("./fixtures/", import.meta.url);

/** Problems as the agent prints them: `checks[0].interval: expected a duration like "30s"`. */
function problemsOf(input: unknown): string[] {
  const result = plugin.configSchema.safeParse(input);
  if (result.success) return [];
  return formatProblems(problemsFromIssues(result.error.issues)).split("\n");
}

describe("config", () => {
  it("fills every default", () => {
    const config = plugin.configSchema.parse({ checks: [{ name: "api", url: "https://api.example.com/health" }] });
    expect(config).toEqual({
      checks: [
        {
          name: "api",
          url: "https://api.example.com/health",
          method: "GET",
          headers: {},
          timeout: 10_000,
          expect_status: ["2xx"],
          failures_before_down: 2,
          tls_days_warn: 14,
        },
      ],
    });
    expect(scheduleOf(config.checks[0]!)).toEqual({ every: 60_000 });
  });

  it("reads a full check: durations, cron, method case, status codes and classes, JSON path", () => {
    const config = plugin.configSchema.parse({
      checks: [
        {
          name: "orders_api",
          url: "http://127.0.0.1:8080/orders",
          method: "post",
          headers: { Authorization: "Bearer x" },
          body: "{}",
          cron: "*/5 * * * *",
          timeout: "2.5s",
          expect_status: [200, 204, "3xx"],
          body_contains: "ok",
          json_path: { path: "$.items[0].state", equals: "ready" },
          failures_before_down: 3,
          tls_days_warn: 30,
        },
        { name: "web", url: "https://example.com/", interval: "1m30s" },
      ],
    });
    expect(config.checks[0]).toMatchObject({ method: "POST", timeout: 2_500, expect_status: [200, 204, "3xx"] });
    expect(scheduleOf(config.checks[0]!)).toEqual({ cron: "*/5 * * * *" });
    expect(scheduleOf(config.checks[1]!)).toEqual({ every: 90_000 });
  });

  const badFiles = readdirSync(fixtures).filter((file) => file.startsWith("bad-") && file.endsWith(".yaml"));
  it.each(badFiles)("refuses %s with its path and message", (file) => {
    const text = readFileSync(new URL(file, fixtures), "utf8");
    const expected = [...text.matchAll(/^# expect: (.*)$/gm)].map((match) => match[1]);
    expect(expected.length).toBeGreaterThan(0);
    expect(problemsOf(parseYaml(text))).toEqual(expected);
  });
});

describe("JSON paths", () => {
  it("reads dotted keys and [index] steps", () => {
    expect(parseJsonPath("$")).toEqual([]);
    expect(parseJsonPath("$.status")).toEqual(["status"]);
    expect(parseJsonPath("$.items[0].name")).toEqual(["items", 0, "name"]);
    expect(parseJsonPath("$[2][0]")).toEqual([2, 0]);
  });

  it.each(["status", "$.", "$..a", "$.items[", "$.items[-1]", "$.items[x]", "$ .a"])("refuses %j", (path) => {
    expect(parseJsonPath(path)).toBeUndefined();
  });
});
