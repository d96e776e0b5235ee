import { z } from "zod";

/**
 * Every setting of the collector, with its default and the flag / environment variable
 * that sets it. This schema is the one place defaults live.
 */
export const collectorConfigSchema = z
  .object({
    port: z.coerce
      .number({ error: "port must be a number" })
      .int()
      .min(0, "port must be between 0 and 65535")
      .max(65535, "port must be between 0 and 65535")
      .default(4600)
      .describe("HTTP port (--port, PORT). 0 picks a free port."),
    host: z.string().min(1).default("0.0.0.0").describe("Address to listen on (--host, VIGIL_HOST)."),
    dataDir: z.string().min(1).default("./data").describe("Embedded ClickHouse data directory (--data-dir, VIGIL_DATA_DIR)."),
    clickhouseUrl: z
      .url({ protocol: /^https?$/, error: 'CLICKHOUSE_URL must be an http:// or https:// URL like "http://clickhouse:8123"' })
      .optional()
      .describe("ClickHouse server URL; when unset the embedded engine is used (CLICKHOUSE_URL)."),
    clickhouseUser: z.string().default("default").describe("ClickHouse user (CLICKHOUSE_USER)."),
    clickhousePassword: z.string().default("").describe("ClickHouse password (CLICKHOUSE_PASSWORD)."),
    clickhouseDatabase: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "CLICKHOUSE_DATABASE must be a plain identifier")
      .default("vigil")
      .describe("ClickHouse database (CLICKHOUSE_DATABASE)."),
    clickhouseCluster: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "VIGIL_CLICKHOUSE_CLUSTER must be a plain identifier (the cluster's name in the servers' remote_servers)")
      .optional()
      .describe(
        "Cluster mode: the ClickHouse cluster to spread the schema over — every migration runs ON CLUSTER, tables are Replicated with a Distributed table in front (see docs/storage.md); needs CLICKHOUSE_URL (VIGIL_CLICKHOUSE_CLUSTER).",
      ),
    clickhouseCaCert: z
      .string()
      .min(1)
      .optional()
      .describe("PEM file of the CA that signed an https CLICKHOUSE_URL's certificate, read at start (CLICKHOUSE_CA_CERT); without it Node's built-in list of public CAs is trusted."),
    // The server closes a connection idle for keep_alive_timeout seconds (3 before ClickHouse
    // 23.11, 30 since; a proxy in between may close sooner). A connection it closes just as
    // the client reuses it fails that request ("socket hang up"), so the client drops its idle
    // connections first: 2 s stays under the smallest default.
    clickhouseKeepAliveMs: z.coerce
      .number({ error: "CLICKHOUSE_KEEPALIVE_MS must be a number of milliseconds" })
      .int("CLICKHOUSE_KEEPALIVE_MS must be a whole number of milliseconds")
      .min(0, "CLICKHOUSE_KEEPALIVE_MS must be 0 (no keep-alive) or more")
      .max(3_600_000, "CLICKHOUSE_KEEPALIVE_MS must be at most 3600000 (an hour)")
      .default(2_000)
      .describe(
        "How long an idle connection to the ClickHouse server is kept for reuse, in ms; keep it below the server's keep_alive_timeout (3 s before ClickHouse 23.11, 30 s since) and any proxy's idle timeout; 0 opens a connection per request (CLICKHOUSE_KEEPALIVE_MS).",
      ),
    clickhouseRetries: z.coerce
      .number({ error: "CLICKHOUSE_RETRIES must be a number" })
      .int("CLICKHOUSE_RETRIES must be a whole number")
      .min(0, "CLICKHOUSE_RETRIES must be between 0 and 10")
      .max(10, "CLICKHOUSE_RETRIES must be between 0 and 10")
      .default(3)
      .describe(
        "Retries, with exponential backoff and jitter, of a server request that failed transiently (connection refused or reset, 502/503/504, timeout): queries and inserts with a deduplication token on any such failure, other writes only when the request never reached the server; 0 turns them off (CLICKHOUSE_RETRIES).",
      ),
    clickhouseAsyncInsert: z
      .enum(["0", "1"], { error: 'CLICKHOUSE_ASYNC_INSERT is "1" (on) or "0" (off)' })
      .default("0")
      .describe(
        'Server-side batching of inserts: "1" sends async_insert=1 and wait_for_async_insert=1 (an insert is still answered once stored), "0" leaves the server\'s default (CLICKHOUSE_ASYNC_INSERT).',
      ),
    retentionDays: z.coerce
      .number({ error: "VIGIL_RETENTION_DAYS must be a number of days" })
      .int()
      .min(1, "VIGIL_RETENTION_DAYS must be at least 1")
      .max(3650)
      .default(30)
      .describe("Days events are kept (VIGIL_RETENTION_DAYS)."),
    bootstrapToken: z
      .string()
      .min(16, "VIGIL_BOOTSTRAP_TOKEN must be at least 16 characters")
      .max(256)
      .optional()
      .describe("First admin API key of the default tenant, used only when no key exists yet (VIGIL_BOOTSTRAP_TOKEN)."),
    adminEmail: z
      .email({ error: 'VIGIL_ADMIN_EMAIL must be an email address, e.g. "ops@example.com"' })
      .default("admin@vigil.local")
      .describe("Email of the first dashboard admin, created on the first start when no user exists (VIGIL_ADMIN_EMAIL)."),
    adminPassword: z
      .string()
      .min(10, "VIGIL_ADMIN_PASSWORD must be at least 10 characters")
      .max(256)
      .optional()
      .describe("Password of the first dashboard admin; without it one is generated and printed once (VIGIL_ADMIN_PASSWORD)."),
    trustProxyHops: z.coerce
      .number({ error: "VIGIL_TRUST_PROXY_HOPS must be a number of proxies" })
      .int("VIGIL_TRUST_PROXY_HOPS must be a whole number")
      .min(0, "VIGIL_TRUST_PROXY_HOPS must be 0 or more")
      .max(10, "VIGIL_TRUST_PROXY_HOPS must be at most 10")
      .default(0)
      .describe("Reverse proxies in front of the collector (an ingress: 1) whose X-Forwarded-For gives the client address for the sign-in rate limit (VIGIL_TRUST_PROXY_HOPS)."),
    dashboardDir: z
      .string()
      .min(1)
      .optional()
      .describe("Folder of the built dashboard served at / (VIGIL_DASHBOARD_DIR); by default the dashboard package's dist/."),
    plugins: z
      .array(z.string().min(1))
      .default([])
      .describe("Plugins whose collector part (tables, routes) to load: package names or paths (--plugin, repeatable; VIGIL_COLLECTOR_PLUGINS, comma-separated)."),
    alertFiles: z
      .array(z.string().min(1))
      .default([])
      .describe("YAML files (or folders of them) with alert rules, routes and channels, loaded at start (--alert-rules, repeatable; VIGIL_ALERT_RULES, comma-separated)."),
    secretKey: z
      .string()
      .min(16, "VIGIL_SECRET_KEY must be at least 16 characters")
      .optional()
      .describe("Key that encrypts alert channel secrets; without it one is generated in the data directory (VIGIL_SECRET_KEY)."),
    externalUrl: z
      .url({ error: 'VIGIL_EXTERNAL_URL must be a URL like "https://vigil.example.com"' })
      .optional()
      .describe("The collector's public URL, linked from notifications (VIGIL_EXTERNAL_URL)."),
    alerting: z
      .enum(["on", "off"], { error: 'VIGIL_ALERTING is "on" or "off"' })
      .default("on")
      .describe(
        'Take part in the alert lease: of the replicas sharing a storage with "on", the one holding the lease evaluates rules and sends notifications; "off" never does (VIGIL_ALERTING).',
      ),
    alertLease: z
      .object({
        seconds: z.coerce
          .number({ error: "VIGIL_LEASE_SECONDS must be a number of seconds" })
          .min(1, "VIGIL_LEASE_SECONDS must be at least 1")
          .max(3600, "VIGIL_LEASE_SECONDS must be at most 3600")
          .default(15)
          .describe("How long the alert lease lasts unless renewed: a replica that stops renewing it is replaced within this long (VIGIL_LEASE_SECONDS)."),
        renewSeconds: z.coerce
          .number({ error: "VIGIL_LEASE_RENEW_SECONDS must be a number of seconds" })
          .positive("VIGIL_LEASE_RENEW_SECONDS must be more than 0")
          .default(5)
          .describe("How often the replica holding the alert lease renews it; at most half of VIGIL_LEASE_SECONDS (VIGIL_LEASE_RENEW_SECONDS)."),
      })
      .strict()
      .superRefine((lease, ctx) => {
        if (lease.renewSeconds > lease.seconds / 2) {
          ctx.addIssue({
            code: "custom",
            path: ["renewSeconds"],
            message: `must be at most half of VIGIL_LEASE_SECONDS (${lease.seconds}), so a renewal that fails is retried before the lease runs out; it is ${lease.renewSeconds}`,
          });
        }
      })
      .prefault({}),
    logFormat: z.enum(["json", "pretty", "auto"]).default("auto").describe("Log format (--log-format, VIGIL_LOG_FORMAT)."),
    logLevel: z
      .enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"])
      .default("info")
      .describe("Log level (--log-level, VIGIL_LOG_LEVEL)."),
    writer: z
      .object({
        maxRows: z.coerce.number().int().positive().default(20_000).describe("Flush when this many rows wait (VIGIL_FLUSH_ROWS)."),
        maxBytes: z.coerce.number().int().positive().default(16 * 1024 * 1024).describe("Flush when this many bytes wait (VIGIL_FLUSH_BYTES)."),
        maxDelayMs: z.coerce.number().int().nonnegative().default(0).describe("How long an idle writer waits for more rows before an insert, in ms; under load, rows that arrive during one insert form the next (VIGIL_FLUSH_MS)."),
        queueRows: z.coerce
          .number()
          .int()
          .positive()
          .default(200_000)
          .describe("Rows that may wait for ClickHouse before ingest answers 429 (VIGIL_QUEUE_ROWS)."),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.clickhouseCluster !== undefined && config.clickhouseUrl === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["clickhouseCluster"],
        message: "cluster mode needs a ClickHouse server: set CLICKHOUSE_URL to a node of the cluster (the embedded engine has no cluster)",
      });
    }
  })
  .superRefine((config, ctx) => {
    if (config.clickhouseCaCert !== undefined && !config.clickhouseUrl?.startsWith("https://")) {
      ctx.addIssue({ code: "custom", path: ["clickhouseCaCert"], message: "a CA certificate is for an https:// CLICKHOUSE_URL; CLICKHOUSE_URL is not one" });
    }
  });

export type CollectorConfig = z.output<typeof collectorConfigSchema>;
export type CollectorConfigInput = z.input<typeof collectorConfigSchema>;

/** Formats zod problems as one line each, with the setting's path. */
export function describeProblems(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    return path ? `${path}: ${issue.message}` : issue.message;
  });
}
