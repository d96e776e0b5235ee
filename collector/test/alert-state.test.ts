// The alert engine's pure parts, driven by hand with explicit times: the state machine of
// one (rule, group), label matching, routes and silences, and the dispatcher that groups
// alerts into notifications with group_wait / group_interval / repeat_interval. No
// storage and no clock: each step says what time it is.
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createDispatcher, type Dispatch, type GroupMemory } from "../src/alerts/dispatcher.js";
import type { Entity } from "../src/alerts/entity-table.js";
import type { AlertView } from "../src/alerts/model.js";
import { isSilenced, matcherSchema, matches, routeSchema, routesFor, silenceState, type Matcher, type RouteSpec, type SilenceSpec } from "../src/alerts/routing.js";
import { advance, initialState, isActive, notifiedActive, type GroupState, type Observation, type Timing } from "../src/alerts/state.js";

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const T0 = Date.parse("2026-11-27T10:00:00Z");

function timing(overrides: Partial<Timing> = {}): Timing {
  return { forMs: 0, keepFiringForMs: 0, flap: { window: 30 * MINUTE, max_changes: 6 }, ...overrides };
}

/** Feeds observations at the given offsets from T0 and returns every state after each step. */
function drive(steps: [offsetMs: number, raw: Observation["raw"], value?: number][], t: Timing, start?: GroupState): GroupState[] {
  let state = start ?? initialState("fp-1", { host: "web-1" }, T0);
  const out: GroupState[] = [];
  for (const [offset, raw, value] of steps) {
    state = advance(state, { raw, value: value ?? null, ...(raw === "error" ? { message: "evaluation failed: boom" } : {}) }, t, T0 + offset);
    out.push(state);
  }
  return out;
}

