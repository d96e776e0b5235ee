import { BATCH_ID_HEADER } from "./batch.js";
import type { EventInput } from "./event.js";

/**
 * What every in-app SDK (cache-db, sms) uses to hand its events to the local agent's
 * intake (`POST <agentUrl>/v1/events`): one bounded, in-memory backlog, posted in
 * batches. The app's calls only add to it; nothing here throws into the app.
 */

/** Where an app finds the local agent when it is not told: the intake's default address. */
export const DEFAULT_AGENT_URL = "http://127.0.0.1:4601";

/** The agent's base URL an SDK uses: the option, else `VIGIL_AGENT_URL`, else the default; no trailing "/". */
export function agentUrlFrom(explicit: string | undefined): string {
  return (explicit ?? process.env.VIGIL_AGENT_URL ?? DEFAULT_AGENT_URL).replace(/\/+$/, "");
}

/** Events per POST to the agent's intake, unless the SDK asks for fewer. */
export const APP_MAX_EVENTS_PER_POST = 1000;
const POST_TIMEOUT_MS = 2000;
const DROP_WARNING_EVERY_MS = 60_000;

/** An event as posted: the plugins' attrs interfaces (CacheOpAttrs, MessageAttrs, …) have no index signature, hence `object`. */
export type AppEvent = Omit<EventInput, "attrs"> & { attrs: object };

export interface AppShipperOptions {
  /** The intake's events endpoint: `<agentUrl>/v1/events`. */
  eventsUrl: string;
  /** Events kept while the intake cannot be reached; beyond it the oldest are dropped and counted. */
  maxBacklog: number;
  /** Start of every batch id; carry a random part, so two processes never send the same id. */
  batchPrefix: string;
  /** Who ships, as the app's operator knows it, in warnings: "cache monitor", "SMS tracker". */
  what: string;
  /** What its events are called in warnings: "cache" gives "refused 11 cache events". */
  eventNoun: string;
  /** Warning codes are `<prefix>_EVENTS_DROPPED` and `<prefix>_EVENTS_REFUSED`, e.g. "VIGIL_CACHE". */
  warningCodePrefix: string;
  /** Events per POST, at most APP_MAX_EVENTS_PER_POST (the default). */
  maxEventsPerPost?: number;
}

export interface AppShipper {
  /** Queues an event; when the backlog is full the oldest one is dropped and counted. */
  add(event: AppEvent): void;
  /**
   * Posts the backlog in batches until it is empty or a POST fails; never rejects.
   * Resolves true when everything queued was handed over (or refused for good), false
   * when a POST failed and events wait for the next send.
   */
  send(): Promise<boolean>;
  /** Events waiting in the backlog. */
  size(): number;
  /** Events lost since start: dropped from a full backlog or refused by the intake. */
  dropped(): number;
}

/** Statuses that say the batch itself is wrong: sending it again cannot succeed. */
function refusedForGood(status: number): boolean {
  return status === 400 || status === 413 || status === 422;
}

/**
 * The bounded backlog between the app and the agent's intake. Events leave in POSTs of
 * at most `maxEventsPerPost`, each named by a batch id made of its position in the
 * stream, so a retry of the same events carries the same id and the intake stores it
 * once. A failed POST leaves the events queued for the next send, so an agent that comes
 * back gets the newest `maxBacklog` events; older ones are dropped and counted.
 */
export function createAppShipper(options: AppShipperOptions): AppShipper {
  const perPost = Math.min(options.maxEventsPerPost ?? APP_MAX_EVENTS_PER_POST, APP_MAX_EVENTS_PER_POST);
  let queue: (AppEvent | undefined)[] = [];
  /** Index of the oldest queued event in `queue`. */
  let head = 0;
  /** Events ever removed from the front (delivered or dropped): the logical position of queue[head]. */
  let removed = 0;
  let dropped = 0;
  let lastDropWarning = -Infinity;
  let warnedOfRefusal = false;
  let sending: Promise<boolean> | undefined;

  const size = () => queue.length - head;

  function removeFront(n: number): void {
    for (let i = 0; i < n; i++) queue[head + i] = undefined;
    head += n;
    removed += n;
    // Compact now and then rather than shift() per event.
    if (head >= 1024 && head * 2 >= queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  }

  function add(event: AppEvent): void {
    if (size() >= options.maxBacklog) {
      removeFront(1);
      dropped++;
      warnOfDrops();
    }
    queue.push(event);
  }

  /**
   * Every loss is counted (dropped()); it is also said, as a process warning at most once a
   * minute, so an operator reading the app's output learns the agent is unreachable.
   */
  function warnOfDrops(): void {
    const now = Date.now();
    if (now - lastDropWarning < DROP_WARNING_EVERY_MS) return;
    lastDropWarning = now;
    process.emitWarning(
      `the Vigil agent at ${options.eventsUrl} cannot be reached (or does not keep up) and the ${options.what}'s backlog (${options.maxBacklog} events) is full: the oldest events are dropped; ${dropped} dropped so far`,
      { code: `${options.warningCodePrefix}_EVENTS_DROPPED` },
    );
  }

  async function post(batch: AppEvent[], from: number): Promise<"sent" | "refused" | "failed"> {
    try {
      const response = await fetch(options.eventsUrl, {
        method: "POST",
        headers: { "content-type": "application/json", [BATCH_ID_HEADER]: `${options.batchPrefix}-${from}-${batch.length}` },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.ok) return "sent";
      if (refusedForGood(response.status)) {
        if (!warnedOfRefusal) {
          warnedOfRefusal = true;
          process.emitWarning(`the Vigil agent refused ${batch.length} ${options.eventNoun} events (${response.status}): ${text.slice(0, 500)}; they are dropped and counted`, {
            code: `${options.warningCodePrefix}_EVENTS_REFUSED`,
          });
        }
        return "refused";
      }
      return "failed";
    } catch {
      // Agent down, slow or restarting: the events wait for the next send.
      return "failed";
    }
  }

  async function sendAll(): Promise<boolean> {
    while (size() > 0) {
      const from = removed;
      const batch = queue.slice(head, head + perPost) as AppEvent[];
      const to = from + batch.length;
      const outcome = await post(batch, from);
      if (outcome === "failed") return false;
      // Events of this batch dropped while it was in flight were delivered after all (or,
      // when refused, are counted once, below).
      const droppedInFlight = Math.min(to, removed) - from;
      dropped -= droppedInFlight;
      if (removed < to) removeFront(to - removed);
      if (outcome === "refused") dropped += batch.length;
    }
    return true;
  }

  return {
    add,
    send() {
      sending ??= sendAll().finally(() => (sending = undefined));
      return sending;
    },
    size,
    dropped: () => dropped,
  };
}
