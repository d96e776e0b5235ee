import { nextRunAt, type Schedule } from "./jobs-protocol.js";

/**
 * When each job runs. One timer for the whole agent, set for the earliest due job (a
 * binary heap of due times), rather than a timer per job: a thousand jobs cost one wake-up
 * per due time and nothing in between. Due times come from the protocol's `nextRunAt`
 * (croner for cron expressions), so the agent runs a job when the collector says it will.
 *
 * - A job's next slot is the first scheduled time after its latest run's start; a cron job
 *   that never ran counts from when the agent first knew it.
 * - A slot that passed while the agent was down is run once at start (trigger "catch_up"),
 *   however many slots were missed.
 * - Runs of one job never overlap: once a job is due it is held (no further slot) until
 *   `release`, after its run ended; its next slot is then computed from that run's start,
 *   and one that passed during the run is due at once.
 * - A paused job has no slot.
 * - With `pollMs` (the standalone loop) the timer wakes at that cadence instead and runs
 *   whatever is due then.
 */

export type DueTrigger = "schedule" | "catch_up";

export interface SchedulerJob {
  id: string;
  schedule: Schedule;
  active: boolean;
}

export interface Due {
  jobId: string;
  /** The slot, epoch ms; "now" when the slot had passed when it was computed (a catch-up, a resumed job). */
  scheduledAt: number;
  /** Whether `scheduledAt` is a time of the schedule (false when it is "now" in place of a passed one). */
  onSlot: boolean;
  trigger: DueTrigger;
}

export interface JobSchedulerOptions {
  /** Start of the job's latest run (epoch ms), if it ran. */
  lastRunAt(jobId: string): number | undefined;
  /** When the agent first knew the job (epoch ms). */
  knownSince(jobId: string): number | undefined;
  /** A job is due: it is held until `release(jobId)`. */
  onDue(due: Due): void;
  /** Slots before this time were missed while the agent was down (default: creation time). */
  startedAt?: number;
  /** Check for due jobs at this cadence instead of at each due time. */
  pollMs?: number;
  now?: () => number;
}

export interface JobScheduler {
  /** The jobs to schedule: new ones get a slot, changed ones a new slot, missing ones are dropped. */
  set(jobs: readonly SchedulerJob[]): void;
  /** The job's run ended (or was not started): compute its next slot. */
  release(jobId: string): void;
  /** Holds a job that runs for another reason (execute): no slot until release. */
  hold(jobId: string): void;
  /** The job's next due time (epoch ms), or null (paused, held, or no further time). */
  nextRunAt(jobId: string): number | null;
  /** The earliest due time of any job. */
  earliest(): number | null;
  /** Takes (and holds) every job due at `now`, without timers (the standalone run-once). */
  takeDue(): Due[];
  /** Starts the timer. */
  start(): void;
  stop(): void;
}

/** The longest single wait: a wall-clock change is noticed within this time. */
const MAX_TIMER_MS = 60_000;

interface Entry {
  job: SchedulerJob;
  key: string;
  held: boolean;
  due: Due | null;
  /** Bumped whenever `due` changes; heap items of older generations are stale. */
  generation: number;
}

interface HeapItem {
  at: number;
  jobId: string;
  generation: number;
}

