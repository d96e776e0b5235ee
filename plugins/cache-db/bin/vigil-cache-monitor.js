#!/usr/bin/env node
import { main } from "../dist/tui/cli.js";

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`vigil-cache-monitor: ${error?.message ?? error}\n`);
    process.exit(1);
  },
);
