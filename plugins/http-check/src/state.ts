/**
 * A check's up/down state. It starts unknown, turns up on the first pass, and turns down
 * only after `failuresBeforeDown` consecutive failures, so one lost packet does not page
 * anyone; one pass turns a down check up again.
 */
export type CheckState = "unknown" | "up" | "down";

export interface CheckRecord {
  state: CheckState;
  consecutiveFailures: number;
}

export const INITIAL_RECORD: CheckRecord = { state: "unknown", consecutiveFailures: 0 };

export function advance(record: CheckRecord, passed: boolean, failuresBeforeDown: number): CheckRecord {
  if (passed) return { state: "up", consecutiveFailures: 0 };
  const consecutiveFailures = record.consecutiveFailures + 1;
  return { state: consecutiveFailures >= failuresBeforeDown ? "down" : record.state, consecutiveFailures };
}

/** The key under which the plugin keeps every check's record in its durable store. */
export const STATE_KEY = "checks";

/** Reads the stored records, dropping anything that is not a record (a store written by another version). */
export function readRecords(stored: unknown): Map<string, CheckRecord> {
  const records = new Map<string, CheckRecord>();
  if (stored === null || typeof stored !== "object") return records;
  for (const [name, value] of Object.entries(stored)) {
    const candidate = value as Partial<CheckRecord> | null;
    if (
      (candidate?.state === "unknown" || candidate?.state === "up" || candidate?.state === "down") &&
      Number.isInteger(candidate.consecutiveFailures) &&
      candidate.consecutiveFailures! >= 0
    ) {
      records.set(name, { state: candidate.state, consecutiveFailures: candidate.consecutiveFailures! });
    }
  }
  return records;
}
