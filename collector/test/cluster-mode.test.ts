// Cluster mode (VIGIL_CLICKHOUSE_CLUSTER): every core and plugin migration rendered for a
// ClickHouse cluster. No cluster can run here (no server binary; chDB has no Keeper and no
// TCP port, so even a Distributed table over "localhost" cannot reach its shards), so:
//
// 1. the cluster DDL that the real migration runners issue is checked statement by
//    statement against the one-server DDL (ON CLUSTER everywhere, Replicated engines with
//    the original arguments, a Distributed twin per table with its sharding key, views
//    wired to the local tables), parsed here independently of the renderer;
// 2. the one-server DDL is checked byte for byte against the SQL recorded before cluster
//    mode existed (released migrations never change);
// 3. the cluster DDL runs on a real engine (chDB) with ON CLUSTER and the Replicated
//    engines mapped back (no Keeper), the Distributed tables created for real against a
//    configured cluster, and events inserted into a shard's local table fill every
//    rollup's local table;
// 4. a collector in cluster mode, its Distributed tables stood in for by pass-through
//    tables (one shard), answers every feature's API exactly as a collector on one server
//    does for the same events: the features' SQL is the same in all modes.
import { createClient, type ClickHouseClient } from "@clickhouse/client";
import { Session } from "chdb";
import { createChdbConnection } from "chdb/connection";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CollectorPart, EventInput } from "@vigil/plugin-sdk";
import { uuidv7 } from "@vigil/plugin-sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import cachePart from "../../plugins/cache-db/src/collector.js";
import redditPart from "../../plugins/reddit/src/collector.js";
import smsPart from "../../plugins/sms/src/collector.js";
import socialPart from "../../plugins/social/src/collector.js";
import { REPO_ROOT, TEST_TOKEN, callApi, tempDir } from "../../test/support/collector-process.js";
import { postBatch } from "../../test/support/events.js";
import {
  cacheOpEvent,
  cacheStatsEvent,
  redditMentionEvent,
  smsCampaignEvent,
  smsMessageEvent,
  smsServerEvent,
  socialRunEvent,
} from "../../test/support/plugin-events.js";
import { realisticEvent } from "../../test/support/realistic-event.js";
import { main as cliMain } from "../src/cli.js";
import { collectorConfigSchema, createLogger, startCollector, type RunningCollector } from "../src/index.js";
import { runPluginMigrations } from "../src/plugins/migrations.js";
import { GLOBAL_TABLES, renderForCluster } from "../src/storage/cluster.js";
import { openDatabase } from "../src/storage/database.js";
import { coreMigrations, runMigrations } from "../src/storage/migrations.js";

const PARTS: CollectorPart[] = [cachePart, redditPart, smsPart, socialPart];
const PLUGIN_DIST = ["cache-db", "reddit", "sms", "social"].map((name) => join(REPO_ROOT, `plugins/${name}/dist/collector.js`));
const CLUSTER = "main";
const FIXTURE = join(import.meta.dirname, "fixtures/one-server-migrations.json");
const silent = createLogger({ format: "json", level: "silent" });

// ---------------------------------------------------------------------------------------
// The statements the real runners issue, recorded by a client that runs nothing.

interface Recorded {
  commands: string[];
  queries: { sql: string; params: Record<string, unknown>; settings: Record<string, unknown> }[];
  inserts: { table: string; settings: Record<string, unknown> }[];
}

function recordingClient(answer: (sql: string, params: Record<string, unknown>) => unknown[] = () => []): { client: ClickHouseClient; recorded: Recorded } {
  const recorded: Recorded = { commands: [], queries: [], inserts: [] };
  const client = {
    async command({ query }: { query: string }) {
      recorded.commands.push(query);
      return {};
    },
    async query({ query, query_params = {}, clickhouse_settings = {} }: { query: string; query_params?: Record<string, unknown>; clickhouse_settings?: Record<string, unknown> }) {
      recorded.queries.push({ sql: query, params: query_params, settings: clickhouse_settings });
      return { json: async () => answer(query, query_params) };
    },
    async insert({ table, clickhouse_settings = {} }: { table: string; clickhouse_settings?: Record<string, unknown> }) {
      recorded.inserts.push({ table, settings: clickhouse_settings });
      return {};
    },
  } as unknown as ClickHouseClient;
  return { client, recorded };
}

/** Every DDL statement a fresh start issues: the core's migrations, then every plugin's. */
async function schemaStatements(cluster?: string): Promise<string[]> {
  const { client, recorded } = recordingClient();
  const db = openDatabase(client, "vigil", cluster ? { cluster } : {});
  await runMigrations(db, { retentionDays: 30, log: silent });
  await runPluginMigrations(db, PARTS, { retentionDays: 30, log: silent });
  return recorded.commands;
}

// ---------------------------------------------------------------------------------------
// A small DDL reader, independent of the renderer under test.

const squash = (sql: string) => sql.replace(/\s+/g, " ").trim();

function matchingParen(text: string, open: number): number {
  let depth = 0;
  let quote = "";
  for (let i = open; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'") quote = c;
    else if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i;
  }
  throw new Error(`unbalanced: ${text.slice(open, open + 80)}`);
}

function topLevelItems(text: string): string[] {
  const items: string[] = [];
  let depth = 0;
  let quote = "";
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = "";
    } else if (c === "'") quote = c;
    else if (c === "(") depth++;
    else if (c === ")") depth--;
    else if (c === "," && depth === 0) {
      items.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  items.push(text.slice(start).trim());
  return items.filter(Boolean);
}

