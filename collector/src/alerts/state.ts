import type { AlertState } from "./model.js";

/**
 * The state machine of one (rule, group), as plain data and a pure function so it is
 * tested without a clock or storage:
 *
 *   ok ─ condition true ─► pending ─ true for `for` ─► firing ─ false for `keep_firing_for` ─► ok (resolved)
 *
 * `nodata` and `error` are active states like `firing` (they notify, with their own
 * state label) so a broken or silent rule is visible and alertable. Flap damping: when a
 * group moved between firing and ok more than `max_changes` times within `window`, it is
 * held in `flapping` — what receivers last saw stays as it was — until its changes in the
 * window fall to half that; then it takes the state its condition has.
 */

export interface GroupState {
  fingerprint: string;
  labels: Record<string, string>;
  state: AlertState;
  /** What the condition says now, flapping or not: ok, or the active state it would take. */
  raw: "ok" | "firing" | "nodata" | "error";
  value: number | null;
  /** When the condition last became true (pending or firing since). */
  active_since: number | null;
  /** When the alert began firing (its startsAt); null when not firing. */
  fired_at: number | null;
  /** While firing: when the condition cleared (keep_firing_for counts from here). */
  cleared_at: number | null;
  /** When it last resolved. */
  resolved_at: number | null;
  /** Times of recent firing ⇄ ok changes, for flap damping. */
  changes: number[];
  /** While flapping: whether receivers last saw it firing (held there). */
  held_active: boolean;
  /** Why it is in error / flapping, or the anomaly history note. */
  message: string;
  updated_at: number;
}

export interface Observation {
  /** "ok" when the condition is false or the group no longer appears. */
  raw: "ok" | "firing" | "nodata" | "error";
  value: number | null;
  message?: string;
}

export interface Timing {
  forMs: number;
  keepFiringForMs: number;
  flap: { window: number; max_changes: number };
}

export function initialState(fingerprint: string, labels: Record<string, string>, now: number): GroupState {
  return {
    fingerprint,
    labels,
    state: "ok",
    raw: "ok",
    value: null,
    active_since: null,
    fired_at: null,
    cleared_at: null,
    resolved_at: null,
    changes: [],
    held_active: false,
    message: "",
    updated_at: now,
  };
}

export const isActive = (state: AlertState): boolean => state === "firing" || state === "nodata" || state === "error";

/** The state the condition alone leads to (no flap damping). */
function step(prev: GroupState, obs: Observation, timing: Timing, now: number): GroupState {
  const next: GroupState = { ...prev, raw: obs.raw, value: obs.value, message: obs.message ?? "", updated_at: now };
  if (obs.raw !== "ok") {
    next.cleared_at = null;
    if (isActive(prev.state)) {
      // Already active: firing may turn into error or back; the start time stays.
      next.state = obs.raw;
      return next;
    }
    next.active_since = prev.state === "pending" && prev.active_since !== null ? prev.active_since : now;
    if (now - next.active_since >= timing.forMs) {
      next.state = obs.raw;
      next.fired_at = now;
    } else {
      next.state = "pending";
    }
    return next;
  }
  // The condition is false.
  if (isActive(prev.state)) {
    const clearedAt = prev.cleared_at ?? now;
    if (now - clearedAt < timing.keepFiringForMs) {
      next.state = prev.state;
      next.cleared_at = clearedAt;
      return next;
    }
    next.state = "ok";
    next.resolved_at = now;
    next.fired_at = null;
    next.cleared_at = null;
    next.active_since = null;
    return next;
  }
  next.state = "ok";
  next.active_since = null;
  return next;
}

/** Advances one group by one observation, with flap damping. */
export function advance(prev: GroupState, obs: Observation, timing: Timing, now: number): GroupState {
  const changes = prev.changes.filter((t) => now - t < timing.flap.window);
  if (prev.state === "flapping") {
    // Follow the condition underneath without telling anyone, counting its changes.
    const shadow = step({ ...prev, state: prev.held_active ? "firing" : "ok" }, obs, timing, now);
    const wasActive = prev.raw !== "ok";
    const nowActive = obs.raw !== "ok";
    if (wasActive !== nowActive) changes.push(now);
    if (changes.length > timing.flap.max_changes / 2) {
      return { ...prev, raw: obs.raw, value: obs.value, changes, updated_at: now, message: flapMessage(changes.length, timing) };
    }
    // Calm again: take the condition's state. A group held firing that is now ok resolves.
    return { ...shadow, state: shadow.state === "pending" ? "pending" : shadow.state, changes, held_active: false, message: obs.message ?? "" };
  }
  const next = step(prev, obs, timing, now);
  if (isActive(next.state) !== isActive(prev.state)) changes.push(now);
  next.changes = changes;
  if (changes.length > timing.flap.max_changes) {
    // Hold: receivers keep what they last saw (the state before this change).
    return {
      ...prev,
      state: "flapping",
      raw: obs.raw,
      value: obs.value,
      changes,
      held_active: isActive(prev.state),
      message: flapMessage(changes.length, timing),
      updated_at: now,
    };
  }
  return next;
}

function flapMessage(count: number, timing: Timing): string {
  return `held: changed state ${count} times within ${Math.round(timing.flap.window / 60_000)} min (more than ${timing.flap.max_changes}); notifications wait until it settles`;
}

/** Whether receivers should see this group as an active alert now. */
export function notifiedActive(state: GroupState): boolean {
  return state.state === "flapping" ? state.held_active : isActive(state.state);
}
