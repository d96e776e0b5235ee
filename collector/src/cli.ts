import { parseArgs } from "node:util";
import { collectorConfigSchema, describeProblems, type CollectorConfigInput } from "./config.js";
import { createLogger } from "./log.js";
import { startCollector } from "./server.js";
import { startTracing } from "./tracing.js";
import { VERSION } from "./version.js";

const HELP = `vigil-collector — receives events from Vigil agents and OpenTelemetry, stores them in ClickHouse

Usage: vigil-collector [options]

Options (each has an environment equivalent):
  --port N             HTTP port                                   PORT (default 4600)
  --host ADDR          address to listen on                        VIGIL_HOST (default 0.0.0.0)
  --data-dir DIR       embedded ClickHouse data directory           VIGIL_DATA_DIR (default ./data)
  --log-format FMT     json | pretty | auto (pretty on a terminal)  VIGIL_LOG_FORMAT (default auto)
  --log-level LVL      trace | debug | info | warn | error          VIGIL_LOG_LEVEL (default info)
  --plugin NAME        load a plugin's collector part (tables, API   VIGIL_COLLECTOR_PLUGINS
                       routes): a package name or a path; repeat     (comma-separated)
  --alert-rules PATH   YAML alert rules/routes/channels (a file or a  VIGIL_ALERT_RULES
                       folder of them), loaded at start; repeat      (comma-separated)
  -h, --help           show this help
  -v, --version        print the version

Environment only:
  CLICKHOUSE_URL         use this ClickHouse server instead of the embedded engine
  CLICKHOUSE_USER        ClickHouse user (default "default")
  CLICKHOUSE_PASSWORD    ClickHouse password
  CLICKHOUSE_DATABASE    database to use (default "vigil")
  CLICKHOUSE_CA_CERT     PEM file of the CA that signed an https CLICKHOUSE_URL's
                         certificate (read at start); default: Node's public CAs
  CLICKHOUSE_KEEPALIVE_MS  how long an idle server connection is kept for reuse (default
                         2000); keep it below the server's keep_alive_timeout. 0: none
  CLICKHOUSE_RETRIES     retries of a server request that failed transiently (default 3,
                         backoff with jitter): reads and de-duplicated inserts on any such
                         failure, other writes only if the request never got there. 0: none
  CLICKHOUSE_ASYNC_INSERT  "1": inserts use the server's async_insert, still answered
                         once stored (wait_for_async_insert=1). Default "0"
  VIGIL_CLICKHOUSE_CLUSTER  cluster mode: the cluster (as named in the servers'
                         remote_servers) to spread the schema over — migrations run ON
                         CLUSTER, tables are Replicated with a Distributed table in front
                         (docs/storage.md). Needs CLICKHOUSE_URL
  VIGIL_RETENTION_DAYS   days events are kept (default 30)
  VIGIL_BOOTSTRAP_TOKEN  on first start with no keys, this becomes the default tenant's
                         first admin API key; without it one is generated and printed once
  VIGIL_ADMIN_EMAIL      on first start with no users, the first dashboard admin's email
                         (default admin@vigil.local)
  VIGIL_ADMIN_PASSWORD   ... and password (10+ characters); without it one is generated and
                         printed once
  VIGIL_DASHBOARD_DIR    folder of the built dashboard served at / (default: dashboard/dist)
  VIGIL_TRUST_PROXY_HOPS reverse proxies in front (an ingress: 1) whose X-Forwarded-For
                         gives the client address for the sign-in rate limit (default 0)
  VIGIL_FLUSH_ROWS, VIGIL_FLUSH_BYTES, VIGIL_FLUSH_MS, VIGIL_QUEUE_ROWS   ingest writer tuning
  VIGIL_SECRET_KEY       key (16+ characters) that encrypts alert channel secrets; without
                         it one is generated in <data dir>/secret.key. Replicas must share it
  VIGIL_EXTERNAL_URL     the collector's public URL, linked from notifications
  VIGIL_ALERTING         "on" (default): take part in the alert lease — of the collectors
                         sharing a ClickHouse, the one holding it evaluates rules and sends
                         notifications, another takes over when it stops. "off": never
                         evaluate or send here (serve the API and ingest only)
  VIGIL_LEASE_SECONDS    how long the alert lease lasts unless renewed: a collector that
                         stops renewing it is replaced within this long (default 15)
  VIGIL_LEASE_RENEW_SECONDS  how often the holder renews it; at most half of
                         VIGIL_LEASE_SECONDS (default 5)
  OTEL_EXPORTER_OTLP_ENDPOINT  export the collector's own traces over OTLP/HTTP

Signals: SIGTERM or SIGINT stops accepting, stores every queued batch, closes storage and
exits 0; a second signal exits at once.
`;