interface Table {
  name: string;
  onCluster: string | undefined;
  columnList: string;
  columns: string[];
  engine: string;
  engineArgs: string[];
  /** ORDER BY, PARTITION BY, TTL, SETTINGS: everything after the engine. */
  clauses: string;
}

interface Twin {
  name: string;
  onCluster: string;
  as: string;
  cluster: string;
  database: string;
  local: string;
  key: string;
}

interface View {
  name: string;
  onCluster: string | undefined;
  target: string;
  select: string;
}

type Statement =
  | { kind: "database"; name: string; onCluster: string | undefined }
  | { kind: "table"; table: Table }
  | { kind: "twin"; twin: Twin }
  | { kind: "view"; view: View }
  | { kind: "drop-view"; name: string; onCluster: string | undefined }
  | { kind: "alter"; name: string; onCluster: string | undefined; commands: string };

function parse(sql: string): Statement {
  const text = squash(sql);
  let m = /^CREATE DATABASE IF NOT EXISTS (\w+)(?: ON CLUSTER (\w+))?$/.exec(text);
  if (m) return { kind: "database", name: m[1]!, onCluster: m[2] };
  m = /^CREATE TABLE IF NOT EXISTS vigil\.(\w+) ON CLUSTER (\w+) AS vigil\.(\w+) ENGINE = Distributed\((.*)\)$/.exec(text);
  if (m) {
    const [cluster, database, local, key, ...extra] = topLevelItems(m[4]!);
    expect(extra, text).toEqual([]);
    return { kind: "twin", twin: { name: m[1]!, onCluster: m[2]!, as: m[3]!, cluster: cluster!, database: database!, local: local!, key: key! } };
  }
  m = /^CREATE TABLE IF NOT EXISTS vigil\.(\w+)(?: ON CLUSTER (\w+))? \(/.exec(text);
  if (m) {
    const open = m[0].length - 1;
    const close = matchingParen(text, open);
    const columnList = text.slice(open, close + 1);
    const rest = text.slice(close + 1).trim();
    const engine = /^ENGINE = (\w+)/.exec(rest);
    if (!engine) throw new Error(`no engine: ${text}`);
    let after = engine[0].length;
    let engineArgs: string[] = [];
    if (rest[after] === "(") {
      const end = matchingParen(rest, after);
      engineArgs = topLevelItems(rest.slice(after + 1, end));
      after = end + 1;
    }
    const columns = topLevelItems(columnList.slice(1, -1)).map((item) => item.split(" ")[0]!);
    return { kind: "table", table: { name: m[1]!, onCluster: m[2], columnList, columns, engine: engine[1]!, engineArgs, clauses: rest.slice(after).trim() } };
  }
  m = /^CREATE MATERIALIZED VIEW IF NOT EXISTS vigil\.(\w+)(?: ON CLUSTER (\w+))? TO vigil\.(\w+) AS (.*)$/.exec(text);
  if (m) return { kind: "view", view: { name: m[1]!, onCluster: m[2], target: m[3]!, select: m[4]! } };
  m = /^DROP VIEW IF EXISTS vigil\.(\w+)(?: ON CLUSTER (\w+))?$/.exec(text);
  if (m) return { kind: "drop-view", name: m[1]!, onCluster: m[2] };
  m = /^ALTER TABLE vigil\.(\w+)(?: ON CLUSTER (\w+))? (.*)$/.exec(text);
  if (m) return { kind: "alter", name: m[1]!, onCluster: m[2], commands: m[3]! };
  throw new Error(`unexpected statement: ${text.slice(0, 200)}`);
}

const tablesOf = (statements: Statement[]) => statements.flatMap((s) => (s.kind === "table" ? [s.table] : []));
const twinsOf = (statements: Statement[]) => statements.flatMap((s) => (s.kind === "twin" ? [s.twin] : []));
const viewsOf = (statements: Statement[]) => statements.flatMap((s) => (s.kind === "view" ? [s.view] : []));

// ---------------------------------------------------------------------------------------

let oneServer: string[];
let cluster: string[];
let parsedOne: Statement[];
let parsedCluster: Statement[];

beforeAll(async () => {
  oneServer = await schemaStatements();
  cluster = await schemaStatements(CLUSTER);
  parsedOne = oneServer.map(parse);
  parsedCluster = cluster.map(parse);
});

describe("cluster-mode DDL of every core and plugin migration (structure)", () => {
  it("covers the core's and every plugin's tables and views", () => {
    const names = tablesOf(parsedOne).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(["events", "tenants", "alert_rules", "leases", "cache_minutes", "reddit_mentions", "sms_messages", "social_runs"]));
    expect(viewsOf(parsedOne).length).toBeGreaterThanOrEqual(12);
  });

  it("runs every statement ON CLUSTER, CREATE DATABASE included", () => {
    for (const statement of parsedCluster) {
      const onCluster =
        statement.kind === "table" ? statement.table.onCluster : statement.kind === "twin" ? statement.twin.onCluster : statement.kind === "view" ? statement.view.onCluster : statement.onCluster;
      expect(onCluster, JSON.stringify(statement).slice(0, 200)).toBe(CLUSTER);
    }
    expect(parsedCluster[0]).toEqual({ kind: "database", name: "vigil", onCluster: CLUSTER });
    // ... and none on one server.
    expect(oneServer.some((sql) => sql.includes("ON CLUSTER"))).toBe(false);
  });

  it("stores each sharded table as <name>_local, Replicated, with the conventional path, the original engine arguments and the same columns and clauses", () => {
    const clusterTables = new Map(tablesOf(parsedCluster).map((t) => [t.name, t]));
    for (const original of tablesOf(parsedOne)) {
      const global = GLOBAL_TABLES.has(original.name);
      const local = clusterTables.get(global ? original.name : `${original.name}_local`);
      expect(local, original.name).toBeDefined();
      expect(local!.engine).toBe(`Replicated${original.engine}`);
      const replication = global ? ["'/clickhouse/tables/all/{database}/{table}'", "'{shard}-{replica}'"] : ["'/clickhouse/tables/{shard}/{database}/{table}'", "'{replica}'"];
      expect(local!.engineArgs, original.name).toEqual([...replication, ...original.engineArgs]);
      expect(local!.columnList).toBe(original.columnList);
      expect(local!.clauses).toBe(original.clauses.replace("non_replicated_deduplication_window", "replicated_deduplication_window"));
    }
    // Nothing else was created.
    expect(clusterTables.size).toBe(tablesOf(parsedOne).length);
  });

  it("e.g. ReplacingMergeTree(version, is_deleted) becomes ReplicatedReplacingMergeTree('/…', '{replica}', version, is_deleted)", () => {
    const keys = tablesOf(parsedCluster).find((t) => t.name === "api_keys_local")!;
    expect(`${keys.engine}(${keys.engineArgs.join(", ")})`).toBe("ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', version, is_deleted)");
    const windows = tablesOf(parsedCluster).find((t) => t.name === "cache_windows_local")!;
    expect(windows.engineArgs.at(-1)).toBe("(ops)");
    const events = tablesOf(parsedCluster).find((t) => t.name === "events_local")!;
    expect(events.clauses).toContain("replicated_deduplication_window = 10000");
    expect(events.clauses).not.toContain("non_replicated");
  });

  it("puts a Distributed table under the original name in front of every sharded table, right after it, sharded by tenant (tenants by id, the probe at random)", () => {
    const twins = new Map(twinsOf(parsedCluster).map((t) => [t.name, t]));
    const sharded = tablesOf(parsedOne).filter((t) => !GLOBAL_TABLES.has(t.name));
    expect(twins.size).toBe(sharded.length);
    for (const table of sharded) {
      const twin = twins.get(table.name);
      expect(twin, table.name).toEqual({
        name: table.name,
        onCluster: CLUSTER,
        as: `${table.name}_local`,
        cluster: CLUSTER,
        database: "vigil",
        local: `${table.name}_local`,
        key: table.name === "tenants" ? "cityHash64(id)" : table.columns.includes("tenant") ? "cityHash64(tenant)" : "rand()",
      });
      const at = parsedCluster.findIndex((s) => s.kind === "twin" && s.twin.name === table.name);
      const before = parsedCluster[at - 1]!;
      expect(before.kind === "table" && before.table.name).toBe(`${table.name}_local`);
    }
    // Only the write probe (no identity per row, a plain MergeTree) is sharded at random.
    expect([...twins.values()].filter((t) => t.key === "rand()").map((t) => t.name)).toEqual(["storage_probe"]);
    expect(tablesOf(parsedOne).find((t) => t.name === "storage_probe")!.engine).toBe("MergeTree");
  });

  it("keeps the global tables (migration records, lease, replica logs) whole on every node: no Distributed table, one Keeper path for all shards", () => {
    const globals = tablesOf(parsedCluster).filter((t) => t.engineArgs[0] === "'/clickhouse/tables/all/{database}/{table}'");
    expect(globals.map((t) => t.name).sort()).toEqual([...GLOBAL_TABLES].sort());
    for (const name of GLOBAL_TABLES) expect(twinsOf(parsedCluster).some((t) => t.name === name || t.local === name)).toBe(false);
    // The lease's compare-and-set is insert de-duplication: Replicated tables do it through
    // Keeper for the whole replica set, and the window is kept.
    const leases = tablesOf(parsedCluster).find((t) => t.name === "leases")!;
    expect(leases.engine).toBe("ReplicatedReplacingMergeTree");
    expect(leases.clauses).toContain("replicated_deduplication_window = 100");
  });

  it("has every materialized view read and write the local tables, and only tables created before it", () => {
    const originals = new Map(viewsOf(parsedOne).map((v) => [v.name, v]));
    const created = new Set<string>();
    for (const statement of parsedCluster) {
      if (statement.kind === "table") created.add(statement.table.name);
      if (statement.kind !== "view") continue;
      const { view } = statement;
      const original = originals.get(view.name)!;
      expect(original, view.name).toBeDefined();
      expect(view.target).toBe(`${original.target}_local`);
      expect(created.has(view.target), view.target).toBe(true);
      const read = [...view.select.matchAll(/\bvigil\.(\w+)/g)].map((m) => m[1]!);
      expect(read.length).toBeGreaterThan(0);
      for (const name of read) {
        expect(name, `${view.name} reads ${name}`).toMatch(/_local$/);
        expect(created.has(name), `${view.name} reads ${name}`).toBe(true);
      }
      // The same SELECT, only the table names changed.
      expect(view.select).toBe(original.select.replace(/\bvigil\.(\w+)/g, "vigil.$1_local"));
    }
    expect(viewsOf(parsedCluster).map((v) => v.name)).toEqual(viewsOf(parsedOne).map((v) => v.name));
  });

  it("shards every table a view over events fills by the events' own key, so an entity's rows (and FINAL) stay on one shard", () => {
    const keys = new Map(twinsOf(parsedCluster).map((t) => [t.name, t.key]));
    const eventsKey = keys.get("events");
    expect(eventsKey).toBe("cityHash64(tenant)");
    for (const view of viewsOf(parsedOne)) expect(keys.get(view.target), view.target).toBe(eventsKey);
    // A tenant's rows in `tenants` (by id) land where its rows elsewhere (by tenant) do.
    expect(keys.get("tenants")).toBe("cityHash64(id)");
  });

  it("gives every view's target the events table's de-duplication window (a retried insert reaches the views too), Replicated-named on the local table", () => {
    const dropped = new Set(parsedOne.flatMap((s) => (s.kind === "drop-view" ? [s.name] : [])));
    const targets = [...new Set(viewsOf(parsedOne).filter((v) => !dropped.has(v.name)).map((v) => v.target))];
    expect(targets.length).toBeGreaterThanOrEqual(12);
    const altersOf = (statements: Statement[], name: string) => statements.flatMap((s) => (s.kind === "alter" && s.name === name ? [s] : []));
    for (const target of targets) {
      expect(altersOf(parsedOne, target).map((a) => a.commands), target).toEqual(["MODIFY SETTING non_replicated_deduplication_window = 10000"]);
      expect(altersOf(parsedCluster, `${target}_local`).map((a) => [a.onCluster, a.commands]), target).toEqual([[CLUSTER, "MODIFY SETTING replicated_deduplication_window = 10000"]]);
      expect(altersOf(parsedCluster, target), target).toEqual([]);
    }
  });

  it("refuses a database made on one server (its tables would stay as they are)", async () => {
    const { client } = recordingClient((sql) => (sql.includes("system.tables") && sql.includes("'events'") ? [{ engine: "MergeTree" }] : []));
    await expect(runMigrations(openDatabase(client, "vigil", { cluster: CLUSTER }), { retentionDays: 30, log: silent })).rejects.toThrow(
      "database vigil was created without cluster mode (its events table is MergeTree, not Distributed)",
    );
  });

  it("drops views on every node", () => {
    expect(cluster).toContain("DROP VIEW IF EXISTS vigil.ingest_batches_mv ON CLUSTER main");
  });

  it("changes the events retention on the shards' local table when VIGIL_RETENTION_DAYS changes", async () => {
    const { client, recorded } = recordingClient((sql, params) => (sql.includes("system.tables") && params.table === "events_local" ? [{ engine_full: "… TTL toDateTime(ts) + toIntervalDay(30) SETTINGS …" }] : []));
    const db = openDatabase(client, "vigil", { cluster: CLUSTER });
    await runMigrations(db, { retentionDays: 7, log: silent });
    expect(recorded.commands.at(-1)).toBe("ALTER TABLE vigil.events_local ON CLUSTER main MODIFY TTL toDateTime(ts) + INTERVAL 7 DAY");
    // One server: the table itself, as before.
    const one = recordingClient((sql, params) => (sql.includes("system.tables") && params.table === "events" ? [{ engine_full: "toIntervalDay(30)" }] : []));
    await runMigrations(openDatabase(one.client, "vigil"), { retentionDays: 7, log: silent });
    expect(one.recorded.commands.at(-1)).toBe("ALTER TABLE vigil.events MODIFY TTL toDateTime(ts) + INTERVAL 7 DAY");
  });
});

