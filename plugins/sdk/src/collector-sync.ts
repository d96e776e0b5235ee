import { createHash } from "node:crypto";
import type { z } from "zod";
import { PUSH_CONNECTED_COMMAND } from "./agent-protocol.js";
import type { PluginContext, ScheduledJob } from "./plugin.js";

/**
 * How an agent plugin keeps what its collector part decides (keywords, settings, jobs)
 * current — DESIGN.md's control flow: a change made in the collector is pushed to the
 * agents at once, and every agent re-reads on a slow backup timer, so a missed push only
 * delays. One mechanism for every plugin:
 * - at start, the last answer saved in the plugin's state is applied at once (the
 *   collector may be away), then the collector is read, retried with backoff (1 s doubling
 *   to 30 s) until it answers;
 * - each of `commands` (pushed through the collector's `agents.broadcast`) triggers a read,
 *   and so does every (re)connection of the agent's push channel, since pushes sent while
 *   it was down are lost;
 * - a backup read runs every `intervalMs`;
 * - reads never overlap: a push during a read runs one more read after it;
 * - an answer is applied only when its fingerprint differs from the one in force; a change
 *   found by the backup read is logged with `pollChangeMessage`, as a push was missed.
 */

export type SyncTrigger = "start" | "push" | "poll";

export interface CollectorSyncOptions<T> {
  /** The plugin's context (its collector API, state, scheduler, commands, log, signal). */
  ctx: Pick<PluginContext<unknown>, "collector" | "state" | "scheduler" | "onCommand" | "log" | "signal">;
  /** What is read, for messages: "keyword set", "settings", "jobs". */
  what: string;
  /** The collector part's route for agents (scope ingest), e.g. "/api/reddit/sync". */
  path: string;
  schema: z.ZodType<T>;
  /** Commands pushed by the collector part that mean "read again now". */
  commands: readonly string[];
  intervalMs: number;
  /** Where the last answer is kept in the plugin's state. */
  stateKey: string;
  /** Said when the collector has no such route (404): how to load the collector part. */
  missingPartHint: string;
  /** Applies an answer that changed (also the saved one at start). Errors fail the read. */
  apply(value: T, trigger: SyncTrigger): Promise<void> | void;
  /** Default: a hash of the answer's JSON. */
  fingerprint?(value: T): string;
  /** Log line of a change found by the backup read; default "<what> changes detected during polling". */
  pollChangeMessage?: string;
  /** Fields of that log line: e.g. counts before and after. */
  describeChange?(before: T | undefined, after: T): Record<string, unknown>;
  /** Counts reads by trigger and result ("changed", "unchanged", "error"), for the plugin's metrics. */
  onRead?(trigger: SyncTrigger, result: "changed" | "unchanged" | "error"): void;
}

export interface CollectorSync<T> {
  /** Applies the saved answer, then starts reading (first read with retries, backup timer). */
  start(): Promise<void>;
  /** Stops the backup timer and waits for a read in flight. */
  stop(): Promise<void>;
  /** Reads now (after an own change of the plugin, or in tests). */
  read(trigger: SyncTrigger): Promise<void>;
  /** A new backup interval (a config change). */
  setInterval(ms: number): void;
  /** The answer in force, and its fingerprint ("" before any). */
  current(): T | undefined;
  version(): string;
  /** Last successful read (epoch ms) and the last read's error, if it failed. */
  lastSyncAt(): number | undefined;
  lastError(): string | undefined;
}

const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 30_000;

function hashOf(value: unknown): string {
  return createHash("sha256").update(JSON.stringify(value)).digest("hex").slice(0, 16);
}