function firstAdminText(admin: { email: string; password?: string }): string {
  return admin.password
    ? `  First dashboard admin (password shown once; only its hash is stored — keep it now):\n    ${admin.email}  ${admin.password}\n`
    : `  First dashboard admin: ${admin.email} (password from VIGIL_ADMIN_PASSWORD)\n`;
}

function readConfig(argv: string[], env: NodeJS.ProcessEnv): CollectorConfigInput | string {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        port: { type: "string" },
        host: { type: "string" },
        "data-dir": { type: "string" },
        "log-format": { type: "string" },
        "log-level": { type: "string" },
        plugin: { type: "string", multiple: true },
        "alert-rules": { type: "string", multiple: true },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "v" },
      },
      strict: true,
      allowPositionals: false,
    });
  } catch (error) {
    return `${(error as Error).message}\nRun "vigil-collector --help" for the options.`;
  }
  const { values } = parsed;
  if (values.help) return HELP;
  if (values.version) return VERSION;
  const pick = (flag: string | undefined, name: string) => flag ?? (env[name] === "" ? undefined : env[name]);
  const alertLease = {
    seconds: pick(undefined, "VIGIL_LEASE_SECONDS"),
    renewSeconds: pick(undefined, "VIGIL_LEASE_RENEW_SECONDS"),
  };
  const writer = {
    maxRows: pick(undefined, "VIGIL_FLUSH_ROWS"),
    maxBytes: pick(undefined, "VIGIL_FLUSH_BYTES"),
    maxDelayMs: pick(undefined, "VIGIL_FLUSH_MS"),
    queueRows: pick(undefined, "VIGIL_QUEUE_ROWS"),
  };
  const input: Record<string, unknown> = {
    port: pick(values.port, "PORT"),
    host: pick(values.host, "VIGIL_HOST"),
    dataDir: pick(values["data-dir"], "VIGIL_DATA_DIR"),
    clickhouseUrl: pick(undefined, "CLICKHOUSE_URL"),
    clickhouseUser: pick(undefined, "CLICKHOUSE_USER"),
    clickhousePassword: pick(undefined, "CLICKHOUSE_PASSWORD"),
    clickhouseDatabase: pick(undefined, "CLICKHOUSE_DATABASE"),
    clickhouseCaCert: pick(undefined, "CLICKHOUSE_CA_CERT"),
    clickhouseKeepAliveMs: pick(undefined, "CLICKHOUSE_KEEPALIVE_MS"),
    clickhouseRetries: pick(undefined, "CLICKHOUSE_RETRIES"),
    clickhouseAsyncInsert: pick(undefined, "CLICKHOUSE_ASYNC_INSERT"),
    clickhouseCluster: pick(undefined, "VIGIL_CLICKHOUSE_CLUSTER"),
    retentionDays: pick(undefined, "VIGIL_RETENTION_DAYS"),
    bootstrapToken: pick(undefined, "VIGIL_BOOTSTRAP_TOKEN"),
    adminEmail: pick(undefined, "VIGIL_ADMIN_EMAIL"),
    adminPassword: pick(undefined, "VIGIL_ADMIN_PASSWORD"),
    dashboardDir: pick(undefined, "VIGIL_DASHBOARD_DIR"),
    trustProxyHops: pick(undefined, "VIGIL_TRUST_PROXY_HOPS"),
    logFormat: pick(values["log-format"], "VIGIL_LOG_FORMAT"),
    plugins: values.plugin ?? env.VIGIL_COLLECTOR_PLUGINS?.split(",").map((s) => s.trim()).filter(Boolean),
    logLevel: pick(values["log-level"], "VIGIL_LOG_LEVEL"),
    alertFiles: values["alert-rules"] ?? env.VIGIL_ALERT_RULES?.split(",").map((s) => s.trim()).filter(Boolean),
    secretKey: pick(undefined, "VIGIL_SECRET_KEY"),
    externalUrl: pick(undefined, "VIGIL_EXTERNAL_URL"),
    alerting: pick(undefined, "VIGIL_ALERTING"),
    alertLease: Object.fromEntries(Object.entries(alertLease).filter(([, v]) => v !== undefined)),
    writer: Object.fromEntries(Object.entries(writer).filter(([, v]) => v !== undefined)),
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as CollectorConfigInput;
}

