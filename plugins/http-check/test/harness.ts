import { createRequire } from "node:module";
import { checkEvent, type HttpClient, type Labels, type PluginContext, type PluginDefinition, type PluginInstance, type PluginStore, type VigilEvent } from "@vigil/plugin-sdk";
import type { z } from "zod";

/**
 * A minimal PluginContext for driving the plugin in process. What it fakes is only the
 * agent's plumbing, kept to the SDK's contract: emitted events are validated with the
 * SDK's `checkEvent` and collected; state lives in memory (JSON round-tripped, like the
 * agent's state file) and can be handed to a second instance to act as a restart;
 * scheduled tasks are recorded and run when the test says so. The HTTP client is the
 * agent's real one, passed in by the test. The owner also tests the plugin end to end
 * through the real agent.
 */

/** croner, the agent scheduler's cron engine, so a pattern the agent refuses is refused here too. */
const { Cron } = createRequire(new URL("../../../agent/package.json", import.meta.url))("croner") as {
  Cron: new (pattern: string, options: { paused: boolean }) => { stop(): void };
};

export function createMemoryStore(): PluginStore & { snapshot(): Record<string, unknown> } {
  const data = new Map<string, string>();
  return {
    get: <T>(key: string) => (data.has(key) ? (JSON.parse(data.get(key)!) as T) : undefined),
    async set(key, value) {
      data.set(key, JSON.stringify(value));
    },
    async delete(key) {
      data.delete(key);
    },
    snapshot: () => Object.fromEntries([...data].map(([key, text]) => [key, JSON.parse(text)])),
  };
}

export interface RecordedJob {
  name: string;
  when: { every: string | number } | { cron: string; timezone?: string };
  task: () => Promise<void> | void;
  stopped: boolean;
}

export interface Harness<Schema extends z.ZodType> {
  instance: PluginInstance;
  events: VigilEvent[];
  /** Live jobs by name; a stopped job leaves this map. */
  jobs: Map<string, RecordedJob>;
  store: ReturnType<typeof createMemoryStore>;
  /** Last value per `name{labels}` for gauges, sums for counters, observations for histograms. */
  gauges: Map<string, number>;
  counters: Map<string, number>;
  histograms: Map<string, number[]>;
  logs: { level: string; obj: object | string; msg?: string }[];
  /** Runs one scheduled task, as the scheduler would on its tick. */
  run(jobName: string): Promise<void>;
  /** Runs every live job once, one after another. */
  runAll(): Promise<void>;
  /** Validates `input` with the plugin's schema and hands it to the onConfig listeners, as a remote change would. */
  changeConfig(input: unknown): Promise<void>;
  /** Stops the plugin the way the agent does: abort the signal, then stop(). */
  stop(): Promise<void>;
  eventsOfType(type: string): VigilEvent[];
}

export function createHarness<Schema extends z.ZodType>(options: {
  plugin: PluginDefinition<Schema>;
  config: unknown;
  http: HttpClient;
  store?: ReturnType<typeof createMemoryStore>;
}): Harness<Schema> {
  const { plugin } = options;
  const events: VigilEvent[] = [];
  const jobs = new Map<string, RecordedJob>();
  const store = options.store ?? createMemoryStore();
  const gauges = new Map<string, number>();
  const counters = new Map<string, number>();
  const histograms = new Map<string, number[]>();
  const logs: Harness<Schema>["logs"] = [];
  const listeners: ((config: z.output<Schema>) => void | Promise<void>)[] = [];
  const abort = new AbortController();
  const key = (name: string, labels: Labels = {}) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`;
  const logAt = (level: string) => (obj: object | string, msg?: string) => void logs.push({ level, obj, ...(msg !== undefined ? { msg } : {}) });

  const ctx: PluginContext<z.output<Schema>> = {
    agent: { id: "agent-test", name: "test", version: "0.0.0" },
    instanceId: plugin.name,
    config: plugin.configSchema.parse(options.config),
    async emit(input) {
      const checked = checkEvent(input);
      if (!checked.ok) throw new Error(`invalid event: ${checked.problems.map((p) => `${p.path || "event"}: ${p.message}`).join("; ")}`);
      events.push(checked.event);
    },
    log: { debug: logAt("debug"), info: logAt("info"), warn: logAt("warn"), error: logAt("error") },
    metrics: {
      counter: ({ name }) => ({ inc: (labels, value = 1) => void counters.set(key(name, labels), (counters.get(key(name, labels)) ?? 0) + value) }),
      gauge: ({ name }) => ({ set: (value, labels) => void gauges.set(key(name, labels), value) }),
      histogram: ({ name }) => ({
        observe: (value, labels) => void histograms.set(key(name, labels), [...(histograms.get(key(name, labels)) ?? []), value]),
      }),
    },
    state: store,
    scheduler: {
      schedule(name, when, task) {
        if ("cron" in when) new Cron(when.cron, { paused: true }).stop();
        const job: RecordedJob = { name, when, task, stopped: false };
        jobs.set(name, job);
        return {
          stop() {
            job.stopped = true;
            if (jobs.get(name) === job) jobs.delete(name);
          },
          nextRun: () => null,
        };
      },
    },
    http: options.http,
    // http-check never calls the collector's API; a call would be a bug the test should see.
    publish: () => undefined,
    collector: { request: (path) => Promise.reject(new Error(`http-check called the collector API (${path}); it has no reason to`)) },
    dataDir: "/nonexistent",
    onConfig: (listener) => void listeners.push(listener),
    onCommand: () => undefined,
    signal: abort.signal,
  };

  const instance = plugin.create(ctx);

  return {
    instance,
    events,
    jobs,
    store,
    gauges,
    counters,
    histograms,
    logs,
    async run(jobName) {
      const job = jobs.get(jobName);
      if (!job) throw new Error(`no live job "${jobName}"; live jobs: ${[...jobs.keys()].join(", ") || "none"}`);
      await job.task();
    },
    async runAll() {
      for (const job of [...jobs.values()]) await job.task();
    },
    async changeConfig(input) {
      const config = plugin.configSchema.parse(input);
      for (const listener of listeners) await listener(config);
    },
    async stop() {
      abort.abort();
      await instance.stop();
    },
    eventsOfType: (type) => events.filter((event) => event.type === type),
  };
}
