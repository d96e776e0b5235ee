import { AsyncLocalStorage } from "node:async_hooks";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger as PinoLogger } from "pino";
import { checkEvent, type AgentCommand, type CollectorApi, type HttpClient, type PluginDefinition, type PluginInstance, type PluginState, type PluginStatus } from "@vigil/plugin-sdk";
import { importPlugin } from "../config/load.js";
import type { EffectivePlugin } from "../config/merge.js";
import { problemsFromIssues, type ConfigProblem } from "../config/problems.js";
import { pluginMetrics, type AgentMetrics } from "../runtime/metrics.js";
import { createScheduler } from "../runtime/scheduler.js";
import { openStateStore } from "../runtime/state-store.js";

const RESTART_BASE_MS = 1_000;
const RESTART_MAX_MS = 60_000;

export interface PluginHostOptions {
  agent: { id: string; name: string; version: string };
  dataDir: string;
  /** Folder of the config file: plugins named by path load relative to it. */
  baseDir: string;
  log: PinoLogger;
  metrics: AgentMetrics;
  http: HttpClient;
  collector: CollectorApi;
  /** Puts serialized events into the durable queue; resolves once they are on disk. */
  enqueue(records: Buffer[]): Promise<void>;
}

export interface PluginReport {
  id: string;
  use: string;
  state: PluginState;
  message?: string;
  restarts: number;
  details?: Record<string, string | number | boolean>;
}

interface Slot {
  id: string;
  use: string;
  enabled: boolean;
  definition: PluginDefinition;
  config: unknown;
  instance?: PluginInstance;
  listeners: ((config: unknown) => void | Promise<void>)[];
  commandHandlers: Map<string, (args: Record<string, unknown>) => unknown>;
  scheduler?: ReturnType<typeof createScheduler>;
  abort?: AbortController;
  failure?: string;
  restarts: number;
  consecutiveFailures: number;
  restartTimer?: NodeJS.Timeout;
  running: boolean;
  /** Set synchronously when a start begins, so two restarts cannot start two instances. */
  starting: boolean;
  /** When the current instance started; a failure long after resets the backoff. */
  startedAt?: number;
}

const HEALTHY_RESETS_BACKOFF_MS = 60_000;
const PUBLISHED_NAME = /^[a-z][a-z0-9-]{0,63}$/;

/** Which plugin's code is running, so an error escaping a plugin's callbacks can be pinned on it. */
const currentPlugin = new AsyncLocalStorage<string>();

/**
 * Runs plugins side by side: each gets its own context (logger, metrics, state, scheduler,
 * HTTP client, emit), a plugin that fails is restarted with exponential backoff and shown
 * as failing, and the others keep running. Configuration changes are validated whole
 * before any is applied.
 */