describe("state machine (advance)", () => {
  it("a condition true for `for` goes ok → pending → firing, keeping when it became true, then resolves", () => {
    const t = timing({ forMs: MINUTE });
    const [first, half, full, cleared] = drive(
      [
        [0, "firing", 7],
        [30 * SECOND, "firing", 8],
        [60 * SECOND, "firing", 9],
        [90 * SECOND, "ok", 1],
      ],
      t,
    );
    expect(first).toMatchObject({ state: "pending", active_since: T0, fired_at: null, value: 7 });
    expect(notifiedActive(first!)).toBe(false);
    expect(half).toMatchObject({ state: "pending", active_since: T0, fired_at: null, value: 8 });
    expect(full).toMatchObject({ state: "firing", active_since: T0, fired_at: T0 + MINUTE, value: 9 });
    expect(notifiedActive(full!)).toBe(true);
    expect(cleared).toMatchObject({ state: "ok", fired_at: null, active_since: null, resolved_at: T0 + 90 * SECOND });
    expect(notifiedActive(cleared!)).toBe(false);
  });

  it("a pending condition that clears never fires, and the next one counts `for` from scratch", () => {
    const t = timing({ forMs: MINUTE });
    const states = drive(
      [
        [0, "firing"],
        [50 * SECOND, "ok"],
        [70 * SECOND, "firing"],
        [120 * SECOND, "firing"],
        [130 * SECOND, "firing"],
      ],
      t,
    );
    expect(states.map((s) => s.state)).toEqual(["pending", "ok", "pending", "pending", "firing"]);
    expect(states[1]!.resolved_at).toBeNull();
    expect(states[2]!.active_since).toBe(T0 + 70 * SECOND);
    expect(states[4]!.fired_at).toBe(T0 + 130 * SECOND);
  });

  it("with for = 0 the first true observation fires", () => {
    const [s] = drive([[0, "firing", 3]], timing());
    expect(s).toMatchObject({ state: "firing", fired_at: T0, active_since: T0 });
  });

  it("keep_firing_for holds a cleared alert firing, counting from when it first cleared; a new true resets it", () => {
    const t = timing({ keepFiringForMs: 2 * MINUTE });
    const states = drive(
      [
        [0, "firing"],
        [10 * SECOND, "ok"],
        [60 * SECOND, "ok"],
        [90 * SECOND, "firing"],
        [100 * SECOND, "ok"],
        [219 * SECOND, "ok"],
        [220 * SECOND, "ok"],
      ],
      t,
    );
    expect(states.map((s) => s.state)).toEqual(["firing", "firing", "firing", "firing", "firing", "firing", "ok"]);
    expect(states[1]!.cleared_at).toBe(T0 + 10 * SECOND);
    expect(states[2]!.cleared_at).toBe(T0 + 10 * SECOND);
    // True again: the hold is cancelled and the alert keeps its start time.
    expect(states[3]).toMatchObject({ cleared_at: null, fired_at: T0 });
    expect(states[4]!.cleared_at).toBe(T0 + 100 * SECOND);
    expect(states[5]!.fired_at).toBe(T0);
    expect(states[6]).toMatchObject({ state: "ok", resolved_at: T0 + 220 * SECOND, fired_at: null, cleared_at: null });
  });

  it("nodata and error are active states of their own; the alert keeps its start time across them", () => {
    const states = drive(
      [
        [0, "nodata"],
        [60 * SECOND, "error"],
        [120 * SECOND, "firing", 42],
        [180 * SECOND, "ok", 1],
      ],
      timing(),
    );
    expect(states.map((s) => s.state)).toEqual(["nodata", "error", "firing", "ok"]);
    expect(states.slice(0, 3).every((s) => isActive(s.state) && notifiedActive(s) && s.fired_at === T0)).toBe(true);
    expect(states[1]!.message).toBe("evaluation failed: boom");
    expect(states[2]!.message).toBe("");
    expect(states[3]!.resolved_at).toBe(T0 + 180 * SECOND);
  });

  it("nodata and error wait out `for` like firing does", () => {
    const states = drive(
      [
        [0, "nodata"],
        [30 * SECOND, "nodata"],
        [60 * SECOND, "nodata"],
      ],
      timing({ forMs: MINUTE }),
    );
    expect(states.map((s) => s.state)).toEqual(["pending", "pending", "nodata"]);
    const errors = drive(
      [
        [0, "error"],
        [60 * SECOND, "error"],
      ],
      timing({ forMs: MINUTE }),
    );
    expect(errors.map((s) => s.state)).toEqual(["pending", "error"]);
  });

  describe("flap damping", () => {
    const t = timing({ flap: { window: 10 * MINUTE, max_changes: 4 } });
    /** Alternates firing / ok every 10 s, starting with firing at `from`. */
    const alternate = (from: number, count: number, firstRaw: "firing" | "ok" = "firing"): [number, Observation["raw"]][] =>
      Array.from({ length: count }, (_, i) => [from + i * 10 * SECOND, (i % 2 === 0) === (firstRaw === "firing") ? "firing" : "ok"]);

    it("max_changes changes within the window are told; one more holds the group in flapping, as receivers last saw it", () => {
      const states = drive(alternate(0, 5), t);
      // Four changes (firing, ok, firing, ok) are each real transitions.
      expect(states.slice(0, 4).map((s) => s.state)).toEqual(["firing", "ok", "firing", "ok"]);
      // The fifth (ok → firing) is one too many: held, still looking resolved to receivers.
      const held = states[4]!;
      expect(held.state).toBe("flapping");
      expect(held.raw).toBe("firing");
      expect(notifiedActive(held)).toBe(false);
      expect(held.message).toMatch(/held: changed state 5 times within 10 min \(more than 4\)/);
      // More flapping changes nothing receivers see.
      const more = drive(alternate(50 * SECOND, 6, "ok"), t, held);
      expect(more.every((s) => s.state === "flapping" && !notifiedActive(s))).toBe(true);
    });

    it("held firing: it stays firing to receivers while it flaps, and once calm resolves as it should", () => {
      const t3 = timing({ flap: { window: 10 * MINUTE, max_changes: 3 } });
      const states = drive(alternate(0, 4), t3);
      const held = states[3]!;
      // The fourth change (firing → ok) is one too many: held firing.
      expect(held).toMatchObject({ state: "flapping", raw: "ok", held_active: true });
      expect(notifiedActive(held)).toBe(true);
      // Flapping on, ending on ok: receivers keep seeing it firing.
      const flapping = drive(alternate(40 * SECOND, 4), t3, held);
      expect(flapping.at(-1)!.raw).toBe("ok");
      expect(flapping.every((s) => s.state === "flapping" && notifiedActive(s))).toBe(true);
      // The condition stays ok. The group stays held until its changes within the
      // 10-minute window fall to half of max_changes, then resolves.
      let state = advance(flapping.at(-1)!, { raw: "ok", value: null }, t3, T0 + 5 * MINUTE);
      expect(state.state).toBe("flapping");
      expect(notifiedActive(state)).toBe(true);
      state = advance(state, { raw: "ok", value: null }, t3, T0 + 20 * MINUTE);
      expect(state.state).toBe("ok");
      expect(state.resolved_at).toBe(T0 + 20 * MINUTE);
      expect(notifiedActive(state)).toBe(false);
    });

    it("held ok: once calm while the condition holds, it fires (a change receivers are told)", () => {
      const states = drive(alternate(0, 5), t);
      let state = states[4]!;
      expect(state.state).toBe("flapping");
      // Keeps firing from here on; the changes age out of the window.
      for (let at = 50 * SECOND; at < 11 * MINUTE; at += 30 * SECOND) {
        const before = state;
        state = advance(state, { raw: "firing", value: 5 }, t, T0 + at);
        if (state.state !== "flapping") {
          expect(notifiedActive(before)).toBe(false);
          break;
        }
      }
      expect(state.state).toBe("firing");
      expect(notifiedActive(state)).toBe(true);
      expect(state.fired_at).toBe(state.updated_at);
    });

    it("changes spread wider than the window never count as flapping", () => {
      const slow = Array.from({ length: 20 }, (_, i): [number, Observation["raw"]] => [i * 3 * MINUTE, i % 2 === 0 ? "firing" : "ok"]);
      const states = drive(slow, t);
      expect(states.some((s) => s.state === "flapping")).toBe(false);
      expect(states.at(-1)!.changes.length).toBeLessThanOrEqual(4);
    });
  });
});

