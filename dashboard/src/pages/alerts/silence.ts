import type { Matcher } from "./types.js";

/**
 * Silences: their form and its mapping to `POST /api/alerts/silences`
 * (collector/src/alerts/routing.ts, silenceSchema).
 */

export const SILENCE_DURATIONS = [
  { value: "1h", label: "1 hour", ms: 3_600_000 },
  { value: "2h", label: "2 hours", ms: 2 * 3_600_000 },
  { value: "4h", label: "4 hours", ms: 4 * 3_600_000 },
  { value: "8h", label: "8 hours", ms: 8 * 3_600_000 },
  { value: "1d", label: "1 day", ms: 86_400_000 },
  { value: "3d", label: "3 days", ms: 3 * 86_400_000 },
  { value: "7d", label: "1 week", ms: 7 * 86_400_000 },
  { value: "until", label: "Until a date…", ms: 0 },
] as const;
export type SilenceDuration = (typeof SILENCE_DURATIONS)[number]["value"];

export interface SilenceDraft {
  matchers: Matcher[];
  duration: SilenceDuration;
  /** For "until": a `datetime-local` value (local time). */
  until: string;
  comment: string;
}

/**
 * Labels that say *which* alert it is, first: a silence made from an alert matches that
 * alert's rule and group. Every label is offered; the user removes the ones too specific.
 */
const FIRST = ["alertname", "rule_id"];

/** An alert's labels → one `=` matcher per label (alertname first), to pre-fill a silence. */
export function matchersFromLabels(labels: Record<string, string>): Matcher[] {
  const names = Object.keys(labels).sort((a, b) => {
    const rank = (name: string) => (FIRST.includes(name) ? FIRST.indexOf(name) : FIRST.length);
    return rank(a) - rank(b) || a.localeCompare(b);
  });
  return names.map((label) => ({ label, op: "=", value: labels[label]! }));
}

export function emptySilence(labels?: Record<string, string>): SilenceDraft {
  return {
    matchers: labels ? matchersFromLabels(labels) : [{ label: "alertname", op: "=", value: "" }],
    duration: "2h",
    until: "",
    comment: "",
  };
}

/** The end time the draft asks for, as epoch ms (NaN when "until" holds no valid date). */
export function silenceEnd(draft: SilenceDraft, now: number): number {
  if (draft.duration === "until") return draft.until ? Date.parse(draft.until) : Number.NaN;
  return now + SILENCE_DURATIONS.find((d) => d.value === draft.duration)!.ms;
}

/** The draft → the body of `POST /api/alerts/silences`. Blank matcher rows are left out. */
export function silenceBody(draft: SilenceDraft, now: number = Date.now()): { matchers: Matcher[]; ends_at: string; comment: string } {
  const end = silenceEnd(draft, now);
  return {
    matchers: draft.matchers.filter((m) => m.label.trim() !== "" || m.value !== "").map((m) => ({ label: m.label.trim(), op: m.op, value: m.value })),
    // An invalid date goes as typed: the server names the field in its answer.
    ends_at: Number.isFinite(end) ? new Date(end).toISOString() : draft.until,
    comment: draft.comment.trim(),
  };
}

/** "severity=critical, job=~api.*" */
export function matchersText(matchers: readonly Matcher[]): string {
  return matchers.map((m) => `${m.label}${m.op}${m.value}`).join(", ");
}
