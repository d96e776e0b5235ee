import { MAX_ATTR_VALUE_LENGTH, MAX_BODY_LENGTH, uuidv7, type EventInput, type HttpClient, type Logger } from "@vigil/plugin-sdk";
import { ITEM_EVENT, NEW_CONTENT_EVENT, PlatformError, RUN_EVENT, RUN_FAILED_EVENT, SOURCE, type Adapter, type Platform, type RunAttrs, type SocialItem } from "./contract.js";
import type { AgentJob } from "./jobs-protocol.js";
import type { SeenStore } from "./seen-store.js";
import { parseTarget } from "./targets.js";

/**
 * One run of one job: report its start, fetch the target's newest items through the
 * platform's adapter, report each item the job has not seen as a `social.item`, remember
 * those items only once their events are in the agent's durable queue (a crash repeats
 * them rather than losing them), and report the end, with the notifications the job asks
 * for. A job's first run reports everything it finds (up to max_items_per_run) as new.
 */

/** The social.run attrs the agent sends (the contract's RunAttrs). */
export type RunEventAttrs = RunAttrs;

/** Why a run was stopped before it ended on its own; the message becomes its error_message. */
export class RunStopped extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RunStopped";
  }
}

export interface RunSpec {
  job: AgentJob;
  runId: string;
  trigger: string;
  scheduledAt: number;
  startTime: number;
  deadline: number;
  /** Aborted at the deadline, when the job is deleted, or when the agent stops, with a RunStopped reason. */
  signal: AbortSignal;
}

export interface RunnerDeps {
  emit(event: EventInput): Promise<void>;
  log: Logger;
  http: HttpClient;
  seen: SeenStore;
  adapterFor(platform: Platform): Adapter;
  baseUrl(platform: Platform): string | undefined;
  credentials(platform: Platform): Record<string, string> | undefined;
  now?: () => number;
}

export interface RunResult {
  status: "completed" | "failed";
  itemsFound: number;
  itemsProcessed: number;
  newItems: number;
  errorMessage: string;
  endTime: number;
}

function clip(text: string, max = MAX_ATTR_VALUE_LENGTH): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function runEvent(spec: Pick<RunSpec, "job" | "runId" | "trigger" | "scheduledAt" | "startTime">, end?: RunResult): EventInput {
  const attrs: RunEventAttrs = {
    job_id: spec.job.id,
    job_name: clip(spec.job.name),
    run_id: spec.runId,
    status: end?.status ?? "in_progress",
    start_time: spec.startTime,
    end_time: end?.endTime ?? 0,
    items_found: end?.itemsFound ?? 0,
    items_processed: end?.itemsProcessed ?? 0,
    new_items_downloaded: end?.newItems ?? 0,
    error_message: clip(end?.errorMessage ?? ""),
    trigger: spec.trigger,
    scheduled_at: spec.scheduledAt,
    platform: spec.job.platform,
  };
  return {
    id: uuidv7(),
    ts: end?.endTime ?? spec.startTime,
    source: SOURCE,
    type: RUN_EVENT,
    severity: end?.status === "failed" ? "warning" : "info",
    attrs: { ...attrs, job_name: clip(spec.job.name) },
  };
}

/**
 * A `social.item`. `ts` is when the agent found the item; the platform's time is
 * `published_at` (an old item found by a new job must not land in a partition the
 * retention has already dropped).
 */
export function itemEvent(job: AgentJob, runId: string, item: SocialItem, foundAt: number): EventInput {
  return {
    id: uuidv7(),
    ts: foundAt,
    source: SOURCE,
    type: ITEM_EVENT,
    severity: "info",
    attrs: {
      platform: job.platform,
      job_id: job.id,
      job_name: clip(job.name),
      run_id: runId,
      item_id: clip(item.id),
      author: clip(item.author),
      url: clip(item.url),
      title: clip(item.title ?? ""),
      published_at: item.publishedAt,
    },
    ...(item.text ? { body: item.text.length <= MAX_BODY_LENGTH ? item.text : `${item.text.slice(0, MAX_BODY_LENGTH - 1)}…` } : {}),
  };
}

