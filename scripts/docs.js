#!/usr/bin/env node
// Generates the reference sections of the README from the code that defines them, so
// the docs cannot drift: `node scripts/docs.js` rewrites them, `--check` (run by CI)
// fails when the committed README differs from what the code says.
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { agentConfigSchema } from "../agent/dist/config/schema.js";
import { collectorConfigSchema } from "../collector/dist/config.js";
import * as limits from "../plugins/sdk/dist/limits.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Unwraps zod's default/optional wrappers to find the default and the description. */
function describeField(schema) {
  let node = schema;
  let defaultValue;
  let description = schema.description;
  while (node?._zod?.def && ["default", "optional", "prefault"].includes(node._zod.def.type)) {
    if (node._zod.def.type === "default" || node._zod.def.type === "prefault") {
      const value = node._zod.def.defaultValue;
      // An object prefault of `{}` only says "the inner defaults apply"; the rows below show them.
      const emptyPrefault = node._zod.def.type === "prefault" && typeof value === "object" && value !== null && Object.keys(value).length === 0;
      if (!emptyPrefault) defaultValue = value;
    }
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

/** Each README and the sections generated into it. */
const documents = [
  {
    file: `${root}README.md`,
    sections: {
      "collector-config": ["| setting | default | what it does (flag, environment variable) |", "|---|---|---|", ...configTable(collectorConfigSchema)].join("\n"),
      "agent-config": ["| key | default | what it does |", "|---|---|---|", ...configTable(agentConfigSchema)].join("\n"),
      "event-limits": ["| limit | value |", "|---|---|", ...limitsTable()].join("\n"),
    },
  },
  // Every plugin README embeds its example.yaml (Telegraf's sample.conf habit).
  ...readdirSync(`${root}plugins`)
    .filter((name) => existsSync(`${root}plugins/${name}/example.yaml`))
    .map((name) => ({
      file: `${root}plugins/${name}/README.md`,
      sections: { example: ["```yaml", readFileSync(`${root}plugins/${name}/example.yaml`, "utf8").trimEnd(), "```"].join("\n") },
    })),
];

const check = process.argv.includes("--check");
let drifted = false;
for (const { file, sections } of documents) {
  const original = readFileSync(file, "utf8");
  let updated = original;
  for (const [name, body] of Object.entries(sections)) {
    const pattern = new RegExp(`(<!-- generated:${name} -->)[\\s\\S]*?(<!-- /generated:${name} -->)`);
    if (!pattern.test(updated)) {
      console.error(`${file} lacks the markers <!-- generated:${name} --> … <!-- /generated:${name} -->`);
      process.exit(1);
    }
    updated = updated.replace(pattern, () => `<!-- generated:${name} -->\n${body}\n<!-- /generated:${name} -->`);
  }
  if (updated === original) continue;
  drifted = true;
  if (check) console.error(`${file} is out of date with the code: run \`npx -y pnpm@10 docs\` and commit the result.`);
  else {
    writeFileSync(file, updated);
    console.log(`regenerated ${file}`);
  }
}
if (check && drifted) process.exit(1);
console.log(check ? "generated documentation matches the code." : "generated documentation is up to date.");
