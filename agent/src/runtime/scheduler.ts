import { Cron } from "croner";
import { parseDuration, type Logger, type ScheduledJob, type Scheduler } from "@vigil/plugin-sdk";

/**
 * Interval and cron schedules for plugins (croner). Runs never overlap (a slow run
 * makes the next one wait for the following tick), and a throwing task is logged while
 * the schedule goes on. `stopAll()` ends every job of the plugin when it stops.
 */
export function createScheduler(log: Logger): Scheduler & { stopAll(): void } {
  const jobs = new Set<ScheduledJob>();

  function guarded(name: string, task: () => Promise<void> | void) {
    return async () => {
      try {
        await task();
      } catch (error) {
        log.error({ job: name, err: (error as Error).message }, "scheduled task failed; the schedule goes on");
      }
    };
  }

  return {
    schedule(name, when, task) {
      let job: ScheduledJob;
      if ("cron" in when) {
        const cron = new Cron(when.cron, { protect: true, ...(when.timezone ? { timezone: when.timezone } : {}) }, guarded(name, task));
        job = { stop: () => cron.stop(), nextRun: () => cron.nextRun() };
      } else {
        const every = parseDuration(when.every);
        let running = false;
        let next = Date.now();
        const run = guarded(name, task);
        const tick = async () => {
          if (running) return;
          running = true;
          try {
            await run();
          } finally {
            running = false;
          }
        };
        const timer = setInterval(() => {
          next = Date.now() + every;
          void tick();
        }, every);
        // The first run happens at once: a new check should not wait a whole interval.
        const first = setImmediate(() => void tick());
        job = {
          stop: () => {
            clearImmediate(first);
            clearInterval(timer);
          },
          nextRun: () => new Date(next + every),
        };
      }
      jobs.add(job);
      return {
        stop() {
          job.stop();
          jobs.delete(job);
        },
        nextRun: () => job.nextRun(),
      };
    },
    stopAll() {
      for (const job of jobs) job.stop();
      jobs.clear();
    },
  };
}
