import { z } from "zod";

export const VONAGE_SIGNATURE_METHODS = ["md5hash", "md5", "sha1", "sha256", "sha512"] as const;
export type VonageSignatureMethod = (typeof VONAGE_SIGNATURE_METHODS)[number];

const LISTEN_MESSAGE = 'listen must be "host:port", e.g. "0.0.0.0:4610" or "[::]:4610"';
const MAX_BODY_LIMIT = 1024 * 1024;

export interface ListenAddress {
  host: string;
  port: number;
}

/** `"0.0.0.0:4610"` → `{host: "0.0.0.0", port: 4610}`; IPv6 hosts in brackets: `"[::1]:4610"`. */
export function parseListen(value: string): ListenAddress | undefined {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value.trim());
  if (!match) return undefined;
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  return { host: match[1] ?? match[2]!, port };
}

const secret = (name: string) =>
  z
    .string({ error: `${name} must be a string: write "\${ENV_VAR}" to read it from the agent's environment` })
    .trim()
    .min(1, `${name} must not be empty`);

const twilioSchema = z
  .object({
    auth_token: secret("twilio.auth_token").describe(
      'The Twilio account\'s Auth Token (Console → Account info): the key of X-Twilio-Signature. Write "${TWILIO_AUTH_TOKEN}" to keep it out of the file.',
    ),
  })
  .strict();

const vonageSchema = z
  .object({
    signature_secret: secret("vonage.signature_secret")
      .optional()
      .describe("The account's signature secret (Dashboard → API settings). When set, every receipt must carry a valid `sig`; unset, receipts are accepted unsigned."),
    signature_method: z
      .enum(VONAGE_SIGNATURE_METHODS, { error: `vonage.signature_method must be one of ${VONAGE_SIGNATURE_METHODS.join(", ")}` })
      .default("md5hash")
      .describe('The signature method chosen in the dashboard: "md5hash" (Vonage\'s default), or the HMAC "md5", "sha1", "sha256", "sha512".'),
  })
  .strict();

export const webhooksConfigSchema = z
  .object({
    listen: z
      .string({ error: LISTEN_MESSAGE })
      .refine((value) => parseListen(value) !== undefined, LISTEN_MESSAGE)
      .default("0.0.0.0:4610")
      .describe("Address of the receipts' own HTTP server, apart from the agent's local intake: providers call it from the internet (through your reverse proxy)."),
    public_url: z
      .url({ protocol: /^https?$/, error: "public_url must be an absolute http:// or https:// URL, e.g. https://hooks.example.com/sms" })
      .refine((value) => {
        // Not a URL at all: the check above has said so already.
        if (!URL.canParse(value)) return true;
        const url = new URL(value);
        return url.search === "" && url.hash === "" && url.username === "" && url.password === "";
      }, "public_url is a base URL: no query, fragment or credentials")
      .transform((value) => value.replace(/\/+$/, ""))
      .optional()
      .describe(
        "The base URL providers call, e.g. https://hooks.example.com/sms; routes hang under it (…/twilio/status). Required with twilio: Twilio signs the exact URL it called.",
      ),
    twilio: twilioSchema.optional().describe("Receive Twilio status callbacks at POST <public_url>/twilio/status."),
    vonage: vonageSchema.optional().describe("Receive Vonage SMS delivery receipts at GET|POST <public_url>/vonage/receipt."),
    hash_salt: z
      .string({ error: "hash_salt must be a string" })
      .min(1, "hash_salt must not be empty: leave it out for unsalted hashes")
      .optional()
      .describe("The salt the sending app gives the SDK for phone-number hashes, so a receipt's to_hash matches the app's. Leave out when the app uses none."),
    max_body_bytes: z
      .number({ error: "max_body_bytes must be a whole number of bytes" })
      .int("max_body_bytes must be a whole number of bytes")
      .min(1024, "max_body_bytes must be at least 1024")
      .max(MAX_BODY_LIMIT, `max_body_bytes is at most ${MAX_BODY_LIMIT}`)
      .default(64 * 1024)
      .describe("Largest request body read; a larger one is answered 413. Receipts are well under 2 KiB."),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (!config.twilio && !config.vonage) {
      ctx.addIssue({ code: "custom", path: [], message: "configure at least one provider: twilio (auth_token) and/or vonage" });
    }
    if (config.twilio && config.public_url === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["public_url"],
        message: "public_url is required with twilio: the base URL Twilio calls (e.g. https://hooks.example.com/sms), because the signature covers the exact URL",
      });
    }
  });

export type WebhooksConfig = z.output<typeof webhooksConfigSchema>;
