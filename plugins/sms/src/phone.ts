import { createHash, createHmac } from "node:crypto";

/** Hex characters kept of the digest: 128 bits, plenty to tell a campaign's numbers apart. */
const HASH_HEX_LENGTH = 32;

/**
 * A phone number reduced to the digits that identify it, so every writer of the same
 * number agrees: the app's "+1 (555) 010-9999", Twilio's E.164 "+15550109999" and
 * Vonage's msisdn "15550109999" all become "15550109999". Separators and a leading "+"
 * are dropped; a leading "00" (the international call prefix) is dropped too, since an
 * E.164 number never starts with 0. A national number ("0555 …") cannot be told apart
 * from its international form without knowing the country, so apps should send E.164.
 */
export function normalisePhoneNumber(number: string): string {
  const digits = number.replace(/\D/g, "");
  return number.trim().startsWith("+") ? digits : digits.replace(/^00/, "");
}

/**
 * What leaves the app (and the agent) instead of a phone number: SHA-256 of the
 * normalised number, hex, first 32 characters. With `salt`, HMAC-SHA-256 keyed by the
 * salt, so hashes cannot be reversed by hashing every possible number; the app and the
 * agent's webhook receivers must then use the same salt. A number without digits hashes to "".
 */
export function hashPhoneNumber(number: string, salt?: string): string {
  const normalised = normalisePhoneNumber(number);
  if (normalised === "") return "";
  const digest = salt ? createHmac("sha256", salt) : createHash("sha256");
  return digest.update(normalised).digest("hex").slice(0, HASH_HEX_LENGTH);
}
