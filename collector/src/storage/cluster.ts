/**
 * Cluster mode (`VIGIL_CLICKHOUSE_CLUSTER`): the same migrations, rendered for a ClickHouse
 * cluster. Migrations — the core's and the plugins' — are written once, for one server;
 * here each statement becomes its cluster form, so no feature's SQL knows the mode:
 *
 * - every statement runs `ON CLUSTER <cluster>`, `CREATE DATABASE` too;
 * - a table becomes `<name>_local` with the Replicated form of its engine (the
 *   conventional Keeper path `/clickhouse/tables/{shard}/{database}/{table}` and replica
 *   `{replica}`, then the engine's own arguments), plus a `Distributed` table named
 *   `<name>` in front of it: the name every query, insert and `FINAL` already uses;
 * - a materialized view reads and writes the local tables: an insert through the
 *   Distributed table lands in one shard's local table, where the views fire, and their
 *   rows stay on that shard.
 *
 * Sharding: a tenant lives on one shard. Every table with a `tenant` column is sharded by
 * `cityHash64(tenant)` (`tenants` by `cityHash64(id)`, the same value), events included.
 * Materialized views fire on the shard the event landed on and write their rows there, so
 * only this keeps every row of a rollup entity on one shard: a message's SMS reports (one
 * from the app, its receipt from the provider), a run's start and end, a mention emitted
 * twice. `FINAL` and aggregate merges are per shard, so they stay exact; rows a feature
 * writes directly into a rollup table (a run marked stuck) land by the same key on the
 * same shard; and `IN` subqueries can be answered shard by shard. Shards scale out
 * tenants; one tenant's data grows on its shard's replicas. A table without `tenant` is
 * sharded at random, which only a plain MergeTree (no identity per row) may be.
 *
 * Global tables (GLOBAL_TABLES) are not sharded: every node holds all of them, one
 * Replicated table across the whole cluster (Keeper path without `{shard}`), and queries
 * read the node's own replica under the usual name. They are the ones whose rows need one
 * order or one de-duplication scope for all collectors: the migration records, the lease
 * (its compare-and-set is the insert de-duplication that Replicated tables do through
 * Keeper, cluster-wide), and the logs every replica tails.
 */

export interface ClusterLayout {
  /** The cluster's name in the servers' `remote_servers`. */
  cluster: string;
  database: string;
  /** Which of the tables named in the statements are global (GLOBAL_TABLES for the core's; none of a plugin's are). */
  globalTables: ReadonlySet<string>;
}

/** The core's tables that every node holds whole: Replicated across the cluster, no Distributed table (see above). */
export const GLOBAL_TABLES: ReadonlySet<string> = new Set(["schema_migrations", "plugin_migrations", "leases", "push_log", "alert_event_matches"]);

/** Sharding keys other than the default `cityHash64(tenant)`. */
const SHARDING_KEYS: Readonly<Record<string, string>> = { tenants: "cityHash64(id)" };

export const TENANT_SHARDING_KEY = "cityHash64(tenant)";
export const RANDOM_SHARDING_KEY = "rand()";

/** Keeper path and replica name of a sharded table's local table: one replica set per shard. */
export const SHARDED_REPLICATION = ["'/clickhouse/tables/{shard}/{database}/{table}'", "'{replica}'"] as const;
/**
 * ... and of a global table: one replica set across all shards, so the replica name has
 * the shard in it (replica macros are often unique only within a shard).
 */
export const GLOBAL_REPLICATION = ["'/clickhouse/tables/all/{database}/{table}'", "'{shard}-{replica}'"] as const;

