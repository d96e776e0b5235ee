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
import { createEventMatchRelay, type EventMatch } from "./event-relay.js";
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
 * Among collector replicas sharing storage only the one holding the alert lease does
 * that (it *leads*); the others *follow*: they keep configuration and alert states fresh
 * from storage, so their API shows what the leader decided, and hand the event rule
 * matches of what they ingest to the leader. One engine goes from follower to leader and
 * back any number of times: `lead()` loads states, routing memory and the pending outbox
 * from storage; `follow()` stops evaluating and sending at once and forgets that memory.
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
  /**
   * Whether this replica holds the alert lease now, with time left. Checked before every
   * evaluation, state change and send, so a process that froze past its lease does
   * nothing when it wakes, even before it is told it lost the lease.
   */
  holdsLease(): boolean;
  /** Evaluations running at once (default 4). */
  concurrency?: number;
}

const TICK_MS = 1_000;
const STATE_FLUSH_MS = 1_000;
/** How often every replica looks whether the alert configuration changed (one small query). */
const CONFIGURATION_CHECK_MS = 1_000;
const CONFIGURATION_TABLES = ["alert_rules", "alert_routes", "alert_silences", "alert_channels"];
/** How often a follower re-reads alert states, so its API shows what the leader decided. */
const STATE_REFRESH_MS = 2_000;
/** Event alerts one rule may hold at once; beyond it matches are counted, not kept. */
const MAX_EVENT_ALERTS_PER_RULE = 1_000;