/** Names of the flag or variable behind each config path, for error messages. */
const SETTING_NAMES: Record<string, string> = {
  port: "--port / PORT",
  host: "--host / VIGIL_HOST",
  dataDir: "--data-dir / VIGIL_DATA_DIR",
  clickhouseUrl: "CLICKHOUSE_URL",
  clickhouseDatabase: "CLICKHOUSE_DATABASE",
  clickhouseCaCert: "CLICKHOUSE_CA_CERT",
  clickhouseKeepAliveMs: "CLICKHOUSE_KEEPALIVE_MS",
  clickhouseRetries: "CLICKHOUSE_RETRIES",
  clickhouseAsyncInsert: "CLICKHOUSE_ASYNC_INSERT",
  clickhouseCluster: "VIGIL_CLICKHOUSE_CLUSTER",
  retentionDays: "VIGIL_RETENTION_DAYS",
  bootstrapToken: "VIGIL_BOOTSTRAP_TOKEN",
  adminEmail: "VIGIL_ADMIN_EMAIL",
  adminPassword: "VIGIL_ADMIN_PASSWORD",
  dashboardDir: "VIGIL_DASHBOARD_DIR",
  trustProxyHops: "VIGIL_TRUST_PROXY_HOPS",
  logFormat: "--log-format / VIGIL_LOG_FORMAT",
  logLevel: "--log-level / VIGIL_LOG_LEVEL",
  plugins: "--plugin / VIGIL_COLLECTOR_PLUGINS",
  alertFiles: "--alert-rules / VIGIL_ALERT_RULES",
  secretKey: "VIGIL_SECRET_KEY",
  externalUrl: "VIGIL_EXTERNAL_URL",
  alerting: "VIGIL_ALERTING",
  "alertLease.seconds": "VIGIL_LEASE_SECONDS",
  "alertLease.renewSeconds": "VIGIL_LEASE_RENEW_SECONDS",
  "writer.maxRows": "VIGIL_FLUSH_ROWS",
  "writer.maxBytes": "VIGIL_FLUSH_BYTES",
  "writer.maxDelayMs": "VIGIL_FLUSH_MS",
  "writer.queueRows": "VIGIL_QUEUE_ROWS",
};

export async function main(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const input = readConfig(argv, env);
  if (typeof input === "string") {
    const isError = !input.startsWith("vigil-collector —") && input !== VERSION;
    (isError ? process.stderr : process.stdout).write(input.endsWith("\n") ? input : `${input}\n`);
    process.exitCode = isError ? 2 : 0;
    return;
  }
  const parsed = collectorConfigSchema.safeParse(input);
  if (!parsed.success) {
    const lines = describeProblems(parsed.error).map((line) => {
      const path = line.slice(0, line.indexOf(":"));
      return SETTING_NAMES[path] ? `${SETTING_NAMES[path]}: ${line.slice(line.indexOf(":") + 2)}` : line;
    });
    process.stderr.write(`vigil-collector: invalid configuration\n${lines.map((l) => `  - ${l}`).join("\n")}\nRun "vigil-collector --help" for the options.\n`);
    process.exitCode = 2;
    return;
  }
  const config = parsed.data;
  const log = createLogger({ format: config.logFormat, level: config.logLevel });
  const tracing = startTracing(VERSION);
  const collector = await startCollector(config, log, {
    onBootstrapToken: (token) =>
      process.stderr.write(`\n  First admin API key (shown once; only its hash is stored — keep it now):\n    ${token}\n\n`),
    onBootstrapAdmin: (admin) => process.stderr.write(`\n${firstAdminText(admin)}\n`),
  });

  process.stderr.write(
    `\nVigil collector ${VERSION} is running\n` +
      `  Dashboard  ${collector.url}/\n` +
      `  API        ${collector.url}/v1/events   ${collector.url}/api/stats\n` +
      `  Health     ${collector.url}/health\n` +
      `  Metrics    ${collector.url}/metrics\n` +
      (collector.bootstrapToken
        ? `\n  First admin API key (shown once; only its hash is stored — keep it now):\n    ${collector.bootstrapToken}\n`
        : "") +
      (collector.bootstrapAdmin ? `\n${firstAdminText(collector.bootstrapAdmin)}` : "") +
      "\n",
  );

  let signals = 0;
  const stop = async (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      log.warn({ signal }, "second signal: exiting at once");
      process.exit(130);
    }
    log.info({ signal }, "signal received");
    await collector.close();
    await tracing?.shutdown().catch(() => undefined);
    log.flush?.();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