describe("label matchers", () => {
  const labels = { alertname: "HighErrors", severity: "critical", service: "api-2" };
  const m = (label: string, op: Matcher["op"], value: string): Matcher => matcherSchema.parse({ label, op, value });

  it("= and != compare the whole value; a missing label reads as empty", () => {
    expect(matches([m("severity", "=", "critical")], labels)).toBe(true);
    expect(matches([m("severity", "=", "crit")], labels)).toBe(false);
    expect(matches([m("severity", "!=", "warning")], labels)).toBe(true);
    expect(matches([m("severity", "!=", "critical")], labels)).toBe(false);
    expect(matches([m("team", "=", "")], labels)).toBe(true);
    expect(matches([m("team", "!=", "ops")], labels)).toBe(true);
    expect(matches([m("team", "=", "ops")], labels)).toBe(false);
  });

  it("=~ and !~ are anchored regular expressions", () => {
    expect(matches([m("service", "=~", "api-\\d+")], labels)).toBe(true);
    expect(matches([m("service", "=~", "api")], labels)).toBe(false);
    expect(matches([m("service", "=~", "web|api-2")], labels)).toBe(true);
    expect(matches([m("service", "!~", "api.*")], labels)).toBe(false);
    expect(matches([m("service", "!~", "web.*")], labels)).toBe(true);
    expect(matches([m("team", "=~", ".*")], labels)).toBe(true);
  });

  it("every matcher must hold; no matchers match everything", () => {
    expect(matches([m("severity", "=", "critical"), m("service", "=~", "api.*")], labels)).toBe(true);
    expect(matches([m("severity", "=", "critical"), m("service", "=", "web")], labels)).toBe(false);
    expect(matches([], labels)).toBe(true);
  });

  it("an invalid regular expression is refused with the field named", () => {
    const bad = matcherSchema.safeParse({ label: "service", op: "=~", value: "api(" });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(["value"]);
    expect(bad.error!.issues[0]!.message).toMatch(/not a valid regular expression/);
    expect(matcherSchema.safeParse({ label: "service", op: "~", value: "x" }).success).toBe(false);
  });
});

