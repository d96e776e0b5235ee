import type { PluginRequest, PluginRoute } from "@vigil/plugin-sdk";
import { SYNC_PATH, type SyncResponse } from "../sync-protocol.js";
import { listKeywords } from "./keywords.js";
import { desiredRunning } from "./monitor-state.js";

/** The agents' read of what to monitor; scope ingest, the scope of an agent's key. */
export const syncRoute: PluginRoute = {
  method: "GET",
  path: SYNC_PATH,
  scope: "ingest",
  async handler(request: PluginRequest) {
    const [running, rows] = await Promise.all([desiredRunning(request), listKeywords(request, true)]);
    const body: SyncResponse = {
      running,
      keywords: rows.map((row) => ({ id: row.id, keyword: row.keyword, mode: row.mode, subreddits: row.subreddits, exclude: row.exclude })),
    };
    return { body };
  },
};
