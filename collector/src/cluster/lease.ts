import type { Logger } from "pino";
import type { Counter, Gauge } from "prom-client";
import type { Database } from "../storage/database.js";

/**
 * A lease in ClickHouse that at most one collector replica holds at a time, so work that
 * must happen once (evaluating alert rules, sending notifications) happens on one of them.
 *
 * The `leases` table keeps a row per name and generation; the highest generation is the
 * lease. Every write — a claim, a renewal, a release — reads the current generation `g`
 * and inserts generation `g + 1` with the deduplication token `<name>:<g + 1>`: of two
 * replicas that read `g` and write `g + 1`, ClickHouse keeps the first insert and drops
 * the other, so a write is a compare-and-set. A replica acts only after reading its own
 * row back as the newest; the loser of a race reads the winner's and stays a follower.
 *
 * Expiry is ClickHouse's clock (`now64(3)`): a replica may claim only when the holder's
 * `expires_at` has passed by that clock, so replicas' clocks never need to agree. The
 * holder converts the time left into its own monotonic clock, measured from before the
 * read, and stops acting a margin before the lease ends even when it could not renew —
 * `held()` turns false by itself, so a process that froze past its lease does nothing
 * when it wakes, even before its step-down timer runs.
 */

export interface LeaseOptions {
  db: Database;
  /** The lease's row (e.g. "alerting"). */
  name: string;
  /** Who holds it: this replica's id. */
  holder: string;
  /** How long a claim or renewal lasts. */
  periodMs: number;
  /** How often the holder renews; at most half the period, so one failed renewal is retried in time. */
  renewEveryMs: number;
  log: Logger;
  metrics?: { holding: Gauge; changes: Counter<"change"> };
  /** A holder known to be gone, whose lease need not run out before it is claimed. */
  isLeftover?(holder: string): boolean;
  /** This replica now holds the lease: take up the work. If it throws, the lease is handed back. */
  onGained(): Promise<void>;
  /** This replica no longer holds the lease (or is about to release it): stop the work. */
  onLost(reason: string): Promise<void>;
}

interface LeaseRow {
  holder: string;
  generation: number;
  now_ms: number;
  expires_ms: number;
}

/** How often a replica that does not hold the lease looks whether it is free (at most the renew interval). */
const FOLLOWER_CHECK_MS = 1_000;

