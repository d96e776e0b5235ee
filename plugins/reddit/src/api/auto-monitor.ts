import type { AgentView, PluginRequest, PluginRoute } from "@vigil/plugin-sdk";
import { MONITOR_CHANGED } from "../commands.js";
import { DEFAULT_SYNC_INTERVAL_S, type MonitorDetails } from "../status.js";
import { listKeywords } from "./keywords.js";
import { desiredRunning, setDesiredRunning } from "./monitor-state.js";

type ReportedPlugin = AgentView["plugins"][number];

/** The Reddit plugin instances of an agent: the ones whose status carries the monitor's details. */
function redditInstances(agent: AgentView): (ReportedPlugin & { details: Partial<MonitorDetails> })[] {
  return agent.plugins.filter((p): p is ReportedPlugin & { details: Partial<MonitorDetails> } => p.details !== undefined && "stream_monitoring_active" in p.details);
}

/** One agent's Reddit plugin in the auto-monitor status. */
export interface MonitorAgentStatus {
  agent_id: string;
  agent_name: string | null;
  plugin_id: string;
  online: boolean;
  push_connected: boolean;
  state: string;
  message: string | null;
  last_heartbeat: string | null;
  is_running: boolean;
  stream_monitoring_active: boolean;
  active_streams: number;
  monitored_keywords_count: number;
  monitored_subreddits: number;
  last_check: string | null;
  last_sync: string | null;
  check_interval_seconds: number;
  immediate_updates_enabled: boolean;
  mentions_emitted: number;
  gaps: number;
}

/** `GET /api/auto-monitor/status`: the tenant-wide fields, then one entry per agent running the plugin. */
export interface MonitorStatus {
  desired_state: "running" | "stopped";
  is_running: boolean;
  monitored_keywords_count: number;
  last_check: string | null;
  check_interval_seconds: number;
  immediate_updates_enabled: boolean;
  stream_monitoring_active: boolean;
  active_streams: number;
  agents: MonitorAgentStatus[];
}

/** `POST /api/auto-monitor/start|stop` (202). */
export interface MonitorSwitchAnswer {
  desired_state: "running" | "stopped";
  agents_notified: number;
}

const latest = (values: (string | undefined)[]): string | null =>
  values.filter((v): v is string => typeof v === "string" && v !== "").sort().at(-1) ?? null;

/**
 * The seed's auto-monitor status over the tenant's agents: the tenant-wide fields, then one
 * entry per agent running the Reddit plugin. An agent counts only while it is online
 * (a heartbeat within the last minute); `immediate_updates_enabled` needs its push
 * connection to this collector.
 */
async function monitorStatus(request: PluginRequest): Promise<MonitorStatus> {
  const [wanted, keywords, agents] = await Promise.all([desiredRunning(request), listKeywords(request, true), request.agents.list()]);
  const entries = agents.flatMap((agent) =>
    redditInstances(agent).map((plugin): MonitorAgentStatus => {
      const d = plugin.details;
      const live = agent.online && plugin.state !== "stopped" && plugin.state !== "failing";
      return {
        agent_id: agent.id,
        agent_name: agent.name,
        plugin_id: plugin.id,
        online: agent.online,
        push_connected: agent.push_connected,
        state: plugin.state,
        message: plugin.message ?? null,
        last_heartbeat: agent.last_heartbeat,
        is_running: live && d.is_running === true,
        stream_monitoring_active: live && d.stream_monitoring_active === true,
        active_streams: live ? Number(d.active_streams ?? 0) : 0,
        monitored_keywords_count: Number(d.monitored_keywords_count ?? 0),
        monitored_subreddits: Number(d.monitored_subreddits ?? 0),
        last_check: d.last_check || null,
        last_sync: d.last_sync || null,
        check_interval_seconds: Number(d.check_interval_seconds ?? DEFAULT_SYNC_INTERVAL_S),
        immediate_updates_enabled: agent.online && agent.push_connected && d.immediate_updates_enabled === true,
        mentions_emitted: Number(d.mentions_emitted ?? 0),
        gaps: Number(d.gaps ?? 0),
      };
    }),
  );
  const running = entries.filter((e) => e.is_running);
  return {
    desired_state: wanted ? "running" : "stopped",
    is_running: wanted && running.length > 0,
    monitored_keywords_count: keywords.length,
    last_check: latest(entries.map((e) => e.last_check ?? undefined)),
    check_interval_seconds: entries.length > 0 ? Math.min(...entries.map((e) => e.check_interval_seconds)) : DEFAULT_SYNC_INTERVAL_S,
    immediate_updates_enabled: entries.some((e) => e.immediate_updates_enabled),
    stream_monitoring_active: entries.some((e) => e.stream_monitoring_active),
    active_streams: entries.reduce((sum, e) => sum + e.active_streams, 0),
    agents: entries,
  };
}

function switchTo(running: boolean): PluginRoute["handler"] {
  return async (request) => {
    await setDesiredRunning(request, running);
    const reached = request.agents.broadcast({ name: MONITOR_CHANGED, args: { running } });
    return { status: 202, body: { desired_state: running ? "running" : "stopped", agents_notified: reached } satisfies MonitorSwitchAnswer };
  };
}

export const autoMonitorRoutes: PluginRoute[] = [
  { method: "GET", path: "/api/auto-monitor/status", scope: "read", handler: async (request) => ({ body: await monitorStatus(request) }) },
  { method: "POST", path: "/api/auto-monitor/start", scope: "write", handler: switchTo(true) },
  { method: "POST", path: "/api/auto-monitor/stop", scope: "write", handler: switchTo(false) },
];
