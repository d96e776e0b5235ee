import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Database } from "../storage/database.js";
import { createLogTail } from "../storage/log-tail.js";

/**
 * Event rules match at ingest, on whichever replica stored the events, but only the
 * replica holding the alert lease fires alerts. Every other replica writes its matches to
 * `alert_event_matches`; the holder reads that log a few times a second (and, when it
 * takes over, the last seconds of it, so matches made during a change of holder are not
 * lost; an alert already fired is recognised by its fingerprint and not fired again).
 *
 * Guarantee: best effort. A match whose row cannot be written (storage refused it) is
 * logged and lost — the events themselves are stored, and rules over them still see them.
 */

/** One event matching one event rule: what the holder needs to fire it. */
export interface EventMatch {
  tenant: string;
  rule_id: string;
  /** The rule as the matching replica knew it: a holder that knows an older one reloads first. */
  rule_updated_at: number;
  event_id: string;
  /** The event's values of the rule's group_by attributes. */
  labels: Record<string, string>;
  received_at: number;
  message: string;
}

interface MatchRow {
  id: string;
  tenant: string;
  rule_id: string;
  rule_updated_ms: number;
  event_id: string;
  labels: Record<string, string>;
  received_ms: number;
  message: string;
}

const POLL_MS = 250;
const LOOK_BACK_MS = 10_000;

export function createEventMatchRelay(db: Database, log: Logger) {
  const pending = new Set<Promise<void>>();
  let onMatches: ((matches: EventMatch[]) => void) | undefined;

  const tail = createLogTail<MatchRow>(db, {
    table: "alert_event_matches",
    columns: "tenant, rule_id, toUnixTimestamp64Milli(rule_updated_at) AS rule_updated_ms, event_id, labels, toUnixTimestamp64Milli(received_at) AS received_ms, message",
    pollMs: POLL_MS,
    lookBackMs: LOOK_BACK_MS,
    deliver: (rows) =>
      onMatches?.(
        rows.map((row) => ({
          tenant: row.tenant,
          rule_id: row.rule_id,
          rule_updated_at: Number(row.rule_updated_ms),
          event_id: row.event_id,
          labels: row.labels,
          received_at: Number(row.received_ms),
          message: row.message,
        })),
      ),
    log,
    messages: {
      failed: "reading the event rule matches of other replicas failed; retrying",
      recovered: "reading the event rule matches of other replicas works again",
    },
  });

  return {
    /** Writes matches for the lease holder, in the background. */
    publish(matches: readonly EventMatch[]): void {
      if (matches.length === 0) return;
      const rows = matches.map((m) => ({ id: randomUUID(), ...m }));
      const written: Promise<void> = db
        .insert("alert_event_matches", rows)
        .catch((error: unknown) => log.warn({ err: (error as Error).message.split("\n")[0], matches: rows.length }, "could not hand event rule matches to the evaluating replica; they are lost"));
      pending.add(written);
      void written.finally(() => pending.delete(written));
    },
    /** Starts reading the matches of other replicas, from a few seconds back. */
    async follow(handle: (matches: EventMatch[]) => void): Promise<void> {
      onMatches = handle;
      await tail.start({ replay: true });
    },
    /** Stops reading; nothing is handed over after it resolves. */
    async unfollow(): Promise<void> {
      await tail.stop();
      onMatches = undefined;
    },
    /** Waits for matches still being written. */
    async stop(): Promise<void> {
      await tail.stop();
      await Promise.all([...pending]);
    },
  };
}

export type EventMatchRelay = ReturnType<typeof createEventMatchRelay>;
