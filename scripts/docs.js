#!/usr/bin/env node
// Generates the reference sections of the README from the code that defines them, so
// the docs cannot drift: `node scripts/docs.js` rewrites them, `--check` (run by CI)
// fails when the committed README differs from what the code says.
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { collectorConfigSchema } from "../collector/dist/config.js";
import * as limits from "../plugins/sdk/dist/limits.js";

const readmePath = fileURLToPath(new URL("../README.md", import.meta.url));

/** Unwraps zod's default/optional wrappers to find the default and the description. */
function describeField(schema) {
  let node = schema;
  let defaultValue;
  let description = schema.description;
  while (node?._zod?.def && ["default", "optional", "prefault"].includes(node._zod.def.type)) {
    if (node._zod.def.type === "default") defaultValue = node._zod.def.defaultValue;
    node = node._zod.def.innerType;
    description ??= node.description;
  }
  return { defaultValue, description: description ?? "", inner: node };
}

function configTable(schema, prefix = "") {
  const rows = [];
  for (const [key, field] of Object.entries(schema.shape)) {
    const { defaultValue, description, inner } = describeField(field);
    if (inner._zod.def.type === "object") {
      rows.push(...configTable(inner, `${prefix}${key}.`));
      continue;
    }
    const shown = defaultValue === undefined ? "—" : `\`${JSON.stringify(defaultValue)}\``;
    rows.push(`| \`${prefix}${key}\` | ${shown} | ${description.replace(/\|/g, "\\|")} |`);
  }
  return rows;
}

function limitsTable() {
  return Object.entries(limits).map(([name, value]) => `| \`${name}\` | ${value.toLocaleString("en-US")} |`);
}

const sections = {
  "collector-config": ["| setting | default | what it does (flag, environment variable) |", "|---|---|---|", ...configTable(collectorConfigSchema)].join("\n"),
  "event-limits": ["| limit | value |", "|---|---|", ...limitsTable()].join("\n"),
};

const original = readFileSync(readmePath, "utf8");
let updated = original;
for (const [name, body] of Object.entries(sections)) {
  const pattern = new RegExp(`(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`);
  if (!pattern.test(updated)) {
    console.error(`README.md lacks the markers <!-- generated:${name} --> … <!-- /generated:${name} -->`);
    process.exit(1);
  }
  updated = updated.replace(pattern, `$1\n${body}\n$2`);
}

if (process.argv.includes("--check")) {
  if (updated !== original) {
    console.error("README.md is out of date with the code: run `node scripts/docs.js` and commit the result.");
    process.exit(1);
  }
  console.log("README.md reference sections match the code.");
} else {
  writeFileSync(readmePath, updated);
  console.log("README.md reference sections regenerated.");
}
