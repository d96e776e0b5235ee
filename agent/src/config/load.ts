import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parse as parseYaml, parseDocument } from "yaml";
import type { PluginDefinition } from "@vigil/plugin-sdk";
import { agentConfigSchema, type AgentConfig } from "./schema.js";
import { ConfigError, formatPath, problemsFromIssues, type ConfigProblem } from "./problems.js";

const ENV_REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Replaces `${NAME}` and `${NAME:-fallback}` inside the parsed document's string values —
 * never in the YAML text, so a value holding `#`, `:` or a newline cannot change the
 * document's structure. A value that is exactly one reference takes the variable's
 * YAML type (`${PORT}` → a number). An unset variable without a fallback is a problem
 * named by its path, not an empty string: a missing API key must stop the agent.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv, problems: ConfigProblem[], path: PropertyKey[] = []): unknown {
  if (typeof value === "string") {
    if (!value.includes("${")) return value;
    const lookup = (whole: string, name: string, fallback: string | undefined): string => {
      const found = env[name];
      if (found !== undefined && found !== "") return found;
      if (fallback !== undefined) return fallback;
      problems.push({ path: formatPath(path), message: `environment variable ${name} is not set (used as ${whole}); set it or write \${${name}:-default}` });
      return "";
    };
    const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/.exec(value);
    if (whole) {
      const text = lookup(whole[0], whole[1]!, whole[2]);
      const typed: unknown = parseYaml(text);
      return typeof typed === "number" || typeof typed === "boolean" ? typed : text;
    }
    return value.replace(ENV_REFERENCE, (all, name: string, fallback: string | undefined) => lookup(all, name, fallback));
  }
  if (Array.isArray(value)) return value.map((item, index) => interpolateEnv(item, env, problems, [...path, index]));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateEnv(item, env, problems, [...path, key])]));
  }
  return value;
}

/** Parses YAML text into a validated agent config, or throws ConfigError listing every problem. */
export function parseAgentConfig(text: string, env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const problems: ConfigProblem[] = [];
  const doc = parseDocument(text, { prettyErrors: true });
  for (const error of doc.errors) {
    const line = error.linePos?.[0];
    const message = error.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "");
    problems.push({ path: "", message: `YAML syntax${line ? ` at line ${line.line}, column ${line.col}` : ""}: ${message}` });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const raw = interpolateEnv(doc.toJS() ?? {}, env, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  const result = agentConfigSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(problemsFromIssues(result.error.issues));
  const ids = new Set<string>();
  result.data.plugins.forEach((entry, index) => {
    const id = entry.id ?? defaultPluginId(entry.use);
    if (ids.has(id)) problems.push({ path: `plugins[${index}].id`, message: `plugin id "${id}" is used twice: give each instance its own id` });
    ids.add(id);
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return result.data;
}

export async function loadAgentConfig(file: string, env: NodeJS.ProcessEnv = process.env): Promise<AgentConfig> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new ConfigError([{ path: "", message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }]);
  }
  return parseAgentConfig(text, env);
}

/** `@vigil/plugin-http-check` → `http-check` */
export function defaultPluginId(use: string): string {
  const base = use.split("/").pop() ?? use;
  return base.replace(/^plugin-/, "").toLowerCase().replace(/[^a-z0-9_-]/g, "-").replace(/^[^a-z]+/, "") || "plugin";
}

/**
 * Loads a plugin by package name, or by path (`./my-plugin.js`, relative to `baseDir`,
 * the config file's folder); the module default-exports `definePlugin(...)`.
 */
export async function importPlugin(use: string, baseDir: string = process.cwd()): Promise<PluginDefinition> {
  let module: { default?: PluginDefinition; plugin?: PluginDefinition };
  const specifier = /^(\.{1,2}\/|\/)/.test(use) ? pathToFileURL(resolve(baseDir, use)).href : use;
  try {
    module = (await import(specifier)) as typeof module;
  } catch (error) {
    throw new Error(`cannot load plugin package "${use}": ${(error as Error).message.split("\n")[0]}`);
  }
  const definition = module.default ?? module.plugin;
  if (!definition || typeof definition.create !== "function" || !definition.configSchema) {
    throw new Error(`package "${use}" is not a Vigil plugin: it must default-export definePlugin({...})`);
  }
  return definition;
}

/** Validates each plugin's `config:` with the plugin's own schema; problems carry full paths. */
export async function validatePluginConfigs(config: AgentConfig, baseDir?: string): Promise<ConfigProblem[]> {
  const problems: ConfigProblem[] = [];
  for (const [index, entry] of config.plugins.entries()) {
    let definition: PluginDefinition;
    try {
      definition = await importPlugin(entry.use, baseDir);
    } catch (error) {
      problems.push({ path: `plugins[${index}].use`, message: (error as Error).message });
      continue;
    }
    const result = definition.configSchema.safeParse(entry.config);
    if (!result.success) problems.push(...problemsFromIssues(result.error.issues, ["plugins", index, "config"]));
  }
  return problems;
}