export function createPluginHost(options: PluginHostOptions) {
  const slots = new Map<string, Slot>();
  /** `<plugin id>/<name>` → JSON text, what plugins published for apps (ctx.publish). */
  const published = new Map<string, string>();
  const { log, metrics } = options;
  let closed = false;

  async function resolvePlugins(plugins: readonly EffectivePlugin[]): Promise<{ resolved: { plugin: EffectivePlugin; definition: PluginDefinition; config: unknown }[]; problems: ConfigProblem[] }> {
    const problems: ConfigProblem[] = [];
    const resolved: { plugin: EffectivePlugin; definition: PluginDefinition; config: unknown }[] = [];
    for (const plugin of plugins) {
      const where = plugin.fileIndex !== undefined ? ["plugins", plugin.fileIndex] : ["plugins", plugin.id];
      let definition: PluginDefinition;
      try {
        definition = slots.get(plugin.id)?.use === plugin.use ? slots.get(plugin.id)!.definition : await importPlugin(plugin.use, options.baseDir);
      } catch (error) {
        problems.push({ path: [...where, "use"].map(String).join("."), message: (error as Error).message });
        continue;
      }
      const parsed = definition.configSchema.safeParse(plugin.config);
      if (!parsed.success) problems.push(...problemsFromIssues(parsed.error.issues, [...where, "config"]));
      else resolved.push({ plugin, definition, config: parsed.data });
    }
    return { resolved, problems };
  }

  function createContext(slot: Slot, stateDir: string, state: Awaited<ReturnType<typeof openStateStore>>) {
    const pluginLog = log.child({ plugin: slot.id });
    const abort = new AbortController();
    const scheduler = createScheduler(pluginLog);
    slot.abort = abort;
    slot.scheduler = scheduler;
    slot.listeners = [];
    slot.commandHandlers = new Map();
    const emitted = metrics.eventsEmitted.labels({ plugin: slot.id });
    return {
      agent: options.agent,
      instanceId: slot.id,
      config: slot.config,
      async emit(input: unknown) {
        const checked = checkEvent(input);
        if (!checked.ok) {
          throw new Error(`invalid event from plugin ${slot.id}: ${checked.problems.map((p) => `${p.path || "event"}: ${p.message}`).join("; ")}`);
        }
        await options.enqueue([Buffer.from(JSON.stringify(checked.event))]);
        emitted.inc();
      },
      log: pluginLog,
      metrics: pluginMetrics(metrics.registry),
      state,
      scheduler,
      http: options.http,
      collector: options.collector,
      dataDir: stateDir,
      onConfig(listener: (config: unknown) => void | Promise<void>) {
        slot.listeners.push(listener);
      },
      publish(name: string, value: unknown) {
        if (!PUBLISHED_NAME.test(name)) throw new Error(`published names are lower-case letters, digits and '-', got "${name}"`);
        published.set(`${slot.id}/${name}`, JSON.stringify(value));
      },
      onCommand(name: string, handler: (args: Record<string, unknown>) => unknown) {
        slot.commandHandlers.set(name, handler);
      },
      signal: abort.signal,
    };
  }

  function isCurrent(slot: Slot): boolean {
    return !closed && slot.enabled && slots.get(slot.id) === slot;
  }

  async function startSlot(slot: Slot): Promise<void> {
    if (!isCurrent(slot) || slot.running || slot.starting) return;
    slot.starting = true;
    try {
      const stateDir = join(options.dataDir, "plugins", slot.id);
      await mkdir(stateDir, { recursive: true });
      const state = await openStateStore(stateDir);
      // The plugin may have been removed or disabled while its state was being opened.
      if (!isCurrent(slot)) return;
      const ctx = createContext(slot, stateDir, state);
      slot.running = true;
      slot.startedAt = Date.now();
      await startInstance(slot, ctx);
    } catch (error) {
      await failSlot(slot, error);
    } finally {
      slot.starting = false;
    }
  }

  async function startInstance(slot: Slot, ctx: ReturnType<typeof createContext>): Promise<void> {
    await currentPlugin.run(slot.id, async () => {
      slot.instance = slot.definition.create(ctx as never);
      await slot.instance.start();
    });
    // The backoff is not reset here: a plugin that fails right after starting must still
    // back off; failSlot resets it once an instance has run for a while.
    slot.failure = undefined;
    log.info({ plugin: slot.id, use: slot.use }, "plugin started");
  }

  async function stopSlot(slot: Slot): Promise<void> {
    if (slot.restartTimer) clearTimeout(slot.restartTimer);
    slot.restartTimer = undefined;
    if (!slot.running) return;
    slot.running = false;
    slot.abort?.abort();
    slot.scheduler?.stopAll();
    try {
      await slot.instance?.stop();
    } catch (error) {
      log.warn({ plugin: slot.id, err: (error as Error).message }, "plugin stop failed");
    }
    slot.instance = undefined;
  }

  /** Marks a plugin failing, stops what is left of it and schedules a restart with backoff. */
  async function failSlot(slot: Slot, error: unknown): Promise<void> {
    // A restart is already planned (a second error of the same failure): one is enough.
    if (slot.restartTimer) return;
    slot.failure = (error as Error)?.message ?? String(error);
    if (slot.startedAt !== undefined && Date.now() - slot.startedAt > HEALTHY_RESETS_BACKOFF_MS) slot.consecutiveFailures = 0;
    slot.consecutiveFailures++;
    await stopSlot(slot);
    if (!isCurrent(slot) || slot.restartTimer) return;
    const delay = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** (slot.consecutiveFailures - 1));
    log.error({ plugin: slot.id, err: slot.failure, restart_in_ms: delay }, "plugin failed; restarting it with backoff");
    slot.restartTimer = setTimeout(() => {
      slot.restartTimer = undefined;
      slot.restarts++;
      metrics.pluginRestarts.inc({ plugin: slot.id });
      void startSlot(slot);
    }, delay);
  }

  /**
   * Makes the running set match `plugins`. Validates everything first: on any problem
   * nothing changes and the problems are returned.
   */
  async function apply(plugins: readonly EffectivePlugin[]): Promise<ConfigProblem[]> {
    const { resolved, problems } = await resolvePlugins(plugins);
    if (problems.length > 0) return problems;
    const wanted = new Set(resolved.map((r) => r.plugin.id));
    for (const [id, slot] of slots) {
      if (!wanted.has(id)) {
        await stopSlot(slot);
        slots.delete(id);
        forgetPublished(id);
        log.info({ plugin: id }, "plugin removed");
      }
    }
    for (const { plugin, definition, config } of resolved) {
      let slot = slots.get(plugin.id);
      if (slot && slot.use !== plugin.use) {
        // Another package under the same id (a remote-added plugin): a new plugin, not a change.
        await stopSlot(slot);
        slots.delete(plugin.id);
        forgetPublished(plugin.id);
        slot = undefined;
      }
      if (!slot) {
        const created: Slot = {
          id: plugin.id,
          use: plugin.use,
          enabled: plugin.enabled,
          definition,
          config,
          listeners: [],
          commandHandlers: new Map(),
          restarts: 0,
          consecutiveFailures: 0,
          running: false,
          starting: false,
        };
        slots.set(plugin.id, created);
        await startSlot(created);
        continue;
      }
      const changed = JSON.stringify(slot.config) !== JSON.stringify(config);
      slot.config = config;
      if (!plugin.enabled) {
        slot.enabled = false;
        await stopSlot(slot);
        forgetPublished(slot.id);
        continue;
      }
      const wasDisabled = !slot.enabled;
      slot.enabled = true;
      if (wasDisabled || !slot.running) {
        if (!slot.restartTimer) await startSlot(slot);
      } else if (changed) {
        if (slot.listeners.length > 0) {
          try {
            await currentPlugin.run(slot.id, async () => {
              for (const listener of slot.listeners) await listener(config);
            });
            log.info({ plugin: slot.id }, "plugin configuration changed");
          } catch (error) {
            await failSlot(slot, error);
          }
        } else {
          // A plugin without onConfig gets its new configuration by a restart.
          await stopSlot(slot);
          await startSlot(slot);
        }
      }
    }
    return [];
  }

  async function runCommand(command: AgentCommand, options: { quiet?: boolean } = {}): Promise<number> {
    let handled = 0;
    for (const slot of slots.values()) {
      if (command.plugin && command.plugin !== slot.id) continue;
      const handler = slot.commandHandlers.get(command.name);
      if (!handler || !slot.running) continue;
      handled++;
      try {
        await currentPlugin.run(slot.id, async () => handler(command.args));
      } catch (error) {
        log.error({ plugin: slot.id, command: command.name, err: (error as Error).message }, "plugin command failed");
      }
    }
    if (handled === 0 && !options.quiet) log.warn({ command: command.name, plugin: command.plugin }, "no running plugin handles this command");
    return handled;
  }

  /** Called for an error that escaped any plugin's code; true when it was pinned on one. */
  function handleEscapedError(error: unknown): boolean {
    const id = currentPlugin.getStore();
    const slot = id ? slots.get(id) : undefined;
    if (!slot) return false;
    void failSlot(slot, error);
    return true;
  }

  function reports(): PluginReport[] {
    return [...slots.values()].map((slot) => {
      let status: PluginStatus;
      if (!slot.enabled) status = { state: "stopped", message: "disabled by configuration" };
      else if (slot.failure !== undefined) status = { state: "failing", message: slot.failure };
      else if (!slot.running || !slot.instance) status = { state: "starting" };
      else {
        try {
          status = slot.instance.status();
        } catch (error) {
          status = { state: "failing", message: `status() threw: ${(error as Error).message}` };
        }
      }
      return {
        id: slot.id,
        use: slot.use,
        state: status.state,
        ...(status.message ? { message: status.message } : {}),
        restarts: slot.restarts,
        ...(status.details ? { details: status.details } : {}),
      };
    });
  }

  async function stopAll(): Promise<void> {
    closed = true;
    await Promise.all([...slots.values()].map(stopSlot));
  }

  /**
   * A removed or disabled plugin's values go; a plugin restarting after a failure keeps
   * them, so apps go on with the last value meanwhile.
   */
  function forgetPublished(pluginId: string): void {
    for (const key of published.keys()) if (key.startsWith(`${pluginId}/`)) published.delete(key);
  }

  /** A value a plugin published, as JSON text; undefined when none. */
  function publishedValue(pluginId: string, name: string): string | undefined {
    return published.get(`${pluginId}/${name}`);
  }

  return { apply, runCommand, reports, stopAll, handleEscapedError, publishedValue };
}

export type PluginHost = ReturnType<typeof createPluginHost>;
