import type { Logger } from "pino";
import { ClusterModeError, GLOBAL_TABLES, localTableName, renderForCluster } from "./cluster.js";
import type { Database } from "./database.js";

export interface MigrationContext {
  /** `<database>.<table>` */
  table(name: string): string;
  retentionDays: number;
}

export interface Migration {
  version: number;
  name: string;
  /** Statements, each idempotent on its own (`IF NOT EXISTS`), so a crash half-way is safe to re-run. */
  statements(ctx: MigrationContext): string[];
}

/**
 * The collector's own schema. Numbered, append-only: a released migration is never
 * edited, a change is a new number. Plugins bring their own migrations with their
 * collector part (see their `collector.ts`).
 */
export const coreMigrations: Migration[] = [
  {
    version: 1,
    name: "events",
    statements: ({ table, retentionDays }) => [
      // Codecs: timestamps grow almost monotonically inside a part, so DoubleDelta
      // shrinks them to a few bits each; attrs and body are repetitive text where ZSTD
      // pays for itself; LowCardinality keeps source/type/agent as dictionary ids.
      `CREATE TABLE IF NOT EXISTS ${table("events")} (
        tenant      LowCardinality(String),
        id          UUID,
        ts          DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
        received_at DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
        source      LowCardinality(String),
        type        LowCardinality(String),
        severity    Enum8('debug' = 1, 'info' = 2, 'notice' = 3, 'warning' = 4, 'error' = 5, 'critical' = 6),
        agent       LowCardinality(String),
        batch_id    String CODEC(ZSTD(1)),
        attrs       Map(LowCardinality(String), String) CODEC(ZSTD(1)),
        body        String CODEC(ZSTD(3))
      )
      ENGINE = MergeTree
      PARTITION BY toDate(ts)
      ORDER BY (tenant, source, type, ts)
      TTL toDateTime(ts) + INTERVAL ${retentionDays} DAY
      SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1`,
      // The batch ledger: one row per stored batch id, filled by the same INSERT that
      // stores the events (through the materialized view), so "events stored" and
      // "batch recorded" cannot drift apart. The writer consults it to answer a retried
      // batch without storing it twice, even after a restart.
      `CREATE TABLE IF NOT EXISTS ${table("ingest_batches")} (
        tenant      LowCardinality(String),
        batch_id    String,
        events      UInt64,
        received_at DateTime
      )
      ENGINE = ReplacingMergeTree(received_at)
      ORDER BY (tenant, batch_id)
      TTL received_at + INTERVAL 7 DAY`,
      `CREATE MATERIALIZED VIEW IF NOT EXISTS ${table("ingest_batches_mv")} TO ${table("ingest_batches")} AS
        SELECT tenant, batch_id, count() AS events, toDateTime(max(received_at)) AS received_at
        FROM ${table("events")}
        WHERE batch_id != ''
        GROUP BY tenant, batch_id`,
    ],
  },
  {
    version: 2,
    name: "tenants and api keys",
    statements: ({ table }) => [
      `CREATE TABLE IF NOT EXISTS ${table("tenants")} (
        id         String,
        name       String,
        operator   Bool,
        created_at DateTime64(3, 'UTC'),
        version    UInt64,
        is_deleted UInt8
      )
      ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY id`,
      `CREATE TABLE IF NOT EXISTS ${table("api_keys")} (
        tenant     LowCardinality(String),
        id         String,
        name       String,
        prefix     String,
        hash       String,
        scopes     Array(LowCardinality(String)),
        created_at DateTime64(3, 'UTC'),
        version    UInt64,
        is_deleted UInt8
      )
      ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (tenant, id)`,
    ],
  },
  {
    version: 3,
    name: "agents and their remote configs",
    statements: ({ table }) => [
      // One row per agent, replaced by each heartbeat (the newest `version` wins).
      // `plugins` is the heartbeat's plugin list as JSON text: it is only ever shown.
      `CREATE TABLE IF NOT EXISTS ${table("agents")} (
        tenant                  LowCardinality(String),
        id                      String,
        name                    String,
        agent_version           String,
        key_id                  String,
        last_heartbeat          DateTime64(3, 'UTC'),
        uptime_s                Float64,
        config_version          UInt64,
        config_error            Nullable(String),
        rejected_config_version Nullable(UInt64),
        queue_bytes             UInt64,
        queue_records           UInt64,
        plugins                 String CODEC(ZSTD(1)),
        version                 UInt64,
        is_deleted              UInt8
      )
      ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (tenant, id)`,
      // The remote configuration an admin set for an agent id; config_version counts
      // up from 1 per agent, the agent reports which one it applied.
      `CREATE TABLE IF NOT EXISTS ${table("agent_configs")} (
        tenant         LowCardinality(String),
        agent_id       String,
        config_version UInt64,
        config         String CODEC(ZSTD(1)),
        updated_at     DateTime64(3, 'UTC'),
        version        UInt64,
        is_deleted     UInt8
      )
      ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (tenant, agent_id)`,
    ],
  },
  {
    version: 4,
    name: "batch ledger written after the events insert",
    // The materialized view recorded a batch id as soon as any one block of its insert
    // landed; an insert that failed half-way left the batch marked stored. The writer now
    // records batch ids itself, after the whole insert returned.
    statements: ({ table }) => [`DROP VIEW IF EXISTS ${table("ingest_batches_mv")}`],
  },
  {
    version: 5,
    name: "plugin migrations",
    // Plugins number their migrations on their own; this records them per plugin.
    statements: ({ table }) => [
      `CREATE TABLE IF NOT EXISTS ${table("plugin_migrations")} (
        plugin LowCardinality(String), version UInt32, name String, applied_at DateTime64(3, 'UTC')
      ) ENGINE = ReplacingMergeTree ORDER BY (plugin, version)`,
    ],
  },
  {
    version: 6,
    name: "alerting",
    // Rules, channels, routes and silences are configuration entities (the latest
    // version wins, read with FINAL); `spec` is the validated JSON the API took. Channel
    // secrets sit apart, encrypted. States and notification groups are the engine's
    // memory across restarts; the outbox holds every notification from before it is sent
    // until the destination accepted it, then as history.
    statements: ({ table }) => [
      ...["alert_rules", "alert_routes", "alert_silences", "alert_channels"].map(
        (name) => `CREATE TABLE IF NOT EXISTS ${table(name)} (
          tenant     LowCardinality(String),
          id         String,
          spec       String CODEC(ZSTD(1)),
          secrets    String,
          updated_at DateTime64(3, 'UTC'),
          version    UInt64,
          is_deleted UInt8
        )
        ENGINE = ReplacingMergeTree(version, is_deleted)
        ORDER BY (tenant, id)`,
      ),
      `CREATE TABLE IF NOT EXISTS ${table("alert_states")} (
        tenant      LowCardinality(String),
        rule_id     String,
        fingerprint String,
        state       String CODEC(ZSTD(1)),
        version     UInt64,
        is_deleted  UInt8
      )
      ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (tenant, rule_id, fingerprint)`,
      `CREATE TABLE IF NOT EXISTS ${table("alert_outbox")} (
        tenant          LowCardinality(String),
        id              String,
        channel_id      String,
        group_key       String,
        status          LowCardinality(String),
        attempts        UInt32,
        parts_sent      UInt32,
        next_attempt_at DateTime64(3, 'UTC'),
        created_at      DateTime64(3, 'UTC'),
        condition_at    DateTime64(3, 'UTC'),
        sent_at         Nullable(DateTime64(3, 'UTC')),
        last_error      String,
        notification    String CODEC(ZSTD(3)),
        version         UInt64
      )
      ENGINE = ReplacingMergeTree(version)
      ORDER BY (tenant, id)
      TTL toDateTime(created_at) + INTERVAL 30 DAY`,
    ],
  },  {
    version: 7,
    name: "dashboard users and sessions",
    // Users log in to the dashboard by email (unique across tenants, so a login finds
    // its tenant); only the scrypt hash of a password is kept. A session row is keyed by
    // the SHA-256 of its cookie value, never the value itself, and carries its expiry so
    // any replica can check it; TTL sweeps expired rows.
    statements: ({ table }) => [
      `CREATE TABLE IF NOT EXISTS ${table("users")} (
        tenant        LowCardinality(String),
        id            String,
        email         String,
        name          String,
        role          LowCardinality(String),
        password_hash String,
        created_at    DateTime64(3, 'UTC'),
        version       UInt64,
        is_deleted    UInt8
      )
      ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY (tenant, id)`,
      `CREATE TABLE IF NOT EXISTS ${table("sessions")} (
        tenant     LowCardinality(String),
        hash       String,
        user_id    String,
        created_at DateTime64(3, 'UTC'),
        expires_at DateTime64(3, 'UTC'),
        version    UInt64,
        is_deleted UInt8
      )
      ENGINE = ReplacingMergeTree(version, is_deleted)
      ORDER BY hash
      TTL toDateTime(expires_at) + INTERVAL 1 DAY`,
    ],
  },  {
    version: 8,
    name: "storage write probe",
    // After an insert failed, a ping is not proof that storage takes writes again (a
    // full disk still answers pings): the collector resumes ingest only once a row lands
    // here. Operational rows, no tenant data; a day of them at most.
    statements: ({ table }) => [
      `CREATE TABLE IF NOT EXISTS ${table("storage_probe")} (at DateTime64(3, 'UTC'), replica String)
      ENGINE = MergeTree ORDER BY at TTL toDateTime(at) + INTERVAL 1 DAY`,
    ],
  },  {
    version: 9,
    name: "agent push log",
    // Config changes and commands for agents, so every collector replica can deliver
    // those made on another one to the agents connected to it. ClickHouse stamps `at`
    // (one clock for all replicas); rows are only needed for seconds, kept an hour.
    statements: ({ table }) => [
      `CREATE TABLE IF NOT EXISTS ${table("push_log")} (
        at       DateTime64(3, 'UTC') DEFAULT now64(3),
        id       String,
        tenant   LowCardinality(String),
        origin   String,
        kind     LowCardinality(String),
        agent_id String,
        payload  String CODEC(ZSTD(1))
      )
      ENGINE = MergeTree ORDER BY (at, id) TTL toDateTime(at) + INTERVAL 1 HOUR`,
    ],
  },
  {
    version: 10,
    name: "alert lease and relayed event matches",
    // Leases (cluster/lease.ts): one row per name and generation, the highest generation
    // wins (read with FINAL). Each claim is inserted with the deduplication token
    // "<name>:<generation>", so when two replicas claim the same generation ClickHouse keeps
    // the first insert and drops the other: the window must hold the recent tokens.
    // Event rule matches found at ingest by replicas that do not evaluate, for the one that
    // does (alerts/event-relay.ts); ClickHouse stamps `at` (one clock for all replicas);
    // rows are only needed for seconds, kept an hour.
    statements: ({ table }) => [
      `CREATE TABLE IF NOT EXISTS ${table("leases")} (
        name       String,
        generation UInt64,
        holder     String,
        expires_at DateTime64(3, 'UTC'),
        written_at DateTime64(3, 'UTC') DEFAULT now64(3)
      )
      ENGINE = ReplacingMergeTree(generation)
      ORDER BY name
      SETTINGS non_replicated_deduplication_window = 100`,
      `CREATE TABLE IF NOT EXISTS ${table("alert_event_matches")} (
        at              DateTime64(3, 'UTC') DEFAULT now64(3),
        id              String,
        tenant          LowCardinality(String),
        rule_id         String,
        rule_updated_at DateTime64(3, 'UTC'),
        event_id        String,
        labels          Map(String, String),
        received_at     DateTime64(3, 'UTC'),
        message         String CODEC(ZSTD(1))
      )
      ENGINE = MergeTree ORDER BY (at, id) TTL toDateTime(at) + INTERVAL 1 HOUR`,
    ],
  },
];

