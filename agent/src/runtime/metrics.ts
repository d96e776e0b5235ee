import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { Labels, PluginMetrics } from "@vigil/plugin-sdk";

/** The agent's one registry: Node defaults plus `vigil_agent_*` metrics. */
export function createAgentMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names three gauges *_total, which promtool rejects; their by-type siblings stay.
  for (const name of ["nodejs_active_handles_total", "nodejs_active_requests_total", "nodejs_active_resources_total"]) registry.removeSingleMetric(name);
  return {
    registry,
    eventsEmitted: new Counter({ name: "vigil_agent_events_emitted_total", help: "Events accepted into the queue, by plugin (or intake).", labelNames: ["plugin"] as const, registers: [registry] }),
    eventsShipped: new Counter({ name: "vigil_agent_events_shipped_total", help: "Events the collector acknowledged.", registers: [registry] }),
    eventsDropped: new Counter({ name: "vigil_agent_events_dropped_total", help: "Events lost, by reason (queue_full, corrupt, rejected).", labelNames: ["reason"] as const, registers: [registry] }),
    queueBytes: new Gauge({ name: "vigil_agent_queue_bytes", help: "Bytes waiting in the on-disk queue.", registers: [registry] }),
    shipSeconds: new Histogram({ name: "vigil_agent_ship_seconds", help: "Time to ship one batch to the collector.", labelNames: ["outcome"] as const, buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers: [registry] }),
    retries: new Counter({ name: "vigil_agent_retries_total", help: "Batch sends retried after a failure or a 429/503.", registers: [registry] }),
    pluginRestarts: new Counter({ name: "vigil_agent_plugin_restarts_total", help: "Plugin restarts after a failure, by plugin.", labelNames: ["plugin"] as const, registers: [registry] }),
    configVersion: new Gauge({ name: "vigil_agent_config_version", help: "Remote configuration version in force.", registers: [registry] }),
  };
}

export type AgentMetrics = ReturnType<typeof createAgentMetrics>;

/**
 * The metrics view a plugin gets. Creating the same metric twice (a restarted plugin)
 * returns the existing one instead of failing.
 */
export function pluginMetrics(registry: Registry): PluginMetrics {
  function existing<T>(name: string): T | undefined {
    return registry.getSingleMetric(name) as T | undefined;
  }
  return {
    counter({ name, help, labelNames = [] }) {
      const metric = existing<Counter>(name) ?? new Counter({ name, help, labelNames: [...labelNames], registers: [registry] });
      return { inc: (labels?: Labels, value = 1) => (labels ? metric.inc(labels, value) : metric.inc(value)) };
    },
    gauge({ name, help, labelNames = [] }) {
      const metric = existing<Gauge>(name) ?? new Gauge({ name, help, labelNames: [...labelNames], registers: [registry] });
      return { set: (value: number, labels?: Labels) => (labels ? metric.set(labels, value) : metric.set(value)) };
    },
    histogram({ name, help, labelNames = [], buckets }) {
      const metric = existing<Histogram>(name) ?? new Histogram({ name, help, labelNames: [...labelNames], ...(buckets ? { buckets } : {}), registers: [registry] });
      return { observe: (value: number, labels?: Labels) => (labels ? metric.observe(labels, value) : metric.observe(value)) };
    },
  };
}
