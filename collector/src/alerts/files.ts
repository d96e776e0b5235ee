import { readFileSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import type { Logger } from "pino";
import { ChannelConfigError, channelInputSchema, prepareChannel, type PreparedChannel } from "./channel-input.js";
import type { AlertEngine, StoredRule } from "./engine.js";
import { routeSchema, type RouteSpec } from "./routing.js";
import { ruleSchema, type Rule } from "./rule.js";
import type { SecretBox } from "./secrets.js";

/**
 * Alert rules, routes and channels from YAML files (GitOps; the Helm chart mounts them
 * from ConfigMaps). Every file is read and validated before the collector starts: one
 * bad field stops the start with the file and the field named. Once storage is ready the
 * files' entities are written (origin `file:<path>`), and entities a file held before
 * but no longer does are deleted. The API shows them but refuses to change them.
 *
 * `${NAME}` in any string is replaced by the environment variable NAME, so secrets
 * (webhook URLs, SMTP passwords) come from Kubernetes Secrets, not the file.
 *
 *   tenant: default            # optional, default "default"
 *   channels: [{id, name, kind, config}]
 *   routes:   [{id, name, matchers, channels, group_by, group_wait, …}]
 *   rules:    [{id, kind, name, …}]
 */

const DEFAULT_TENANT = "default";
const idSchema = z.string({ error: "id is required in rule files (it keeps the entity the same across restarts)" }).regex(/^[A-Za-z0-9_-]{1,64}$/, "id is 1–64 letters, digits, '_' or '-'");

const fileSchema = z
  .object({
    tenant: z.string().min(1).default(DEFAULT_TENANT),
    channels: z.array(z.record(z.string(), z.unknown())).default([]),
    routes: z.array(z.record(z.string(), z.unknown())).default([]),
    rules: z.array(z.record(z.string(), z.unknown())).default([]),
  })
  .strict();

export interface AlertFiles {
  rules: { tenant: string; id: string; stored: StoredRule }[];
  routes: { tenant: string; id: string; spec: RouteSpec & { origin: string } }[];
  channels: { tenant: string; id: string; prepared: PreparedChannel }[];
  /** Absolute paths read, for the origin of each entity. */
  paths: string[];
}

export class AlertFileError extends Error {}

function listFiles(paths: readonly string[]): string[] {
  const out: string[] = [];
  for (const path of paths.map((p) => resolve(p))) {
    let info;
    try {
      info = statSync(path);
    } catch {
      throw new AlertFileError(`alert rule file ${path} does not exist (--alert-rules / VIGIL_ALERT_RULES)`);
    }
    if (info.isDirectory()) {
      for (const name of readdirSync(path).sort()) if (/\.ya?ml$/i.test(name)) out.push(join(path, name));
    } else out.push(path);
  }
  return out;
}

function expandEnv(value: unknown, where: string, env: NodeJS.ProcessEnv): unknown {
  if (typeof value === "string") {
    return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const found = env[name];
      if (found === undefined) throw new AlertFileError(`${where}: the environment variable ${name} is not set`);
      return found;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, `${where}[${i}]`, env));
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, expandEnv(v, `${where}.${k}`, env)]));
  return value;
}

function problem(file: string, where: string, issues: readonly { path: PropertyKey[]; message: string }[]): AlertFileError {
  const first = issues[0]!;
  const path = [where, ...first.path.map(String)].filter(Boolean).join(".");
  return new AlertFileError(path ? `${file}: ${path}: ${first.message}` : `${file}: ${first.message}`);
}

