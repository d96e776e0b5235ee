#!/usr/bin/env node
import { main } from "../dist/cli.js";

main().catch((error) => {
  process.stderr.write(`vigil-collector: ${error?.stack ?? error}\n`);
  process.exit(1);
});
