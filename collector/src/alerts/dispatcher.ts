import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Entity } from "./entity-table.js";
import type { AlertView, Notification } from "./model.js";
import { isSilenced, routesFor, type RouteSpec, type SilenceSpec } from "./routing.js";

/**
 * Routing and grouping, as Alertmanager does it: each alert goes to the routes its
 * labels match; alerts of one route with the same `group_by` label values form a group,
 * which is told to its channels `group_wait` after it appears, then at most every
 * `group_interval` when its content changed, and every `repeat_interval` while it keeps
 * firing. Silenced alerts are left out when a group is told.
 *
 * What a group last told is the newest notification of that group in the outbox, so a
 * restart neither repeats it early nor forgets to send a change.
 */

/**
 * Alertmanager resolves an alert by itself `resolve_timeout` (default 5 min) after the
 * last time a client posted it, so clients re-post what still fires; Prometheus does it
 * every evaluation. A group tells its Alertmanager channels every minute while it fires.
 */
export const AM_REFRESH_MS = 60_000;

export interface Dispatch {
  notification: Notification;
  /** For a group's first telling of an alert: when its condition became true (delivery delay metric). */
  conditionAt: number | null;
}

export interface DispatcherDeps {
  routes(tenant: string): Entity<RouteSpec>[];
  silences(tenant: string): SilenceSpec[];
  channelName(tenant: string, id: string): string | undefined;
  /** The channel's kind: Alertmanager channels get firing alerts re-posted (see AM_REFRESH_MS). */
  channelKind(tenant: string, id: string): string | undefined;
  enqueue(dispatches: Dispatch[]): Promise<void>;
  log: Logger;
  externalUrl?: string | undefined;
}

/** What receivers of one group were last told. */
export interface GroupMemory {
  sent: Map<string, "firing" | "resolved">;
  at: number;
}

interface AlertGroup {
  tenant: string;
  key: string;
  route: Entity<RouteSpec>;
  labels: Record<string, string>;
  alerts: Map<string, AlertView>;
  /** When each alert became true, for the delay metric. */
  conditionAt: Map<string, number>;
  memory: GroupMemory | undefined;
  nextFlushAt: number;
  /** Last time firing alerts went to the group's Alertmanager channels. */
  amRefreshedAt: number;
}

