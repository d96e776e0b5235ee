import { join } from "node:path";
import { createCollectorSync, formatDuration, uuidv7, type PluginContext, type PluginInstance, type PluginStatus } from "@vigil/plugin-sdk";
import { adapterFor } from "./adapters/index.js";
import type { SocialConfig } from "./agent-config.js";
import { RUN_EVENT, RUN_FAILED_EVENT, SOURCE, type Platform } from "./contract.js";
import { formatSchedule } from "./format.js";
import { JOBS_CHANGED, nextRunAt, RUN_JOB, SYNC_PATH, syncResponseSchema, type AgentJob, type Schedule, type SyncResponse } from "./jobs-protocol.js";
import { openRunJournal, type OpenRun, type RunJournal } from "./run-journal.js";
import { runJob, RunStopped, type RunResult } from "./runner.js";
import { createJobScheduler, type Due, type JobScheduler } from "./scheduler.js";
import { openSeenStore, type SeenStore } from "./seen-store.js";

const SYNC_STATE_KEY = "jobs-sync";
/** Published at the agent's intake (`GET /v1/plugins/<id>/jobs`) for `vigil-agent jobs list`. */
export const JOBS_PUBLISHED = "jobs";
/** Publishing the job list waits this long for more changes, so a burst of runs publishes once. */
const PUBLISH_DELAY_MS = 250;
/** Run ids of recent execute commands, so a command delivered twice runs once. */
const RECENT_RUN_IDS = 1_000;

export type RunTrigger = Due["trigger"] | "execute" | "cli";
export type RunOnceState = "off" | "waiting_for_jobs" | "running" | "done";

interface ActiveRun {
  runId: string;
  trigger: RunTrigger;
  startTime: number;
  abort: AbortController;
  done: Promise<void>;
}

interface LastRun {
  runId: string;
  status: RunResult["status"];
  startTime: number;
  endTime: number;
  error: string;
}

/** What `vigil-agent jobs list` shows, one per job. */
export interface PublishedJob {
  id: string;
  name: string;
  platform: string;
  target_url: string;
  schedule: string;
  status: "active" | "paused";
  running: boolean;
  last_run_at: string | null;
  last_status: string | null;
  last_error: string | null;
  next_run_at: string | null;
}

function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * The time from a run's slot to the job's next slot: the longest a run may take. For a run
 * whose "slot" is just now (a catch-up, a resumed job, execute, cli) the job's usual
 * spacing is used instead, so such a run is not cut short by a slot that happens to be close.
 */