describe("the renderer refuses what it cannot render faithfully", () => {
  const layout = { cluster: CLUSTER, database: "vigil", globalTables: GLOBAL_TABLES };
  it.each([
    ["INSERT INTO vigil.events VALUES (1)", "unknown kind of statement"],
    ["CREATE TABLE IF NOT EXISTS other.t (tenant String) ENGINE = MergeTree ORDER BY tenant", "unknown kind of statement"],
    ["CREATE TABLE IF NOT EXISTS vigil.t (tenant String) ENGINE = Memory", "no Replicated form"],
    ["CREATE TABLE IF NOT EXISTS vigil.t (id String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY id", "needs a tenant column"],
    ["CREATE TABLE IF NOT EXISTS vigil.t_local (tenant String) ENGINE = MergeTree ORDER BY tenant", "reserved"],
    ["CREATE MATERIALIZED VIEW IF NOT EXISTS vigil.v TO vigil.t AS SELECT * FROM vigil.leases", "cannot read the global table leases"],
    ["CREATE MATERIALIZED VIEW IF NOT EXISTS vigil.v AS SELECT * FROM vigil.events", "unknown kind of statement"],
    ["ALTER TABLE vigil.events ADD COLUMN x String, MODIFY TTL toDateTime(ts) + INTERVAL 1 DAY", "separate ALTER statements"],
  ])("%s", (statement, message) => {
    expect(() => renderForCluster(statement, layout)).toThrow(message);
  });

  it("drops a sharded table and its local table; adds a column to both, changes the TTL on the local one", () => {
    expect(renderForCluster("DROP TABLE IF EXISTS vigil.t", layout)).toEqual(["DROP TABLE IF EXISTS vigil.t ON CLUSTER main", "DROP TABLE IF EXISTS vigil.t_local ON CLUSTER main"]);
    expect(renderForCluster("DROP TABLE IF EXISTS vigil.leases", layout)).toEqual(["DROP TABLE IF EXISTS vigil.leases ON CLUSTER main"]);
    expect(renderForCluster("ALTER TABLE vigil.events ADD COLUMN IF NOT EXISTS trace_id String", layout)).toEqual([
      "ALTER TABLE vigil.events_local ON CLUSTER main ADD COLUMN IF NOT EXISTS trace_id String",
      "ALTER TABLE vigil.events ON CLUSTER main ADD COLUMN IF NOT EXISTS trace_id String",
    ]);
    expect(renderForCluster("ALTER TABLE vigil.events MODIFY SETTING ttl_only_drop_parts = 1", layout)).toEqual(["ALTER TABLE vigil.events_local ON CLUSTER main MODIFY SETTING ttl_only_drop_parts = 1"]);
    // The local tables are Replicated: the one-server setting takes its Replicated name, as in CREATE TABLE.
    expect(renderForCluster("ALTER TABLE vigil.sms_report_counts MODIFY SETTING non_replicated_deduplication_window = 10000", layout)).toEqual([
      "ALTER TABLE vigil.sms_report_counts_local ON CLUSTER main MODIFY SETTING replicated_deduplication_window = 10000",
    ]);
    expect(renderForCluster("ALTER TABLE vigil.leases MODIFY SETTING non_replicated_deduplication_window = 100", layout)).toEqual([
      "ALTER TABLE vigil.leases ON CLUSTER main MODIFY SETTING replicated_deduplication_window = 100",
    ]);
    // ... but a column's text is left as written.
    expect(renderForCluster("ALTER TABLE vigil.events COMMENT COLUMN body 'non_replicated_deduplication_window'", layout)).toEqual([
      "ALTER TABLE vigil.events_local ON CLUSTER main COMMENT COLUMN body 'non_replicated_deduplication_window'",
      "ALTER TABLE vigil.events ON CLUSTER main COMMENT COLUMN body 'non_replicated_deduplication_window'",
    ]);
  });

  it("treats a plugin's tables as sharded, even one named like a core global table", () => {
    const rendered = renderForCluster("CREATE TABLE IF NOT EXISTS vigil.push_log (tenant String) ENGINE = MergeTree ORDER BY tenant", { ...layout, globalTables: new Set() });
    expect(rendered.map(squash)).toEqual([
      "CREATE TABLE IF NOT EXISTS vigil.push_log_local ON CLUSTER main (tenant String) ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}') ORDER BY tenant",
      "CREATE TABLE IF NOT EXISTS vigil.push_log ON CLUSTER main AS vigil.push_log_local ENGINE = Distributed(main, vigil, push_log_local, cityHash64(tenant))",
    ]);
  });
});

