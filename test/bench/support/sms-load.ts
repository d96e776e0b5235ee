/**
 * Fills a stopped collector's data dir with SMS campaigns for `bench:sms`, run as its own
 * process (chDB binds one data dir per process): INSERT … SELECT … FROM numbers() into
 * the events table, shaped exactly like the SDK's and the receipts' `sms.message` events,
 * so the plugin's materialized views fill `sms_messages` and `sms_campaigns` as ingest
 * would. The collector must have run once on the dir (its migrations and the plugin's).
 *
 * Per campaign, the app's reports (queued, sent, the failures a gateway or proxy refused,
 * retries' sends) go in one INSERT and the providers' receipts (finals, failures, late
 * "sent" callbacks after "delivered", duplicates, undelivered-then-delivered) in another,
 * so a message's reports sit in different parts, as they do while a campaign runs.
 *
 * Usage: node --import tsx test/bench/support/sms-load.ts <data-dir> <plan JSON>
 * Prints one JSON line on stdout: {"events":…,"seconds":…,"messages":{<campaign>:…},"message_parts":…}
 */
import { diagnose } from "../../../plugins/sms/src/errors.js";
import { collectorConfigSchema } from "../../../collector/dist/config.js";
import { createStorageClient } from "../../../collector/dist/storage/client.js";
import { openDatabase, type Database } from "../../../collector/dist/storage/database.js";
import type { SmsLoadPlan } from "./sms-plan.js";

const TENANT = "default";
const AGENT = "bench-load";

/** The sending servers: weight (of 100), kind, who sends its receipts, send time range (ms). */
const SERVERS = [
  { id: "twilio-1", kind: "api", receipts: "twilio", weight: 35, sendMs: [60, 400] },
  { id: "twilio-2", kind: "api", receipts: "twilio", weight: 20, sendMs: [80, 900] },
  { id: "vonage-1", kind: "api", receipts: "vonage", weight: 20, sendMs: [100, 700] },
  { id: "gw-1", kind: "smtp", receipts: "twilio", weight: 15, sendMs: [200, 2500] },
  { id: "px-1", kind: "proxy", receipts: "twilio", weight: 10, sendMs: [40, 300] },
] as const;
const CARRIERS: [string, number][] = [
  ["verizon", 30],
  ["att", 25],
  ["tmobile", 20],
  ["vodafone", 15],
  ["orange", 10],
];
/** Ten draws per namespace: repeats are the weights. */
const CODES: Record<string, string[]> = {
  twilio: ["30003", "30003", "30003", "30005", "30006", "30007", "30007", "21610", "30008", "30022"],
  vonage: ["2", "2", "2", "3", "3", "6", "6", "4", "16", "99"],
  smtp: ["421", "421", "421", "550", "550", "550", "554", "554", "535", "451"],
  proxy: ["ECONNRESET", "ECONNRESET", "ECONNRESET", "ECONNRESET", "ETIMEDOUT", "ETIMEDOUT", "ETIMEDOUT", "502", "502", "407"],
};

