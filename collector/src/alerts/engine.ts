import { createHash } from "node:crypto";
import { nextRowVersion } from "@vigil/plugin-sdk";
import type { Logger } from "pino";
import type { EventRow } from "../ingest/event-row.js";
import type { Metrics } from "../metrics.js";
import type { Database } from "../storage/database.js";
import { scopeToTenant } from "../storage/tenant-scope.js";
import type { ChannelKind, ChannelSender } from "./channels/channel-type.js";
import { channelType } from "./channels/index.js";
import { selectionMatcher, type EventLike } from "./compile.js";
import { createDispatcher, type Dispatch } from "./dispatcher.js";
import { createEntityTable, type Entity } from "./entity-table.js";
import { MAX_BATCH_RULES, evaluateRule, evaluateThresholdBatch, thresholdBatchKey, type Evaluation } from "./evaluate.js";
import type { AlertView } from "./model.js";
import { createOutbox } from "./outbox.js";
import { ruleSchema, type EventRule, type Rule, type ThresholdRule } from "./rule.js";
import { routeSchema, type RouteSpec, type SilenceSpec } from "./routing.js";
import type { SecretBox } from "./secrets.js";
import { advance, initialState, isActive, notifiedActive, type GroupState, type Observation } from "./state.js";
import { renderAnnotations } from "./annotations.js";

/**
 * The alert engine: evaluates every enabled rule of every tenant on its interval (event
 * rules at ingest instead), moves each group through its states, hands what receivers
 * should see to the dispatcher (routing, grouping, silences) and the outbox (sending).
 *
 * While storage is down it pauses: a rule that cannot be evaluated because ClickHouse is
 * unreachable changes no state, so an outage never looks like "no data" or resolves
 * what fires.
 */

/** A rule as stored: what the user gave (durations as text) and where it came from. */
export interface StoredRule {
  input: Record<string, unknown>;
  /** "api", "file:<path>" (read-only through the API) or "template:<id>". */
  origin: string;
  rule: Rule;
}

export interface ChannelSpec {
  name: string;
  kind: ChannelKind;
  /** The config without its secret fields. */
  config: Record<string, unknown>;
  /** Which secret fields are set (their values are only in the sealed secrets). */
  secret_fields: string[];
  origin: string;
}

export interface RuleStatus {
  last_eval_at: number | null;
  last_duration_ms: number | null;
  last_error: string | null;
  history?: { have_ms: number; need_ms: number };
}

export interface EngineDeps {
  db: Database;
  metrics: Metrics;
  log: Logger;
  secrets: SecretBox;
  /** undefined when storage answers; else why not (the engine pauses). */
  storageProblem(): string | undefined;
  probeStorage(): Promise<string | undefined>;
  externalUrl?: string | undefined;
  /** Evaluations running at once (default 4). */
  concurrency?: number;
}

const TICK_MS = 1_000;
const STATE_FLUSH_MS = 1_000;
const RELOAD_MS = 15_000;
/** Event alerts one rule may hold at once; beyond it matches are counted, not kept. */
const MAX_EVENT_ALERTS_PER_RULE = 1_000;

export function fingerprintOf(ruleId: string, labels: Record<string, string>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((k) => [k, labels[k]]);
  return createHash("sha256").update(ruleId).update("\u0000").update(JSON.stringify(sorted)).digest("hex").slice(0, 16);
}

function parseStoredRule(json: unknown, id: string | undefined): StoredRule | undefined {
  const stored = json as { input?: Record<string, unknown>; origin?: string };
  if (!stored?.input) return undefined;
  const parsed = ruleSchema.safeParse({ ...stored.input, id: id ?? stored.input.id });
  if (!parsed.success) return undefined;
  return { input: stored.input, origin: stored.origin ?? "api", rule: { ...parsed.data, id: String(id ?? stored.input.id) } as Rule };
}