describe("one-server DDL (embedded and CLICKHOUSE_URL) is byte-identical to the released migrations'", () => {
  interface Fixture {
    database: string;
    retentionDays: number;
    bookkeeping: string[];
    core: Record<string, string[]>;
    plugins: Record<string, Record<string, string[]>>;
  }
  const fixture = JSON.parse(readFileSync(FIXTURE, "utf8")) as Fixture;
  const table = (name: string) => `vigil.${name}`;
  const rendered = {
    core: Object.fromEntries(coreMigrations.map((m) => [`${m.version} ${m.name}`, m.statements({ table, retentionDays: 30 })])),
    plugins: Object.fromEntries(
      PARTS.map((part) => [
        part.name,
        Object.fromEntries(
          part.migrations.map((m) => [
            `${m.version} ${m.name}`,
            m.statements({ table: (name) => (name === "events" ? "vigil.events" : `vigil.${part.name}_${name}`), retentionDays: 30, events: "vigil.events" }),
          ]),
        ),
      ]),
    ),
  };

  if (process.env.VIGIL_RECORD_MIGRATIONS === "1") {
    // Appends migrations released since; a recorded one is never rewritten.
    for (const [key, statements] of Object.entries(rendered.core)) fixture.core[key] ??= statements;
    for (const [plugin, migrations] of Object.entries(rendered.plugins)) for (const [key, statements] of Object.entries(migrations)) (fixture.plugins[plugin] ??= {})[key] ??= statements;
    writeFileSync(FIXTURE, `${JSON.stringify(fixture, null, 2)}\n`);
  }

  it("core migrations", () => {
    for (const [key, statements] of Object.entries(fixture.core)) expect(rendered.core[key], key).toEqual(statements);
    expect(Object.keys(rendered.core), "a new migration: record it with VIGIL_RECORD_MIGRATIONS=1").toEqual(Object.keys(fixture.core));
  });

  it("plugin migrations", () => {
    for (const [plugin, migrations] of Object.entries(fixture.plugins)) for (const [key, statements] of Object.entries(migrations)) expect(rendered.plugins[plugin]?.[key], `${plugin} ${key}`).toEqual(statements);
    for (const [plugin, migrations] of Object.entries(rendered.plugins)) expect(Object.keys(migrations), `${plugin}: record a new migration with VIGIL_RECORD_MIGRATIONS=1`).toEqual(Object.keys(fixture.plugins[plugin] ?? {}));
  });

  it("and the runners issue exactly those statements, in order", () => {
    const expected = [...fixture.bookkeeping, ...Object.values(fixture.core).flat(), ...PARTS.flatMap((part) => Object.values(fixture.plugins[part.name]!).flat())];
    expect(oneServer).toEqual(expected);
  });
});

