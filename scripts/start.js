#!/usr/bin/env node
// `pnpm start`: runs the whole stack on the embedded store from a fresh clone.
// Today the stack is the collector; the agent joins it when it lands.
// Extra arguments go to the collector: `pnpm start --port 4700`.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const collectorBin = fileURLToPath(new URL("../collector/bin/vigil-collector.js", import.meta.url));
const child = spawn(process.execPath, [collectorBin, ...process.argv.slice(2)], { stdio: "inherit" });

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
