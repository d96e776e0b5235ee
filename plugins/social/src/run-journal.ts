import { appendFile, mkdir, readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { writeFileDurably } from "@vigil/plugin-sdk";

/**
 * What the scheduler must remember across restarts, per job: when this agent first knew it
 * and when its latest run started (so a slot missed while the agent was down runs once at
 * start), and which runs were started but never ended (a crash or a stop mid-run, reported
 * as failed at the next start so the run's row does not stay "in progress"). One
 * append-only file of JSON lines, rewritten with only what is current when it grows.
 *
 * Appends are not fsynced: the file survives a crash of the process; a power loss can
 * lose its last lines, after which a job may run once more than needed (its seen store
 * keeps that from repeating items) and an interrupted run is left to the collector's stuck
 * run check.
 */

export interface OpenRun {
  jobId: string;
  runId: string;
  startTime: number;
  trigger: string;
  scheduledAt: number;
}

type Record =
  | { k: "known"; job: string; at: number }
  | { k: "start"; job: string; run: string; at: number; trigger: string; slot: number }
  | { k: "end"; run: string }
  /** A rewrite's summary of the runs that ended. */
  | { k: "last"; job: string; at: number }
  | { k: "forget"; job: string };

export interface RunJournal {
  knownSince(jobId: string): number | undefined;
  lastRunAt(jobId: string): number | undefined;
  /** Records that the agent knows this job from `at` on (only the first call counts). */
  known(jobId: string, at: number): void;
  started(run: OpenRun): void;
  ended(runId: string): void;
  forget(jobId: string): void;
  /** Runs started and never ended, as found when the journal was opened; the caller reports each and then calls `ended`. */
  interrupted(): OpenRun[];
  /** Waits for the writes so far. */
  flush(): Promise<void>;
}

/** Rewrite once the file holds this many lines more than it would after a rewrite. */
const REWRITE_SLACK = 10_000;

export async function openRunJournal(file: string): Promise<RunJournal> {
  await mkdir(dirname(file), { recursive: true });
  const known = new Map<string, number>();
  const lastRun = new Map<string, number>();
  const open = new Map<string, OpenRun>();
  let lines = 0;

  let text = "";
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  for (const line of text.split("\n")) {
    if (!line) continue;
    let record: Record;
    try {
      record = JSON.parse(line) as Record;
    } catch {
      continue; // a torn last line
    }
    lines++;
    apply(record);
  }
  const interrupted = [...open.values()];

  function apply(record: Record): void {
    switch (record.k) {
      case "known":
        if (!known.has(record.job)) known.set(record.job, record.at);
        break;
      case "start":
        if (!known.has(record.job)) known.set(record.job, record.at);
        lastRun.set(record.job, Math.max(record.at, lastRun.get(record.job) ?? 0));
        open.set(record.run, { jobId: record.job, runId: record.run, startTime: record.at, trigger: record.trigger, scheduledAt: record.slot });
        break;
      case "end":
        open.delete(record.run);
        break;
      case "last":
        lastRun.set(record.job, Math.max(record.at, lastRun.get(record.job) ?? 0));
        break;
      case "forget":
        known.delete(record.job);
        lastRun.delete(record.job);
        for (const [runId, run] of open) if (run.jobId === record.job) open.delete(runId);
        break;
    }
  }

  function snapshot(): Record[] {
    const records: Record[] = [];
    for (const [job, at] of known) records.push({ k: "known", job, at });
    for (const [job, at] of lastRun) records.push({ k: "last", job, at });
    for (const run of open.values()) records.push({ k: "start", job: run.jobId, run: run.runId, at: run.startTime, trigger: run.trigger, slot: run.scheduledAt });
    return records;
  }

  let writing: Promise<void> = Promise.resolve();
  let pending: string[] = [];

  function write(record: Record): void {
    apply(record);
    pending.push(`${JSON.stringify(record)}\n`);
    if (pending.length > 1) return; // a write is already queued and takes this line too
    writing = writing
      .catch(() => undefined)
      .then(async () => {
        const batch = pending;
        pending = [];
        lines += batch.length;
        if (lines > known.size * 2 + open.size + REWRITE_SLACK) {
          const records = snapshot();
          await writeFileDurably(file, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
          lines = records.length;
        } else {
          await appendFile(file, batch.join(""));
        }
      });
  }

  return {
    knownSince: (jobId) => known.get(jobId),
    lastRunAt: (jobId) => lastRun.get(jobId),
    known(jobId, at) {
      if (!known.has(jobId)) write({ k: "known", job: jobId, at });
    },
    started(run) {
      write({ k: "start", job: run.jobId, run: run.runId, at: run.startTime, trigger: run.trigger, slot: run.scheduledAt });
    },
    ended(runId) {
      write({ k: "end", run: runId });
    },
    forget(jobId) {
      if (known.has(jobId) || lastRun.has(jobId)) write({ k: "forget", job: jobId });
    },
    interrupted: () => interrupted,
    async flush() {
      await writing.catch(() => undefined);
    },
  };
}
