import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["plugins/*/test/**/*.test.ts", "collector/test/**/*.test.ts", "agent/test/**/*.test.ts", "test/**/*.test.ts"],
    // Each test file runs in its own process: chDB binds one data directory per process.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // Real processes and ClickHouse on a 2-core machine: two files at a time.
    maxWorkers: 2,
  },
});