describe("the collector's settings in cluster mode", () => {
  it("inserts wait for the shards and IN subqueries over Distributed tables run once (GLOBAL); one server gets neither", async () => {
    const { client, recorded } = recordingClient();
    const clustered = openDatabase(client, "vigil", { cluster: CLUSTER });
    const single = openDatabase(client, "vigil");
    expect(clustered.table("events")).toBe(single.table("events"));
    await clustered.insert("events", [{}], { insert_deduplication_token: "t" });
    await single.insert("events", [{}], { insert_deduplication_token: "t" });
    await clustered.query("SELECT 1");
    await single.query("SELECT 1");
    expect(recorded.inserts.map((i) => i.settings)).toEqual([{ insert_deduplication_token: "t", insert_distributed_sync: 1 }, { insert_deduplication_token: "t" }]);
    expect(recorded.queries.map((q) => q.settings.distributed_product_mode)).toEqual(["global", undefined]);
  });

  it("VIGIL_CLICKHOUSE_CLUSTER is a plain identifier and needs CLICKHOUSE_URL; --help names it", async () => {
    expect(collectorConfigSchema.safeParse({ clickhouseUrl: "http://ch:8123", clickhouseCluster: "main" }).success).toBe(true);
    const run = async (env: Record<string, string>, argv: string[] = []) => {
      let out = "";
      const write = (chunk: string | Uint8Array) => ((out += String(chunk)), true);
      const [stdout, stderr] = [process.stdout.write, process.stderr.write];
      process.stdout.write = write as typeof process.stdout.write;
      process.stderr.write = write as typeof process.stderr.write;
      try {
        await cliMain(argv, env);
      } finally {
        process.stdout.write = stdout;
        process.stderr.write = stderr;
      }
      const code = process.exitCode;
      process.exitCode = undefined;
      return { out, code };
    };
    const alone = await run({ VIGIL_CLICKHOUSE_CLUSTER: "main" });
    expect(alone.code).toBe(2);
    expect(alone.out).toContain("VIGIL_CLICKHOUSE_CLUSTER: cluster mode needs a ClickHouse server: set CLICKHOUSE_URL");
    const dashed = await run({ VIGIL_CLICKHOUSE_CLUSTER: "my-cluster", CLICKHOUSE_URL: "http://ch:8123" });
    expect(dashed.code).toBe(2);
    expect(dashed.out).toContain("VIGIL_CLICKHOUSE_CLUSTER: VIGIL_CLICKHOUSE_CLUSTER must be a plain identifier");
    const help = await run({}, ["--help"]);
    expect(help.out).toContain("VIGIL_CLICKHOUSE_CLUSTER");
  });
});

