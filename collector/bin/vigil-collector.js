#!/usr/bin/env node
import { main } from "../dist/cli.js";

main().catch((error) => {
  // A start-up failure is explained by its message; the stack only with VIGIL_DEBUG=1.
  process.stderr.write(`vigil-collector: ${(process.env.VIGIL_DEBUG === "1" ? error?.stack : error?.message) ?? error}\n`);
  process.exit(1);
});
