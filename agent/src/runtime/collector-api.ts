import { AGENT_ID_HEADER, AGENT_NAME_HEADER, type CollectorApi, type HttpClient } from "@vigil/plugin-sdk";

export interface CollectorApiOptions {
  http: HttpClient;
  collectorUrl: string;
  apiKey: string;
  agentId: string;
  agentName: string;
  timeoutMs: number;
}

/**
 * The collector API as plugins see it (`ctx.collector`): requests go to the agent's
 * collector with its key and id, so a plugin never handles the key itself.
 */
export function createCollectorApi(options: CollectorApiOptions): CollectorApi {
  const base = options.collectorUrl.replace(/\/$/, "");
  return {
    request(path, request = {}) {
      if (!path.startsWith("/")) throw new Error(`collector paths are absolute ("/api/..."), got "${path}"`);
      return options.http.request(`${base}${path}`, {
        timeoutMs: options.timeoutMs,
        ...request,
        headers: {
          ...request.headers,
          authorization: `Bearer ${options.apiKey}`,
          [AGENT_ID_HEADER]: options.agentId,
          [AGENT_NAME_HEADER]: options.agentName,
        },
      });
    },
  };
}
