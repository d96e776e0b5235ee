/**
 * Small integers for what the hot path handles: an op kind, a read's result and a mode
 * are stored in typed arrays and compared as numbers, and become the contract's strings
 * only when an event is built.
 */

/** Index into the contract's OPS. */
export const OP_CACHE_READ = 0;
export const OP_CACHE_WRITE = 1;
export const OP_DB_READ = 2;
export const OP_DB_WRITE = 3;
export const OP_HYBRID = 4;
export const OP_KINDS = 5;

export const RESULT_NONE = 0;
export const RESULT_HIT = 1;
export const RESULT_MISS = 2;
export const RESULT_PARTIAL = 3;
/** Or-ed into a result: the wrapped client's call failed. */
export const RESULT_ERROR = 4;
export const RESULT_NAMES = [undefined, "hit", "miss", "partial"] as const;

/** Index into the contract's MODES. */
export const MODE_DETAILED = 0;
export const MODE_SAMPLED = 1;
export const MODE_AGGREGATED = 2;
export const MODE_DISABLED = 3;
