import { untrack } from "svelte";
import { api } from "../../lib/api.js";
import type { Job, Run, RunsPage } from "./types.js";

/**
 * The latest run of each listed job, for the list's "last run" column: a job carries when
 * it last ran and its counters, but not how its latest run ended. One `…/runs?limit=1`
 * per job, asked again only when the job's `last_run_at` moved or its latest run was
 * still in progress, and at most CONCURRENCY at a time, so a list polled every 15 s
 * costs requests only for jobs that ran meanwhile.
 */
const CONCURRENCY = 4;

export type LoadLatest = (jobId: string) => Promise<Run | null>;

const fromApi: LoadLatest = async (jobId) => (await api.get<RunsPage>(`/api/monitoring/jobs/${encodeURIComponent(jobId)}/runs`, { limit: 1 })).runs[0] ?? null;

export class LastRuns {
  /** Job id → its latest run (null: none reported yet). */
  runs = $state.raw<Record<string, Run | null>>({});
  /** Job id → the `last_run_at` the answer in `runs` is for (or being fetched). */
  private readonly asked = new Map<string, string>();
  private readonly inflight = new Set<string>();

  constructor(private readonly load: LoadLatest = fromApi) {}

  /** Fetch what changed for these jobs. Safe to call from an effect: reads nothing reactively. */
  sync(jobs: readonly Job[]): Promise<void> {
    return untrack(() => {
      const stale = jobs.filter((job) => {
        if (!job.last_run_at || this.inflight.has(job.id)) return false;
        if (this.asked.get(job.id) !== job.last_run_at) return true;
        return this.runs[job.id]?.status === "in_progress";
      });
      for (const job of stale) (this.asked.set(job.id, job.last_run_at!), this.inflight.add(job.id));
      const queue = [...stale];
      const worker = async () => {
        for (let job = queue.shift(); job; job = queue.shift()) {
          try {
            const run = await this.load(job.id);
            this.runs = { ...this.runs, [job.id]: run };
          } catch {
            // Shown as unknown; asked again on the next sync.
            this.asked.delete(job.id);
          } finally {
            this.inflight.delete(job.id);
          }
        }
      };
      return Promise.all(Array.from({ length: Math.min(CONCURRENCY, queue.length) }, worker)).then(() => undefined);
    });
  }

  /** The latest run of a job, once fetched; also updated from a run the page saw itself. */
  set(jobId: string, run: Run): void {
    this.runs = { ...this.runs, [jobId]: run };
  }
}