describe("routes and silences", () => {
  const route = (id: string, spec: Record<string, unknown>) => ({ id, spec: routeSchema.parse({ name: id, channels: ["ch"], ...spec }) });

  it("the first matching route by position takes the alert; continue lets later ones take it too", () => {
    const routes = [
      route("z-catch-all", { position: 500 }),
      route("critical", { position: 10, matchers: [{ label: "severity", value: "critical" }], continue: true }),
      route("api-team", { position: 20, matchers: [{ label: "service", op: "=~", value: "api.*" }] }),
      route("after-api", { position: 30, matchers: [{ label: "service", op: "=~", value: "api.*" }] }),
      route("web-team", { position: 15, matchers: [{ label: "service", value: "web" }] }),
    ];
    const ids = (labels: Record<string, string>) => routesFor(routes, labels).map((r) => r.id);
    // critical continues, web-team does not match, api-team matches and stops.
    expect(ids({ severity: "critical", service: "api-1" })).toEqual(["critical", "api-team"]);
    expect(ids({ severity: "warning", service: "api-1" })).toEqual(["api-team"]);
    expect(ids({ severity: "critical", service: "web" })).toEqual(["critical", "web-team"]);
    expect(ids({ severity: "info", service: "db" })).toEqual(["z-catch-all"]);
    // critical continues, and nothing else matches until the catch-all.
    expect(ids({ severity: "critical", service: "db" })).toEqual(["critical", "z-catch-all"]);
  });

  it("routes at the same position are tried in id order; no route matching means no route", () => {
    const routes = [route("b", { matchers: [{ label: "x", value: "1" }] }), route("a", { matchers: [{ label: "x", value: "1" }] })];
    expect(routesFor(routes, { x: "1" }).map((r) => r.id)).toEqual(["a"]);
    expect(routesFor(routes, { x: "2" })).toEqual([]);
  });

  it("route defaults are Alertmanager's: group by alertname, wait 30 s, interval 5 min, repeat 4 h, send resolved", () => {
    const spec = routeSchema.parse({ name: "r", channels: ["ch"] });
    expect(spec).toMatchObject({ group_by: ["alertname"], group_wait: 30 * SECOND, group_interval: 5 * MINUTE, repeat_interval: 4 * HOUR, send_resolved: true, continue: false });
  });

  it("a silence is pending before it starts, active until it ends, expired from then on", () => {
    const silence: SilenceSpec = { matchers: [matcherSchema.parse({ label: "service", value: "api" })], starts_at: T0, ends_at: T0 + HOUR, comment: "deploy", created_by: "me" };
    expect(silenceState(silence, T0 - 1)).toBe("pending");
    expect(silenceState(silence, T0)).toBe("active");
    expect(silenceState(silence, T0 + HOUR - 1)).toBe("active");
    expect(silenceState(silence, T0 + HOUR)).toBe("expired");
    const api = { service: "api", alertname: "X" };
    expect(isSilenced([silence], api, T0 - 1)).toBe(false);
    expect(isSilenced([silence], api, T0 + MINUTE)).toBe(true);
    expect(isSilenced([silence], { service: "web", alertname: "X" }, T0 + MINUTE)).toBe(false);
    expect(isSilenced([silence], api, T0 + HOUR)).toBe(false);
  });
});