export function createDispatcher(deps: DispatcherDeps) {
  const groups = new Map<string, AlertGroup>();
  /** Memory loaded from the outbox at start, taken when the group is formed again. */
  const restored = new Map<string, GroupMemory>();
  let flushing: Promise<void> | undefined;

  const groupId = (tenant: string, key: string) => `${tenant}\u0000${key}`;

  function groupKeyOf(route: Entity<RouteSpec>, labels: Record<string, string>): { key: string; labels: Record<string, string> } {
    const groupLabels: Record<string, string> = {};
    for (const name of route.spec.group_by) groupLabels[name] = labels[name] ?? "";
    return { key: `${route.id}:${JSON.stringify(groupLabels)}`, labels: groupLabels };
  }

  /**
   * Takes the alerts of one rule whose notified status changed or still holds: firing
   * ones, and resolved ones once (to be told as resolved). Each lands in every group its
   * routes give it.
   */
  function update(tenant: string, views: readonly AlertView[], conditionAt: (view: AlertView) => number, now = Date.now()): void {
    const routes = deps.routes(tenant);
    for (const view of views) {
      for (const route of routesFor(routes, view.labels)) {
        const { key, labels } = groupKeyOf(route, view.labels);
        const id = groupId(tenant, key);
        let group = groups.get(id);
        if (!group) {
          if (view.status === "resolved" && !restored.get(id)?.sent.has(view.fingerprint)) continue;
          const memory = restored.get(id);
          restored.delete(id);
          group = { tenant, key, route, labels, alerts: new Map(), conditionAt: new Map(), memory, nextFlushAt: memory ? Math.max(now, memory.at + route.spec.group_interval) : now + route.spec.group_wait, amRefreshedAt: memory?.at ?? 0 };
          groups.set(id, group);
        }
        group.route = route;
        const before = group.alerts.get(view.fingerprint);
        if (before && before.status === view.status && before.state === view.state) {
          group.alerts.set(view.fingerprint, view);
          continue;
        }
        if (!before && view.status === "resolved" && !group.memory?.sent.has(view.fingerprint)) continue;
        group.alerts.set(view.fingerprint, view);
        if (view.status === "firing" && !group.conditionAt.has(view.fingerprint)) group.conditionAt.set(view.fingerprint, conditionAt(view));
        // A change is told at the next group_interval after the last telling (at once when that is past).
        if (group.memory) group.nextFlushAt = Math.min(group.nextFlushAt, Math.max(now, group.memory.at + route.spec.group_interval));
      }
    }
  }

  /** Forgets alerts without telling anyone (event rule alerts that aged out). */
  function drop(tenant: string, fingerprints: readonly string[]): void {
    const gone = new Set(fingerprints);
    for (const [id, group] of groups) {
      if (group.tenant !== tenant) continue;
      for (const fp of gone) {
        group.alerts.delete(fp);
        group.conditionAt.delete(fp);
        group.memory?.sent.delete(fp);
      }
      if (group.alerts.size === 0) groups.delete(id);
    }
  }

  function restore(tenant: string, key: string, memory: GroupMemory): void {
    restored.set(groupId(tenant, key), memory);
  }

  /**
   * News is a firing alert receivers have not been told of, or a resolution to tell. An
   * alert that left without one (silenced, or resolved with send_resolved off) is not: as
   * in Alertmanager, the alerts still firing are not told again for it.
   */
  function sameAsSent(told: Map<string, AlertView>, memory: GroupMemory | undefined): boolean {
    const sent = memory?.sent ?? new Map();
    return ![...told.values()].some((a) => a.status === "resolved" || sent.get(a.fingerprint) !== "firing");
  }

  async function flushGroup(group: AlertGroup, now: number): Promise<void> {
    const spec = group.route.spec;
    const silences = deps.silences(group.tenant);
    const told = new Map<string, AlertView>();
    for (const alert of group.alerts.values()) {
      if (isSilenced(silences, alert.labels, now)) continue;
      if (alert.status === "resolved" && (!spec.send_resolved || group.memory?.sent.get(alert.fingerprint) !== "firing")) continue;
      told.set(alert.fingerprint, alert);
    }
    const changed = !sameAsSent(told, group.memory);
    const firing = [...told.values()].some((a) => a.status === "firing");
    const repeatDue = firing && group.memory !== undefined && now - group.memory.at >= spec.repeat_interval;
    const amChannels = spec.channels.filter((id) => deps.channelKind(group.tenant, id) === "alertmanager");
    const amRefreshDue = firing && amChannels.length > 0 && now - group.amRefreshedAt >= AM_REFRESH_MS;
    const tellAll = told.size > 0 && (changed || repeatDue);
    if (tellAll || amRefreshDue) {
      const dispatches: Dispatch[] = [];
      const fresh = [...told.values()].filter((a) => a.status === "firing" && group.memory?.sent.get(a.fingerprint) !== "firing");
      const conditionAt = tellAll && fresh.length ? Math.min(...fresh.map((a) => group.conditionAt.get(a.fingerprint) ?? now)) : null;
      const alerts = [...told.values()].sort((a, b) => (a.status === b.status ? a.starts_at.localeCompare(b.starts_at) : a.status === "firing" ? -1 : 1));
      for (const channelId of tellAll ? spec.channels : amChannels) {
        const channelName = deps.channelName(group.tenant, channelId);
        if (channelName === undefined) {
          deps.log.warn({ tenant: group.tenant, route: group.route.id, channel: channelId }, "a route names a channel that no longer exists; skipped");
          continue;
        }
        dispatches.push({
          notification: {
            id: randomUUID(),
            tenant: group.tenant,
            channel_id: channelId,
            channel_name: channelName,
            route_id: group.route.id,
            group_key: group.key,
            group_labels: group.labels,
            status: firing ? "firing" : "resolved",
            alerts,
            created_at: new Date(now).toISOString(),
            ...(deps.externalUrl ? { external_url: deps.externalUrl } : {}),
          },
          conditionAt,
        });
      }
      // Written to the outbox before the group moves on: a crash here re-sends, never loses.
      await deps.enqueue(dispatches);
      if (amChannels.length) group.amRefreshedAt = now;
      if (tellAll) group.memory = { sent: new Map([...told.values()].map((a) => [a.fingerprint, a.status])), at: now };
    }
    for (const [fp, alert] of group.alerts) {
      if (alert.status === "resolved") {
        group.alerts.delete(fp);
        group.conditionAt.delete(fp);
        group.memory?.sent.delete(fp);
      }
    }
    group.nextFlushAt = now + (amChannels.length && firing ? Math.min(spec.group_interval, AM_REFRESH_MS) : spec.group_interval);
  }

  /** Tells every group that is due. One pass at a time. */
  function tick(now = Date.now()): Promise<void> {
    if (flushing) return flushing;
    flushing = (async () => {
      for (const [id, group] of groups) {
        if (group.nextFlushAt > now) continue;
        try {
          await flushGroup(group, now);
        } catch (error) {
          // The outbox write failed (storage down): try the group again shortly.
          group.nextFlushAt = now + 5_000;
          deps.log.error({ err: (error as Error).message, tenant: group.tenant, group: group.key }, "could not write notifications to the outbox; retrying");
          continue;
        }
        if (group.alerts.size === 0) groups.delete(id);
      }
    })().finally(() => (flushing = undefined));
    return flushing;
  }

  /** When the next group is due (for the engine's timer). */
  function nextDue(): number {
    let next = Infinity;
    for (const group of groups.values()) next = Math.min(next, group.nextFlushAt);
    return next;
  }

  /** Forgets every group and restored memory (this replica stopped leading; the next leader rebuilds them from storage). */
  function reset(): void {
    groups.clear();
    restored.clear();
  }

  /** Resolves once a pass in flight has written its notifications. */
  function idle(): Promise<void> {
    return flushing ?? Promise.resolve();
  }

  return { update, drop, restore, reset, tick, idle, nextDue, groupCount: () => groups.size };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
