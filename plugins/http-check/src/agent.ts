import { definePlugin, type EventInput, type PluginContext, type PluginInstance, type PluginStatus, type ScheduledJob } from "@vigil/plugin-sdk";
import { runCheck, type ErrorClass } from "./check.js";
import { httpCheckConfigSchema, scheduleOf, type CheckConfig, type HttpCheckConfig } from "./config.js";
import { checkRunEvent, stateChangeEvent } from "./events.js";
import { INITIAL_RECORD, STATE_KEY, advance, readRecords, type CheckRecord } from "./state.js";

export { httpCheckConfigSchema, type HttpCheckConfig, type CheckConfig } from "./config.js";

const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** One configured check and its job. `retired` once the check was removed or changed: its run in flight is then not reported. */
interface ScheduledCheck {
  check: CheckConfig;
  job?: ScheduledJob;
  retired: boolean;
}

export default definePlugin({
  name: "http-check",
  metadata: {
    stability: "beta",
    delivery: "at_least_once",
    description: "Checks HTTP(S) URLs on an interval or cron: status, latency, body keyword, JSON path, TLS certificate days left; up/down state.",
  },
  configSchema: httpCheckConfigSchema,
  create: createHttpCheck,
});

function createHttpCheck(ctx: PluginContext<HttpCheckConfig>): PluginInstance {
  const upGauge = ctx.metrics.gauge({
    name: "vigil_http_check_up",
    help: "1 while the check's state is up, 0 while it is down (after failures_before_down consecutive failed runs).",
    labelNames: ["check"],
  });
  const latencyHistogram = ctx.metrics.histogram({
    name: "vigil_http_check_latency_seconds",
    help: "Time from sending the request to the end of the answer's body, for runs that got an HTTP answer.",
    labelNames: ["check"],
    buckets: LATENCY_BUCKETS_SECONDS,
  });
  const runsCounter = ctx.metrics.counter({
    name: "vigil_http_check_runs_total",
    help: 'Check runs by result: "pass", or the error class of a failed run.',
    labelNames: ["check", "result"],
  });

  const records = readRecords(ctx.state.get(STATE_KEY));
  const lastErrors = new Map<string, ErrorClass>();
  const scheduleErrors = new Map<string, string>();
  const scheduled = new Map<string, ScheduledCheck>();
  const inFlight = new Set<Promise<void>>();
  let checks = ctx.config.checks;
  let phase: "created" | "started" | "stopped" = "created";
  let stopping: Promise<void> | undefined;
  let persisting = Promise.resolve();

  ctx.onConfig((config) => {
    checks = config.checks;
    if (phase === "started") applyChecks();
  });

  /** Brings the scheduled jobs in line with `checks`, leaving unchanged checks' jobs alone. */
  function applyChecks() {
    const wanted = new Map(checks.map((check) => [check.name, check]));
    for (const [name, entry] of scheduled) {
      const next = wanted.get(name);
      if (next && JSON.stringify(next) === JSON.stringify(entry.check)) continue;
      entry.job?.stop();
      entry.retired = true;
      scheduled.delete(name);
    }
    for (const check of checks) {
      if (!scheduled.has(check.name)) scheduleCheck(check);
    }
    let forgotten = false;
    for (const name of records.keys()) {
      if (wanted.has(name)) continue;
      records.delete(name);
      forgotten = true;
    }
    for (const name of [...lastErrors.keys(), ...scheduleErrors.keys()]) {
      if (wanted.has(name)) continue;
      lastErrors.delete(name);
      scheduleErrors.delete(name);
    }
    if (forgotten) void persist();
  }

  /** A check the scheduler refuses (say, a cron pattern out of range) is reported; the other checks go on. */
  function scheduleCheck(check: CheckConfig) {
    scheduleErrors.delete(check.name);
    try {
      const entry: ScheduledCheck = { check, retired: false };
      entry.job = ctx.scheduler.schedule(`check:${check.name}`, scheduleOf(check), () => runTracked(entry));
      scheduled.set(check.name, entry);
      const record = records.get(check.name);
      if (record && record.state !== "unknown") upGauge.set(record.state === "up" ? 1 : 0, { check: check.name });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      scheduleErrors.set(check.name, reason);
      ctx.log.error({ check: check.name, reason }, "check could not be scheduled");
    }
  }

  async function runTracked(entry: ScheduledCheck): Promise<void> {
    if (phase !== "started" || entry.retired) return;
    const run = runAndReport(entry);
    inFlight.add(run);
    try {
      await run;
    } finally {
      inFlight.delete(run);
    }
  }

  async function runAndReport(entry: ScheduledCheck): Promise<void> {
    const { check } = entry;
    const ts = Date.now();
    let result;
    try {
      result = await runCheck(check, ctx.http, ctx.signal);
    } catch (error) {
      ctx.log.error({ check: check.name, reason: error instanceof Error ? error.message : String(error) }, "check run failed unexpectedly");
      return;
    }
    if (result === undefined || entry.retired) return;

    runsCounter.inc({ check: check.name, result: result.passed ? "pass" : result.errorClass });
    if (result.statusCode > 0) latencyHistogram.observe(result.latencyMs / 1000, { check: check.name });
    lastErrors.set(check.name, result.errorClass);
    await emitLogged(checkRunEvent(check, result, ts), check.name);

    const previous = records.get(check.name) ?? INITIAL_RECORD;
    let next: CheckRecord = advance(previous, result.passed, check.failures_before_down);
    if (next.state !== previous.state) {
      // Only an announced change is recorded, so one that could not be queued is announced by the next run.
      if (await emitLogged(stateChangeEvent(check, previous.state, next, ts), check.name)) {
        const facts = { check: check.name, state: next.state, previous_state: previous.state };
        if (next.state === "down") ctx.log.warn(facts, `check ${check.name} is down`);
        else ctx.log.info(facts, `check ${check.name} is up`);
      } else {
        next = { ...next, state: previous.state };
      }
    }
    if (entry.retired) return;
    records.set(check.name, next);
    if (next.state !== "unknown") upGauge.set(next.state === "up" ? 1 : 0, { check: check.name });
    // After the emits: a crash in between announces a change twice rather than never.
    await persist();
  }

  async function emitLogged(event: EventInput, checkName: string): Promise<boolean> {
    try {
      await ctx.emit(event);
      return true;
    } catch (error) {
      ctx.log.error({ check: checkName, type: event.type, reason: error instanceof Error ? error.message : String(error) }, "event could not be queued");
      return false;
    }
  }

  /** Writes every record; writes are chained so the last one always holds the newest records. */
  function persist(): Promise<void> {
    persisting = persisting
      .then(() => ctx.state.set(STATE_KEY, Object.fromEntries(records)))
      .catch((error: unknown) => ctx.log.error({ reason: error instanceof Error ? error.message : String(error) }, "check states could not be saved"));
    return persisting;
  }

  function status(): PluginStatus {
    if (phase === "stopped") return { state: "stopped" };
    if (phase === "created") return { state: "starting" };
    const details: Record<string, string | number | boolean> = {};
    let up = 0;
    let down = 0;
    for (const check of checks) {
      const state = scheduleErrors.has(check.name) ? "not scheduled" : (records.get(check.name) ?? INITIAL_RECORD).state;
      if (state === "up") up++;
      if (state === "down") down++;
      const lastError = lastErrors.get(check.name);
      details[check.name] = lastError && lastError !== "none" ? `${state} (last run: ${lastError})` : state;
    }
    const total = checks.length;
    const unscheduled = scheduleErrors.size;
    const unknown = total - up - down - unscheduled;
    if (unscheduled === total) return { state: "failing", message: `no check could be scheduled: ${[...scheduleErrors.values()][0]}`, details };
    const problems = [
      ...(down > 0 ? [`${down} of ${total} checks down`] : []),
      ...(unscheduled > 0 ? [`${unscheduled} not scheduled (${[...scheduleErrors.keys()].join(", ")})`] : []),
    ];
    if (problems.length > 0) return { state: "degraded", message: problems.join("; "), details };
    if (unknown === total) return { state: "starting", message: `waiting for the first results of ${total} checks`, details };
    return { state: "ok", message: `${up} of ${total} checks up${unknown > 0 ? `, ${unknown} not known yet` : ""}`, details };
  }

  return {
    async start() {
      if (phase !== "created") return;
      phase = "started";
      applyChecks();
    },
    stop() {
      stopping ??= (async () => {
        phase = "stopped";
        for (const entry of scheduled.values()) entry.job?.stop();
        scheduled.clear();
        await Promise.allSettled([...inFlight]);
        await persisting;
      })();
      return stopping;
    },
    status,
  };
}
