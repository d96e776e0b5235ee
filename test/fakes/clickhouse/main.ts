/**
 * The fake ClickHouse as a process of its own (chDB binds one data directory per process,
 * so a storage shared by several collector processes lives in a process of its own too).
 *
 * Usage: node --import tsx test/fakes/clickhouse/main.ts --data-dir DIR [--port N] [--host ADDR]
 *          [--user NAME:PASSWORD]… [--tls-cert FILE --tls-key FILE] [--keep-alive-timeout SECONDS]
 *
 * Prints one JSON line `{"msg":"fake clickhouse listening","url":…,"port":…}` on stdout once
 * it listens; SIGTERM or SIGINT closes it and exits 0.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startFakeClickHouse } from "./server.js";

const { values } = parseArgs({
  options: {
    "data-dir": { type: "string" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    user: { type: "string", multiple: true },
    "tls-cert": { type: "string" },
    "tls-key": { type: "string" },
    "keep-alive-timeout": { type: "string" },
  },
  strict: true,
});
if (!values["data-dir"]) {
  process.stderr.write("fake clickhouse: --data-dir is required\n");
  process.exit(2);
}
const users = values.user
  ? Object.fromEntries(
      values.user.map((pair) => {
        const colon = pair.indexOf(":");
        return colon < 0 ? [pair, ""] : [pair.slice(0, colon), pair.slice(colon + 1)];
      }),
    )
  : undefined;
const fake = await startFakeClickHouse({
  dataDir: values["data-dir"],
  port: Number(values.port),
  host: values.host,
  ...(users ? { users } : {}),
  ...(values["tls-cert"] && values["tls-key"] ? { tls: { cert: readFileSync(values["tls-cert"]), key: readFileSync(values["tls-key"]) } } : {}),
  ...(values["keep-alive-timeout"] ? { keepAliveTimeoutSeconds: Number(values["keep-alive-timeout"]) } : {}),
});
process.stdout.write(`${JSON.stringify({ msg: "fake clickhouse listening", url: fake.url, port: fake.port })}\n`);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) process.exit(130);
  stopping = true;
  await fake.close();
  process.exit(0);
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
