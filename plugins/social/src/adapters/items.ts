import type { SocialItem } from "../contract.js";

/**
 * What every adapter returns: each id once, newest first, at most `max`. The sort is
 * stable, so items published in the same millisecond keep the platform's order.
 */
export function newestFirst(items: readonly SocialItem[], max: number): SocialItem[] {
  const seen = new Set<string>();
  const unique = items.filter((item) => !seen.has(item.id) && (seen.add(item.id), true));
  return unique.sort((a, b) => b.publishedAt - a.publishedAt).slice(0, Math.max(0, max));
}

/**
 * Epoch ms of an RFC 3339 time (Atom, JSON APIs) or an RFC 822 date (RSS pubDate, which
 * Date.parse reads, including the "GMT"/"+0000"/"EST" zones feeds use); undefined when
 * neither.
 */
export function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value.trim());
  return Number.isNaN(ms) ? undefined : ms;
}

/** Trims a string and drops it when empty, so optional item fields stay absent rather than "". */
export function nonEmpty(value: string | undefined | null): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