/**
 * Brings the database up to date: creates it, then applies every migration not yet
 * recorded in `schema_migrations`. Safe to run at every start and from several
 * collectors at once, because every statement is idempotent.
 */
export async function runMigrations(
  db: Database,
  options: { retentionDays: number; log: Logger; migrations?: Migration[] },
): Promise<number[]> {
  const migrations = options.migrations ?? coreMigrations;
  const run = schemaRunner(db, GLOBAL_TABLES);
  await run(`CREATE DATABASE IF NOT EXISTS ${db.name}`);
  if (db.cluster !== undefined) await refuseOneServerSchema(db);
  await run(
    `CREATE TABLE IF NOT EXISTS ${db.table("schema_migrations")} (
      version UInt32, name String, applied_at DateTime64(3, 'UTC')
    ) ENGINE = ReplacingMergeTree ORDER BY version`,
  );
  const applied = new Set(
    (await db.query<{ version: number }>(`SELECT version FROM ${db.table("schema_migrations")} FINAL`)).map((r) => Number(r.version)),
  );
  const ctx: MigrationContext = { table: db.table, retentionDays: options.retentionDays };
  const ran: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements(ctx)) await run(statement);
    await db.insert("schema_migrations", [{ version: migration.version, name: migration.name, applied_at: Date.now() }]);
    options.log.info({ version: migration.version, name: migration.name }, "migration applied");
    ran.push(migration.version);
  }
  await applyRetention(db, options.retentionDays, options.log);
  return ran;
}

