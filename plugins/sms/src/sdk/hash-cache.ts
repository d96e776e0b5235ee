import { hashPhoneNumber } from "../phone.js";

/**
 * Numbers hashed recently, since an app reports each message several times (queued,
 * sent, delivered, a retry) and an HMAC costs microseconds while a lookup costs tens of
 * nanoseconds. Two generations of at most GENERATION_SIZE entries each: a hit in the old
 * one moves to the young one, and when the young one is full it becomes the old one. So
 * the numbers in use stay, memory stays bounded, and no per-entry bookkeeping is needed.
 */
const GENERATION_SIZE = 16_384;

export function createPhoneHasher(salt: string | undefined): (to: string) => string {
  let young = new Map<string, string>();
  let old = new Map<string, string>();
  return function hash(to: string): string {
    let hashed = young.get(to);
    if (hashed !== undefined) return hashed;
    hashed = old.get(to) ?? hashPhoneNumber(to, salt);
    if (young.size >= GENERATION_SIZE) {
      old = young;
      young = new Map();
    }
    young.set(to, hashed);
    return hashed;
  };
}