// ---------------------------------------------------------------------------------------
// On a real engine. chDB knows clusters from its configuration file but cannot reach a
// shard (no TCP port, so no address is ever "local"), and has no Keeper: ON CLUSTER and the
// Replicated engines are mapped back to their one-node forms here, the test's only shim.

const dir = tempDir("vigil-cluster-mode-");
const CONFIG = join(dir.path, "cluster.xml");
writeFileSync(
  CONFIG,
  `<clickhouse>
  <remote_servers>
    <${CLUSTER}>
      <shard><internal_replication>true</internal_replication><replica><host>127.0.0.1</host><port>19000</port></replica><replica><host>127.0.0.2</host><port>19000</port></replica></shard>
      <shard><internal_replication>true</internal_replication><replica><host>127.0.0.3</host><port>19000</port></replica><replica><host>127.0.0.4</host><port>19000</port></replica></shard>
    </${CLUSTER}>
  </remote_servers>
</clickhouse>
`,
);
// The engine is one per process and per data directory: the session that opens it with the
// configuration comes first, the client's connection then joins it.
const session = new Session(join(dir.path, "clickhouse"), { connectionArgs: [`--config-file=${CONFIG}`] });
const client = createClient({ connection: createChdbConnection({ path: join(dir.path, "clickhouse") }) as never });

