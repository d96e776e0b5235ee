/**
 * The colour family ("tone") of a status word, so every page colours "failing",
 * "firing" or "online" the same way. Unknown words are neutral.
 */
export type Tone = "ok" | "warn" | "bad" | "info" | "neutral";

const TONES: Record<string, Tone> = {
  ok: "ok",
  online: "ok",
  running: "ok",
  resolved: "ok",
  delivered: "ok",
  healthy: "ok",
  active: "ok",
  live: "ok",
  starting: "info",
  pending: "warn",
  degraded: "warn",
  paused: "warn",
  reconnecting: "warn",
  flapping: "warn",
  nodata: "warn",
  silenced: "neutral",
  stopped: "neutral",
  offline: "bad",
  off: "neutral",
  failing: "bad",
  firing: "bad",
  error: "bad",
  failed: "bad",
  unavailable: "bad",
  critical: "bad",
  warning: "warn",
  notice: "info",
  info: "info",
  debug: "neutral",
};

export function toneOf(status: string | null | undefined): Tone {
  return (status && TONES[status.toLowerCase()]) || "neutral";
}
