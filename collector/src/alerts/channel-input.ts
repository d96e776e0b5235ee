import { z } from "zod";
import { channelKinds, channelType, type ChannelKind } from "./channels/index.js";
import type { ChannelSpec } from "./engine.js";
import type { SecretBox } from "./secrets.js";

/**
 * A channel as the API and rule files take it, and its split into what is stored in the
 * clear and what is sealed. On a replace, secret fields left out keep their stored value,
 * so editing a channel's name does not require pasting its webhook URL again.
 */
export const channelInputSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "id is 1–64 letters, digits, '_' or '-'").optional(),
    name: z.string().trim().min(1, "name is required").max(200),
    kind: z.enum(channelKinds as [ChannelKind, ...ChannelKind[]], { error: `kind must be one of ${channelKinds.join(", ")}` }),
    config: z.record(z.string(), z.unknown(), { error: "config must be an object with the settings of this kind of channel" }).default({}),
  })
  .strict();

export type ChannelInput = z.output<typeof channelInputSchema>;

export interface PreparedChannel {
  spec: ChannelSpec;
  secrets: string;
}

export class ChannelConfigError extends Error {
  constructor(readonly issues: { path: PropertyKey[]; message: string }[]) {
    super(issues.map((i) => `${i.path.map(String).join(".")}: ${i.message}`).join("; "));
  }
}

export function prepareChannel(input: ChannelInput, box: SecretBox, origin: string, previous?: { spec: ChannelSpec; secrets: string }): PreparedChannel {
  const type = channelType(input.kind);
  const kept = previous && previous.spec.kind === input.kind ? box.open(previous.secrets) : {};
  const merged = { ...kept, ...input.config };
  const parsed = type.configSchema.safeParse(merged);
  if (!parsed.success) throw new ChannelConfigError(parsed.error.issues.map((i) => ({ path: ["config", ...i.path], message: i.message })));
  const clear: Record<string, unknown> = {};
  const secret: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(parsed.data)) {
    if (value === undefined) continue;
    (type.secretFields.includes(key) ? secret : clear)[key] = value;
  }
  return {
    spec: { name: input.name, kind: input.kind, config: clear, secret_fields: Object.keys(secret).sort(), origin },
    secrets: Object.keys(secret).length ? box.seal(secret) : "",
  };
}
