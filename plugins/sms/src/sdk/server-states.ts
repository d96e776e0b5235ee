import type { ServerKind, ServerStatus } from "../contract.js";

/**
 * Servers an app reports are few; a bug that makes a new id per call must not grow the
 * map without end. Beyond this many, the server reported longest ago is forgotten (its
 * next report counts as a change from "unknown").
 */
const MAX_TRACKED_SERVERS = 10_000;

/** The last status this tracker saw for each server, to tell a change from a repeat. */
export function createServerStates() {
  const last = new Map<string, ServerStatus>();
  return {
    /** Records `status`; returns the status it replaces ("unknown" for a server not seen yet), or undefined when it is unchanged. */
    change(kind: ServerKind, id: string, status: ServerStatus): ServerStatus | "unknown" | undefined {
      const key = `${kind}\u0000${id}`;
      const previous = last.get(key);
      if (previous === status) return undefined;
      if (previous === undefined && last.size >= MAX_TRACKED_SERVERS) last.delete(last.keys().next().value as string);
      last.set(key, status);
      return previous ?? "unknown";
    },
  };
}
