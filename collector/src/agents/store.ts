import type { Logger } from "pino";
import type { z } from "zod";
import { nextRowVersion, type heartbeatSchema, type RemoteConfig, type VersionedConfig } from "@vigil/plugin-sdk";
import type { Database } from "../storage/database.js";
import type { TenantScope } from "../storage/tenant-scope.js";

export type HeartbeatInput = z.output<typeof heartbeatSchema>;
export type PluginStatus = HeartbeatInput["plugins"][number];

/** An agent as the API shows it. Fields an agent reports are null until its first heartbeat. */
export interface AgentSummary {
  id: string;
  name: string | null;
  version: string | null;
  key_id: string | null;
  online: boolean;
  last_heartbeat: string | null;
  uptime_s: number | null;
  /** The remote config version the agent reported as applied. */
  config_version: number | null;
  /** The remote config version an admin set (0: none). */
  desired_config_version: number;
  config_error: string | null;
  rejected_config_version: number | null;
  queue: { bytes: number; records: number } | null;
  plugins: PluginStatus[];
}

export interface StoredConfig extends VersionedConfig {
  updated_at: string | null;
}

export interface AgentDetail extends AgentSummary {
  remote_config: StoredConfig;
}

export interface AgentCursor {
  heartbeatMs: number;
  id: string;
}

/** An agent counts as online when its last heartbeat is at most this old. */
export const ONLINE_WITHIN_MS = 60_000;
/** How long a cached remote config is trusted; writes on this replica refresh it at once. */
const CONFIG_CACHE_MS = 15_000;
const CONFIG_CACHE_MAX = 10_000;
const NO_CONFIG: StoredConfig = Object.freeze({ version: 0, config: { plugins: {} }, updated_at: null });

interface AgentRow {
  agent: string;
  reported: number;
  name: string;
  agent_version: string;
  key_id: string;
  hb_ms: number;
  uptime_s: number;
  config_version: number;
  config_error: string | null;
  rejected_config_version: number | null;
  queue_bytes: number;
  queue_records: number;
  plugins: string;
  desired_version: number;
}

interface ConfigRow {
  config_version: number;
  config: string;
  updated_ms: number;
}


const cacheKey = (tenant: string, agentId: string) => `${tenant}\u0000${agentId}`;

/**
 * Agents (one row per agent, replaced by each heartbeat) and the remote config an admin
 * set for each agent id, in ClickHouse (ReplacingMergeTree, read with FINAL). The hot
 * paths — a stream connecting, the backup poll, every heartbeat's answer — read the
 * current config from an in-memory cache: a write on this replica updates it at once,
 * a write on another replica is seen within CONFIG_CACHE_MS.
 */