function notificationEvents(spec: RunSpec, result: RunResult): EventInput[] {
  const { job } = spec;
  const common = { job_id: job.id, job_name: clip(job.name), platform: job.platform, run_id: spec.runId, notification_email: job.notification_email ?? "" };
  const events: EventInput[] = [];
  if (job.notify_on_new_content && result.newItems > 0) {
    events.push({ id: uuidv7(), ts: result.endTime, source: SOURCE, type: NEW_CONTENT_EVENT, severity: "notice", attrs: { ...common, new_items: result.newItems } });
  }
  if (job.notify_on_failure && result.status === "failed") {
    events.push({ id: uuidv7(), ts: result.endTime, source: SOURCE, type: RUN_FAILED_EVENT, severity: "error", attrs: { ...common, error_message: clip(result.errorMessage) } });
  }
  return events;
}

/** Settles with `work`, or rejects with the signal's reason as soon as it is aborted (an adapter that ignores the signal cannot hold a run past its deadline). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function errorMessageOf(error: unknown, signal: AbortSignal): string {
  // Whatever the adapter threw once the run was stopped (an AbortError), the stop's reason is what the user needs.
  if (signal.aborted && signal.reason instanceof RunStopped) return signal.reason.message;
  if (error instanceof PlatformError || error instanceof RunStopped) return error.message;
  return (error as Error)?.message ?? String(error);
}

/**
 * Runs one job once; resolves with how it ended (after its end was emitted). Rejects only
 * when the run's start or end could not be queued (the agent is stopping).
 */
export async function runJob(spec: RunSpec, deps: RunnerDeps): Promise<RunResult> {
  const now = deps.now ?? Date.now;
  const { job, signal } = spec;
  const log = deps.log;
  // The start is queued while the platform is asked: its fsync is not on the run's path. It
  // must be durable before any item or the end is queued, so the run's rows come in order.
  const startQueued = deps.emit(runEvent(spec));
  startQueued.catch(() => undefined);

  let found: SocialItem[] = [];
  /** Items whose event is durable, in the order they became so. */
  const emitted: string[] = [];
  let seenBefore = 0;
  let errorMessage = "";
  try {
    const target = parseTarget(job.platform, job.target_type, job.target_url);
    const adapter = deps.adapterFor(job.platform);
    const baseUrl = deps.baseUrl(job.platform);
    const credentials = deps.credentials(job.platform);
    found = await untilAborted(
      adapter.fetch(target, {
        http: deps.http,
        log,
        signal,
        deadline: spec.deadline,
        maxItems: job.max_items_per_run,
        ...(baseUrl ? { baseUrl } : {}),
        ...(credentials ? { credentials } : {}),
      }),
      signal,
    );
    await startQueued;
    found = found.slice(0, job.max_items_per_run);
    const fresh = new Set(await untilAborted(deps.seen.unseen(job.id, found.map((item) => item.id)), signal));
    const foundAt = now();
    // Oldest first, so the newest ids stay longest in the bounded seen set.
    const newest = found.filter((item) => fresh.delete(item.id)).reverse();
    seenBefore = found.length - newest.length;
    await untilAborted(
      Promise.all(
        newest.map(async (item) => {
          await deps.emit(itemEvent(job, spec.runId, item, foundAt));
          emitted.push(item.id);
        }),
      ),
      signal,
    );
  } catch (error) {
    errorMessage = errorMessageOf(error, signal) || "the run failed without a message";
    if (!(error instanceof PlatformError) && !(error instanceof RunStopped) && !signal.aborted) {
      log.warn({ job_id: job.id, run_id: spec.runId, err: (error as Error)?.stack ?? String(error) }, "run failed with an unexpected error");
    }
  }
  // Only items whose event is durable count as seen, also when the run failed halfway.
  const reported = [...emitted];
  try {
    await deps.seen.add(job.id, reported);
  } catch (error) {
    // They will be reported again by the next run: a repeat, not a loss.
    log.warn({ job_id: job.id, run_id: spec.runId, err: (error as Error).message }, "could not save the items seen; the next run reports them again");
  }

  // A start that could not be queued means the end cannot be either (the agent is stopping).
  await startQueued;
  const result: RunResult = {
    status: errorMessage ? "failed" : "completed",
    itemsFound: found.length,
    itemsProcessed: seenBefore + reported.length,
    newItems: reported.length,
    errorMessage,
    endTime: now(),
  };
  await deps.emit(runEvent(spec, result));
  await Promise.all(notificationEvents(spec, result).map((event) => deps.emit(event)));
  return result;
}
