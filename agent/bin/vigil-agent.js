#!/usr/bin/env node
import { main } from "../dist/cli.js";

main().then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error) => {
    process.stderr.write(`vigil-agent: ${error?.message ?? error}\n`);
    process.exit(1);
  },
);
