import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Where `pnpm dev` sends API calls: a collector started with `pnpm start` by default.
const collector = process.env.VIGIL_COLLECTOR_URL ?? "http://127.0.0.1:4600";

export default defineConfig({
  plugins: [svelte()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // Node 20-era evergreen browsers; keeps the output free of down-level helpers.
    target: "es2022",
    // Hashed file names under /assets/: the collector may cache them forever.
    assetsDir: "assets",
  },
  server: {
    // Same origin as the app in dev too, so the session cookie (SameSite=Strict) works.
    proxy: {
      "/api/live": { target: collector.replace(/^http/, "ws"), ws: true },
      "/api": collector,
      "/v1": collector,
      "/health": collector,
      "/metrics": collector,
    },
  },
});
