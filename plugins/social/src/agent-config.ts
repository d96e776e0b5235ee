import { z } from "zod";
import { durationSchema } from "@vigil/plugin-sdk";
import { credentialsSchema as redditCredentialsSchema } from "@vigil/plugin-reddit";
import { PLATFORMS } from "./contract.js";

/** Backup sync of the job list with the collector, seconds (pushed changes apply at once). */
export const DEFAULT_SYNC_INTERVAL_S = 300;

const platformUrls = z
  .partialRecord(z.enum(PLATFORMS, { error: `base_urls are keyed by platform: ${PLATFORMS.join(", ")}` }), z.url({ error: "expected a URL like \"http://127.0.0.1:8080\"" }))
  .default({})
  .describe('API origin per platform, e.g. { youtube: "http://127.0.0.1:8080" } (a mirror, a proxy, or a test server); each adapter\'s public origin otherwise.');

const credentials = z
  .object({
    x: z
      .object({ bearer_token: z.string().min(1).describe("An X app's bearer token (recent search).") })
      .strict()
      .optional()
      .describe("X (recent search needs an app's bearer token)."),
    bluesky: z
      .object({
        identifier: z.string().min(1).describe("Handle or DID of the account."),
        password: z.string().min(1).describe("An app password of that account (not the account password)."),
        service: z.url().optional().describe("The account's PDS; https://bsky.social by default."),
      })
      .strict()
      .optional()
      .describe("Bluesky: signs in for search and for authors shown to signed-in users only."),
    reddit: redditCredentialsSchema.optional().describe("Reddit: an app's credentials under snoowrap's field names, as the reddit plugin takes them."),
  })
  .strict()
  .default({})
  .describe("Platform credentials; platforms not listed here are read without any.");

/**
 * The agent part's configuration. The jobs themselves are not here: they come from the
 * collector (`GET /api/monitoring/sync`).
 */
export const socialConfigSchema = z
  .object({
    sync_interval: durationSchema({ min: 1000 })
      .prefault(`${DEFAULT_SYNC_INTERVAL_S}s`)
      .describe("Backup read of the job list from the collector; pushed changes apply at once, this heals a missed push."),
    run_timeout: durationSchema()
      .prefault("5m")
      .describe("Longest a run may take; a job's period (the time from a run's slot to its next) caps it, so a run never reaches the job's next slot."),
    max_concurrent_runs: z.number().int().min(1).max(256).default(32).describe(
        "Scheduled runs in progress at once at most; further due runs wait their turn (and start late). Runs wait on the network, not the CPU, so jobs that share a slot (many at :00) start together up to this many. A run asked for through execute starts at once regardless.",
      ),
    seen_per_job: z
      .number()
      .int()
      .min(1000, "seen_per_job is at least 1000 (a run returns up to max_items_per_run ≤ 1000 items)")
      .max(100_000)
      .default(5000)
      .describe("Item ids remembered per job (the newest), so an item is new once, across restarts."),
    base_urls: platformUrls,
    credentials,
    run_due_once: z
      .boolean()
      .default(false)
      .describe("Standalone (vigil-agent jobs run --once): run every due job once, report it in the status, and schedule nothing."),
    due_check_interval: durationSchema()
      .optional()
      .describe("Standalone loop (vigil-agent jobs run --interval): look for due jobs at this cadence instead of waking at each job's exact time."),
  })
  .strict();

export type SocialConfig = z.output<typeof socialConfigSchema>;
