import { BATCH_ID_HEADER, type EventInput } from "@vigil/plugin-sdk";

/** Events per POST to the agent's intake. */
export const MAX_EVENTS_PER_POST = 1000;
const POST_TIMEOUT_MS = 2000;
const DROP_WARNING_EVERY_MS = 60_000;

/** An event as posted: the contract's attrs interfaces (CacheOpAttrs, …) have no index signature, hence `object`. */
export type ShippedEvent = Omit<EventInput, "attrs"> & { attrs: object };

export interface EventShipper {
  /** Queues an event; when the backlog is full the oldest one is dropped and counted. */
  add(event: ShippedEvent): void;
  /** Posts the backlog in batches until it is empty or a POST fails; never rejects. */
  send(): Promise<void>;
  size(): number;
  dropped(): number;
}

/** Statuses that say the batch itself is wrong: sending it again cannot succeed. */
function refusedForGood(status: number): boolean {
  return status === 400 || status === 413 || status === 422;
}

/**
 * The bounded backlog between the app and the agent's intake. Nothing here runs on the
 * app's calls: events arrive at flush time and leave in POSTs of at most
 * MAX_EVENTS_PER_POST. A failed POST leaves the events queued for the next flush, so
 * an agent that comes back gets the newest `maxBacklog` events; older ones are dropped
 * and counted.
 */
export function createEventShipper(options: { eventsUrl: string; maxBacklog: number; batchPrefix: string }): EventShipper {
  let queue: (ShippedEvent | undefined)[] = [];
  /** Index of the oldest queued event in `queue`. */
  let head = 0;
  /** Events ever removed from the front (delivered or dropped): the logical position of queue[head]. */
  let removed = 0;
  let dropped = 0;
  let lastDropWarning = -Infinity;
  let warned = false;
  let sending: Promise<void> | undefined;

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

  function add(event: ShippedEvent): void {
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
      `the Vigil agent at ${options.eventsUrl} cannot be reached and the cache monitor's backlog (${options.maxBacklog} events) is full: the oldest events are dropped; ${dropped} dropped so far`,
      { code: "VIGIL_CACHE_EVENTS_DROPPED" },
    );
  }

  async function post(batch: ShippedEvent[], from: number): Promise<"sent" | "refused" | "failed"> {
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
        if (!warned) {
          warned = true;
          process.emitWarning(`the Vigil agent refused ${batch.length} cache events (${response.status}): ${text.slice(0, 500)}; they are dropped and counted`, { code: "VIGIL_CACHE_EVENTS_REFUSED" });
        }
        return "refused";
      }
      return "failed";
    } catch {
      // Agent down, slow or restarting: the events wait for the next flush.
      return "failed";
    }
  }

  async function sendAll(): Promise<void> {
    while (size() > 0) {
      const from = removed;
      const batch = queue.slice(head, head + MAX_EVENTS_PER_POST) as ShippedEvent[];
      const to = from + batch.length;
      const outcome = await post(batch, from);
      if (outcome === "failed") return;
      // Events of this batch dropped while it was in flight were delivered after all (or,
      // when refused, are counted once, below).
      const droppedInFlight = Math.min(to, removed) - from;
      dropped -= droppedInFlight;
      if (removed < to) removeFront(to - removed);
      if (outcome === "refused") dropped += batch.length;
    }
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
