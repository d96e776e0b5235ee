import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CATEGORIES, ERROR_CATEGORIES, ERROR_TABLE } from "../src/errors.js";

/**
 * The error table in docs/collector.md is rendered from ERROR_TABLE, never written by hand:
 * this test fails when they drift. `VIGIL_WRITE_DOCS=1 npx vitest run
 * plugins/sms/test/collector-docs.test.ts` rewrites the section.
 */

const DOC = join(import.meta.dirname, "../docs/collector.md");
const START = "<!-- error-table:start (rendered from src/errors.ts by test/collector-docs.test.ts) -->";
const END = "<!-- error-table:end -->";

const cell = (text: string) => text.replaceAll("|", "\\|");

function renderErrorTable(): string {
  const lines = ["| category | severity | retry | what to do |", "|---|---|---|---|"];
  for (const category of ERROR_CATEGORIES) {
    const info = CATEGORIES[category];
    lines.push(`| \`${category}\` | ${info.severity} | ${info.retryable ? "yes" : "no"} | ${cell(info.recommendation)} |`);
  }
  lines.push("", "| namespace | code | title | category | severity | retry | what to do |", "|---|---|---|---|---|---|---|");
  for (const entry of ERROR_TABLE) {
    const info = CATEGORIES[entry.category];
    // A code's own advice is shown; "as category" when it keeps the category's.
    const advice = entry.recommendation ? cell(entry.recommendation) : "as category";
    lines.push(
      `| ${entry.namespace} | \`${entry.code}\` | ${cell(entry.title)} | \`${entry.category}\` | ${entry.severity ?? info.severity} | ${(entry.retryable ?? info.retryable) ? "yes" : "no"} | ${advice} |`,
    );
  }
  return lines.join("\n");
}

describe("docs/collector.md", () => {
  it("shows the error table as src/errors.ts defines it", () => {
    const doc = readFileSync(DOC, "utf8");
    const start = doc.indexOf(START);
    const end = doc.indexOf(END);
    expect(start, `${DOC} lacks the marker ${START}`).toBeGreaterThanOrEqual(0);
    expect(end).toBeGreaterThan(start);
    const expected = `${START}\n${renderErrorTable()}\n`;
    const actual = doc.slice(start, end);
    if (actual !== expected && process.env.VIGIL_WRITE_DOCS === "1") {
      writeFileSync(DOC, doc.slice(0, start) + expected + doc.slice(end));
      return;
    }
    expect(actual, "run VIGIL_WRITE_DOCS=1 npx vitest run plugins/sms/test/collector-docs.test.ts").toBe(expected);
  });
});
