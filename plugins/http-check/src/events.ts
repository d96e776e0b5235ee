import { uuidv7, type EventInput } from "@vigil/plugin-sdk";
import type { CheckResult } from "./check.js";
import type { CheckConfig } from "./config.js";
import type { CheckRecord, CheckState } from "./state.js";

export const EVENT_SOURCE = "http";

/** `http.check`: one per run. */
export function checkRunEvent(check: CheckConfig, result: CheckResult, ts: number): EventInput {
  const latencyMs = Math.round(result.latencyMs * 10) / 10;
  const tlsShort = result.tlsDaysLeft !== undefined && result.tlsDaysLeft < check.tls_days_warn;
  const tlsText = result.tlsDaysLeft === undefined ? "" : `; certificate expires in ${result.tlsDaysLeft} days`;
  return {
    id: uuidv7(ts),
    ts,
    source: EVENT_SOURCE,
    type: "http.check",
    severity: result.passed && !tlsShort ? "info" : "warning",
    attrs: {
      check_name: check.name,
      url_host: new URL(check.url).host,
      method: check.method,
      up: result.passed,
      status_code: result.statusCode,
      latency_ms: latencyMs,
      error_class: result.errorClass,
      ...(result.tlsDaysLeft !== undefined ? { tls_days_left: result.tlsDaysLeft } : {}),
    },
    body: `${check.name} ${result.passed ? "passed" : "failed"}: ${check.method} ${new URL(check.url).host} — ${result.detail} (${latencyMs} ms)${tlsText}`,
  };
}

/** `http.state`: one per change of the check's state. */
export function stateChangeEvent(check: CheckConfig, previous: CheckState, next: CheckRecord, ts: number): EventInput {
  const why = next.state === "down" ? `after ${next.consecutiveFailures} consecutive failed runs` : "on a passing run";
  return {
    id: uuidv7(ts),
    ts,
    source: EVENT_SOURCE,
    type: "http.state",
    severity: next.state === "down" ? "error" : "notice",
    attrs: {
      check_name: check.name,
      state: next.state,
      previous_state: previous,
      consecutive_failures: next.consecutiveFailures,
    },
    body: `${check.name} is ${next.state} (was ${previous}) ${why}`,
  };
}