/** The test's shim: a cluster statement as one node without Keeper can run it. */
function onOneNode(statement: string, distributed: "keep" | "pass-through"): string {
  let sql = statement
    .replace(/ ON CLUSTER main\b/g, "")
    .replace(/ENGINE = Replicated(\w*MergeTree)\('[^']*', '[^']*'(?:, )?/g, (_, engine: string) => `ENGINE = ${engine}(`)
    .replace(/\breplicated_deduplication_window\b/g, "non_replicated_deduplication_window");
  if (distributed === "pass-through") {
    // One shard: a Buffer table that holds nothing (every insert goes straight through to the
    // local table, reads and FINAL go to it) stands in for the Distributed table.
    sql = sql.replace(/ENGINE = Distributed\(main, (\w+), (\w+), .*\)$/s, "ENGINE = Buffer($1, $2, 1, 0, 0, 0, 0, 0, 0)");
  }
  return sql;
}

async function rows<T>(sql: string): Promise<T[]> {
  return (await client.query({ query: sql, format: "JSONEachRow" })).json<T>();
}

afterAll(async () => {
  await client.close();
  session.cleanup?.();
  dir.remove();
});

describe("the cluster DDL on a real engine (ON CLUSTER and Replicated mapped back)", () => {
  beforeAll(async () => {
    for (const statement of cluster) await client.command({ query: onOneNode(statement, "keep") });
  }, 120_000);

  it("creates every Distributed table for real, against the configured cluster, with a valid sharding key", async () => {
    const clusters = await rows<{ shard_num: number }>(`SELECT shard_num FROM system.clusters WHERE cluster = '${CLUSTER}'`);
    expect(clusters.length).toBe(4);
    const tables = await rows<{ name: string; engine: string; engine_full: string }>("SELECT name, engine, engine_full FROM system.tables WHERE database = 'vigil'");
    const byName = new Map(tables.map((t) => [t.name, t]));
    for (const twin of twinsOf(parsedCluster)) {
      expect(byName.get(twin.name)?.engine, twin.name).toBe("Distributed");
      expect(byName.get(twin.name)?.engine_full).toBe(`Distributed('${CLUSTER}', 'vigil', '${twin.local}', ${twin.key})`);
      expect(byName.get(twin.local)?.engine, twin.local).toMatch(/MergeTree$/);
    }
  });

  it("gives each Distributed table exactly its local table's columns", async () => {
    const columns = await rows<{ table: string; name: string; type: string }>("SELECT table, name, type FROM system.columns WHERE database = 'vigil' ORDER BY table, position");
    const of = (table: string) => columns.filter((c) => c.table === table).map((c) => `${c.name} ${c.type}`);
    for (const twin of twinsOf(parsedCluster)) expect(of(twin.name), twin.name).toEqual(of(twin.local));
  });

  it("attaches every view to events_local (where a shard's inserts land) and none to the Distributed events table", async () => {
    const [local] = await rows<{ dependencies_table: string[] }>("SELECT dependencies_table FROM system.tables WHERE database = 'vigil' AND name = 'events_local'");
    const [front] = await rows<{ dependencies_table: string[] }>("SELECT dependencies_table FROM system.tables WHERE database = 'vigil' AND name = 'events'");
    const views = viewsOf(parsedCluster)
      .filter((v) => v.name !== "ingest_batches_mv")
      .map((v) => v.name);
    expect([...local!.dependencies_table].sort()).toEqual([...views].sort());
    expect(front!.dependencies_table).toEqual([]);
  });

  it("fills every rollup's local table from events inserted into a shard's local events table", async () => {
    const now = Date.now();
    const events: EventInput[] = [
      realisticEvent(1, now),
      cacheOpEvent(1, now),
      ...[0, 1, 2, 3, 4].map((i) => cacheStatsEvent(i, now)),
      { id: uuidv7(now), ts: now, source: "cache", type: "cache.mode", severity: "info", attrs: { app: "checkout", from: "detailed", to: "sampled", ops_per_s: 150 } },
      redditMentionEvent(1, now),
      smsCampaignEvent(0, now),
      smsMessageEvent(0, now),
      smsMessageEvent(1, now + 1000),
      smsServerEvent(0, now),
      { id: uuidv7(now), ts: now, source: "sms", type: "sms.server_status", severity: "warning", attrs: { server_kind: "api", server_id: "twilio-1", status: "down", previous_status: "up", error: "timeout" } },
      socialRunEvent(0, now),
      socialRunEvent(1, now + 20_000),
    ];
    const values = events.map((e) => ({
      tenant: "acme",
      id: e.id,
      ts: e.ts,
      received_at: now,
      source: e.source,
      type: e.type,
      severity: e.severity,
      agent: "agent-1",
      batch_id: "b1",
      attrs: Object.fromEntries(Object.entries(e.attrs ?? {}).map(([k, v]) => [k, String(v)])),
      body: e.body ?? "",
    }));
    await client.insert({ table: "vigil.events_local", values, format: "JSONEachRow", clickhouse_settings: { insert_deduplication_token: "cluster-test" } });
    for (const view of viewsOf(parsedCluster).filter((v) => v.name !== "ingest_batches_mv")) {
      const [row] = await rows<{ n: number }>(`SELECT count() AS n FROM vigil.${view.target}`);
      expect(Number(row!.n), `${view.name} → ${view.target}`).toBeGreaterThan(0);
    }
  });

  it("places a tenant's rows on one shard whichever table they are in: cityHash64 of the same text, LowCardinality or not", async () => {
    const [row] = await rows<{ same: number }>("SELECT cityHash64(toLowCardinality('acme')) = cityHash64('acme') AND cityHash64(materialize(toLowCardinality('acme'))) = cityHash64(materialize('acme')) AS same");
    expect(Number(row!.same)).toBe(1);
  });
});

describe("every feature's SQL is the same: a cluster-mode collector (one shard, pass-through front tables) answers as a one-server collector does", () => {
  let one: RunningCollector;
  let clustered: RunningCollector;
  // The stand-in's one gap: a Buffer table cannot read Map subcolumns (`attrs['app']` read as
  // `attrs.key_app`), which a Distributed table passes on to the shards; so reads skip that
  // optimisation here.
  const shimmed = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "command") return (params: { query: string }) => target.command({ ...params, query: onOneNode(params.query, "pass-through") });
      if (prop === "query") {
        return (params: Parameters<ClickHouseClient["query"]>[0]) =>
          target.query({ ...params, clickhouse_settings: { ...params.clickhouse_settings, optimize_functions_to_subcolumns: 0 } });
      }
      const value = Reflect.get(target, prop, receiver) as unknown;
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });

  function start(database: string, clusterMode: boolean): Promise<RunningCollector> {
    const config = collectorConfigSchema.parse({
      port: 0,
      host: "127.0.0.1",
      dataDir: dir.path,
      clickhouseDatabase: database,
      ...(clusterMode ? { clickhouseUrl: "http://127.0.0.1:1", clickhouseCluster: CLUSTER } : {}),
      bootstrapToken: TEST_TOKEN,
      adminPassword: "cluster mode admin",
      plugins: PLUGIN_DIST,
      alerting: "off",
      logLevel: "silent",
    });
    return startCollector(config, silent, { client: clusterMode ? shimmed : client });
  }

  const api = (c: RunningCollector, method: string, path: string, body?: unknown) => callApi({ url: c.url, token: TEST_TOKEN }, method, path, body);
  const jobs = new Map<RunningCollector, string>();
  const keyIds = new Map<RunningCollector, string>();
  const now = Date.now() - 60 * 60_000;
  const EVENTS = 700;

  beforeAll(async () => {
    one = await start("one_server", false);
    clustered = await start("clustered", true);
    for (const collector of [one, clustered]) {
      const job = await api(collector, "POST", "/api/monitoring/jobs", { name: "Uploads", platform: "youtube", target_url: "https://www.youtube.com/channel/UCsBjURrPoezykLs9EqgamOA", target_type: "channel" });
      expect(job.status, JSON.stringify(job.json)).toBe(201);
      jobs.set(collector, job.json.id);
      keyIds.set(collector, (await api(collector, "GET", "/api/keys")).json.keys[0].id);
    }
    // The same events, in the same batches, to both.
    // Mentions repeat (FINAL must show each once), SMS reports come in sent/receipt pairs and
    // social runs in start/end pairs, as their sources send them.
    const kinds = [
      (n: number, ts: number) => realisticEvent(n, ts + (n % 1000)),
      cacheStatsEvent,
      cacheOpEvent,
      (n: number, ts: number) => redditMentionEvent(n % 50, ts),
      smsMessageEvent,
      smsServerEvent,
      socialRunEvent,
    ];
    const batches: EventInput[][] = [[], [], []];
    for (let i = 0; i < EVENTS; i++) batches[i % 3]!.push(kinds[i % kinds.length]!(Math.floor(i / kinds.length), now + i * 1000));
    batches[0]!.push(smsCampaignEvent(0, now));
    for (const collector of [one, clustered]) {
      for (const [n, batch] of batches.entries()) {
        const events = batch.map((e) => (e.type === "social.run" ? { ...e, attrs: { ...e.attrs, job_id: jobs.get(collector)! } } : e));
        const res = await postBatch(collector.url, TEST_TOKEN, JSON.stringify(events), { batchId: `cluster-batch-${n}` });
        expect(res.status, await res.text()).toBe(202);
      }
      // A retried batch is stored once in both modes.
      const again = await postBatch(collector.url, TEST_TOKEN, JSON.stringify(batches[1]!.filter((e) => e.type !== "social.run")), { batchId: "cluster-batch-1" });
      expect(((await again.json()) as { duplicate: boolean }).duplicate).toBe(true);
    }
  }, 180_000);

  afterAll(async () => {
    await one?.close();
    await clustered?.close();
  });

  /**
   * The answer with what differs by nature between two collectors made equal: their key and
   * job ids, when the events arrived or the job was made, and the clock at the moment each
   * answered ("as of now" windows and durations, a few ms apart; ingest rates by arrival).
   */
  function comparable(c: RunningCollector, value: unknown): unknown {
    const text = JSON.stringify(value)
      .replaceAll(keyIds.get(c)!, "<key>")
      .replaceAll(jobs.get(c)!, "<job>")
      .replace(/"(received_at|updated_at|created_at|last_seen|as_of|generated_at|since|until|window_s|duration_s)":("[^"]*"|[\d.]+)/g, '"$1":"<now>"');
    return JSON.parse(text, (key, v: unknown) => (key === "rate_per_minute" || key === "ingest_rate_per_s" ? "<arrival>" : v));
  }

  const since = new Date(now - 60_000).toISOString();
  const until = new Date(now + 60 * 60_000).toISOString();
  it.each([
    "/api/events?limit=500",
    "/api/stats",
    "/api/agents",
    "/api/mentions?limit=100",
    `/api/mentions/counts?since=${since}&until=${until}`,
    "/api/sms/campaigns",
    "/api/sms/campaigns/campaign-0",
    "/api/sms/campaigns/campaign-0/report",
    "/api/sms/carriers",
    "/api/sms/errors",
    "/api/sms/servers",
    "/api/sms/system",
    "/api/cache-monitor?window=2h",
    `/api/cache-monitor/series?since=${since}&until=${until}`,
    "/api/monitoring/jobs",
    "/api/monitoring/jobs/<job>/runs",
    "/api/admin/stuck-jobs",
  ])("GET %s", async (path) => {
    const answers = await Promise.all(
      [one, clustered].map(async (c) => {
        const res = await api(c, "GET", path.replace("<job>", jobs.get(c)!));
        return { status: res.status, body: comparable(c, res.json) };
      }),
    );
    expect(answers[0]!.status, JSON.stringify(answers[0]!.body).slice(0, 300)).toBe(200);
    expect(answers[1]).toEqual(answers[0]);
  });

  it("the plugins' Prometheus series (GROUP BY, JOIN and window functions over the front tables)", async () => {
    const series = async (c: RunningCollector) => {
      const text = await (await fetch(`${c.url}/metrics`)).text();
      return text
        .split("\n")
        .filter((line) => /^vigil_(cache|sms)_/.test(line))
        .sort();
    };
    const [a, b] = [await series(one), await series(clustered)];
    expect(a.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
  });

  it("a collector in cluster mode refuses a database made on one server, and /health says why", async () => {
    const wrong = await start("one_server", true);
    try {
      const health = await fetch(`${wrong.url}/health`);
      expect(health.status).toBe(503);
      expect(((await health.json()) as { storage: string }).storage).toContain("database one_server was created without cluster mode");
    } finally {
      await wrong.close();
    }
  });

  it("stores the rows in the local tables, behind the names the features use", async () => {
    const [stored] = await rows<{ n: number }>("SELECT count() AS n FROM clustered.events_local");
    const [front] = await rows<{ n: number }>("SELECT count() AS n FROM clustered.events");
    expect(Number(stored!.n)).toBe(EVENTS + 1);
    expect(Number(front!.n)).toBe(EVENTS + 1);
    const [engine] = await rows<{ engine: string }>("SELECT engine FROM system.tables WHERE database = 'clustered' AND name = 'sms_messages'");
    expect(engine!.engine).toBe("Buffer");
  });
});
