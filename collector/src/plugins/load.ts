import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { CollectorPart } from "@vigil/plugin-sdk";

/**
 * Loads the collector parts named in the configuration: a package name loads
 * `<package>/collector`; a path (`./x.js`, `/abs/x.js`) loads that file. Each must
 * default-export `defineCollectorPart(...)`.
 */
export async function loadCollectorParts(specs: readonly string[]): Promise<CollectorPart[]> {
  const parts: CollectorPart[] = [];
  for (const spec of specs) {
    const specifier = /^(\.{1,2}\/|\/)/.test(spec) ? pathToFileURL(resolve(spec)).href : `${spec}/collector`;
    let module: { default?: CollectorPart };
    try {
      module = (await import(specifier)) as typeof module;
    } catch (error) {
      throw new Error(`cannot load the collector part of "${spec}" (${specifier}): ${(error as Error).message.split("\n")[0]}`);
    }
    const part = module.default;
    if (!part || typeof part.name !== "string" || !Array.isArray(part.migrations) || !Array.isArray(part.routes) || (part.metrics !== undefined && !Array.isArray(part.metrics))) {
      throw new Error(`"${spec}" does not default-export defineCollectorPart({ name, migrations, routes, metrics? })`);
    }
    if (parts.some((p) => p.name === part.name)) throw new Error(`two collector parts are named "${part.name}": load each plugin once`);
    parts.push(part);
  }
  return parts;
}

/** `<plugin>_<name>` for a plugin's own tables; the shared `events` table keeps its name. */
export function pluginTableName(part: CollectorPart, name: string): string {
  return name === "events" ? "events" : `${part.name}_${name}`;
}
