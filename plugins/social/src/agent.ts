import { definePlugin } from "@vigil/plugin-sdk";
import { socialConfigSchema } from "./agent-config.js";
import { createSocialMonitor } from "./monitor.js";

export { socialConfigSchema, DEFAULT_SYNC_INTERVAL_S, type SocialConfig } from "./agent-config.js";
export * from "./contract.js";
export { JOBS_PUBLISHED, type PublishedJob } from "./monitor.js";
export type { RunEventAttrs } from "./runner.js";

export default definePlugin({
  name: "social",
  metadata: {
    stability: "alpha",
    delivery: "at_least_once",
    description:
      "Runs the tenant's social-platform monitoring jobs (YouTube, Mastodon, Bluesky, Hacker News, RSS/Atom, Reddit, X) on their schedules; each run is a social.run and each item new to its job a social.item.",
  },
  configSchema: socialConfigSchema,
  create: createSocialMonitor,
});
