/**
 * Limits on what one event and one batch may hold. Agents enforce them before an event
 * is queued, the collector enforces them again at ingest, so both sides agree on what
 * "too big" means and a user sees the same message wherever the limit bites.
 */

/** Largest request body the collector reads, compressed or not (bytes). */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Largest body after gunzip (bytes); guards against decompression bombs. */
export const MAX_BATCH_DECOMPRESSED_BYTES = 32 * 1024 * 1024;
/** Most events one batch may carry. */
export const MAX_EVENTS_PER_BATCH = 10_000;
/** Most attributes one event may carry. */
export const MAX_ATTRS_PER_EVENT = 64;
/** Longest attribute key (characters). */
export const MAX_ATTR_KEY_LENGTH = 128;
/** Longest string attribute value (characters). */
export const MAX_ATTR_VALUE_LENGTH = 4096;
/** Longest event body (characters). */
export const MAX_BODY_LENGTH = 16 * 1024;
/** Longest `source` (characters). */
export const MAX_SOURCE_LENGTH = 64;
/** Longest `type` (characters). */
export const MAX_TYPE_LENGTH = 128;