export function createAgentStore(db: Database, log: Logger) {
  const configs = new Map<string, { value: StoredConfig; at: number }>();
  const writing = new Map<string, Promise<unknown>>();
  const insertHeartbeat = coalescingInserter(db, "agents");

  function remember(tenant: string, agentId: string, value: StoredConfig): void {
    const key = cacheKey(tenant, agentId);
    const known = configs.get(key);
    // A load that started before a local write must not put the older version back.
    if (known && known.value.version > value.version) return;
    configs.delete(key);
    configs.set(key, { value, at: Date.now() });
    if (configs.size > CONFIG_CACHE_MAX) configs.delete(configs.keys().next().value!);
  }

  async function loadConfig(scope: TenantScope, agentId: string): Promise<StoredConfig> {
    const [row] = await scope.query<ConfigRow>(
      `SELECT config_version, config, toUnixTimestamp64Milli(updated_at) AS updated_ms
       FROM ${scope.table("agent_configs")} FINAL
       WHERE tenant = {tenant:String} AND agent_id = {agent:String} AND is_deleted = 0`,
      { agent: agentId },
    );
    if (!row) return NO_CONFIG;
    return { version: Number(row.config_version), config: JSON.parse(row.config) as RemoteConfig, updated_at: new Date(Number(row.updated_ms)).toISOString() };
  }

  /** The remote config set for this agent id (version 0 and no plugins when none), from the cache. */
  async function currentConfig(scope: TenantScope, agentId: string): Promise<StoredConfig> {
    const hit = configs.get(cacheKey(scope.tenant, agentId));
    if (hit && Date.now() - hit.at < CONFIG_CACHE_MS) return hit.value;
    const value = await loadConfig(scope, agentId);
    remember(scope.tenant, agentId, value);
    return value;
  }

  /**
   * Stores a new remote config as the previous version + 1. Writes for one agent are
   * serialised on this replica; two replicas writing the same agent at the same instant
   * could both pick the same number (the later row wins), which an admin API tolerates.
   */
  function setConfig(scope: TenantScope, agentId: string, config: RemoteConfig): Promise<StoredConfig> {
    const key = cacheKey(scope.tenant, agentId);
    const previous = writing.get(key) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(async () => {
      const current = await loadConfig(scope, agentId);
      const updatedAt = Date.now();
      const value: StoredConfig = { version: current.version + 1, config, updated_at: new Date(updatedAt).toISOString() };
      await scope.insert("agent_configs", [
        { agent_id: agentId, config_version: value.version, config: JSON.stringify(value.config), updated_at: updatedAt, version: nextRowVersion(), is_deleted: 0 },
      ]);
      remember(scope.tenant, agentId, value);
      log.info({ tenant: scope.tenant, agent_id: agentId, config_version: value.version }, "agent remote config set");
      return value;
    });
    writing.set(key, next);
    void next.finally(() => {
      if (writing.get(key) === next) writing.delete(key);
    }).catch(() => undefined);
    return next;
  }

  /** Stores a heartbeat as the agent's current row; resolves once it is in ClickHouse. */
  async function recordHeartbeat(scope: TenantScope, keyId: string, heartbeat: HeartbeatInput): Promise<void> {
    await insertHeartbeat({
      tenant: scope.tenant,
      id: heartbeat.id,
      name: heartbeat.name,
      agent_version: heartbeat.version,
      key_id: keyId,
      last_heartbeat: Date.now(),
      uptime_s: heartbeat.uptime_s,
      config_version: heartbeat.config_version,
      config_error: heartbeat.config_error,
      rejected_config_version: heartbeat.rejected_config_version,
      queue_bytes: Math.round(heartbeat.queue.bytes),
      queue_records: Math.round(heartbeat.queue.records),
      plugins: JSON.stringify(heartbeat.plugins),
      version: nextRowVersion(),
      is_deleted: 0,
    });
  }

  /**
   * Every agent that sent a heartbeat or was given a remote config, newest heartbeat
   * first (agents that never reported come last), `limit` at a time after `cursor`.
   */
  async function listAgents(scope: TenantScope, page: { limit: number; cursor?: AgentCursor | undefined }): Promise<{ agents: AgentSummary[]; next: AgentCursor | null }> {
    const params: Record<string, unknown> = { limit: page.limit };
    let after = "";
    if (page.cursor) {
      after = "WHERE (hb_ms, agent) < ({cursor_ms:Int64}, {cursor_id:String})";
      params.cursor_ms = page.cursor.heartbeatMs;
      params.cursor_id = page.cursor.id;
    }
    const rows = await scope.query<AgentRow>(`${agentRowsSql(scope, "")} ${after} ORDER BY hb_ms DESC, agent DESC LIMIT {limit:UInt32}`, params);
    const agents = rows.map(toSummary);
    const last = rows.at(-1);
    return { agents, next: rows.length === page.limit && last ? { heartbeatMs: Number(last.hb_ms), id: last.agent } : null };
  }

  /** One agent with its remote config; undefined when it neither reported nor has a config. */
  async function getAgent(scope: TenantScope, agentId: string): Promise<AgentDetail | undefined> {
    const [row] = await scope.query<AgentRow>(agentRowsSql(scope, "AND id = {agent:String}", "AND agent_id = {agent:String}"), { agent: agentId });
    if (!row) return undefined;
    const config = await loadConfig(scope, agentId);
    remember(scope.tenant, agentId, config);
    return { ...toSummary(row), desired_config_version: config.version, remote_config: config };
  }

  return { currentConfig, setConfig, recordHeartbeat, listAgents, getAgent };
}