export function periodOf(schedule: Schedule, slot: number, onSlot: boolean): number | undefined {
  if (schedule.kind === "interval") return schedule.every_ms;
  try {
    const next = nextRunAt(schedule, new Date(slot), new Date(slot));
    if (!next) return undefined;
    if (onSlot) return next.getTime() - slot;
    const after = nextRunAt(schedule, next, next);
    return after ? after.getTime() - next.getTime() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The agent part: keeps the tenant's jobs (read from the collector at start, on every
 * pushed change and by the backup sync; the last answer is kept, so a restart schedules at
 * once even when the collector is away), runs each when due (scheduler.ts) through its
 * platform's adapter (runner.ts), at most `max_concurrent_runs` scheduled runs at a time,
 * and never two runs of one job at once.
 */
export function createSocialMonitor(ctx: PluginContext<SocialConfig>): PluginInstance {
  let config = ctx.config;
  const runsCounter = ctx.metrics.counter({ name: "vigil_social_runs_total", help: "Job runs ended, by trigger and status.", labelNames: ["trigger", "status"] });
  const itemsCounter = ctx.metrics.counter({ name: "vigil_social_new_items_total", help: "New items reported (social.item events)." });
  const refusedCounter = ctx.metrics.counter({ name: "vigil_social_runs_refused_total", help: "Execute requests refused, by reason.", labelNames: ["reason"] });
  const durationHistogram = ctx.metrics.histogram({ name: "vigil_social_run_duration_seconds", help: "Duration of job runs.", buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300] });
  const latenessHistogram = ctx.metrics.histogram({
    name: "vigil_social_run_lateness_seconds",
    help: "Start of scheduled runs after their slot.",
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  });
  const inProgressGauge = ctx.metrics.gauge({ name: "vigil_social_runs_in_progress", help: "Job runs in progress." });
  const jobsGauge = ctx.metrics.gauge({ name: "vigil_social_jobs", help: "Jobs known to the agent, by status.", labelNames: ["status"] });
  const syncsCounter = ctx.metrics.counter({ name: "vigil_social_job_syncs_total", help: "Job list reads from the collector, by trigger and result.", labelNames: ["trigger", "result"] });

  let jobs = new Map<string, AgentJob>();
  const active = new Map<string, ActiveRun>();
  /** Due scheduled runs waiting for a free slot (max_concurrent_runs), oldest first. */
  const waiting: { due: Due; trigger: RunTrigger }[] = [];
  const lastRuns = new Map<string, LastRun>();
  const recentRunIds = new Set<string>();
  let journal: RunJournal | undefined;
  let seen: SeenStore | undefined;
  let scheduler: JobScheduler | undefined;
  let started = false;
  let stopping = false;
  let runsCompleted = 0;
  let runsFailed = 0;
  let runsRefused = 0;
  let newItems = 0;
  let lastRunAt: number | undefined;
  let runOnce: RunOnceState = config.run_due_once ? "waiting_for_jobs" : "off";
  let runOnceRuns = 0;
  let runOnceFailed = 0;
  let runOnceError = "";
  let publishTimer: NodeJS.Timeout | undefined;

  const sync = createCollectorSync<SyncResponse>({
    ctx,
    what: "jobs",
    path: SYNC_PATH,
    schema: syncResponseSchema,
    commands: [JOBS_CHANGED],
    intervalMs: config.sync_interval,
    stateKey: SYNC_STATE_KEY,
    missingPartHint: "start the collector with --plugin @vigil/plugin-social (or VIGIL_COLLECTOR_PLUGINS=@vigil/plugin-social)",
    apply: applyJobs,
    pollChangeMessage: "job changes detected during polling",
    describeChange: (before, after) => ({ jobs_before: before?.jobs.length ?? 0, jobs_after: after.jobs.length }),
    onRead: (trigger, result) => syncsCounter.inc({ trigger, result }),
  });

  function applyJobs(answer: SyncResponse): void {
    const next = new Map(answer.jobs.map((job) => [job.id, job]));
    const at = Date.now();
    for (const job of answer.jobs) journal?.known(job.id, at);
    const previous = jobs;
    jobs = next;
    for (const [id, job] of previous) {
      if (next.has(id)) continue;
      // Deleted, completed or failed: it stops at once, a run of it in progress too.
      removeWaiting(id);
      const run = active.get(id);
      if (run) {
        run.abort.abort(new RunStopped(`the job was deleted (or ended) while this run was in progress; the run was stopped`));
        void run.done.then(() => forgetJob(id));
      } else void forgetJob(id);
      ctx.log.info({ job_id: id, job_name: job.name }, "job removed; it no longer runs");
    }
    for (const job of answer.jobs) if (job.status !== "active") removeWaiting(job.id);
    scheduler?.set(answer.jobs.map((job) => ({ id: job.id, schedule: job.schedule, active: job.status === "active" })));
    jobsGauge.set(answer.jobs.filter((job) => job.status === "active").length, { status: "active" });
    jobsGauge.set(answer.jobs.filter((job) => job.status === "paused").length, { status: "paused" });
    ctx.log.info({ jobs: answer.jobs.length, jobs_version: sync.version() }, "job list applied");
    changed();
  }

  async function forgetJob(jobId: string): Promise<void> {
    if (jobs.has(jobId)) return; // it came back meanwhile
    lastRuns.delete(jobId);
    journal?.forget(jobId);
    await seen?.forget(jobId).catch((error: unknown) => ctx.log.warn({ job_id: jobId, err: (error as Error).message }, "could not delete the job's seen items"));
  }

  function removeWaiting(jobId: string): void {
    const index = waiting.findIndex((w) => w.due.jobId === jobId);
    if (index < 0) return;
    waiting.splice(index, 1);
    scheduler?.release(jobId);
  }

  function onDue(due: Due): void {
    const trigger: RunTrigger = runOnce !== "off" ? "cli" : due.trigger;
    if (stopping || !jobs.has(due.jobId)) return scheduler?.release(due.jobId);
    if (active.size < config.max_concurrent_runs) startRun(jobs.get(due.jobId)!, uuidv7(), trigger, due.scheduledAt, due.onSlot);
    else waiting.push({ due, trigger });
  }

  /** Starts waiting runs while there is room. */
  function pump(): void {
    while (!stopping && waiting.length > 0 && active.size < config.max_concurrent_runs) {
      const { due, trigger } = waiting.shift()!;
      const job = jobs.get(due.jobId);
      if (job) startRun(job, uuidv7(), trigger, due.scheduledAt, due.onSlot);
      else scheduler?.release(due.jobId);
    }
  }

  function deadlineFor(job: AgentJob, scheduledAt: number, onSlot: boolean): { ms: number; reason: string } {
    const period = periodOf(job.schedule, scheduledAt, onSlot);
    if (period !== undefined && period < config.run_timeout) return { ms: Math.max(1, period), reason: "the job's period: a run ends before the job's next slot" };
    return { ms: config.run_timeout, reason: "run_timeout" };
  }

  function startRun(job: AgentJob, runId: string, trigger: RunTrigger, scheduledAt: number, onSlot = false): void {
    const startTime = Date.now();
    if (trigger === "schedule") latenessHistogram.observe(Math.max(0, startTime - scheduledAt) / 1000);
    const limit = deadlineFor(job, scheduledAt, onSlot);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new RunStopped(`the run passed its deadline of ${formatDuration(limit.ms)} (${limit.reason}) and was stopped`)), limit.ms);
    const run: ActiveRun = { runId, trigger, startTime, abort, done: Promise.resolve() };
    active.set(job.id, run);
    inProgressGauge.set(active.size);
    journal?.started({ jobId: job.id, runId, startTime, trigger, scheduledAt });
    lastRunAt = startTime;
    changed();
    run.done = runJob(
      { job, runId, trigger, scheduledAt, startTime, deadline: startTime + limit.ms, signal: abort.signal },
      {
        emit: (event) => ctx.emit(event),
        log: ctx.log,
        http: ctx.http,
        seen: seen!,
        adapterFor,
        baseUrl: (platform: Platform) => config.base_urls[platform],
        credentials: (platform: Platform) => credentialsFor(platform),
      },
    ).then(
      (result) => {
        // Only a run whose end is in the queue leaves the journal; one that could not report stays, and is reported failed at the next start.
        journal?.ended(runId);
        lastRuns.set(job.id, { runId, status: result.status, startTime, endTime: result.endTime, error: result.errorMessage });
        if (result.status === "completed") runsCompleted++;
        else runsFailed++;
        if (trigger === "cli") {
          runOnceRuns++;
          if (result.status === "failed") runOnceFailed++;
        }
        newItems += result.newItems;
        itemsCounter.inc(undefined, result.newItems);
        runsCounter.inc({ trigger, status: result.status });
        durationHistogram.observe((result.endTime - startTime) / 1000);
        const fields = { job_id: job.id, run_id: runId, trigger, status: result.status, items_found: result.itemsFound, new_items: result.newItems, duration_ms: result.endTime - startTime };
        if (result.status === "failed") ctx.log.warn({ ...fields, err: result.errorMessage }, "run failed");
        else ctx.log.debug(fields, "run completed");
      },
      (error: unknown) => {
        if (trigger === "cli") {
          runOnceRuns++;
          runOnceFailed++;
        }
        ctx.log.warn({ job_id: job.id, run_id: runId, err: (error as Error).message }, "run could not be reported (the agent is stopping); it is reported failed at the next start");
      },
    ).finally(() => {
      clearTimeout(timer);
      active.delete(job.id);
      inProgressGauge.set(active.size);
      scheduler?.release(job.id);
      pump();
      changed();
    });
  }

  function credentialsFor(platform: Platform): Record<string, string> | undefined {
    const given = (config.credentials as Record<string, Record<string, string | undefined> | undefined>)[platform];
    if (!given) return undefined;
    return Object.fromEntries(Object.entries(given).filter((entry): entry is [string, string] => typeof entry[1] === "string"));
  }

  function refuse(jobId: string, runId: string, reason: string, code: string, extra: Record<string, unknown> = {}): void {
    runsRefused++;
    refusedCounter.inc({ reason: code });
    ctx.log.warn({ job_id: jobId, run_id: runId, outcome: "refused", reason, ...extra }, `execute refused: ${reason}`);
  }

  /** `social-run-job {job_id, run_id}`: run that job now under that run id, unless a run of it is in progress or waiting. */
  async function onRunJob(args: Record<string, unknown>): Promise<void> {
    const jobId = typeof args.job_id === "string" ? args.job_id : "";
    const runId = typeof args.run_id === "string" ? args.run_id : "";
    if (!jobId || !runId) return refuse(jobId, runId, "the command needs job_id and run_id strings", "invalid");
    if (stopping) return refuse(jobId, runId, "the agent is stopping", "stopping");
    if (recentRunIds.has(runId)) return refuse(jobId, runId, `run ${runId} was already started by this agent (the command arrived twice)`, "duplicate");
    // The job may be newer than the list this agent holds (created and executed at once).
    if (!jobs.has(jobId)) await sync.read("push").catch(() => undefined);
    const job = jobs.get(jobId);
    if (!job) return refuse(jobId, runId, "the job is unknown to this agent (deleted, or not active)", "unknown_job");
    const running = active.get(jobId);
    if (running) return refuse(jobId, runId, "a run of this job is in progress; runs of one job never overlap", "in_progress", { running_run_id: running.runId });
    if (waiting.some((w) => w.due.jobId === jobId)) return refuse(jobId, runId, "a scheduled run of this job is waiting for a free run slot", "waiting");
    recentRunIds.add(runId);
    if (recentRunIds.size > RECENT_RUN_IDS) recentRunIds.delete(recentRunIds.values().next().value!);
    scheduler?.hold(jobId);
    ctx.log.info({ job_id: jobId, run_id: runId }, "execute: run started");
    startRun(job, runId, "execute", Date.now());
  }

  /** Runs the journal says were started and never reported an end: their rows would stay "in progress". */
  async function reportInterrupted(runs: readonly OpenRun[]): Promise<void> {
    const at = Date.now();
    for (const run of runs) {
      const job = sync.current()?.jobs.find((j) => j.id === run.jobId);
      await ctx.emit({
        id: uuidv7(),
        ts: at,
        source: SOURCE,
        type: RUN_EVENT,
        severity: "warning",
        attrs: {
          job_id: run.jobId,
          run_id: run.runId,
          status: "failed",
          start_time: run.startTime,
          end_time: at,
          items_found: 0,
          items_processed: 0,
          new_items_downloaded: 0,
          error_message: "the agent stopped (or crashed) during this run, so it did not finish",
          trigger: run.trigger,
          scheduled_at: run.scheduledAt,
          ...(job ? { job_name: job.name.slice(0, 4096), platform: job.platform } : {}),
        },
      });
      if (job?.notify_on_failure) {
        await ctx.emit({
          id: uuidv7(),
          ts: at,
          source: SOURCE,
          type: RUN_FAILED_EVENT,
          severity: "error",
          attrs: {
            job_id: job.id,
            job_name: job.name.slice(0, 4096),
            platform: job.platform,
            run_id: run.runId,
            notification_email: job.notification_email ?? "",
            error_message: "the agent stopped (or crashed) during this run, so it did not finish",
          },
        });
      }
      journal?.ended(run.runId);
      ctx.log.warn({ job_id: run.jobId, run_id: run.runId }, "a run interrupted by the last stop is reported failed");
    }
  }

  /** The job list and status changed: publish for `vigil-agent jobs list`, soon. */
  function changed(): void {
    if (publishTimer || stopping) return;
    publishTimer = setTimeout(() => {
      publishTimer = undefined;
      publishJobs();
    }, PUBLISH_DELAY_MS);
  }

  function publishJobs(): void {
    const list: PublishedJob[] = [...jobs.values()].map((job) => {
      const last = lastRuns.get(job.id);
      return {
        id: job.id,
        name: job.name,
        platform: job.platform,
        target_url: job.target_url,
        schedule: formatSchedule(job.schedule),
        status: job.status,
        running: active.has(job.id),
        last_run_at: iso(active.get(job.id)?.startTime ?? last?.startTime ?? journal?.lastRunAt(job.id)),
        last_status: active.has(job.id) ? "in_progress" : (last?.status ?? null),
        last_error: last?.error || null,
        next_run_at: iso(scheduler?.nextRunAt(job.id)),
      };
    });
    ctx.publish(JOBS_PUBLISHED, { updated_at: new Date().toISOString(), jobs: list });
  }

  /** Standalone `jobs run --once`: read the jobs, run every due one once, then report "done". */
  async function runDueOnce(): Promise<void> {
    try {
      await sync.read("start");
    } catch (error) {
      if (!sync.current()) {
        runOnceError = `cannot read the jobs from the collector: ${(error as Error).message}`;
        runOnce = "done";
        ctx.log.error({ err: (error as Error).message }, "run-once: no jobs to run");
        return;
      }
      ctx.log.warn({ err: (error as Error).message }, "run-once: the collector did not answer; running the last known jobs");
    }
    const current = sync.current();
    if (current) applyJobs(current);
    runOnce = "running";
    const due = scheduler!.takeDue();
    ctx.log.info({ due: due.length, jobs: jobs.size }, "run-once: running the due jobs");
    for (const item of due) onDue(item);
    while (active.size > 0 || waiting.length > 0) await Promise.all([...active.values()].map((run) => run.done));
    await journal?.flush();
    runOnce = "done";
    ctx.log.info({ runs: runOnceRuns, failed: runOnceFailed }, "run-once: done");
    changed();
  }

  ctx.onCommand(RUN_JOB, onRunJob);
  ctx.onConfig((next) => {
    config = next;
    sync.setInterval(next.sync_interval);
    pump();
  });

  function details(): Record<string, string | number | boolean> {
    const all = [...jobs.values()];
    const failing = [...lastRuns.entries()].filter(([id, run]) => jobs.has(id) && run.status === "failed").length;
    const base: Record<string, string | number | boolean> = {
      jobs_active: all.filter((job) => job.status === "active").length,
      jobs_paused: all.filter((job) => job.status === "paused").length,
      jobs_failing: failing,
      runs_in_progress: active.size,
      runs_waiting: waiting.length,
      runs_completed: runsCompleted,
      runs_failed: runsFailed,
      runs_refused: runsRefused,
      new_items: newItems,
      last_run_at: iso(lastRunAt) ?? "",
      next_run_at: iso(scheduler?.earliest()) ?? "",
      last_sync: iso(sync.lastSyncAt()) ?? "",
      jobs_version: sync.version(),
      sync_interval_seconds: Math.round(config.sync_interval / 1000),
      max_concurrent_runs: config.max_concurrent_runs,
    };
    if (runOnce !== "off") Object.assign(base, { run_once: runOnce, run_once_runs: runOnceRuns, run_once_failed: runOnceFailed, run_once_error: runOnceError });
    return base;
  }

  return {
    async start() {
      started = true;
      const dataDir = ctx.dataDir;
      journal = await openRunJournal(join(dataDir, "runs.jsonl"));
      seen = await openSeenStore(join(dataDir, "seen"), () => config.seen_per_job);
      scheduler = createJobScheduler({
        lastRunAt: (id) => journal!.lastRunAt(id),
        knownSince: (id) => journal!.knownSince(id),
        onDue,
        ...(config.due_check_interval !== undefined ? { pollMs: config.due_check_interval } : {}),
      });
      await reportInterrupted(journal.interrupted());
      if (config.run_due_once) {
        void runDueOnce();
        return;
      }
      await sync.start();
      scheduler.start();
    },
    async stop() {
      if (stopping) return;
      stopping = true;
      if (publishTimer) clearTimeout(publishTimer);
      publishTimer = undefined;
      scheduler?.stop();
      waiting.length = 0;
      await sync.stop();
      for (const run of active.values()) run.abort.abort(new RunStopped("the agent stopped during this run"));
      await Promise.all([...active.values()].map((run) => run.done));
      await journal?.flush();
    },
    status(): PluginStatus {
      const d = details();
      const syncError = sync.lastError();
      let state: PluginStatus["state"] = "ok";
      let message: string;
      if (!started || (!sync.current() && !syncError)) {
        state = "starting";
        message = "reading the jobs from the collector";
      } else if (!sync.current()) {
        state = "failing";
        message = `no jobs yet: ${syncError}`;
      } else if (runOnce === "done" && runOnceError) {
        state = "failing";
        message = runOnceError;
      } else if (syncError) {
        state = "degraded";
        message = `job sync failing (running the last known jobs): ${syncError}`;
      } else if (Number(d.jobs_failing) > 0) {
        state = "degraded";
        const [id, run] = [...lastRuns.entries()].find(([jobId, r]) => jobs.has(jobId) && r.status === "failed")!;
        message = `${d.jobs_failing} of ${jobs.size} jobs failing; ${jobs.get(id)?.name ?? id}: ${run.error}`;
      } else {
        message = `${d.jobs_active} active jobs, ${d.jobs_paused} paused, ${d.runs_in_progress} runs in progress`;
      }
      return { state, message, details: d };
    },
  };
}
