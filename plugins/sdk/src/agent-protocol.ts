import { z } from "zod";

/**
 * The control half of the agent ↔ collector protocol (/v1/agents/*): the remote
 * configuration an admin sets for an agent, and the heartbeat an agent reports.
 * Both sides import these schemas; nothing else defines them.
 */

export const AGENT_ID_HEADER = "vigil-agent-id";
export const AGENT_NAME_HEADER = "vigil-agent-name";
export const AGENT_ID_PATTERN = /^[A-Za-z0-9._:-]{8,64}$/;
export const PLUGIN_ID_PATTERN = /^[a-z][a-z0-9_-]{0,63}$/;

/**
 * Remote configuration, merged over the agent's file: for each plugin id, `config` is
 * deep-merged over the file's (objects merge, arrays and values replace), `enabled: false`
 * stops the plugin, and an id the file does not have adds a plugin (then `use` is required).
 */
export const remoteConfigSchema = z
  .object({
    plugins: z
      .record(
        z.string().regex(PLUGIN_ID_PATTERN, "plugin ids are lower-case letters, digits, '_' or '-'"),
        z
          .object({
            use: z.string().min(1).optional().describe("Package to load, for a plugin the file does not have."),
            enabled: z.boolean().optional().describe("false stops the plugin; true starts it again."),
            config: z.record(z.string(), z.unknown()).optional().describe("Merged over the file's config of this plugin."),
          })
          .strict(),
      )
      .default({}),
  })
  .strict();

export type RemoteConfig = z.output<typeof remoteConfigSchema>;

/** What the collector sends on the push channel and from GET /v1/agents/config. */
export interface VersionedConfig {
  /** 0 when no remote configuration was ever set. */
  version: number;
  config: RemoteConfig;
}

/** A command pushed to one agent, e.g. `{name: "run-job", args: {job: "daily"}}`. */
export const agentCommandSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, "command names are lower-case words joined by '-'"),
    /** The plugin instance it is for; every plugin when absent. */
    plugin: z.string().regex(PLUGIN_ID_PATTERN).optional(),
    args: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type AgentCommand = z.output<typeof agentCommandSchema>;

/**
 * The command the agent itself gives every plugin each time its push channel (re)connects:
 * whatever the collector pushed while it was not connected is lost, so a plugin that
 * follows collector-side state re-reads it (createCollectorSync does).
 */
export const PUSH_CONNECTED_COMMAND = "push-connected";

export const heartbeatSchema = z
  .object({
    id: z.string().regex(AGENT_ID_PATTERN, "agent id is 8–64 characters of letters, digits, '.', '_', ':' or '-'"),
    name: z.string().min(1).max(128),
    version: z.string().max(64),
    uptime_s: z.number().nonnegative(),
    config_version: z.number().int().nonnegative().describe("Remote config version in force."),
    config_error: z.string().max(4000).nullable().default(null).describe("Why the newest remote config was refused, if it was."),
    rejected_config_version: z.number().int().nonnegative().nullable().default(null),
    queue: z.object({ bytes: z.number().nonnegative(), records: z.number().nonnegative() }).strict(),
    plugins: z
      .array(
        z
          .object({
            id: z.string().max(64),
            use: z.string().max(256),
            state: z.enum(["starting", "ok", "degraded", "failing", "stopped"]),
            message: z.string().max(1000).optional(),
            restarts: z.number().int().nonnegative().default(0),
            details: z
              .record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()]))
              .refine((value) => Object.keys(value).length <= 32, "a plugin reports at most 32 details")
              .optional()
              .describe("The plugin's status details (PluginStatus.details)."),
          })
          .strict(),
      )
      .max(256),
  })
  .strict();

export type Heartbeat = z.input<typeof heartbeatSchema>;
