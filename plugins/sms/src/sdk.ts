/**
 * # Vigil SMS tracker — in-app SDK
 *
 * Reports an SMS-sending app's campaigns, messages and sending servers to the local
 * Vigil agent, which ships them to the collector's campaign, server, carrier and error
 * analysis.
 *
 * ```ts
 * import { createSmsTracker } from "@vigil/plugin-sms/sdk";
 *
 * const sms = createSmsTracker({ app: "campaigns", hashSalt: process.env.SMS_HASH_SALT });
 * sms.trackCampaign({ id: "spring-sale", name: "Spring sale", total: 2, user: "marketing", status: "started" });
 * sms.trackMessage({ campaignId: "spring-sale", messageId: "SM123", to: "+1 555 010 0199", carrier: "Verizon",
 *   server: { kind: "api", id: "twilio-main" }, status: "sent", sendMs: 180 });
 * sms.trackServer({ kind: "api", id: "twilio-main", status: "up", latencyMs: 180 });
 * await sms.close();   // on shutdown: the last events are posted
 * ```
 *
 * - **Phone numbers never leave the app**: `to` is normalised and hashed (`to_hash`,
 *   HMAC-SHA256 with `hashSalt`, or SHA-256 without), and only the hash is sent.
 * - **Never in the app's way**: calls are synchronous, do no I/O and never throw; bad
 *   input is counted (`invalid()`) and said as a `VIGIL_SMS_INVALID_INPUT` warning.
 * - **Best effort to the agent**: events wait in memory (at most `maxBacklog`, the oldest
 *   dropped and counted by `dropped()`) and are posted every `flushIntervalMs`, or at
 *   once when 1000 are waiting.
 */
export { createSmsTracker } from "./sdk/tracker.js";
export { hashPhoneNumber, normalisePhoneNumber } from "./phone.js";
export { DEFAULT_AGENT_URL } from "@vigil/plugin-sdk";
export type { CampaignReport, MessageReport, ServerReport, SmsEvent, SmsTracker, SmsTrackerOptions } from "./sdk/types.js";
export type { CampaignAttrs, CampaignStatus, MessageAttrs, MessageStatus, ServerAttrs, ServerKind, ServerStatus, ServerStatusAttrs } from "./contract.js";
