import { z } from "zod";
import { MAX_BATCH_DECOMPRESSED_BYTES, PLUGIN_ID_PATTERN, durationSchema } from "@vigil/plugin-sdk";

const byteSize = z
  .union([z.number().int().positive(), z.string()], { error: 'expected a size like "256MB" or a number of bytes' })
  .transform((value, ctx) => {
    if (typeof value === "number") return value;
    const match = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$/i.exec(value);
    if (!match) {
      ctx.addIssue({ code: "custom", message: 'expected a size like "256MB" or a number of bytes' });
      return z.NEVER;
    }
    const unit = (match[2] ?? "B").toUpperCase();
    const factor: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3 };
    return Math.round(Number(match[1]) * factor[unit]!);
  });

const address = z
  .string()
  .regex(/^[^:\s]+:\d{1,5}$/, 'expected "host:port", e.g. "127.0.0.1:4601"')
  .transform((value) => {
    const at = value.lastIndexOf(":");
    return { host: value.slice(0, at), port: Number(value.slice(at + 1)) };
  });

export const pluginEntrySchema = z
  .object({
    use: z.string().min(1, "use names the plugin package, e.g. \"@vigil/plugin-http-check\"").describe("Package name of the plugin (loaded with import())."),
    id: z.string().regex(PLUGIN_ID_PATTERN, "id is lower-case letters, digits, '_' or '-'").optional().describe("Instance id; defaults to the plugin's name. Unique per agent."),
    enabled: z.boolean().default(true).describe("false keeps the plugin configured but not running."),
    config: z.record(z.string(), z.unknown()).default({}).describe("The plugin's own configuration (see its README)."),
  })
  .strict();

/**
 * The agent's configuration file (YAML, `${ENV}` and `${ENV:-default}` interpolated).
 * Every default lives here.
 */
export const agentConfigSchema = z
  .object({
    collector: z
      .object({
        url: z.url({ error: 'collector.url must be a URL like "http://127.0.0.1:4600"' }).describe("Base URL of the collector."),
        api_key: z.string().min(8, "collector.api_key is required: an API key with the ingest scope").describe("API key (ingest scope) the agent sends with everything."),
        timeout: durationSchema().prefault("30s").describe("Timeout of one request to the collector."),
      })
      .strict(),
    agent: z
      .object({
        name: z.string().min(1).max(128).optional().describe("Shown in the collector; defaults to the host name."),
        data_dir: z.string().min(1).default("./agent-data").describe("Queue, state and the agent id live here."),
      })
      .strict()
      .prefault({}),
    intake: z
      .object({
        enabled: z.boolean().default(true).describe("Serve the local intake (in-app SDKs, status, metrics)."),
        address: address.prefault("127.0.0.1:4601").describe('Listen address "host:port" of the local intake.'),
      })
      .strict()
      .prefault({}),
    queue: z
      .object({
        max_bytes: byteSize.prefault("256MiB").describe("Bound of the on-disk queue."),
        policy: z.enum(["block", "drop_oldest"], { error: 'queue.policy is "block" or "drop_oldest"' }).default("block").describe("What a full queue does: block emitters, or drop the oldest events (counted)."),
      })
      .strict()
      .prefault({}),
    shipper: z
      .object({
        batch_max_events: z.number().int().min(1).max(10_000).default(1000).describe("Events per batch at most."),
        batch_max_bytes: byteSize
          .pipe(z.number().min(1024, "shipper.batch_max_bytes is at least 1KiB").max(MAX_BATCH_DECOMPRESSED_BYTES / 2, `shipper.batch_max_bytes is at most ${MAX_BATCH_DECOMPRESSED_BYTES / 2} bytes (half the collector's MAX_BATCH_DECOMPRESSED_BYTES)`))
          .prefault("1MiB")
          .describe("Uncompressed bytes per batch at most."),
        concurrency: z.number().int().min(1).max(16).default(4).describe("Batches sent to the collector side by side."),
        flush_interval: durationSchema().prefault("1s").describe("Longest wait for a batch to fill."),
        max_backoff: durationSchema().prefault("60s").describe("Ceiling of the retry backoff."),
      })
      .strict()
      .prefault({}),
    config_channel: z
      .object({
        push: z.boolean().default(true).describe("Hold a push connection to the collector for live config changes."),
        backup_poll_seconds: z.number().int().min(1).default(300).describe("Re-fetch the remote config this often, healing a missed push."),
      })
      .strict()
      .prefault({}),
    heartbeat_interval: durationSchema().prefault("15s").describe("How often the agent reports its status to the collector."),
    http: z
      .object({
        user_agent: z.string().optional().describe("User-Agent of plugin requests; defaults to vigil-agent/<version>."),
        base_urls: z.record(z.url(), z.url()).default({}).describe("Origin overrides for plugin requests, e.g. a test server in place of a third-party API."),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(["trace", "debug", "info", "warn", "error", "silent"]).default("info").describe("Log level."),
        format: z.enum(["json", "pretty", "auto"]).default("auto").describe("json lines, pretty, or auto (pretty on a terminal)."),
      })
      .strict()
      .prefault({}),
    plugins: z.array(pluginEntrySchema).default([]).describe("Source plugins to run."),
  })
  .strict();

export type AgentConfig = z.output<typeof agentConfigSchema>;
export type PluginEntry = z.output<typeof pluginEntrySchema>;