export function readAlertFiles(paths: readonly string[], box: SecretBox, env: NodeJS.ProcessEnv = process.env): AlertFiles {
  const result: AlertFiles = { rules: [], routes: [], channels: [], paths: [] };
  const seen = new Set<string>();
  for (const file of listFiles(paths)) {
    let doc: unknown;
    try {
      doc = parseYaml(readFileSync(file, "utf8"));
    } catch (error) {
      throw new AlertFileError(`${file}: not valid YAML: ${(error as Error).message.split("\n")[0]}`);
    }
    const parsed = fileSchema.safeParse(doc ?? {});
    if (!parsed.success) throw problem(file, "", parsed.error.issues);
    const { tenant } = parsed.data;
    const origin = `file:${file}`;
    result.paths.push(file);
    const claim = (kind: string, id: string, where: string) => {
      const key = `${tenant}\u0000${kind}\u0000${id}`;
      if (seen.has(key)) throw new AlertFileError(`${file}: ${where}: ${kind} id "${id}" is used twice`);
      seen.add(key);
    };
    parsed.data.channels.forEach((raw, i) => {
      const where = `channels[${i}]`;
      const id = idSchema.safeParse(raw.id);
      if (!id.success) throw problem(file, `${where}.id`, id.error.issues);
      claim("channel", id.data, where);
      const input = channelInputSchema.safeParse(expandEnv(raw, `${file}: ${where}`, env));
      if (!input.success) throw problem(file, where, input.error.issues);
      try {
        result.channels.push({ tenant, id: id.data, prepared: prepareChannel(input.data, box, origin) });
      } catch (error) {
        if (error instanceof ChannelConfigError) throw problem(file, where, error.issues);
        throw error;
      }
    });
    const channelIds = new Set(result.channels.filter((c) => c.tenant === tenant).map((c) => c.id));
    parsed.data.routes.forEach((given, i) => {
      const where = `routes[${i}]`;
      const raw = expandEnv(given, `${file}: ${where}`, env) as Record<string, unknown>;
      const { id: rawId, ...rest } = raw;
      const id = idSchema.safeParse(rawId);
      if (!id.success) throw problem(file, `${where}.id`, id.error.issues);
      claim("route", id.data, where);
      const spec = routeSchema.safeParse(rest);
      if (!spec.success) throw problem(file, where, spec.error.issues);
      const missing = spec.data.channels.find((c) => !channelIds.has(c));
      if (missing) throw new AlertFileError(`${file}: ${where}.channels: no channel "${missing}" in the rule files of tenant "${tenant}"`);
      result.routes.push({ tenant, id: id.data, spec: { ...spec.data, origin } });
    });
    parsed.data.rules.forEach((given, i) => {
      const where = `rules[${i}]`;
      const raw = expandEnv(given, `${file}: ${where}`, env) as Record<string, unknown>;
      const id = idSchema.safeParse(raw.id);
      if (!id.success) throw problem(file, `${where}.id`, id.error.issues);
      claim("rule", id.data, where);
      const rule = ruleSchema.safeParse(raw);
      if (!rule.success) throw problem(file, where, rule.error.issues);
      const { id: _id, ...input } = raw;
      result.rules.push({ tenant, id: id.data, stored: { input, origin, rule: { ...rule.data, id: id.data } as Rule } });
    });
  }
  return result;
}

/** Writes the files' entities and removes those that left the files. */
export async function applyAlertFiles(files: AlertFiles, engine: AlertEngine, log: Logger): Promise<void> {
  await engine.reloadConfiguration();
  const now = Date.now();
  const fromFile = (origin: string | undefined) => origin?.startsWith("file:") ?? false;
  for (const c of files.channels) {
    await engine.channels.put({ tenant: c.tenant, id: c.id, spec: c.prepared.spec, secrets: c.prepared.secrets, updated_at: now });
    engine.channelChanged(c.tenant, c.id);
  }
  for (const r of files.routes) await engine.routes.put({ tenant: r.tenant, id: r.id, spec: r.spec, secrets: "", updated_at: now });
  for (const r of files.rules) {
    const previous = engine.rules.get(r.tenant, r.id)?.spec.rule;
    await engine.rules.put({ tenant: r.tenant, id: r.id, spec: r.stored, secrets: "", updated_at: now });
    engine.ruleChanged(r.tenant, r.id, previous);
  }
  const keep = (kind: string, tenant: string, id: string) =>
    kind === "rule" ? files.rules.some((r) => r.tenant === tenant && r.id === id) : kind === "route" ? files.routes.some((r) => r.tenant === tenant && r.id === id) : files.channels.some((r) => r.tenant === tenant && r.id === id);
  let removed = 0;
  for (const tenant of engine.rules.tenants()) {
    for (const e of engine.rules.list(tenant)) {
      if (fromFile(e.spec.origin) && !keep("rule", tenant, e.id)) {
        await engine.rules.remove(tenant, e.id);
        engine.ruleChanged(tenant, e.id, e.spec.rule);
        removed++;
      }
    }
  }
  for (const tenant of engine.routes.tenants()) for (const e of engine.routes.list(tenant)) if (fromFile(e.spec.origin) && !keep("route", tenant, e.id)) (await engine.routes.remove(tenant, e.id), removed++);
  for (const tenant of engine.channels.tenants()) for (const e of engine.channels.list(tenant)) if (fromFile(e.spec.origin) && !keep("channel", tenant, e.id)) (await engine.channels.remove(tenant, e.id), removed++);
  if (files.paths.length) log.info({ files: files.paths.length, rules: files.rules.length, routes: files.routes.length, channels: files.channels.length, removed }, "alert rule files applied");
}
