// When a platform that answered 429 allows the next request. Each platform says it its
// own way: Retry-After in seconds or as an HTTP date (RFC 9110; YouTube, feeds), X's
// x-rate-limit-reset in epoch seconds, Mastodon's x-ratelimit-reset as an ISO time,
// Bluesky's ratelimit-reset in epoch seconds, Reddit's x-ratelimit-reset in seconds to go.

/** Read in this order: an explicit Retry-After beats a window's reset time. */
const HEADERS = ["retry-after", "x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"] as const;

// Numbers this large are epoch seconds (2001 onwards); smaller ones are seconds to wait.
const EPOCH_SECONDS_FROM = 1e9;
const EPOCH_MS_FROM = 1e12;

/** Epoch ms at which the platform allows the next request; undefined when it did not say. */
export function nextAllowedAt(headers: Record<string, string>, now: number): number | undefined {
  for (const name of HEADERS) {
    const value = headers[name]?.trim();
    if (!value) continue;
    const at = instantOf(value, now);
    if (at !== undefined) return Math.max(at, now);
  }
  return undefined;
}

function instantOf(value: string, now: number): number | undefined {
  if (/^\d+(\.\d+)?$/.test(value)) {
    const number = Number(value);
    if (number >= EPOCH_MS_FROM) return number;
    if (number >= EPOCH_SECONDS_FROM) return number * 1000;
    return now + number * 1000;
  }
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : date;
}