export function createAlertEngine(deps: EngineDeps) {
  const { db, metrics, log } = deps;
  // The id is the row's: a stored rule's input does not repeat it.
  const rules = createEntityTable<StoredRule>(db, "alert_rules", (json, id) => parseStoredRule(json, id));
  const routes = createEntityTable<RouteSpec & { origin: string }>(db, "alert_routes", (json) => {
    // Stored with its origin, which the (strict) route schema does not know.
    const { origin, ...spec } = json as Record<string, unknown>;
    const parsed = routeSchema.safeParse(spec);
    return parsed.success ? { ...parsed.data, origin: String(origin ?? "api") } : undefined;
  });
  const silences = createEntityTable<SilenceSpec>(db, "alert_silences", (json) => json as SilenceSpec);
  const channels = createEntityTable<ChannelSpec>(db, "alert_channels", (json) => json as ChannelSpec);

  /** tenant → rule id → fingerprint → state */
  const states = new Map<string, Map<string, Map<string, GroupState>>>();
  const dirty = new Map<string, { tenant: string; rule_id: string; fingerprint: string; state: GroupState | null }>();
  const status = new Map<string, RuleStatus>();
  const nextEvalAt = new Map<string, number>();
  const running = new Set<string>();
  const senders = new Map<string, { updatedAt: number; kind: ChannelKind; sender: ChannelSender }>();
  const matchers = new Map<string, { updatedAt: number; match: (event: EventLike) => boolean }>();
  const timers: NodeJS.Timeout[] = [];
  let dispatchTimer: NodeJS.Timeout | undefined;
  let started = false;
  let stopped = false;
  let paused: string | undefined;
  let droppedEventMatches = 0;

  const outbox = createOutbox({ db, metrics, log, sender: (tenant, id) => senderFor(tenant, id) });
  const dispatcher = createDispatcher({
    routes: (tenant) => routes.list(tenant) as Entity<RouteSpec>[],
    silences: (tenant) => silences.list(tenant).map((s) => s.spec),
    channelName: (tenant, id) => channels.get(tenant, id)?.spec.name,
    channelKind: (tenant, id) => channels.get(tenant, id)?.spec.kind,
    enqueue: (dispatches: Dispatch[]) => outbox.enqueue(dispatches),
    log,
    externalUrl: deps.externalUrl,
  });

  const ruleKey = (tenant: string, ruleId: string) => `${tenant}\u0000${ruleId}`;

  function ruleStates(tenant: string, ruleId: string): Map<string, GroupState> {
    let byRule = states.get(tenant);
    if (!byRule) states.set(tenant, (byRule = new Map()));
    let byFp = byRule.get(ruleId);
    if (!byFp) byRule.set(ruleId, (byFp = new Map()));
    return byFp;
  }

  function senderFor(tenant: string, channelId: string): { kind: ChannelKind; sender: ChannelSender } | undefined {
    const channel = channels.get(tenant, channelId);
    if (!channel) return undefined;
    const key = `${tenant}\u0000${channelId}`;
    const cached = senders.get(key);
    if (cached && cached.updatedAt === channel.updated_at) return cached;
    if (cached) void cached.sender.close();
    const type = channelType(channel.spec.kind);
    const config = { ...channel.spec.config, ...deps.secrets.open(channel.secrets) };
    const opened = { updatedAt: channel.updated_at, kind: channel.spec.kind, sender: type.open(config as never, { log }) };
    senders.set(key, opened);
    return opened;
  }

  function viewOf(rule: Rule, state: GroupState, resolved: boolean, previous?: GroupState): AlertView {
    const labels = { ...rule.labels, ...state.labels, alertname: rule.name };
    const firedAt = resolved ? (previous?.fired_at ?? state.fired_at) : state.fired_at;
    const shownState = state.state === "flapping" || state.state === "ok" || state.state === "pending" ? (previous && isActive(previous.state) ? previous.state : "firing") : state.state;
    return {
      fingerprint: state.fingerprint,
      rule_id: rule.id,
      rule_name: rule.name,
      status: resolved ? "resolved" : "firing",
      state: shownState,
      labels,
      annotations: renderAnnotations(rule, labels, state),
      value: state.value,
      starts_at: new Date(firedAt ?? state.updated_at).toISOString(),
      ends_at: resolved ? new Date(state.resolved_at ?? state.updated_at).toISOString() : null,
    };
  }

  function markDirty(tenant: string, ruleId: string, state: GroupState, removed = false): void {
    dirty.set(`${tenant}\u0000${ruleId}\u0000${state.fingerprint}`, { tenant, rule_id: ruleId, fingerprint: state.fingerprint, state: removed ? null : state });
  }

  /** Stores changed states (batched each second); a crash loses at most that second, and the outbox keeps receivers from hearing twice. */
  async function flushStates(): Promise<void> {
    if (dirty.size === 0) return;
    const batch = [...dirty.entries()];
    dirty.clear();
    const rows = batch.map(([, item]) => ({
      tenant: item.tenant,
      rule_id: item.rule_id,
      fingerprint: item.fingerprint,
      state: item.state ? JSON.stringify(item.state) : "",
      version: nextRowVersion(),
      is_deleted: item.state ? 0 : 1,
    }));
    try {
      await db.insert("alert_states", rows);
    } catch (error) {
      // Put them back (unless newer ones were marked meanwhile) and retry on the next flush.
      for (const [key, item] of batch) if (!dirty.has(key)) dirty.set(key, item);
      log.warn({ err: (error as Error).message, states: rows.length }, "could not store alert states; retrying");
    }
  }

  function scheduleDispatch(): void {
    if (stopped) return;
    const due = dispatcher.nextDue();
    if (!Number.isFinite(due)) return;
    if (dispatchTimer) clearTimeout(dispatchTimer);
    dispatchTimer = setTimeout(
      () => {
        dispatchTimer = undefined;
        void dispatcher.tick().finally(scheduleDispatch);
      },
      Math.max(0, due - Date.now()),
    );
    dispatchTimer.unref();
  }

  /** Moves every group of a rule by one evaluation and tells the dispatcher what changed. */
  function apply(tenant: string, rule: Rule, observations: Map<string, { labels: Record<string, string>; obs: Observation }>, now: number, observeMissing: boolean): void {
    const byFp = ruleStates(tenant, rule.id);
    if (observeMissing) {
      for (const [fp, state] of byFp) if (!observations.has(fp)) observations.set(fp, { labels: state.labels, obs: { raw: "ok", value: null } });
    }
    const views: AlertView[] = [];
    for (const [fp, { labels, obs }] of observations) {
      const prev = byFp.get(fp) ?? initialState(fp, labels, now);
      const next = advance(prev, obs, { forMs: rule.for, keepFiringForMs: rule.keep_firing_for, flap: rule.flap }, now);
      const wasTold = notifiedActive(prev);
      const isTold = notifiedActive(next);
      if (isTold) views.push(viewOf(rule, next, false));
      else if (wasTold) views.push(viewOf(rule, next, true, prev));
      const changed = next.state !== prev.state || next.raw !== prev.raw || next.changes.length !== prev.changes.length || next.cleared_at !== prev.cleared_at;
      if (next.state === "ok" && next.changes.length === 0) {
        if (byFp.has(fp)) {
          byFp.delete(fp);
          markDirty(tenant, rule.id, next, true);
        }
        continue;
      }
      byFp.set(fp, next);
      if (changed) markDirty(tenant, rule.id, next);
    }
    if (views.length) {
      dispatcher.update(tenant, views, (view) => byFp.get(view.fingerprint)?.active_since ?? Date.parse(view.starts_at), now);
      scheduleDispatch();
    }
  }

  function observationsOf(rule: Rule, evaluation: Evaluation): Map<string, { labels: Record<string, string>; obs: Observation }> {
    const out = new Map<string, { labels: Record<string, string>; obs: Observation }>();
    for (const sample of evaluation.samples) {
      out.set(fingerprintOf(rule.id, sample.labels), { labels: sample.labels, obs: { raw: sample.active ? "firing" : "ok", value: sample.value } });
    }
    if (evaluation.noData) {
      out.set(fingerprintOf(rule.id, {}), { labels: {}, obs: { raw: evaluation.noData.state === "firing" ? "firing" : "nodata", value: null, message: "no event matched the rule in its window" } });
    }
    return out;
  }

  /** A rule's evaluation came back: move its groups and record how it went. */
  function settle(tenant: string, rule: Rule, evaluation: Evaluation, now: number, durationMs: number): void {
    if (!stillWanted(tenant, rule)) return;
    apply(tenant, rule, observationsOf(rule, evaluation), now, true);
    status.set(ruleKey(tenant, rule.id), { last_eval_at: now, last_duration_ms: Math.round(durationMs), last_error: null, ...(evaluation.history ? { history: evaluation.history } : {}) });
    metrics.alertEvaluations.inc({ kind: rule.kind, outcome: "ok" });
    metrics.alertEvaluationSeconds.observe({ kind: rule.kind }, durationMs / 1000);
  }

  /** Storage down is a pause, not a rule error: nothing moves until it is back. Says whether it is. */
  async function pausedBy(): Promise<boolean> {
    const problem = deps.storageProblem() ?? (await deps.probeStorage());
    if (problem === undefined) return false;
    paused = problem;
    return true;
  }

  /** A rule deleted, disabled or replaced while its evaluation ran must not bring its states back. */
  function stillWanted(tenant: string, rule: Rule): boolean {
    const current = rules.get(tenant, rule.id)?.spec.rule;
    return current !== undefined && current.enabled && current.kind === rule.kind;
  }

  function fail(tenant: string, rule: Rule, error: unknown, now: number, durationMs: number): void {
    if (!stillWanted(tenant, rule)) return;
    const message = (error as Error).message.split("\n")[0]!.slice(0, 500);
    const onError = "on_error" in rule ? rule.on_error : "error";
    const obs = new Map([[fingerprintOf(rule.id, {}), { labels: {}, obs: { raw: onError === "firing" ? ("firing" as const) : ("error" as const), value: null, message: `evaluation failed: ${message}` } }]]);
    apply(tenant, rule, obs, now, false);
    status.set(ruleKey(tenant, rule.id), { last_eval_at: now, last_duration_ms: Math.round(durationMs), last_error: message });
    metrics.alertEvaluations.inc({ kind: rule.kind, outcome: "error" });
    log.warn({ tenant, rule: rule.id, err: message }, "alert rule evaluation failed");
  }

  async function evaluateOne(tenant: string, rule: Rule): Promise<void> {
    const now = Date.now();
    const started = performance.now();
    try {
      settle(tenant, rule, await evaluateRule(scopeToTenant(db, tenant), rule, now), now, performance.now() - started);
    } catch (error) {
      if (await pausedBy()) {
        metrics.alertEvaluations.inc({ kind: rule.kind, outcome: "paused" });
        // Due again at once when storage is back.
        nextEvalAt.set(ruleKey(tenant, rule.id), 0);
        return;
      }
      fail(tenant, rule, error, now, performance.now() - started);
    }
  }

  /**
   * Threshold rules sharing a scan, in one query; the time is shared out among them. If
   * the shared query fails for another reason than storage, each rule is evaluated on its
   * own, so one bad rule cannot turn its neighbours into errors.
   */
  async function evaluateBatch(tenant: string, batch: ThresholdRule[]): Promise<void> {
    if (batch.length === 1) return evaluateOne(tenant, batch[0]!);
    const now = Date.now();
    const started = performance.now();
    let results: Map<string, Evaluation>;
    try {
      results = await evaluateThresholdBatch(scopeToTenant(db, tenant), batch, now);
    } catch {
      if (await pausedBy()) {
        for (const rule of batch) nextEvalAt.set(ruleKey(tenant, rule.id), 0);
        return;
      }
      for (const rule of batch) await evaluateOne(tenant, rule);
      return;
    }
    const share = (performance.now() - started) / batch.length;
    for (const rule of batch) settle(tenant, rule, results.get(rule.id)!, now, share);
  }

  /** Work waiting for an evaluation slot: a batch of threshold rules, or one rule. */
  const work: { tenant: string; rules: Rule[] }[] = [];
  let activeWorkers = 0;

  function pump(): void {
    while (!stopped && paused === undefined && activeWorkers < (deps.concurrency ?? 4) && work.length > 0) {
      const item = work.shift()!;
      activeWorkers++;
      const job = item.rules[0]!.kind === "threshold" ? evaluateBatch(item.tenant, item.rules as ThresholdRule[]) : evaluateOne(item.tenant, item.rules[0]!);
      void job
        .catch((error: unknown) => log.error({ err: (error as Error).message }, "alert evaluation failed unexpectedly"))
        .finally(() => {
          for (const rule of item.rules) running.delete(ruleKey(item.tenant, rule.id));
          activeWorkers--;
          pump();
        });
    }
  }

  /**
   * Every second: finds the rules that are due and not already queued or running, marks
   * them, and queues them for the worker pool (threshold rules grouped by shared scan).
   * It never waits for evaluations, so a slow cycle cannot stack ticks on itself.
   */
  async function tick(): Promise<void> {
    const now = Date.now();
    const problem = deps.storageProblem();
    if (problem !== undefined) {
      paused = problem;
      return;
    }
    if (paused !== undefined) {
      if ((await deps.probeStorage()) !== undefined) return;
      log.info("storage answers again: alert evaluation resumed");
      paused = undefined;
    }
    expireEventAlerts(now);
    for (const tenant of rules.tenants()) {
      const batches = new Map<string, ThresholdRule[]>();
      for (const entity of rules.list(tenant)) {
        const rule = entity.spec.rule;
        if (!rule.enabled || rule.kind === "event") continue;
        const key = ruleKey(tenant, rule.id);
        if (running.has(key) || (nextEvalAt.get(key) ?? 0) > now) continue;
        running.add(key);
        // Aligned on the schedule, not on when the last one finished, so intervals do not drift.
        nextEvalAt.set(key, Math.max((nextEvalAt.get(key) ?? now) + rule.interval, now + 100));
        if (rule.kind !== "threshold") {
          work.push({ tenant, rules: [rule] });
          continue;
        }
        const batchKey = thresholdBatchKey(rule);
        let batch = batches.get(batchKey);
        if (!batch || batch.length >= MAX_BATCH_RULES) {
          batch = [];
          batches.set(batchKey, batch);
          work.push({ tenant, rules: batch });
        }
        batch.push(rule);
      }
    }
    pump();
    const counts: Record<string, number> = { pending: 0, firing: 0, nodata: 0, error: 0, flapping: 0 };
    for (const byRule of states.values()) for (const byFp of byRule.values()) for (const s of byFp.values()) if (s.state in counts) counts[s.state]!++;
    for (const [state, n] of Object.entries(counts)) metrics.alertsActive.set({ state }, n);
    metrics.alertOutboxPending.set(outbox.pendingCount());
  }

  function eventRulesOf(tenant: string): EventRule[] {
    return rules
      .list(tenant)
      .map((e) => e.spec.rule)
      .filter((r): r is EventRule => r.kind === "event" && r.enabled);
  }

  function matcherOf(tenant: string, rule: EventRule): (event: EventLike) => boolean {
    const entity = rules.get(tenant, rule.id)!;
    const key = ruleKey(tenant, rule.id);
    const cached = matchers.get(key);
    if (cached && cached.updatedAt === entity.updated_at) return cached.match;
    const match = selectionMatcher(rule);
    matchers.set(key, { updatedAt: entity.updated_at, match });
    return match;
  }

  /** Event rules: called with every flush's rows once they are stored. */
  function onStored(rows: readonly EventRow[]): void {
    if (!started || stopped || rows.length === 0) return;
    const now = Date.now();
    const byTenant = new Map<string, EventRule[]>();
    for (const row of rows) {
      let list = byTenant.get(row.tenant);
      if (!list) byTenant.set(row.tenant, (list = eventRulesOf(row.tenant)));
      if (list.length === 0) continue;
      for (const rule of list) {
        if (!matcherOf(row.tenant, rule)(row)) continue;
        const byFp = ruleStates(row.tenant, rule.id);
        if (byFp.size >= MAX_EVENT_ALERTS_PER_RULE) {
          if (droppedEventMatches++ % 1000 === 0) log.warn({ tenant: row.tenant, rule: rule.id, dropped: droppedEventMatches }, "an event rule matches more events than it can hold alerts for; extra matches are not notified");
          continue;
        }
        const labels: Record<string, string> = {};
        for (const attr of rule.group_by) labels[attr] = row.attrs[attr] ?? "";
        const fp = fingerprintOf(rule.id, { ...labels, __event: row.id });
        if (byFp.has(fp)) continue;
        const state: GroupState = {
          ...initialState(fp, labels, now),
          state: "firing",
          raw: "firing",
          active_since: row.received_at,
          fired_at: now,
          message: row.body.slice(0, 1000),
        };
        byFp.set(fp, state);
        markDirty(row.tenant, rule.id, state);
        dispatcher.update(row.tenant, [viewOf(rule, state, false)], () => row.received_at, now);
      }
    }
    // The dispatcher is told right away: with group_wait 0 the notification leaves now.
    void dispatcher.tick().finally(scheduleDispatch);
  }

  /** Event alerts last keep_firing_for, then go quietly (there is nothing to resolve). */
  function expireEventAlerts(now: number): void {
    for (const [tenant, byRule] of states) {
      for (const [ruleId, byFp] of byRule) {
        const rule = rules.get(tenant, ruleId)?.spec.rule;
        if (rule && rule.kind !== "event") continue;
        const keep = rule?.keep_firing_for ?? 0;
        const gone: string[] = [];
        for (const [fp, state] of byFp) {
          if ((state.fired_at ?? 0) + keep <= now) {
            gone.push(fp);
            byFp.delete(fp);
            markDirty(tenant, ruleId, state, true);
          }
        }
        if (gone.length) dispatcher.drop(tenant, gone);
      }
    }
  }

  /** A rule was deleted or disabled: what it had firing resolves now. */
  function retireRule(tenant: string, ruleId: string, rule: Rule | undefined): void {
    const byFp = states.get(tenant)?.get(ruleId);
    if (!byFp) return;
    const views: AlertView[] = [];
    const now = Date.now();
    const gone: string[] = [];
    for (const [fp, state] of byFp) {
      if (rule && notifiedActive(state) && rule.kind !== "event") {
        const resolved: GroupState = { ...state, state: "ok", raw: "ok", resolved_at: now, updated_at: now };
        views.push(viewOf(rule, resolved, true, state));
      } else gone.push(fp);
      markDirty(tenant, ruleId, state, true);
    }
    states.get(tenant)?.delete(ruleId);
    nextEvalAt.delete(ruleKey(tenant, ruleId));
    status.delete(ruleKey(tenant, ruleId));
    if (gone.length) dispatcher.drop(tenant, gone);
    if (views.length) {
      dispatcher.update(tenant, views, () => now, now);
      scheduleDispatch();
    }
  }

  async function loadStates(): Promise<void> {
    const rows = await db.query<{ tenant: string; rule_id: string; fingerprint: string; state: string }>(
      `SELECT tenant, rule_id, fingerprint, state FROM ${db.table("alert_states")} FINAL WHERE is_deleted = 0`,
    );
    for (const row of rows) ruleStates(row.tenant, row.rule_id).set(row.fingerprint, JSON.parse(row.state) as GroupState);
    for (const memory of await outbox.groupMemories()) dispatcher.restore(memory.tenant, memory.group_key, memory.memory);
    // What fired before the restart is handed to the dispatcher again; its memory (the
    // outbox) keeps receivers from hearing it twice.
    const now = Date.now();
    for (const [tenant, byRule] of states) {
      for (const [ruleId, byFp] of byRule) {
        const rule = rules.get(tenant, ruleId)?.spec.rule;
        if (!rule) continue;
        const views = [...byFp.values()].filter(notifiedActive).map((s) => viewOf(rule, s, false));
        if (views.length) dispatcher.update(tenant, views, (v) => byFp.get(v.fingerprint)?.active_since ?? now, now);
      }
    }
  }

  /** Rules, routes, silences and channels as storage has them now (another replica may have written). */
  function reloadConfiguration(): Promise<void> {
    return Promise.all([rules.reload(), routes.reload(), silences.reload(), channels.reload()]).then(() => undefined);
  }

  let reloadTimer: NodeJS.Timeout | undefined;
  /**
   * Loads the configuration and re-reads it every RELOAD_MS, so this process's API shows
   * what other replicas wrote — whether or not it evaluates rules. Safe to call again.
   */
  async function keepConfigurationFresh(): Promise<void> {
    await reloadConfiguration();
    reloadTimer ??= setInterval(() => void reloadConfiguration().catch((error: unknown) => log.warn({ err: (error as Error).message }, "could not reload alert configuration")), RELOAD_MS);
    reloadTimer.unref();
  }

  return {
    rules,
    routes,
    silences,
    channels,
    outbox,
    dispatcher,

    reloadConfiguration,
    keepConfigurationFresh,

    /** Loads configuration, states and the outbox, then evaluates and sends until `stop`. */
    async start(): Promise<void> {
      await keepConfigurationFresh();
      await loadStates();
      await outbox.resume();
      started = true;
      timers.push(setInterval(() => void tick().catch((error: unknown) => log.error({ err: (error as Error).message }, "alert engine tick failed")), TICK_MS));
      timers.push(setInterval(() => void flushStates(), STATE_FLUSH_MS));
      for (const timer of timers) timer.unref();
      scheduleDispatch();
      log.info({ rules: rules.tenants().reduce((n, t) => n + rules.list(t).length, 0) }, "alert engine started");
    },

    async stop(): Promise<void> {
      stopped = true;
      for (const timer of timers) clearInterval(timer);
      if (reloadTimer) clearInterval(reloadTimer);
      if (dispatchTimer) clearTimeout(dispatchTimer);
      await outbox.stop();
      await flushStates();
      await Promise.allSettled([...senders.values()].map((s) => s.sender.close()));
    },

    onStored,

    /** Called after a rule was created, replaced, disabled or deleted through the API or a file. */
    ruleChanged(tenant: string, ruleId: string, previous: Rule | undefined): void {
      const current = rules.get(tenant, ruleId)?.spec.rule;
      matchers.delete(ruleKey(tenant, ruleId));
      if (!current || !current.enabled || (previous && previous.kind !== current.kind)) retireRule(tenant, ruleId, previous);
      nextEvalAt.set(ruleKey(tenant, ruleId), 0);
    },

    /** A rule's current values without saving it (POST /api/alerts/rules/preview). */
    async preview(tenant: string, rule: Rule, now = Date.now()): Promise<Evaluation> {
      return evaluateRule(scopeToTenant(db, tenant), rule, now);
    },

    statesOf(tenant: string, ruleId: string): GroupState[] {
      return [...(states.get(tenant)?.get(ruleId)?.values() ?? [])];
    },

    statusOf(tenant: string, ruleId: string): RuleStatus | undefined {
      return status.get(ruleKey(tenant, ruleId));
    },

    /** Every alert of the tenant that is not ok (pending, firing, nodata, error, flapping). */
    active(tenant: string): { rule: Rule; state: GroupState; view: AlertView }[] {
      const out: { rule: Rule; state: GroupState; view: AlertView }[] = [];
      for (const [ruleId, byFp] of states.get(tenant) ?? []) {
        const rule = rules.get(tenant, ruleId)?.spec.rule;
        if (!rule) continue;
        for (const state of byFp.values()) if (state.state !== "ok") out.push({ rule, state, view: viewOf(rule, state, false) });
      }
      return out;
    },

    senderFor,
    paused: () => paused,
    channelChanged(tenant: string, channelId: string): void {
      const key = `${tenant}\u0000${channelId}`;
      const cached = senders.get(key);
      if (cached) void cached.sender.close();
      senders.delete(key);
    },
  };
}

export type AlertEngine = ReturnType<typeof createAlertEngine>;