/** The table that holds a sharded table's rows on each shard. */
export function localTableName(name: string): string {
  return `${name}_local`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MERGE_TREE = /^(|Replacing|Summing|Aggregating|Collapsing|VersionedCollapsing|Graphite|Coalescing)MergeTree$/;
/** ClickHouse's settings for one server versus for Replicated tables (same meaning). */
const SETTING_RENAMES: Readonly<Record<string, string>> = { non_replicated_deduplication_window: "replicated_deduplication_window" };

/** What stops cluster mode: a statement it cannot render, a database made without it. Its message is for the operator (`/health`, the log). */
export class ClusterModeError extends Error {
  constructor(message: string, statement?: string) {
    super(statement === undefined ? message : `${message} (cluster mode cannot render: ${statement.trim().replace(/\s+/g, " ").slice(0, 160)})`);
    this.name = "ClusterModeError";
  }
}

/**
 * The statements that do in cluster mode what `statement` does on one server. Knows the
 * statements migrations use — CREATE DATABASE, CREATE TABLE, CREATE MATERIALIZED VIEW …
 * TO, DROP VIEW, DROP TABLE, ALTER TABLE — each naming its tables `<database>.<name>` (as
 * `table()` of a migration does), and refuses anything else rather than guess.
 */
export function renderForCluster(statement: string, layout: ClusterLayout): string[] {
  const { cluster, database, globalTables } = layout;
  if (!IDENTIFIER.test(cluster)) throw new Error(`cluster name ${JSON.stringify(cluster)} is not a plain identifier`);
  if (!IDENTIFIER.test(database)) throw new Error(`database name ${JSON.stringify(database)} is not a plain identifier`);
  const onCluster = `ON CLUSTER ${cluster}`;
  const db = escapeRegExp(database);
  let m: RegExpExecArray | null;

  if ((m = new RegExp(`^(\\s*CREATE\\s+DATABASE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?${db})\\s*$`, "i").exec(statement))) {
    return [`${m[1]} ${onCluster}`];
  }

  if ((m = new RegExp(`^(\\s*CREATE\\s+TABLE\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?)${db}\\.(\\w+)\\s*\\(`, "i").exec(statement))) {
    return renderCreateTable(statement, m, layout);
  }

  if ((m = new RegExp(`^(\\s*CREATE\\s+MATERIALIZED\\s+VIEW\\s+(?:IF\\s+NOT\\s+EXISTS\\s+)?)${db}\\.(\\w+)\\s+TO\\s+${db}\\.(\\w+)(\\s+AS\\s)`, "i").exec(statement))) {
    const [head, prefix, view, target, as] = m as unknown as [string, string, string, string, string];
    if (globalTables.has(target)) throw new ClusterModeError(`a materialized view cannot write to the global table ${target}`, statement);
    const body = statement.slice(head.length).replace(new RegExp(`\\b${db}\\.(\\w+)\\b`, "g"), (_, name: string) => {
      if (globalTables.has(name)) throw new ClusterModeError(`a materialized view cannot read the global table ${name}`, statement);
      if (name === view) throw new ClusterModeError("a materialized view cannot read itself", statement);
      return `${database}.${localTableName(name)}`;
    });
    return [`${prefix}${database}.${view} ${onCluster} TO ${database}.${localTableName(target)}${as}${body}`];
  }

  if ((m = new RegExp(`^(\\s*DROP\\s+(VIEW|TABLE)\\s+(?:IF\\s+EXISTS\\s+)?)${db}\\.(\\w+)\\s*$`, "i").exec(statement))) {
    const [, prefix, kind, name] = m as unknown as [string, string, string, string];
    if (kind.toUpperCase() === "VIEW" || globalTables.has(name)) return [`${prefix}${database}.${name} ${onCluster}`];
    return [`${prefix}${database}.${name} ${onCluster}`, `${prefix}${database}.${localTableName(name)} ${onCluster}`];
  }

  if ((m = new RegExp(`^(\\s*ALTER\\s+TABLE\\s+)${db}\\.(\\w+)\\s+`, "i").exec(statement))) {
    const [head, prefix, name] = m as unknown as [string, string, string];
    const commands = statement.slice(head.length);
    // Column changes apply to the Distributed table as well (it must know the columns); the
    // rest (TTL, settings, indexes, keys) belong to the local table alone, which is
    // Replicated: settings take their Replicated names there, as in CREATE TABLE.
    const columnCommand = /^\s*(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b/i;
    const parts = splitTopLevel(commands);
    const columnsOnly = parts.every((part) => columnCommand.test(part));
    const replicated = columnsOnly ? commands : renameSettings(commands);
    if (globalTables.has(name)) return [`${prefix}${database}.${name} ${onCluster} ${replicated}`];
    const local = `${prefix}${database}.${localTableName(name)} ${onCluster} ${replicated}`;
    if (columnsOnly) return [local, `${prefix}${database}.${name} ${onCluster} ${commands}`];
    if (parts.some((part) => columnCommand.test(part))) throw new ClusterModeError("split column changes and other changes into separate ALTER statements", statement);
    return [local];
  }

  throw new ClusterModeError("unknown kind of statement, or a table not named <database>.<table>", statement);
}

function renderCreateTable(statement: string, head: RegExpExecArray, layout: ClusterLayout): string[] {
  const { cluster, database, globalTables } = layout;
  const [matched, prefix, name] = head as unknown as [string, string, string];
  const open = matched.length - 1;
  const close = closingParen(statement, open);
  if (close < 0) throw new ClusterModeError("unbalanced parentheses", statement);
  const columns = statement.slice(open, close + 1);
  let rest = statement.slice(close + 1);

  const engine = /\bENGINE\s*=\s*(\w+)/i.exec(rest);
  if (!engine) throw new ClusterModeError("a table needs an explicit ENGINE", statement);
  const engineName = engine[1]!;
  if (!MERGE_TREE.test(engineName)) throw new ClusterModeError(`engine ${engineName} has no Replicated form (only the MergeTree family is supported)`, statement);
  let end = engine.index + engine[0].length;
  let args: string | undefined;
  const afterName = /^\s*\(/.exec(rest.slice(end));
  if (afterName) {
    const argsOpen = end + afterName[0].length - 1;
    const argsClose = closingParen(rest, argsOpen);
    if (argsClose < 0) throw new ClusterModeError("unbalanced parentheses in ENGINE", statement);
    args = rest.slice(argsOpen + 1, argsClose).trim();
    end = argsClose + 1;
  }
  const global = globalTables.has(name);
  const replication = global ? GLOBAL_REPLICATION : SHARDED_REPLICATION;
  const replicated = `ENGINE = Replicated${engineName}(${[...replication, ...(args ? [args] : [])].join(", ")})`;
  rest = rest.slice(0, engine.index) + replicated + rest.slice(end);
  rest = renameSettings(rest);

  const onCluster = `ON CLUSTER ${cluster}`;
  if (global) return [`${prefix}${database}.${name} ${onCluster} ${columns}${rest}`];
  if (name.endsWith("_local")) throw new ClusterModeError(`table names ending in "_local" are reserved for cluster mode's local tables`, statement);
  const key = shardingKey(name, columnNames(columns), engineName, statement);
  const local = localTableName(name);
  return [
    `${prefix}${database}.${local} ${onCluster} ${columns}${rest}`,
    `${prefix}${database}.${name} ${onCluster} AS ${database}.${local} ENGINE = Distributed(${cluster}, ${database}, ${local}, ${key})`,
  ];
}

function shardingKey(table: string, columns: string[], engine: string, statement: string): string {
  const chosen = SHARDING_KEYS[table];
  if (chosen) return chosen;
  if (columns.includes("tenant")) return TENANT_SHARDING_KEY;
  // Rows without identity (plain MergeTree) may land anywhere; rows that FINAL or a merge
  // must meet on one shard need a key.
  if (engine === "MergeTree") return RANDOM_SHARDING_KEY;
  throw new ClusterModeError(`a ${engine} table needs a tenant column (or a sharding key in cluster.ts) to keep its rows together on one shard`, statement);
}

/** `text` with each one-server setting name (SETTING_RENAMES) in its Replicated form. */
function renameSettings(text: string): string {
  for (const [from, to] of Object.entries(SETTING_RENAMES)) text = text.replace(new RegExp(`\\b${from}\\b`, "g"), to);
  return text;
}

/** The names of the columns a CREATE TABLE's column list declares (not its indexes, projections or constraints). */
export function columnNames(list: string): string[] {
  const inner = list.trim().replace(/^\(/, "").replace(/\)$/, "");
  return splitTopLevel(inner)
    .map((item) => /^\s*`?([A-Za-z_][A-Za-z0-9_]*)`?/.exec(item)?.[1])
    .filter((name): name is string => name !== undefined && !/^(INDEX|PROJECTION|CONSTRAINT)$/i.test(name));
}

/** Splits on commas outside parentheses, brackets and quotes. */
export function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === "`") quote = c;
    else if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "," && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.filter((part) => part.trim() !== "");
}

/** The index of the parenthesis closing the one at `open`, or -1. */
function closingParen(text: string, open: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"' || c === "`") quote = c;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i;
  }
  return -1;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