/** tenant → rule id → fingerprint → state */
type StateMap = Map<string, Map<string, Map<string, GroupState>>>;

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

  /** tenant → rule id → fingerprint → state; the leader's own, or a follower's copy of what storage holds. */
  let states: StateMap = new Map();
  const dirty = new Map<string, { tenant: string; rule_id: string; fingerprint: string; state: GroupState | null }>();
  const status = new Map<string, RuleStatus>();
  const nextEvalAt = new Map<string, number>();
  const running = new Set<string>();
  /** Evaluations in flight, waited for when the engine stops leading. */
  const evaluations = new Set<Promise<void>>();
  const senders = new Map<string, { updatedAt: number; kind: ChannelKind; sender: ChannelSender }>();
  const matchers = new Map<string, { updatedAt: number; match: (event: EventLike) => boolean }>();
  /** The leader's timers: evaluation ticks and state flushes. */
  const leaderTimers: NodeJS.Timeout[] = [];
  let dispatchTimer: NodeJS.Timeout | undefined;
  let mode: "follower" | "leader" = "follower";
  let closed = false;
  /** Bumped when the engine starts leading: a follower's state read begun before is dropped. */
  let stateEpoch = 0;
  let paused: string | undefined;
  let droppedEventMatches = 0;

  /** Whether this engine may evaluate, move states and send now. */
  const acting = () => mode === "leader" && !closed && deps.holdsLease();

  const outbox = createOutbox({ db, metrics, log, sender: (tenant, id) => senderFor(tenant, id), mayAct: acting });
  const dispatcher = createDispatcher({
    routes: (tenant) => routes.list(tenant) as Entity<RouteSpec>[],
    silences: (tenant) => silences.list(tenant).map((s) => s.spec),
    channelName: (tenant, id) => channels.get(tenant, id)?.spec.name,
    channelKind: (tenant, id) => channels.get(tenant, id)?.spec.kind,
    // Past the lease nothing is written: the next leader tells the group from the stored
    // states and the outbox, and this dispatcher's memory is dropped when it follows.
    enqueue: (dispatches: Dispatch[]) => (acting() ? outbox.enqueue(dispatches) : Promise.resolve()),
    log,
    externalUrl: deps.externalUrl,
  });
  const eventRelay = createEventMatchRelay(db, log);

  const ruleKey = (tenant: string, ruleId: string) => `${tenant}\u0000${ruleId}`;

  function ruleStates(tenant: string, ruleId: string, into: StateMap = states): Map<string, GroupState> {
    let byRule = into.get(tenant);
    if (!byRule) into.set(tenant, (byRule = new Map()));
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
    if (!acting()) return;
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
    // One that ends after this replica stopped leading is counted, but changes nothing.
    if (acting()) {
      apply(tenant, rule, observationsOf(rule, evaluation), now, true);
      status.set(ruleKey(tenant, rule.id), { last_eval_at: now, last_duration_ms: Math.round(durationMs), last_error: null, ...(evaluation.history ? { history: evaluation.history } : {}) });
    }
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
    if (!acting() || !stillWanted(tenant, rule)) return;
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
    while (acting() && paused === undefined && activeWorkers < (deps.concurrency ?? 4) && work.length > 0) {
      const item = work.shift()!;
      activeWorkers++;
      const job = item.rules[0]!.kind === "threshold" ? evaluateBatch(item.tenant, item.rules as ThresholdRule[]) : evaluateOne(item.tenant, item.rules[0]!);
      const evaluation: Promise<void> = job
        .catch((error: unknown) => log.error({ err: (error as Error).message }, "alert evaluation failed unexpectedly"))
        .finally(() => {
          for (const rule of item.rules) running.delete(ruleKey(item.tenant, rule.id));
          activeWorkers--;
          evaluations.delete(evaluation);
          pump();
        });
      evaluations.add(evaluation);
    }
  }

  /**
   * Every second: finds the rules that are due and not already queued or running, marks
   * them, and queues them for the worker pool (threshold rules grouped by shared scan).
   * It never waits for evaluations, so a slow cycle cannot stack ticks on itself.
   */
  async function tick(): Promise<void> {
    if (!acting()) return;
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

  /** Which stored events match which event rules: every replica does this for what it ingests. */
  function matchEventRules(rows: readonly EventRow[]): EventMatch[] {
    const matches: EventMatch[] = [];
    const byTenant = new Map<string, EventRule[]>();
    for (const row of rows) {
      let list = byTenant.get(row.tenant);
      if (!list) byTenant.set(row.tenant, (list = eventRulesOf(row.tenant)));
      for (const rule of list) {
        if (!matcherOf(row.tenant, rule)(row)) continue;
        const labels: Record<string, string> = {};
        for (const attr of rule.group_by) labels[attr] = row.attrs[attr] ?? "";
        const ruleUpdatedAt = rules.get(row.tenant, rule.id)!.updated_at;
        matches.push({ tenant: row.tenant, rule_id: rule.id, rule_updated_at: ruleUpdatedAt, event_id: row.id, labels, received_at: row.received_at, message: row.body.slice(0, 1000) });
      }
    }
    return matches;
  }

  /** Event rules: called with every flush's rows once they are stored. */
  function onStored(rows: readonly EventRow[]): void {
    if (closed || rows.length === 0) return;
    const matches = matchEventRules(rows);
    if (matches.length === 0) return;
    if (acting()) fireEventMatches(matches);
    else eventRelay.publish(matches);
  }

  /** The leader fires an alert per match (its own, or relayed from other replicas) and tells the dispatcher at once. */
  function fireEventMatches(matches: readonly EventMatch[], reloadWhenUnknown = true): void {
    if (!acting()) return;
    const now = Date.now();
    const unknown: EventMatch[] = [];
    let fired = false;
    for (const match of matches) {
      const entity = rules.get(match.tenant, match.rule_id);
      if (!entity || entity.updated_at < match.rule_updated_at) {
        unknown.push(match);
        continue;
      }
      const rule = entity.spec.rule;
      if (rule.kind !== "event" || !rule.enabled) continue;
      const byFp = ruleStates(match.tenant, rule.id);
      if (byFp.size >= MAX_EVENT_ALERTS_PER_RULE) {
        if (droppedEventMatches++ % 1000 === 0) log.warn({ tenant: match.tenant, rule: rule.id, dropped: droppedEventMatches }, "an event rule matches more events than it can hold alerts for; extra matches are not notified");
        continue;
      }
      const fp = fingerprintOf(rule.id, { ...match.labels, __event: match.event_id });
      // Already fired: a match relayed again after a change of leader.
      if (byFp.has(fp)) continue;
      const state: GroupState = {
        ...initialState(fp, match.labels, now),
        state: "firing",
        raw: "firing",
        active_since: match.received_at,
        fired_at: now,
        message: match.message,
      };
      byFp.set(fp, state);
      markDirty(match.tenant, rule.id, state);
      dispatcher.update(match.tenant, [viewOf(rule, state, false)], () => match.received_at, now);
      fired = true;
    }
    // The dispatcher is told right away: with group_wait 0 the notification leaves now.
    if (fired) void dispatcher.tick().finally(scheduleDispatch);
    // Matched with a rule made or changed through another replica since the last reload: reload, then fire.
    if (unknown.length && reloadWhenUnknown) {
      void reloadConfiguration().then(
        () => fireEventMatches(unknown, false),
        (error: unknown) => log.warn({ err: (error as Error).message, matches: unknown.length }, "could not reload alert rules for relayed event matches; they are dropped"),
      );
    }
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

  /** Called after a rule was created, replaced, disabled or deleted (here, through a file, or through another replica). */
  function ruleChanged(tenant: string, ruleId: string, previous: Rule | undefined): void {
    matchers.delete(ruleKey(tenant, ruleId));
    // Only the leader moves states and tells receivers; a follower shows the outcome when it next reads the states.
    if (!acting()) return;
    const current = rules.get(tenant, ruleId)?.spec.rule;
    if (!current || !current.enabled || (previous && previous.kind !== current.kind)) retireRule(tenant, ruleId, previous);
    nextEvalAt.set(ruleKey(tenant, ruleId), 0);
  }

  async function readStoredStates(): Promise<StateMap> {
    const rows = await db.query<{ tenant: string; rule_id: string; fingerprint: string; state: string }>(
      `SELECT tenant, rule_id, fingerprint, state FROM ${db.table("alert_states")} FINAL WHERE is_deleted = 0`,
    );
    const read: StateMap = new Map();
    for (const row of rows) ruleStates(row.tenant, row.rule_id, read).set(row.fingerprint, JSON.parse(row.state) as GroupState);
    return read;
  }

  /** A follower's view of the states: what the leader stored last. */
  async function refreshStates(): Promise<void> {
    const epoch = stateEpoch;
    const read = await readStoredStates();
    if (mode === "follower" && epoch === stateEpoch) states = read;
  }

  /** Rules, routes, silences and channels as storage has them now (another replica may have written). */
  async function reloadConfiguration(): Promise<void> {
    const before = new Map<string, Entity<StoredRule>>();
    for (const tenant of rules.tenants()) for (const entity of rules.list(tenant)) before.set(ruleKey(tenant, entity.id), entity);
    await Promise.all([rules.reload(), routes.reload(), silences.reload(), channels.reload()]);
    if (!acting()) return;
    // The leader treats rules changed through another replica as if changed here: what a
    // deleted or disabled rule had firing resolves, a new or changed rule is evaluated now.
    for (const tenant of rules.tenants()) {
      for (const entity of rules.list(tenant)) {
        const previous = before.get(ruleKey(tenant, entity.id));
        before.delete(ruleKey(tenant, entity.id));
        if (previous?.updated_at !== entity.updated_at) ruleChanged(tenant, entity.id, previous?.spec.rule);
      }
    }
    for (const gone of before.values()) ruleChanged(gone.tenant, gone.id, gone.spec.rule);
  }

  /** Changes whenever a row is written to a configuration table; cheap enough to ask every second. */
  async function configurationStamp(): Promise<string> {
    const parts = CONFIGURATION_TABLES.map((table) => `(SELECT concat(toString(count()), ':', toString(sum(version))) FROM ${db.table(table)})`);
    const [row] = await db.query<{ stamp: string }>(`SELECT concat(${parts.join(", '/', ")}) AS stamp`);
    return row!.stamp;
  }

  let configurationSeen: string | undefined;
  let refreshTimer: NodeJS.Timeout | undefined;
  let refreshing: Promise<void> | undefined;
  let refreshFailing = false;
  let statesReadAt = 0;

  /** Reloads the configuration when another replica (or this one) wrote to it; a follower also re-reads the states. */
  async function refresh(): Promise<void> {
    const stamp = await configurationStamp();
    if (stamp !== configurationSeen) {
      await reloadConfiguration();
      configurationSeen = stamp;
    }
    if (mode === "follower" && Date.now() - statesReadAt >= STATE_REFRESH_MS) {
      statesReadAt = Date.now();
      await refreshStates();
    }
  }

  /**
   * Loads the configuration and the states, then keeps them fresh: every second it looks
   * whether the configuration changed, and a follower re-reads the states every
   * STATE_REFRESH_MS, so this process's API shows what other replicas wrote and what the
   * leader decided — whether or not it evaluates rules. Safe to call again.
   */
  async function keepFresh(): Promise<void> {
    configurationSeen = await configurationStamp();
    await reloadConfiguration();
    if (mode === "follower") {
      statesReadAt = Date.now();
      await refreshStates();
    }
    refreshTimer ??= setInterval(() => {
      refreshing ??= refresh()
        .then(
          () => {
            if (refreshFailing) log.info("alert configuration can be read again");
            refreshFailing = false;
          },
          (error: unknown) => {
            if (!refreshFailing) log.warn({ err: (error as Error).message.split("\n")[0] }, "could not reload alert configuration or states; retrying");
            refreshFailing = true;
          },
        )
        .finally(() => (refreshing = undefined));
    }, CONFIGURATION_CHECK_MS);
    refreshTimer.unref();
  }

  /**
   * Takes up evaluating and sending (this replica gained the alert lease): fresh
   * configuration, the states as stored, each group's memory from the outbox, the pending
   * outbox, and the event rule matches other replicas relayed in the last seconds.
   */
  async function lead(): Promise<void> {
    if (closed || mode === "leader") return;
    stateEpoch++;
    await reloadConfiguration();
    const stored = await readStoredStates();
    const memories = await outbox.groupMemories();
    states = stored;
    dirty.clear();
    status.clear();
    nextEvalAt.clear();
    paused = undefined;
    dispatcher.reset();
    for (const memory of memories) dispatcher.restore(memory.tenant, memory.group_key, memory.memory);
    mode = "leader";
    // What fired before is handed to the dispatcher again; its memory (the outbox) keeps
    // receivers from hearing it twice.
    const now = Date.now();
    for (const [tenant, byRule] of states) {
      for (const [ruleId, byFp] of byRule) {
        const rule = rules.get(tenant, ruleId)?.spec.rule;
        if (!rule) continue;
        const views = [...byFp.values()].filter(notifiedActive).map((s) => viewOf(rule, s, false));
        if (views.length) dispatcher.update(tenant, views, (v) => byFp.get(v.fingerprint)?.active_since ?? now, now);
      }
    }
    await outbox.resume();
    await eventRelay.follow((matches) => fireEventMatches(matches));
    leaderTimers.push(setInterval(() => void tick().catch((error: unknown) => log.error({ err: (error as Error).message }, "alert engine tick failed")), TICK_MS));
    leaderTimers.push(setInterval(() => void (acting() ? flushStates() : undefined), STATE_FLUSH_MS));
    for (const timer of leaderTimers) timer.unref();
    scheduleDispatch();
    log.info({ rules: rules.tenants().reduce((n, t) => n + rules.list(t).length, 0) }, "alert engine leads: evaluating rules and sending notifications");
  }

  /**
   * Stops evaluating and sending at once (this replica lost the alert lease, or shuts
   * down), waits for what is in flight, and keeps only what a follower needs. Safe to call
   * at any point, also half-way through `lead()`.
   */
  async function follow(): Promise<void> {
    const wasLeading = mode === "leader";
    mode = "follower";
    for (const timer of leaderTimers.splice(0)) clearInterval(timer);
    if (dispatchTimer) clearTimeout(dispatchTimer);
    dispatchTimer = undefined;
    work.length = 0;
    await eventRelay.unfollow();
    await Promise.allSettled([...evaluations]);
    await dispatcher.idle();
    // Sends in flight are aborted; their rows stay pending for the next leader, same ids.
    await outbox.stop();
    // Changes since the last flush (at most a second) are stored only while the lease still
    // holds, as when handing it over at shutdown: once it ran out another replica may lead,
    // and older states must not overwrite its newer ones.
    if (deps.holdsLease()) await flushStates();
    dirty.clear();
    running.clear();
    status.clear();
    nextEvalAt.clear();
    paused = undefined;
    dispatcher.reset();
    // This replica's gauges say what it evaluates: nothing now (the leader's say the rest).
    for (const state of ["pending", "firing", "nodata", "error", "flapping"]) metrics.alertsActive.set({ state }, 0);
    metrics.alertOutboxPending.set(0);
    if (wasLeading) log.info("alert engine follows: another replica evaluates rules and sends notifications");
  }

  return {
    rules,
    routes,
    silences,
    channels,
    outbox,
    dispatcher,

    reloadConfiguration,
    keepFresh,
    lead,
    follow,

    /** Stops for good: stops leading, stops refreshing, closes the channels' connections. */
    async stop(): Promise<void> {
      await follow();
      closed = true;
      if (refreshTimer) clearInterval(refreshTimer);
      await refreshing;
      await eventRelay.stop();
      await Promise.allSettled([...senders.values()].map((s) => s.sender.close()));
    },

    onStored,
    ruleChanged,

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

    /** Whether this engine evaluates rules and sends notifications now (it leads, and its lease holds). */
    leading: acting,
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
