/**
 * One request budget per Reddit client id, shared by every stream of every plugin
 * instance in the agent process: at most `limit` requests in any sliding `windowMs`
 * (Reddit allows 100 queries per minute per OAuth client id), and nobody sends while
 * Reddit has said to wait (a 429's Retry-After, or X-Ratelimit-Remaining at 0 until
 * X-Ratelimit-Reset).
 *
 * Within that hard window, requests are also paced (a token bucket: a burst of a tenth of
 * the limit, then one request every windowMs / (limit − burst)), so a busy agent spreads
 * its requests over the minute instead of spending all 100 in a few seconds and then
 * stalling for the rest of it.
 */
export interface RequestBudget {
  /** Resolves when one more request may be sent, and counts it. */
  take(signal?: AbortSignal): Promise<void>;
  /** Nobody sends before `until` (epoch ms). */
  pauseUntil(until: number): void;
  /** Requests counted in the current window. */
  used(): number;
}

const budgets = new Map<string, RequestBudget>();

export function budgetFor(clientId: string, limit = 100, windowMs = 60_000): RequestBudget {
  const key = `${clientId}\u0000${limit}\u0000${windowMs}`;
  let budget = budgets.get(key);
  if (!budget) budgets.set(key, (budget = createBudget(limit, windowMs)));
  return budget;
}

export function createBudget(limit: number, windowMs: number, now: () => number = Date.now): RequestBudget {
  const sent: number[] = [];
  let pausedUntil = 0;
  const burst = Math.max(1, Math.floor(limit / 10));
  const interval = windowMs / Math.max(1, limit - burst);
  // The bucket's "theoretical arrival time": when it would be empty again at the paced rate.
  let emptyAt = 0;
  // Takers are served one at a time, in order, so the window is never overrun.
  let queue: Promise<void> = Promise.resolve();

  function prune(at: number): void {
    while (sent.length > 0 && sent[0]! <= at - windowMs) sent.shift();
  }

  async function takeOne(signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const at = now();
      prune(at);
      const waitForPause = pausedUntil - at;
      const waitForWindow = sent.length >= limit ? sent[0]! + windowMs - at : 0;
      const base = Math.max(emptyAt, at);
      const waitForPace = base - (burst - 1) * interval - at;
      const wait = Math.max(waitForPause, waitForWindow, waitForPace);
      if (wait <= 0) {
        sent.push(at);
        emptyAt = base + interval;
        return;
      }
      await sleep(wait, signal);
    }
  }

  return {
    take(signal) {
      const turn = queue.then(() => takeOne(signal));
      queue = turn.catch(() => undefined);
      return turn;
    },
    pauseUntil(until) {
      pausedUntil = Math.max(pausedUntil, until);
    },
    used() {
      prune(now());
      return sent.length;
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener("abort", aborted);
      resolve();
    }
    function aborted() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener("abort", aborted, { once: true });
  });
}
