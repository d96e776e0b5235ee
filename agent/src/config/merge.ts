import type { RemoteConfig } from "@vigil/plugin-sdk";
import { defaultPluginId } from "./load.js";
import type { PluginEntry } from "./schema.js";
import type { ConfigProblem } from "./problems.js";

/** A plugin as it will run: the file's entry with the remote configuration merged over it. */
export interface EffectivePlugin {
  id: string;
  use: string;
  enabled: boolean;
  config: Record<string, unknown>;
  /** Index in the file's `plugins:`, or undefined for a plugin the remote config added. */
  fileIndex?: number;
}

/**
 * Merges the remote configuration over the file's plugins (DESIGN.md: the collector's
 * change wins). Objects merge key by key; arrays and plain values replace.
 */
export function mergeRemoteConfig(filePlugins: readonly PluginEntry[], remote: RemoteConfig): { plugins: EffectivePlugin[]; problems: ConfigProblem[] } {
  const problems: ConfigProblem[] = [];
  const plugins: EffectivePlugin[] = filePlugins.map((entry, index) => ({
    id: entry.id ?? defaultPluginId(entry.use),
    use: entry.use,
    enabled: entry.enabled,
    config: entry.config,
    fileIndex: index,
  }));
  for (const [id, change] of Object.entries(remote.plugins)) {
    const existing = plugins.find((p) => p.id === id);
    if (existing) {
      if (change.use && change.use !== existing.use) {
        problems.push({ path: `plugins.${id}.use`, message: `plugin "${id}" runs ${existing.use}; a remote config cannot swap its package` });
        continue;
      }
      if (change.enabled !== undefined) existing.enabled = change.enabled;
      if (change.config) existing.config = deepMerge(existing.config, change.config);
    } else if (!change.use) {
      problems.push({ path: `plugins.${id}.use`, message: `the agent has no plugin "${id}": name its package in use to add it` });
    } else {
      plugins.push({ id, use: change.use, enabled: change.enabled ?? true, config: change.config ?? {} });
    }
  }
  return { plugins, problems };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}
