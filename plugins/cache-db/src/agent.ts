import { z } from "zod";
import { definePlugin, durationSchema } from "@vigil/plugin-sdk";
import { createSettingsRelay } from "./settings-relay.js";

export { PUBLISHED_NAME, type RelayDetails } from "./settings-relay.js";

/** The agent part's configuration: the settings themselves come from the collector. */
export const cacheDbConfigSchema = z
  .object({
    sync_interval: durationSchema({ min: 1000 })
      .prefault("300s")
      .describe("Backup settings sync with the collector; pushed changes apply at once, this heals a missed push."),
  })
  .strict();

export type CacheDbConfig = z.output<typeof cacheDbConfigSchema>;

export default definePlugin({
  name: "cache-db",
  metadata: {
    stability: "alpha",
    // The events come from the apps' SDKs, which hold them in memory (a bounded backlog
    // while the agent is away; drops are counted and reported as dropped_events) until
    // the intake, durable from there on, accepts them.
    delivery: "best_effort",
    description:
      "Relays the tenant's cache/DB monitor settings (the switch, sampling thresholds, buffer size) from the collector to the apps on this host, at GET /v1/plugins/<id>/settings of the agent's intake.",
  },
  configSchema: cacheDbConfigSchema,
  create: createSettingsRelay,
});