export function createCollectorSync<T>(options: CollectorSyncOptions<T>): CollectorSync<T> {
  const { ctx } = options;
  const fingerprint = options.fingerprint ?? hashOf;
  const saved = options.schema.safeParse(ctx.state.get(options.stateKey));
  let current: T | undefined = saved.success ? saved.data : undefined;
  let currentPrint = current === undefined ? "" : fingerprint(current);
  let intervalMs = options.intervalMs;
  let lastSyncAt: number | undefined;
  let lastError: string | undefined;
  let reading: Promise<void> | undefined;
  let readAgain: SyncTrigger | undefined;
  let backup: ScheduledJob | undefined;
  let started = false;

  async function fetchAnswer(): Promise<T> {
    const response = await ctx.collector.request(options.path, { signal: ctx.signal, retries: 1 });
    if (response.status === 404) throw new Error(`the collector has no ${options.path} (${options.what}): ${options.missingPartHint}`);
    if (response.status !== 200) throw new Error(`the collector answered ${response.status} to the ${options.what} sync: ${response.text.slice(0, 200)}`);
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      throw new Error(`the collector's ${options.what} answer is not JSON`);
    }
    const parsed = options.schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`the collector's ${options.what} answer is not understood (${issue.path.join(".") || "answer"}: ${issue.message}); is the collector's plugin a different version than the agent's?`);
    }
    return parsed.data;
  }

  async function readOnce(trigger: SyncTrigger): Promise<void> {
    try {
      const next = await fetchAnswer();
      lastSyncAt = Date.now();
      lastError = undefined;
      const print = fingerprint(next);
      const changed = print !== currentPrint;
      options.onRead?.(trigger, changed ? "changed" : "unchanged");
      if (!changed) return;
      if (trigger === "poll") {
        ctx.log.info(options.describeChange?.(current, next) ?? {}, options.pollChangeMessage ?? `${options.what} changes detected during polling`);
      }
      await ctx.state.set(options.stateKey, next);
      const before = current;
      current = next;
      currentPrint = print;
      try {
        await options.apply(next, trigger);
      } catch (error) {
        current = before;
        currentPrint = before === undefined ? "" : fingerprint(before);
        throw error;
      }
    } catch (error) {
      if (ctx.signal.aborted) return;
      lastError = (error as Error).message;
      options.onRead?.(trigger, "error");
      throw error;
    }
  }

  function read(trigger: SyncTrigger): Promise<void> {
    if (reading) {
      readAgain = trigger;
      return reading;
    }
    reading = (async () => {
      let next: SyncTrigger | undefined = trigger;
      try {
        while (next && !ctx.signal.aborted) {
          readAgain = undefined;
          await readOnce(next);
          next = readAgain;
        }
      } finally {
        reading = undefined;
      }
    })();
    return reading;
  }

  async function firstRead(): Promise<void> {
    let delay = RETRY_MIN_MS;
    while (!ctx.signal.aborted && lastSyncAt === undefined) {
      try {
        await read("start");
        return;
      } catch (error) {
        ctx.log.warn(
          { err: (error as Error).message, retry_in_ms: delay },
          current === undefined ? `${options.what} sync failed; retrying` : `${options.what} sync failed; going on with the last known ${options.what}`,
        );
      }
      await sleep(delay, ctx.signal);
      delay = Math.min(RETRY_MAX_MS, delay * 2);
    }
  }

  function scheduleBackup(): ScheduledJob {
    return ctx.scheduler.schedule(`${options.what.replace(/\W+/g, "-")}-sync`, { every: intervalMs }, async () => {
      if (lastSyncAt === undefined) return; // the first read is still retrying
      await read("poll").catch((error: unknown) => ctx.log.warn({ err: (error as Error).message }, `backup ${options.what} sync failed`));
    });
  }

  // Also when the agent's push channel (re)connects: pushes sent while it was away are lost.
  for (const command of [...options.commands, PUSH_CONNECTED_COMMAND]) {
    ctx.onCommand(command, () => {
      read("push").catch((error: unknown) => ctx.log.warn({ err: (error as Error).message }, `${options.what} sync after a push failed; the backup sync will retry`));
    });
  }

  return {
    async start() {
      started = true;
      if (current !== undefined) await options.apply(current, "start");
      void firstRead();
      backup = scheduleBackup();
    },
    async stop() {
      backup?.stop();
      backup = undefined;
      await reading?.catch(() => undefined);
    },
    read,
    setInterval(ms) {
      if (ms === intervalMs) return;
      intervalMs = ms;
      if (started && backup) {
        backup.stop();
        backup = scheduleBackup();
      }
    },
    current: () => current,
    version: () => currentPrint,
    lastSyncAt: () => lastSyncAt,
    lastError: () => lastError,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
