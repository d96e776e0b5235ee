/**
 * Which subreddits each stream polls. Subreddits are grouped into multireddits (`a+b+c`)
 * of at most `perStream` names. The grouping is kept stable as the wanted set changes: a
 * removed subreddit leaves its group, a new one joins the first group with room, so a
 * keyword change restarts only the streams whose group changed. Groups are persisted, so
 * a restart finds the same groups (and their cursors).
 */
export interface StreamGroup {
  /** Stable name, part of the cursors' state keys. */
  id: string;
  subreddits: string[];
}

export function regroup(previous: readonly StreamGroup[], wanted: readonly string[], perStream: number): StreamGroup[] {
  const wantedByKey = new Map<string, string>();
  for (const name of wanted) if (!wantedByKey.has(name.toLowerCase())) wantedByKey.set(name.toLowerCase(), name);
  const placed = new Set<string>();
  const groups: StreamGroup[] = [];
  for (const group of previous) {
    const kept = group.subreddits.filter((name) => {
      const key = name.toLowerCase();
      if (!wantedByKey.has(key) || placed.has(key)) return false;
      placed.add(key);
      return true;
    });
    if (kept.length > 0) groups.push({ id: group.id, subreddits: kept.slice(0, perStream) });
    // A smaller perStream than before: the overflow is placed again below.
    for (const name of kept.slice(perStream)) placed.delete(name.toLowerCase());
  }
  let next = Math.max(0, ...[...previous, ...groups].map((g) => Number(g.id.replace(/^g/, "")) || 0)) + 1;
  for (const [key, name] of wantedByKey) {
    if (placed.has(key)) continue;
    let group = groups.find((g) => g.subreddits.length < perStream);
    if (!group) groups.push((group = { id: `g${next++}`, subreddits: [] }));
    group.subreddits.push(name);
    placed.add(key);
  }
  return groups;
}

/** The subreddits the active keywords need: their own, and the monitored list for keywords scoped to all. */
export function wantedSubreddits(keywords: readonly { subreddits: readonly string[] }[], monitored: readonly string[]): string[] {
  const wanted: string[] = [];
  if (keywords.some((k) => k.subreddits.length === 0)) wanted.push(...monitored);
  for (const keyword of keywords) wanted.push(...keyword.subreddits);
  return wanted;
}