export type AgentStore = ReturnType<typeof createAgentStore>;

/**
 * Agents that reported, joined with agent ids that only have a config. With a FULL JOIN
 * ClickHouse fills the missing side with defaults: '' for ids, 0 for numbers.
 */
function agentRowsSql(scope: TenantScope, agentFilter: string, configFilter = agentFilter): string {
  return `SELECT * FROM (
    SELECT if(a.id = '', c.agent_id, a.id) AS agent, a.id != '' AS reported,
           a.name AS name, a.agent_version AS agent_version, a.key_id AS key_id,
           if(a.id = '', toInt64(0), toUnixTimestamp64Milli(a.last_heartbeat)) AS hb_ms,
           a.uptime_s AS uptime_s, a.config_version AS config_version, a.config_error AS config_error,
           a.rejected_config_version AS rejected_config_version, a.queue_bytes AS queue_bytes,
           a.queue_records AS queue_records, a.plugins AS plugins, c.config_version AS desired_version
    FROM (
      SELECT id, name, agent_version, key_id, last_heartbeat, uptime_s, config_version, config_error,
             rejected_config_version, queue_bytes, queue_records, plugins
      FROM ${scope.table("agents")} FINAL
      WHERE tenant = {tenant:String} AND is_deleted = 0 ${agentFilter}
    ) AS a
    FULL OUTER JOIN (
      SELECT agent_id, config_version
      FROM ${scope.table("agent_configs")} FINAL
      WHERE tenant = {tenant:String} AND is_deleted = 0 ${configFilter}
    ) AS c ON a.id = c.agent_id
  )`;
}

function toSummary(row: AgentRow): AgentSummary {
  const reported = Boolean(Number(row.reported));
  const heartbeatMs = Number(row.hb_ms);
  return {
    id: row.agent,
    name: reported ? row.name : null,
    version: reported ? row.agent_version : null,
    key_id: reported ? row.key_id : null,
    online: reported && Date.now() - heartbeatMs <= ONLINE_WITHIN_MS,
    last_heartbeat: reported ? new Date(heartbeatMs).toISOString() : null,
    uptime_s: reported ? Number(row.uptime_s) : null,
    config_version: reported ? Number(row.config_version) : null,
    desired_config_version: Number(row.desired_version),
    config_error: reported ? row.config_error : null,
    rejected_config_version: reported && row.rejected_config_version !== null ? Number(row.rejected_config_version) : null,
    queue: reported ? { bytes: Number(row.queue_bytes), records: Number(row.queue_records) } : null,
    plugins: reported ? parsePlugins(row.plugins) : [],
  };
}

function parsePlugins(text: string): PluginStatus[] {
  try {
    const value = JSON.parse(text) as unknown;
    return Array.isArray(value) ? (value as PluginStatus[]) : [];
  } catch {
    return [];
  }
}

/**
 * Inserts rows with at most one insert in flight: rows that arrive meanwhile go out
 * together in the next one, so many agents heartbeating at once make few ClickHouse
 * parts. Each caller's promise settles when its row's insert did.
 */
function coalescingInserter(db: Database, table: string) {
  let waiting: { row: object; resolve: () => void; reject: (error: unknown) => void }[] = [];
  let running = false;

  async function drain(): Promise<void> {
    running = true;
    while (waiting.length > 0) {
      const batch = waiting;
      waiting = [];
      try {
        await db.insert(
          table,
          batch.map((w) => w.row),
        );
        for (const w of batch) w.resolve();
      } catch (error) {
        for (const w of batch) w.reject(error);
      }
    }
    running = false;
  }

  return function insert(row: object): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      waiting.push({ row, resolve, reject });
      if (!running) void drain();
    });
  };
}