const text = (value: string) => `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
const texts = (values: readonly string[]) => `[${values.map(text).join(", ")}]`;
const numbers = (values: readonly number[]) => `[${values.join(", ")}]`;

/** What the SDK and the receipts stamp on a failure, per `<namespace>:<code>`, from the plugin's own error table. */
function errorLookup() {
  const keys: string[] = [];
  const categories: string[] = [];
  const titles: string[] = [];
  const retryable: string[] = [];
  for (const [namespace, codes] of Object.entries(CODES)) {
    for (const code of new Set(codes)) {
      const app = namespace === "smtp" || namespace === "proxy";
      const diagnosis = diagnose({ reporter: app ? "app" : namespace, serverKind: app ? namespace : "api", code, text: "" });
      if (!diagnosis.known) throw new Error(`${namespace}:${code} is not in the SMS error table`);
      const key = `${namespace}:${code}`;
      keys.push(key);
      categories.push(diagnosis.category);
      titles.push(diagnosis.title);
      if (diagnosis.retryable) retryable.push(key);
    }
  }
  return { keys, categories, titles, retryable };
}

/** A report of a message: (ms after its send, status, reporter, error code, attempt, phase 0 = app / 1 = receipt). */
const report = (dt: string, status: string, reporter: string, code: string, attempt: number, phase: number) =>
  `(toInt64(${dt}), ${status}, ${reporter}, ${code}, toUInt8(${attempt}), toUInt8(${phase}))`;

/** One campaign's message reports of one phase, as event rows. */
function messagesSql(db: Database, plan: SmsLoadPlan, campaign: number, phase: 0 | 1): string {
  const { keys, categories, titles, retryable } = errorLookup();
  const c = plan.campaigns[campaign]!;
  const h = (salt: number) => `cityHash64(${campaign}, number, ${salt})`;
  let upTo = 0;
  const serverIndex = `multiIf(${SERVERS.slice(0, -1)
    .map((s, i) => `h_server < ${(upTo += s.weight)}, ${i + 1}`)
    .join(", ")}, ${SERVERS.length})`;
  upTo = 0;
  const carrier = `multiIf(${CARRIERS.slice(0, -1)
    .map(([name, weight]) => `h_carrier < ${(upTo += weight)}, ${text(name)}`)
    .join(", ")}, ${text(CARRIERS[CARRIERS.length - 1]![0])})`;
  const receiptFailed = "(NOT app_failed AND r >= 25 AND r < 140)";
  const failed = `(app_failed OR ${receiptFailed})`;
  return `
    INSERT INTO ${db.table("events")} (tenant, id, ts, received_at, source, type, severity, agent, batch_id, attrs, body)
    SELECT ${text(TENANT)}, generateUUIDv4(number), fromUnixTimestamp64Milli(t + tupleElement(rep, 1), 'UTC') AS ts, ts, 'sms', 'sms.message',
           if(tupleElement(rep, 2) IN ('failed', 'undelivered'), 'warning', 'info'), ${text(AGENT)}, '',
           map('campaign_id', ${text(c.id)}, 'message_id', message_id, 'to_hash', to_hash,
               'carrier', if(tupleElement(rep, 3) = 'app', carrier, ''),
               'server_kind', if(tupleElement(rep, 3) = 'app', server_kind, ''), 'server_id', if(tupleElement(rep, 3) = 'app', server_id, ''),
               'status', tupleElement(rep, 2), 'error_code', tupleElement(rep, 4),
               'error_text', if(tupleElement(rep, 4) = '', '', transform(error_key, ${texts(keys)}, ${texts(titles)}, '')),
               'error_category', if(tupleElement(rep, 2) IN ('failed', 'undelivered'), transform(error_key, ${texts(keys)}, ${texts(categories)}, 'unknown'), ''),
               'attempt', toString(tupleElement(rep, 5)),
               'queued_ms', if(tupleElement(rep, 3) = 'app', toString(queued_ms), '0'),
               'send_ms', if(tupleElement(rep, 3) = 'app' AND tupleElement(rep, 2) != 'queued', toString(send_ms), '0'),
               'reporter', tupleElement(rep, 3)),
           ''
    FROM (
      SELECT number, ${c.startMs} + intDiv(number * ${c.spanMs}, ${plan.messagesPerCampaign}) AS t,
             concat('SM', lower(hex(${h(0)}))) AS message_id, lower(substring(hex(SHA256(concat(${text(c.id)}, toString(number)))), 1, 32)) AS to_hash,
             ${h(1)} % 100 AS h_server, ${serverIndex} AS s,
             arrayElement(${texts(SERVERS.map((x) => x.kind))}, s) AS server_kind, arrayElement(${texts(SERVERS.map((x) => x.id))}, s) AS server_id,
             arrayElement(${texts(SERVERS.map((x) => x.receipts))}, s) AS receipts,
             arrayElement(${numbers(SERVERS.map((x) => x.sendMs[0]))}, s) + ${h(2)} % arrayElement(${numbers(SERVERS.map((x) => x.sendMs[1] - x.sendMs[0]))}, s) AS send_ms,
             ${h(3)} % 1000 AS r, ${h(4)} % 100 AS h_carrier, ${carrier} AS carrier,
             ${h(5)} % 5000 AS queued_ms, 1000 + ${h(6)} % 19000 AS dr,
             arrayElement(if(server_kind = 'smtp', ${texts(CODES.smtp!)}, ${texts(CODES.proxy!)}), 1 + ${h(7)} % 10) AS app_code,
             arrayElement(if(receipts = 'vonage', ${texts(CODES.vonage!)}, ${texts(CODES.twilio!)}), 1 + ${h(8)} % 10) AS receipt_code,
             if(${h(9)} % 2 = 0, 'failed', 'undelivered') AS receipt_status,
             server_kind != 'api' AND r >= 25 AND r < 85 AS app_failed,
             if(app_failed, concat(server_kind, ':', app_code), concat(receipts, ':', receipt_code)) AS failure_key,
             ${failed} AND has(${texts(retryable)}, failure_key) AND ${h(10)} % 100 < 60 AS retried,
             ${h(11)} % 10 AS h_retry,
             if(app_failed, send_ms + 1, dr) + 30000 AS retry_at,
             arrayConcat(
               [${report("0", "if(r < 5, 'queued', 'sent')", "'app'", "''", 1, 0)}],
               if(app_failed, [${report("send_ms + 1", "'failed'", "'app'", "app_code", 1, 0)}], []),
               if(${receiptFailed}, [${report("dr", "receipt_status", "receipts", "receipt_code", 1, 1)}], []),
               if(r >= 140 AND r < 150, [${report("dr", "'undelivered'", "receipts", "receipt_code", 1, 1)}, ${report("dr + 5000", "'delivered'", "receipts", "''", 1, 1)}], []),
               if(r >= 150, [${report("dr", "'delivered'", "receipts", "''", 1, 1)}], []),
               if(r >= 150 AND ${h(12)} % 100 < 3, [${report("dr", "'delivered'", "receipts", "''", 1, 1)}], []),
               if(r >= 150 AND ${h(13)} % 100 < 5, [${report("dr + 1000", "'sent'", "receipts", "''", 1, 1)}], []),
               if(retried, [${report("retry_at", "'sent'", "'app'", "''", 2, 0)}], []),
               if(retried AND h_retry >= 1 AND h_retry < 8, [${report("retry_at + dr", "'delivered'", "receipts", "''", 2, 1)}], []),
               if(retried AND h_retry >= 8 AND app_failed, [${report("retry_at + send_ms + 1", "'failed'", "'app'", "app_code", 2, 0)}], []),
               if(retried AND h_retry >= 8 AND NOT app_failed, [${report("retry_at + dr", "receipt_status", "receipts", "receipt_code", 2, 1)}], [])
             ) AS reports
      FROM numbers(${plan.messagesPerCampaign})
    )
    ARRAY JOIN reports AS rep
    WHERE tupleElement(rep, 6) = ${phase}
    SETTINGS insert_deduplicate = 0`.replace(
    // The error's namespace: the gateway's or proxy's for the app's reports, the provider's for receipts.
    /error_key/g,
    "concat(if(tupleElement(rep, 3) = 'app', server_kind, tupleElement(rep, 3)), ':', tupleElement(rep, 4))",
  );
}

/** The campaigns' lifecycle reports: created, started and, except for a running one, completed. */
function campaignsSql(db: Database, plan: SmsLoadPlan): string {
  const rows = plan.campaigns.flatMap((c, i) => {
    const lifecycle: [string, number][] = [
      ["created", c.startMs - 60_000],
      ["started", c.startMs],
    ];
    if (!c.running) lifecycle.push(["completed", c.startMs + c.spanMs + 60_000]);
    const user = ["ann", "bob", "cho"][i % 3]!;
    return lifecycle.map(
      ([status, ms]) =>
        `(${ms}, map('campaign_id', ${text(c.id)}, 'name', ${text(`Bench campaign ${i + 1}`)}, 'total', '${plan.messagesPerCampaign}', 'user', ${text(user)}, 'status', ${text(status)}))`,
    );
  });
  return `
    INSERT INTO ${db.table("events")} (tenant, id, ts, received_at, source, type, severity, agent, batch_id, attrs, body)
    SELECT ${text(TENANT)}, generateUUIDv4(tupleElement(row, 1)), fromUnixTimestamp64Milli(toInt64(tupleElement(row, 1)), 'UTC') AS ts, ts,
           'sms', 'sms.campaign', 'info', ${text(AGENT)}, '', tupleElement(row, 2), ''
    FROM (SELECT arrayJoin([${rows.join(", ")}]) AS row)
    SETTINGS insert_deduplicate = 0`;
}

/** A health sample per server per minute over the whole load (px-1 down for an hour), and the status changes that go with it. */
function serversSql(db: Database, plan: SmsLoadPlan): string[] {
  const first = Math.min(...plan.campaigns.map((c) => c.startMs)) - 3_600_000;
  const minutes = Math.ceil((plan.nowMs - first) / 60_000);
  const downFrom = first + 3_600_000;
  const downTo = downFrom + 3_600_000;
  const samples = `
    INSERT INTO ${db.table("events")} (tenant, id, ts, received_at, source, type, severity, agent, batch_id, attrs, body)
    SELECT ${text(TENANT)}, generateUUIDv4(number), ts, ts, 'sms', 'sms.server', if(status = 'down', 'error', 'info'), ${text(AGENT)}, '',
           map('server_kind', server_kind, 'server_id', server_id, 'status', status, 'latency_ms', if(status = 'down', '0', toString(40 + cityHash64(number) % 400)),
               'error', if(status = 'down', 'connect ECONNREFUSED', '')), ''
    FROM (
      SELECT number, intDiv(number, ${SERVERS.length}) AS minute, number % ${SERVERS.length} + 1 AS s,
             arrayElement(${texts(SERVERS.map((x) => x.kind))}, s) AS server_kind, arrayElement(${texts(SERVERS.map((x) => x.id))}, s) AS server_id,
             toInt64(${first} + minute * 60000) AS ms, fromUnixTimestamp64Milli(ms, 'UTC') AS ts,
             if(server_id = 'px-1' AND ms >= ${downFrom} AND ms < ${downTo}, 'down', 'up') AS status
      FROM numbers(${minutes * SERVERS.length})
    )
    SETTINGS insert_deduplicate = 0`;
  const changes: [number, string, string, string, string, string][] = SERVERS.map((s) => [first, s.kind, s.id, "up", "unknown", ""]);
  changes.push([downFrom, "proxy", "px-1", "down", "up", "connect ECONNREFUSED"], [downTo, "proxy", "px-1", "up", "down", ""]);
  const changeRows = changes.map(
    ([ms, kind, id, status, previous, error]) =>
      `(${ms}, map('server_kind', ${text(kind)}, 'server_id', ${text(id)}, 'status', ${text(status)}, 'previous_status', ${text(previous)}, 'error', ${text(error)}))`,
  );
  const statusChanges = `
    INSERT INTO ${db.table("events")} (tenant, id, ts, received_at, source, type, severity, agent, batch_id, attrs, body)
    SELECT ${text(TENANT)}, generateUUIDv4(tupleElement(row, 1)), fromUnixTimestamp64Milli(toInt64(tupleElement(row, 1)), 'UTC') AS ts, ts,
           'sms', 'sms.server_status', if(tupleElement(row, 2)['status'] = 'down', 'error', 'notice'), ${text(AGENT)}, '', tupleElement(row, 2), ''
    FROM (SELECT arrayJoin([${changeRows.join(", ")}]) AS row)
    SETTINGS insert_deduplicate = 0`;
  return [samples, statusChanges];
}

async function main(): Promise<void> {
  const [dataDir, planJson] = process.argv.slice(2);
  if (!dataDir || !planJson) throw new Error("usage: sms-load.ts <data-dir> <plan JSON>");
  const plan = JSON.parse(planJson) as SmsLoadPlan;
  const settings = collectorConfigSchema.parse({});
  const client = createStorageClient({ kind: "embedded", dataDir, database: settings.clickhouseDatabase });
  const db = openDatabase(client, settings.clickhouseDatabase);
  const started = performance.now();
  await db.command(campaignsSql(db, plan));
  for (const sql of serversSql(db, plan)) await db.command(sql);
  for (let campaign = 0; campaign < plan.campaigns.length; campaign++) {
    await db.command(messagesSql(db, plan, campaign, 0));
    await db.command(messagesSql(db, plan, campaign, 1));
    process.stderr.write(`  loaded campaign ${campaign + 1}/${plan.campaigns.length}\n`);
  }
  const seconds = (performance.now() - started) / 1000;
  const [events] = await db.query<{ n: number }>(`SELECT count() AS n FROM ${db.table("events")} WHERE tenant = {tenant:String}`, { tenant: TENANT });
  const perCampaign = await db.query<{ campaign_id: string; n: number }>(
    `SELECT campaign_id, count() AS n FROM ${db.table("sms_messages")} FINAL WHERE tenant = {tenant:String} GROUP BY campaign_id`,
    { tenant: TENANT },
  );
  const [parts] = await db.query<{ n: number }>(
    `SELECT count() AS n FROM system.parts WHERE database = {db:String} AND table = 'sms_messages' AND active`,
    { db: settings.clickhouseDatabase },
  );
  await client.close();
  process.stdout.write(
    `${JSON.stringify({ events: Number(events?.n ?? 0), seconds, messages: Object.fromEntries(perCampaign.map((row) => [row.campaign_id, Number(row.n)])), message_parts: Number(parts?.n ?? 0) })}\n`,
  );
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`sms load failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
