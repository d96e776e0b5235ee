import { fileURLToPath } from "node:url";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Each test file runs in its own process: chDB binds one data directory per process.
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 90_000,
    // Real processes and ClickHouse on a 2-core machine: two files at a time.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: "node",
          include: ["plugins/*/test/**/*.test.ts", "collector/test/**/*.test.ts", "agent/test/**/*.test.ts", "test/**/*.test.ts"],
        },
      },
      {
        // The dashboard's components in a simulated DOM (jsdom >= 27 needs Node 22; happy-dom runs on 20).
        extends: true,
        plugins: [svelte({ configFile: fileURLToPath(new URL("dashboard/svelte.config.js", import.meta.url)) })],
        // Svelte's client runtime (mount, effects), not its server renderer.
        resolve: { conditions: ["browser"] },
        test: {
          name: "dashboard",
          include: ["dashboard/test/**/*.test.ts"],
          environment: "happy-dom",
        },
      },
    ],
  },
});
