import { createHash } from "node:crypto";
import { z } from "zod";
import { PluginApiError, nextRowVersion, parseRequest, type PluginRequest, type PluginRoute } from "@vigil/plugin-sdk";
import { APP_NAME, DEFAULT_SETTINGS, SETTINGS_CHANGED, SYNC_PATH, settingsSchema, type PublishedSettings, type Settings } from "../contract.js";

/**
 * The runtime settings (the switch, the thresholds, the buffer size) per tenant and app,
 * in ClickHouse (ReplacingMergeTree, read with FINAL). App "*" is the default of every app
 * without its own row; an app's row is a whole snapshot, made by merging a change over the
 * app's settings as they were (its own row, else the default). Every change is pushed at
 * once to the tenant's connected agents (SETTINGS_CHANGED), which re-read them from
 * SYNC_PATH and publish them to apps; their backup sync heals a missed push.
 */

/** `PUT /api/cache-monitor/settings`: the app's settings now, their version, and how many agents were told. */
export interface PutSettingsAnswer {
  app: string;
  settings: Settings;
  version: string;
  agents_notified: number;
}

export const DEFAULT_APP = "*";

const appName = z.union([z.literal(DEFAULT_APP), z.string().regex(APP_NAME, 'app is "*" (every app) or a name of letters, digits, ".", "_" and "-" (at most 64)')]);

const putSchema = z
  .object({
    app: appName.default(DEFAULT_APP).describe('The app the settings are for; "*" is the default of every app without its own.'),
    settings: z.record(z.string(), z.unknown(), { error: "settings must be an object of the fields to change" }).describe("The fields to change; the others keep their value."),
  })
  .strict();

/** Validates the merged result; each problem is named under `settings.` (e.g. `settings.sampled.1.below`). */
const mergedSchema = z.object({ settings: settingsSchema });

/** The tenant's settings: "*" (stored, else the built-in defaults) and each app's own. */
export async function readSettings(request: PluginRequest): Promise<Record<string, Settings>> {
  const rows = await request.storage.query<{ app: string; settings: string }>(
    `SELECT app, settings FROM ${request.storage.table("settings")} FINAL WHERE tenant = {tenant:String} AND is_deleted = 0`,
  );
  const apps: Record<string, Settings> = { [DEFAULT_APP]: DEFAULT_SETTINGS };
  for (const row of rows) {
    // Parsed again on the way out: fields added to the schema since the row was written get
    // their defaults. A row the schema no longer accepts is left out (the app gets "*").
    const parsed = settingsSchema.safeParse(JSON.parse(row.settings));
    if (parsed.success) apps[row.app] = parsed.data;
  }
  return apps;
}

/** What agents publish to apps: the settings per app and a version that changes whenever they do. */
export function publishedForm(apps: Record<string, Settings>): PublishedSettings {
  const sorted = Object.fromEntries(Object.keys(apps).sort().map((app) => [app, apps[app]!]));
  return { version: createHash("sha256").update(JSON.stringify(sorted)).digest("hex").slice(0, 16), apps: sorted };
}

async function writeSettings(request: PluginRequest, app: string, settings: Settings, deleted = false): Promise<void> {
  await request.storage.insert("settings", [
    { app, settings: JSON.stringify(settings), updated_by: request.key.id, updated_at: Date.now(), version: nextRowVersion(), is_deleted: deleted ? 1 : 0 },
  ]);
}

function announce(request: PluginRequest, app: string): number {
  return request.agents.broadcast({ name: SETTINGS_CHANGED, args: { app } });
}

export const settingsRoutes: PluginRoute[] = [
  {
    method: "GET",
    path: "/api/cache-monitor/settings",
    scope: "read",
    handler: async (request) => ({ body: publishedForm(await readSettings(request)) }),
  },
  {
    method: "PUT",
    path: "/api/cache-monitor/settings",
    // The issue asks for the editor role; until the dashboard brings users and roles, the
    // admin scope is what may change what the tenant's apps do.
    scope: "write",
    async handler(request) {
      const input = parseRequest(putSchema, request.body);
      const apps = await readSettings(request);
      const base = apps[input.app] ?? apps[DEFAULT_APP]!;
      const { settings } = parseRequest(mergedSchema, { settings: { ...base, ...input.settings } });
      await writeSettings(request, input.app, settings);
      const published = publishedForm({ ...apps, [input.app]: settings });
      return { body: { app: input.app, settings, version: published.version, agents_notified: announce(request, input.app) } satisfies PutSettingsAnswer };
    },
  },
  {
    method: "DELETE",
    path: "/api/cache-monitor/settings/:app",
    // Removes an app's own settings: it follows "*" again. Deleting "*" restores the built-in defaults.
    scope: "write",
    async handler(request) {
      const app = parseRequest(z.object({ app: appName }), request.params).app;
      const [row] = await request.storage.query<{ settings: string }>(
        `SELECT settings FROM ${request.storage.table("settings")} FINAL WHERE tenant = {tenant:String} AND app = {app:String} AND is_deleted = 0`,
        { app },
      );
      if (!row) throw new PluginApiError("not_found", app === DEFAULT_APP ? "the default settings are the built-in ones already" : `app "${app}" has no settings of its own`);
      await writeSettings(request, app, DEFAULT_SETTINGS, true);
      announce(request, app);
      return { status: 204 };
    },
  },
  {
    method: "GET",
    path: SYNC_PATH,
    // The agents' read; scope ingest, the scope of an agent's key.
    scope: "ingest",
    handler: async (request) => ({ body: publishedForm(await readSettings(request)) }),
  },
];