/**
 * Runs schema statements as written on one server; in cluster mode, as `cluster.ts`
 * renders them (`globalTables`: which of the tables they name are global).
 */
export function schemaRunner(db: Database, globalTables: ReadonlySet<string>): (statement: string) => Promise<void> {
  const { cluster } = db;
  if (cluster === undefined) return (statement) => db.command(statement);
  return async (statement) => {
    for (const rendered of renderForCluster(statement, { cluster, database: db.name, globalTables })) await db.command(rendered);
  };
}

/**
 * Cluster mode needs a database made in cluster mode: one made on one server already has
 * plain tables under the names the Distributed tables would take, and every `IF NOT EXISTS`
 * would leave them so. Moving one is a copy (`INSERT … SELECT`), not a migration.
 */
async function refuseOneServerSchema(db: Database): Promise<void> {
  const [row] = await db.query<{ engine: string }>(`SELECT engine FROM system.tables WHERE database = {db:String} AND name = 'events'`, { db: db.name });
  if (row && row.engine !== "Distributed") {
    throw new ClusterModeError(
      `database ${db.name} was created without cluster mode (its events table is ${row.engine}, not Distributed): use a new database (CLICKHOUSE_DATABASE) for VIGIL_CLICKHOUSE_CLUSTER and copy the data over, see docs/storage.md`,
    );
  }
}

/** Keeps the events TTL in step with VIGIL_RETENTION_DAYS when it changes between starts. */
async function applyRetention(db: Database, retentionDays: number, log: Logger): Promise<void> {
  // In cluster mode the TTL is the shards' local table's (the Distributed one has none).
  const [row] = await db.query<{ engine_full: string }>(
    `SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {table:String}`,
    { db: db.name, table: db.cluster === undefined ? "events" : localTableName("events") },
  );
  if (!row) return;
  const current = /toIntervalDay\((\d+)\)/.exec(row.engine_full)?.[1];
  if (current !== undefined && Number(current) === retentionDays) return;
  await schemaRunner(db, GLOBAL_TABLES)(`ALTER TABLE ${db.table("events")} MODIFY TTL toDateTime(ts) + INTERVAL ${retentionDays} DAY`);
  log.info({ from_days: current === undefined ? null : Number(current), to_days: retentionDays }, "event retention changed");
}
