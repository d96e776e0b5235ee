import { createHash } from "node:crypto";
import { OP_KINDS } from "./codes.js";

/** Distinct labels kept; later ones are counted under OTHER_LABEL, so memory and cardinality stay bounded. */
export const MAX_LABELS = 256;
export const OTHER_LABEL = "other";
/** Longer labels are cut: they are attribute values and dashboard rows, not keys. */
export const MAX_LABEL_LENGTH = 128;
/** Distinct raw labels (or prefixes) remembered, several of which may share a cut or hashed name. */
const MAX_ALIASES = 4 * MAX_LABELS;
const COLON = 58;

export interface LabelEntry {
  /** What events carry: the label, or its hash with `hashLabels`. */
  readonly name: string;
  /** Exact counters per op kind (see op-stats.ts), made on the first op of that kind. */
  readonly stats: (Float64Array | undefined)[];
}

export interface LabelTable {
  /** The entry of a key's label; the "other" entry once MAX_LABELS labels exist. */
  lookup(key: string): LabelEntry;
  /** Every entry, "other" last. */
  entries(): readonly LabelEntry[];
}

/** A key prefix the default labeler has seen, chained with the other prefixes of the same hash. */
interface PrefixNode {
  prefix: string;
  entry: LabelEntry;
  next: PrefixNode | undefined;
}

export function defaultKeyLabel(key: string): string {
  const colon = key.indexOf(":");
  return colon === -1 ? key : key.slice(0, colon);
}

/**
 * Key → label, cached. With the default labeler the lookup hashes the key's characters
 * up to the first ":" and compares in place, so a known label costs no allocation (a
 * slice per call would). A user's labeler is called on every key and its result looked
 * up by string. Labels are hashed (sha256, 12 hex) once, when first seen.
 */
export function createLabelTable(options: { keyLabel?: (key: string) => string; hashLabels?: boolean }): LabelTable {
  const list: LabelEntry[] = [];
  const byName = new Map<string, LabelEntry>();
  const byPrefixHash = new Map<number, PrefixNode>();
  const byLabel = new Map<string, LabelEntry>();
  const other: LabelEntry = { name: OTHER_LABEL, stats: new Array(OP_KINDS).fill(undefined) };
  const userLabel = options.keyLabel;
  // A label that happens to be "other" shares the overflow entry rather than doubling its rows.
  byName.set(OTHER_LABEL, other);
  let aliases = 0;

  /** One entry per shipped name: two labels cut or hashed to the same name share counters. */
  function entryFor(label: string): LabelEntry {
    const cut = label.length > MAX_LABEL_LENGTH ? label.slice(0, MAX_LABEL_LENGTH) : label;
    const name = options.hashLabels ? createHash("sha256").update(cut).digest("hex").slice(0, 12) : cut;
    let entry = byName.get(name);
    if (!entry) {
      entry = { name, stats: new Array(OP_KINDS).fill(undefined) };
      byName.set(name, entry);
      list.push(entry);
    }
    return entry;
  }

  function lookupByPrefix(key: string): LabelEntry {
    // FNV-1a over the prefix, kept to 30 bits so the Map key is a small integer.
    let hash = 0x811c9dc5;
    let end = 0;
    for (; end < key.length; end++) {
      const c = key.charCodeAt(end);
      if (c === COLON) break;
      hash = Math.imul(hash ^ c, 0x01000193);
    }
    hash &= 0x3fffffff;
    const first = byPrefixHash.get(hash);
    for (let node = first; node !== undefined; node = node.next) {
      if (node.prefix.length === end && key.startsWith(node.prefix)) return node.entry;
    }
    if (list.length >= MAX_LABELS || aliases >= MAX_ALIASES) return other;
    const prefix = key.slice(0, end);
    const entry = entryFor(prefix);
    byPrefixHash.set(hash, { prefix, entry, next: first });
    aliases++;
    return entry;
  }

  function lookupByUserLabel(key: string): LabelEntry {
    let label: string;
    try {
      label = String(userLabel!(key));
    } catch {
      // The app's labeler failed on this key: count the op rather than throw into the app.
      return other;
    }
    const known = byLabel.get(label);
    if (known) return known;
    if (list.length >= MAX_LABELS || aliases >= MAX_ALIASES) return other;
    const entry = entryFor(label);
    byLabel.set(label, entry);
    aliases++;
    return entry;
  }

  return {
    lookup: userLabel ? lookupByUserLabel : lookupByPrefix,
    entries: () => [...list, other],
  };
}