export function createJobScheduler(options: JobSchedulerOptions): JobScheduler {
  const now = options.now ?? Date.now;
  const startedAt = options.startedAt ?? now();
  const entries = new Map<string, Entry>();
  const heap: HeapItem[] = [];
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Infinity;
  let running = false;

  function push(item: HeapItem): void {
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.at <= item.at) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = item;
  }

  function pop(): HeapItem | undefined {
    const top = heap[0];
    const last = heap.pop();
    if (heap.length > 0 && last) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
        if (heap[child]!.at >= last.at) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }

  function isCurrent(item: HeapItem): boolean {
    const entry = entries.get(item.jobId);
    return entry !== undefined && entry.generation === item.generation && entry.due !== null;
  }

  /** The earliest live heap item; stale ones on top are dropped. */
  function peek(): HeapItem | undefined {
    while (heap.length > 0 && !isCurrent(heap[0]!)) pop();
    return heap[0];
  }

  function computeDue(entry: Entry): Due | null {
    const { job } = entry;
    if (!job.active || entry.held) return null;
    const current = now();
    const last = options.lastRunAt(job.id);
    const reference = last ?? (job.schedule.kind === "cron" ? options.knownSince(job.id) : undefined);
    let slot: number;
    try {
      const next = reference === undefined ? nextRunAt(job.schedule, new Date(current), null) : nextRunAt(job.schedule, new Date(reference), new Date(reference));
      if (next === null) return null;
      slot = next.getTime();
    } catch {
      return null; // a schedule this agent cannot read: the job is listed but never due
    }
    if (slot >= current) return { jobId: job.id, scheduledAt: slot, onSlot: true, trigger: "schedule" };
    return { jobId: job.id, scheduledAt: current, onSlot: false, trigger: slot < startedAt ? "catch_up" : "schedule" };
  }

  function reschedule(entry: Entry): void {
    entry.generation++;
    entry.due = computeDue(entry);
    if (entry.due) {
      push({ at: entry.due.scheduledAt, jobId: entry.job.id, generation: entry.generation });
      if (running && options.pollMs === undefined && entry.due.scheduledAt < timerAt) arm();
    }
  }

  function arm(): void {
    if (timer) clearTimeout(timer);
    timer = undefined;
    timerAt = Infinity;
    if (!running) return;
    const current = now();
    let wait: number;
    if (options.pollMs !== undefined) {
      wait = options.pollMs;
    } else {
      const top = peek();
      if (!top) return;
      wait = Math.min(MAX_TIMER_MS, Math.max(0, top.at - current));
    }
    timerAt = current + wait;
    timer = setTimeout(fire, wait);
  }

  function collectDue(at: number): Due[] {
    const due: Due[] = [];
    for (let top = peek(); top && top.at <= at; top = peek()) {
      pop();
      const entry = entries.get(top.jobId)!;
      due.push(entry.due!);
      entry.due = null;
      entry.held = true;
      entry.generation++;
    }
    return due;
  }

  function fire(): void {
    timer = undefined;
    timerAt = Infinity;
    const due = collectDue(now());
    arm();
    for (const item of due) options.onDue(item);
  }

  return {
    set(jobs) {
      const wanted = new Set<string>();
      for (const job of jobs) {
        wanted.add(job.id);
        const key = JSON.stringify([job.schedule, job.active]);
        const entry = entries.get(job.id);
        if (!entry) {
          const created: Entry = { job, key, held: false, due: null, generation: 0 };
          entries.set(job.id, created);
          reschedule(created);
        } else if (entry.key !== key) {
          entry.job = job;
          entry.key = key;
          reschedule(entry);
        }
      }
      for (const [id, entry] of entries) {
        if (wanted.has(id)) continue;
        entry.generation++;
        entries.delete(id);
      }
    },
    release(jobId) {
      const entry = entries.get(jobId);
      if (!entry) return;
      entry.held = false;
      reschedule(entry);
    },
    hold(jobId) {
      const entry = entries.get(jobId);
      if (!entry || entry.held) return;
      entry.held = true;
      entry.due = null;
      entry.generation++;
    },
    nextRunAt(jobId) {
      return entries.get(jobId)?.due?.scheduledAt ?? null;
    },
    earliest() {
      return peek()?.at ?? null;
    },
    takeDue() {
      return collectDue(now());
    },
    start() {
      running = true;
      arm();
    },
    stop() {
      running = false;
      if (timer) clearTimeout(timer);
      timer = undefined;
      timerAt = Infinity;
    },
  };
}