export function createLease(options: LeaseOptions) {
  const { db, name, holder, periodMs, renewEveryMs, log } = options;
  // Stopping takes a moment (timers, sends in flight); it must be done before ClickHouse's clock says the lease ended.
  const marginMs = Math.round(periodMs / 10);
  /** The generation this replica holds; 0 when it holds none. */
  let generation = 0;
  /** performance.now() at which this replica must have stopped acting. */
  let deadline = 0;
  let nextAttempt: NodeJS.Timeout | undefined;
  let stepDownTimer: NodeJS.Timeout | undefined;
  let attempting: Promise<void> | undefined;
  let failing = false;
  let stopped = false;
  /** onGained / onLost run one after the other, never overlapping. */
  let transitions: Promise<void> = Promise.resolve();

  const held = () => generation > 0 && performance.now() < deadline;

  async function read(): Promise<LeaseRow> {
    // Aggregates over at most one row, so there is always an answer (holder "" when there is no row).
    const [row] = await db.query<LeaseRow>(
      `SELECT any(holder) AS holder, max(generation) AS generation, toUnixTimestamp64Milli(now64(3)) AS now_ms,
              toUnixTimestamp64Milli(any(expires_at)) AS expires_ms
       FROM ${db.table("leases")} FINAL WHERE name = {name:String}`,
      { name },
    );
    return { holder: row!.holder, generation: Number(row!.generation), now_ms: Number(row!.now_ms), expires_ms: Number(row!.expires_ms) };
  }

  /** Writes generation `current + 1`; true when it is this write that ClickHouse kept. */
  async function write(current: LeaseRow, next: { holder: string; expires_ms: number }): Promise<boolean> {
    const generationWritten = current.generation + 1;
    await db.insert("leases", [{ name, generation: generationWritten, holder: next.holder, expires_at: next.expires_ms }], {
      insert_deduplication_token: `${name}:${generationWritten}`,
      // Synchronous whatever CLICKHOUSE_ASYNC_INSERT says: before ClickHouse 26.2 an async
      // insert into a non-replicated table ignores the token, and the token is the compare-and-set.
      async_insert: 0,
    });
    const after = await read();
    return after.generation === generationWritten && after.holder === next.holder;
  }

  function gain(): void {
    log.info({ lease: name, holder, generation }, "lease gained: this replica takes up the work");
    options.metrics?.holding.set(1);
    options.metrics?.changes.inc({ change: "gained" });
    transitions = transitions.then(async () => {
      try {
        await options.onGained();
      } catch (error) {
        log.error({ lease: name, err: (error as Error).message }, "could not take up the work of the lease; handing it back");
        const handedBack = generation;
        lose("taking up the work failed");
        await release(handedBack).catch(() => undefined);
      }
    });
  }

  function lose(reason: string): void {
    generation = 0;
    deadline = 0;
    if (stepDownTimer) clearTimeout(stepDownTimer);
    stepDownTimer = undefined;
    log.warn({ lease: name, holder, reason }, "lease lost: this replica stops the work");
    options.metrics?.holding.set(0);
    options.metrics?.changes.inc({ change: "lost" });
    transitions = transitions.then(() => options.onLost(reason).catch((error: unknown) => log.error({ lease: name, err: (error as Error).message }, "stopping the work of the lease failed")));
  }

  function armStepDown(): void {
    if (stepDownTimer) clearTimeout(stepDownTimer);
    stepDownTimer = setTimeout(() => {
      stepDownTimer = undefined;
      if (generation > 0 && performance.now() >= deadline) lose("could not renew the lease before it ran out");
    }, Math.max(0, deadline - performance.now()));
    stepDownTimer.unref();
  }

  /** One look at the lease: claim it when free or expired, renew it when held. Returns when to look again (ms). */
  async function attempt(): Promise<number> {
    const startedAt = performance.now();
    const current = await read();
    if (generation > 0 && current.generation !== generation && current.holder !== holder) {
      // Written meanwhile by someone else (this replica was late renewing): what it did since is stale.
      lose(`the lease changed hands (now ${current.holder || "free"})`);
    }
    const expired = current.expires_ms <= current.now_ms || (current.holder !== "" && current.holder !== holder && options.isLeftover?.(current.holder) === true);
    if (current.holder !== "" && current.holder !== holder && !expired) {
      // Look again right when the holder's lease would end, or sooner.
      return Math.min(renewEveryMs, FOLLOWER_CHECK_MS, Math.max(10, current.expires_ms - current.now_ms + 10));
    }
    if (stopped) return renewEveryMs;
    if (await write(current, { holder, expires_ms: current.now_ms + periodMs })) {
      const wasHeld = generation > 0;
      generation = current.generation + 1;
      // ClickHouse read its clock after `startedAt`, so the lease ends no sooner than this locally.
      deadline = startedAt + periodMs - marginMs;
      armStepDown();
      if (!wasHeld) gain();
      return renewEveryMs;
    }
    if (generation > 0) lose("another replica claimed the lease");
    return Math.min(renewEveryMs, FOLLOWER_CHECK_MS);
  }

  function schedule(ms: number): void {
    if (stopped) return;
    nextAttempt = setTimeout(() => void run(), ms);
    nextAttempt.unref();
  }

  async function run(): Promise<void> {
    let wait = Math.min(renewEveryMs, FOLLOWER_CHECK_MS);
    attempting = attempt().then(
      (next) => {
        wait = next;
        if (failing) log.info({ lease: name }, "the lease can be read and written again");
        failing = false;
      },
      (error: unknown) => {
        // Storage trouble: the step-down timer ends the work in time if it lasts.
        if (!failing) log.warn({ lease: name, err: (error as Error).message.split("\n")[0] }, "could not read or write the lease; retrying");
        failing = true;
      },
    );
    await attempting;
    attempting = undefined;
    schedule(wait);
  }

  /** Hands the lease back (generation + 1, no holder, ended now) when it is still the one given. */
  async function release(given: number): Promise<void> {
    const current = await read();
    if (given === 0 || current.generation !== given || current.holder !== holder) return;
    if (await write(current, { holder: "", expires_ms: current.now_ms })) log.info({ lease: name, holder }, "lease released");
  }

  return {
    /** Whether this replica holds the lease now, with time left before it ends. */
    held,
    /** The first look happens now (its gain is taken up before this resolves); then every renew interval. */
    async start(): Promise<void> {
      await run();
      await transitions;
    },
    /**
     * Stops looking; a holder stops the work (onLost) while it still holds the lease, then
     * releases it, so another replica takes over at its next look rather than at expiry.
     */
    async stop(): Promise<void> {
      stopped = true;
      if (nextAttempt) clearTimeout(nextAttempt);
      await attempting;
      const given = generation;
      if (given > 0) {
        log.info({ lease: name, holder }, "shutting down: this replica stops the work and hands the lease back");
        if (stepDownTimer) clearTimeout(stepDownTimer);
        transitions = transitions.then(() => options.onLost("shutting down").catch((error: unknown) => log.error({ lease: name, err: (error as Error).message }, "stopping the work of the lease failed")));
        await transitions;
        generation = 0;
        deadline = 0;
        options.metrics?.holding.set(0);
        options.metrics?.changes.inc({ change: "lost" });
        await release(given).catch((error: unknown) => log.warn({ lease: name, err: (error as Error).message }, "could not release the lease; another replica takes over when it runs out"));
      }
      await transitions;
    },
  };
}

export type Lease = ReturnType<typeof createLease>;