describe("dispatcher", () => {
  const TENANT = "t1";
  const channels: Record<string, string> = { "ch-ops": "ops", "ch-pager": "pager" };

  function alert(name: string, labels: Record<string, string> = {}, overrides: Partial<AlertView> = {}): AlertView {
    return {
      fingerprint: `fp-${name}-${JSON.stringify(labels)}`,
      rule_id: `rule-${name}`,
      rule_name: name,
      status: "firing",
      state: "firing",
      labels: { alertname: name, ...labels },
      annotations: { summary: `${name} fires` },
      value: 1,
      starts_at: new Date(T0).toISOString(),
      ends_at: null,
      ...overrides,
    };
  }
  const resolved = (view: AlertView, at: number): AlertView => ({ ...view, status: "resolved", ends_at: new Date(at).toISOString() });

  /** A dispatcher with in-memory routes and silences; `at(t)` runs every flush due up to T0 + t, as the engine's timer does. */
  function harness(routeSpecs: Record<string, Record<string, unknown>>, options: { silences?: SilenceSpec[] } = {}) {
    const routes: Entity<RouteSpec>[] = Object.entries(routeSpecs).map(([id, spec]) => ({
      tenant: TENANT,
      id,
      spec: routeSchema.parse({ name: id, channels: ["ch-ops"], ...spec }),
      secrets: "",
      updated_at: T0,
    }));
    const silences = options.silences ?? [];
    const sent: Dispatch[] = [];
    const dispatcher = createDispatcher({
      routes: () => routes,
      silences: () => silences,
      channelName: (_tenant, id) => channels[id],
      channelKind: () => "webhook",
      enqueue: async (dispatches) => void sent.push(...dispatches),
      log: pino({ level: "silent" }),
    });
    let now = T0;
    return {
      dispatcher,
      sent,
      silences,
      /** Alerts as the engine hands them over after an evaluation at T0 + offset. */
      update(offset: number, views: AlertView[], conditionAt?: number) {
        now = T0 + offset;
        dispatcher.update(TENANT, views, () => conditionAt ?? now, now);
      },
      async at(offset: number) {
        const until = T0 + offset;
        for (let due = dispatcher.nextDue(); due <= until; due = dispatcher.nextDue()) await dispatcher.tick(Math.max(due, now));
        now = until;
      },
      /** Offsets from T0 at which notifications were written. */
      times: () => sent.map((d) => Date.parse(d.notification.created_at) - T0),
    };
  }
  const fps = (d: Dispatch) => d.notification.alerts.map((a) => `${a.rule_name}:${a.status}`);

  it("group_wait: the first notification waits for siblings, then goes to every channel of the route", async () => {
    const h = harness({ ops: { channels: ["ch-ops", "ch-pager"], group_by: ["service"], group_wait: "30s" } });
    h.update(0, [alert("HighErrors", { service: "api" })], T0 - 5 * SECOND);
    h.update(10 * SECOND, [alert("SlowAnswers", { service: "api" })]);
    await h.at(29 * SECOND);
    expect(h.sent).toEqual([]);
    await h.at(30 * SECOND);
    expect(h.sent.map((d) => d.notification.channel_id)).toEqual(["ch-ops", "ch-pager"]);
    const [first, second] = h.sent;
    expect(first!.notification).toMatchObject({ tenant: TENANT, channel_name: "ops", route_id: "ops", status: "firing", group_labels: { service: "api" } });
    expect(fps(first!)).toEqual(["HighErrors:firing", "SlowAnswers:firing"]);
    // Each channel gets its own notification id; both carry when the condition began.
    expect(first!.notification.id).not.toBe(second!.notification.id);
    expect(first!.conditionAt).toBe(T0 - 5 * SECOND);
    expect(h.times()).toEqual([30 * SECOND, 30 * SECOND]);
  });

  it("alerts with different group_by values form separate groups and notifications", async () => {
    const h = harness({ ops: { group_by: ["service"], group_wait: "0s" } });
    h.update(0, [alert("HighErrors", { service: "api" }), alert("HighErrors", { service: "web" })]);
    await h.at(0);
    expect(h.sent.map((d) => d.notification.group_labels)).toEqual(expect.arrayContaining([{ service: "api" }, { service: "web" }]));
    expect(h.sent).toHaveLength(2);
    expect(h.dispatcher.groupCount()).toBe(2);
  });

  it("group_interval: alerts joining a told group are batched into one notification at the next interval", async () => {
    const h = harness({ ops: { group_by: ["alertname"], group_wait: "30s", group_interval: "5m" } });
    const a = alert("Down", { host: "a" });
    h.update(0, [a]);
    await h.at(30 * SECOND);
    expect(h.sent).toHaveLength(1);
    h.update(60 * SECOND, [alert("Down", { host: "b" })]);
    h.update(120 * SECOND, [alert("Down", { host: "c" }), a]);
    await h.at(30 * SECOND + 5 * MINUTE - 1);
    expect(h.sent).toHaveLength(1);
    await h.at(30 * SECOND + 5 * MINUTE);
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]!.notification.alerts.map((x) => x.labels.host)).toEqual(["a", "b", "c"]);
    // The re-posted alert that did not change is not a reason to tell again.
    h.update(6 * MINUTE, [a]);
    await h.at(HOUR);
    expect(h.sent).toHaveLength(2);
  });

  it("repeat_interval: a group still firing is told again every repeat_interval, with a new notification id", async () => {
    const h = harness({ ops: { group_wait: "0s", group_interval: "5m", repeat_interval: "1h" } });
    h.update(0, [alert("Down")]);
    await h.at(2 * HOUR + 10 * MINUTE);
    expect(h.times()).toEqual([0, HOUR, 2 * HOUR]);
    expect(new Set(h.sent.map((d) => d.notification.id)).size).toBe(3);
    expect(h.sent.every((d) => d.notification.status === "firing")).toBe(true);
    // Repeats are not the condition becoming true: no delivery delay is measured for them.
    expect(h.sent.map((d) => d.conditionAt)).toEqual([T0, null, null]);
  });

  it("resolved: told once, as resolved, at the next interval; then the group is gone", async () => {
    const h = harness({ ops: { group_wait: "0s", group_interval: "1m" } });
    const a = alert("Down");
    h.update(0, [a]);
    await h.at(99 * SECOND);
    expect(h.sent).toHaveLength(1);
    h.update(100 * SECOND, [resolved(a, T0 + 100 * SECOND)]);
    await h.at(100 * SECOND);
    expect(h.sent).toHaveLength(2);
    const told = h.sent[1]!.notification;
    expect(told.status).toBe("resolved");
    expect(told.alerts).toEqual([expect.objectContaining({ fingerprint: a.fingerprint, status: "resolved", ends_at: new Date(T0 + 100 * SECOND).toISOString() })]);
    expect(h.dispatcher.groupCount()).toBe(0);
    await h.at(10 * HOUR);
    expect(h.sent).toHaveLength(2);
  });

  it("one alert of a group resolving: the notification still fires and lists the resolved one after the firing ones", async () => {
    const h = harness({ ops: { group_by: [], group_wait: "0s", group_interval: "1m" } });
    const a = alert("Down", { host: "a" });
    const b = alert("Down", { host: "b" });
    h.update(0, [a, b]);
    await h.at(0);
    h.update(30 * SECOND, [resolved(a, T0 + 30 * SECOND), b]);
    await h.at(59 * SECOND);
    expect(h.sent).toHaveLength(1);
    await h.at(60 * SECOND);
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]!.notification.status).toBe("firing");
    expect(fps(h.sent[1]!)).toEqual(["Down:firing", "Down:resolved"]);
    expect(h.sent[1]!.notification.alerts.map((x) => x.labels.host)).toEqual(["b", "a"]);
  });

  it("send_resolved: false never tells a resolution", async () => {
    const h = harness({ quiet: { group_wait: "0s", group_interval: "1m", send_resolved: false } });
    const a = alert("Down");
    h.update(0, [a]);
    await h.at(0);
    h.update(90 * SECOND, [resolved(a, T0 + 90 * SECOND)]);
    await h.at(10 * HOUR);
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]!.notification.status).toBe("firing");
    expect(h.dispatcher.groupCount()).toBe(0);
  });

  it("send_resolved: false — a sibling resolving is no news: the alerts still firing are not told again", async () => {
    const h = harness({ quiet: { group_by: [], group_wait: "0s", group_interval: "1m", repeat_interval: "4h", send_resolved: false } });
    const a = alert("Down", { host: "a" });
    const b = alert("Down", { host: "b" });
    h.update(0, [a, b]);
    await h.at(0);
    h.update(30 * SECOND, [resolved(a, T0 + 30 * SECOND), b]);
    await h.at(HOUR);
    expect(h.sent).toHaveLength(1);
    // A new alert in the group is news again, and so is the one that resolved if it returns.
    h.update(HOUR, [alert("Down", { host: "c" }), a]);
    await h.at(HOUR + MINUTE);
    expect(h.sent).toHaveLength(2);
    expect(h.sent[1]!.notification.alerts.map((x) => x.labels.host)).toEqual(["b", "c", "a"]);
  });

  it("an alert that fires and resolves within group_wait is never told", async () => {
    const h = harness({ ops: { group_wait: "30s" } });
    const a = alert("Blip");
    h.update(0, [a]);
    h.update(10 * SECOND, [resolved(a, T0 + 10 * SECOND)]);
    await h.at(HOUR);
    expect(h.sent).toEqual([]);
    // A resolution of an alert no group ever told is ignored too.
    h.update(HOUR, [resolved(alert("Never"), T0 + HOUR)]);
    await h.at(2 * HOUR);
    expect(h.sent).toEqual([]);
  });

  it("an alert matching two routes (continue) is told on both, grouped per route", async () => {
    const h = harness({
      critical: { position: 1, continue: true, matchers: [{ label: "severity", value: "critical" }], channels: ["ch-pager"], group_wait: "0s" },
      all: { position: 2, channels: ["ch-ops"], group_wait: "10s" },
    });
    h.update(0, [alert("Down", { severity: "critical" }), alert("Slow", { severity: "warning" })]);
    await h.at(10 * SECOND);
    const byChannel = Object.fromEntries(h.sent.map((d) => [d.notification.channel_id + ":" + d.notification.alerts[0]!.rule_name, d.notification.route_id]));
    expect(byChannel).toEqual({ "ch-pager:Down": "critical", "ch-ops:Down": "all", "ch-ops:Slow": "all" });
  });

  it("a route naming a channel that no longer exists skips it and still tells the others", async () => {
    const h = harness({ ops: { channels: ["ch-gone", "ch-ops"], group_wait: "0s" } });
    h.update(0, [alert("Down")]);
    await h.at(0);
    expect(h.sent.map((d) => d.notification.channel_id)).toEqual(["ch-ops"]);
  });

  describe("silences", () => {
    const silence = (matchers: Record<string, unknown>[], from: number, to: number): SilenceSpec => ({
      matchers: matchers.map((m) => matcherSchema.parse(m)),
      starts_at: T0 + from,
      ends_at: T0 + to,
      comment: "maintenance",
      created_by: "test",
    });

    it("a silenced alert is left out, and told at the first interval after its silence expires", async () => {
      const h = harness({ ops: { group_wait: "30s", group_interval: "5m" } }, { silences: [silence([{ label: "alertname", value: "Down" }], 0, 10 * MINUTE)] });
      h.update(0, [alert("Down")]);
      await h.at(10 * MINUTE - 1);
      expect(h.sent).toEqual([]);
      await h.at(20 * MINUTE);
      expect(h.sent).toHaveLength(1);
      // Flushes run at 30 s + n × 5 min: the first after 10 min is 10 min 30 s.
      expect(h.times()).toEqual([10 * MINUTE + 30 * SECOND]);
      expect(fps(h.sent[0]!)).toEqual(["Down:firing"]);
    });

    it("in a group, only the silenced alert is left out", async () => {
      const h = harness({ ops: { group_by: [], group_wait: "0s" } }, { silences: [silence([{ label: "host", op: "=~", value: "db-.*" }], -MINUTE, HOUR)] });
      h.update(0, [alert("Down", { host: "db-1" }), alert("Down", { host: "web-1" })]);
      await h.at(0);
      expect(h.sent).toHaveLength(1);
      expect(h.sent[0]!.notification.alerts.map((a) => a.labels.host)).toEqual(["web-1"]);
    });

    it("silencing one alert of a told group does not re-tell the others", async () => {
      const silences: SilenceSpec[] = [];
      const h = harness({ ops: { group_by: [], group_wait: "0s", group_interval: "1m" } }, { silences });
      h.update(0, [alert("Down", { host: "db-1" }), alert("Down", { host: "web-1" })]);
      await h.at(0);
      expect(h.sent).toHaveLength(1);
      silences.push(silence([{ label: "host", value: "db-1" }], MINUTE, 2 * HOUR));
      await h.at(HOUR);
      expect(h.sent).toHaveLength(1);
    });

    it("a pending silence does not hold anything back yet", async () => {
      const h = harness({ ops: { group_wait: "0s" } }, { silences: [silence([{ label: "alertname", value: "Down" }], HOUR, 2 * HOUR)] });
      h.update(0, [alert("Down")]);
      await h.at(0);
      expect(h.sent).toHaveLength(1);
    });
  });

  it("restore(): what was told before a restart is not told again; its resolution and its repeat still are", async () => {
    const spec = { ops: { group_wait: "30s", group_interval: "5m", repeat_interval: "4h" } };
    const before = harness(spec);
    const a = alert("Down");
    before.update(0, [a]);
    await before.at(30 * SECOND);
    expect(before.sent).toHaveLength(1);
    const told = before.sent[0]!.notification;
    // What the outbox remembers of the group: its newest notification.
    const memory = (): GroupMemory => ({ sent: new Map(told.alerts.map((x) => [x.fingerprint, x.status])), at: Date.parse(told.created_at) });

    // Without memory a restarted collector would tell it again.
    const forgetful = harness(spec);
    forgetful.update(2 * MINUTE, [a]);
    await forgetful.at(10 * MINUTE);
    expect(forgetful.sent).toHaveLength(1);

    const after = harness(spec);
    after.dispatcher.restore(TENANT, told.group_key, memory());
    after.update(2 * MINUTE, [a]);
    await after.at(HOUR);
    expect(after.sent).toEqual([]);
    // The repeat is due 4 h after the notification before the restart (at a 5-minute step).
    await after.at(4 * HOUR + 30 * SECOND);
    expect(after.times()).toEqual([4 * HOUR + 30 * SECOND]);

    // And a resolution after a restart is told, since receivers saw it firing.
    const again = harness(spec);
    again.dispatcher.restore(TENANT, told.group_key, memory());
    again.update(10 * MINUTE, [resolved(a, T0 + 10 * MINUTE)]);
    await again.at(HOUR);
    expect(again.sent).toHaveLength(1);
    expect(again.sent[0]!.notification.status).toBe("resolved");
  });
});
