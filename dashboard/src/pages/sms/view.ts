import type { ChartData } from "../../lib/components/Chart.svelte";
import { formatDateTime, formatNumber, formatPercent, formatSeconds } from "../../lib/format.js";
import type { Tone } from "../../lib/status.js";
import type { CampaignReport, CampaignStats, CampaignStatus, LiveCampaign, ServerStatus, Severity } from "./types.js";

/**
 * What the SMS pages show, worked out from the API's answers: pure functions, so the
 * tests pin them without a DOM.
 */

/** A campaign's link in the dashboard. */
export function campaignPath(id: string): string {
  return `/sms/${encodeURIComponent(id)}`;
}

export function campaignTitle(c: Pick<CampaignStats, "name" | "campaign_id">): string {
  return c.name || c.campaign_id;
}

// ---------------------------------------------------------------- status words and colours

/** The lifecycle word as people say it: a "started" campaign is running. */
export function statusLabel(status: CampaignStatus | null): string {
  switch (status) {
    case "started":
      return "running";
    case null:
      return "not announced";
    default:
      return status;
  }
}

export function statusTone(status: CampaignStatus | null): Tone {
  switch (status) {
    case "started":
      return "info";
    case "completed":
      return "ok";
    case "paused":
      return "warn";
    default:
      return "neutral";
  }
}

/** A campaign the app never announced counts as running while messages arrived in the last 5 minutes (as the plugin counts it). */
const ACTIVE_SILENCE_MS = 5 * 60_000;

export function isRunning(c: Pick<CampaignStats, "status" | "last_activity_at">, now: number = Date.now()): boolean {
  if (c.status === "started") return true;
  if (c.status !== null || c.last_activity_at === null) return false;
  return now - Date.parse(c.last_activity_at) <= ACTIVE_SILENCE_MS;
}

export function serverTone(status: ServerStatus | null): Tone {
  return status === "up" ? "ok" : status === "degraded" ? "warn" : status === "down" ? "bad" : "neutral";
}

export function severityTone(severity: Severity): Tone {
  return severity === "critical" || severity === "high" ? "bad" : severity === "medium" ? "warn" : "neutral";
}

/** A rate where higher is better (delivery, success): good from 95 %, worrying from 80 %. */
export function successTone(rate: number | null): Tone {
  if (rate === null) return "neutral";
  return rate >= 0.95 ? "ok" : rate >= 0.8 ? "warn" : "bad";
}

// ---------------------------------------------------------------- progress

export interface ProgressPart {
  kind: "delivered" | "failed" | "pending";
  label: string;
  count: number;
  /** Share of the bar, 0–1. */
  share: number;
}

/**
 * Delivered, failed (failed + undelivered) and pending, as shares of the campaign's
 * total. They add up to the total while the messages stay within it; a campaign that
 * reported more messages than it announced is scaled to fit the bar.
 */
export function progressParts(c: Pick<CampaignStats, "total" | "delivered" | "failed_total" | "pending">): ProgressPart[] {
  const whole = Math.max(c.total, c.delivered + c.failed_total + c.pending);
  const share = (n: number) => (whole > 0 ? n / whole : 0);
  return [
    { kind: "delivered", label: "delivered", count: c.delivered, share: share(c.delivered) },
    { kind: "failed", label: "failed", count: c.failed_total, share: share(c.failed_total) },
    { kind: "pending", label: "pending", count: c.pending, share: share(c.pending) },
  ];
}

/** "82% done: 39,025 delivered, 2,072 failed, 8,903 pending" — the bar in words, for everyone. */
export function progressText(c: Pick<CampaignStats, "total" | "delivered" | "failed_total" | "pending" | "progress_pct">): string {
  const parts = progressParts(c).map((p) => `${formatNumber(p.count)} ${p.label}`);
  return `${formatPercent(c.progress_pct, { ratio: false })} done: ${parts.join(", ")}`;
}

// ---------------------------------------------------------------- ETA and throughput

export interface Estimate {
  text: string;
  hint: string;
}

/**
 * When the last message should leave the queue, from the plugin's `eta_s` (what is left
 * ÷ the last minute's rate). It has none when the campaign is complete or nothing left
 * the queue in the last minute: the text says which.
 */
export function formatEta(c: Pick<CampaignStats, "status" | "eta" | "eta_s" | "completed_at" | "duration_s">): Estimate {
  if (c.status === "completed") {
    return { text: "done", hint: c.completed_at ? `completed ${formatDateTime(c.completed_at)}, after ${formatSeconds(c.duration_s)}` : "completed" };
  }
  if (c.eta_s === null) return { text: "—", hint: "nothing left the queue in the last minute" };
  if (c.eta_s === 0) return { text: "all sent", hint: "every message has left the queue; final receipts may still come" };
  return { text: `in ${formatSeconds(c.eta_s)}`, hint: c.eta ? `about ${formatDateTime(c.eta)}, at the last minute's rate` : "at the last minute's rate" };
}

export function formatThroughput(c: Pick<CampaignStats, "throughput">): Estimate {
  const avg = c.throughput.avg_per_minute;
  return {
    text: `${formatNumber(c.throughput.last_minute, { compact: true })}/min`,
    hint: avg === null ? "messages that left the queue in the last minute" : `last minute; average ${formatNumber(avg, { compact: true, digits: 1 })}/min`,
  };
}

// ---------------------------------------------------------------- live updates

/**
 * The report with the live topic's statistics in place of its own (the topic sends the
 * same statistics, without `as_of`, as soon as they change). An unknown campaign's
 * message changes nothing.
 */
export function applyLive(report: CampaignReport, live: LiveCampaign): CampaignReport {
  if (!live.found) return report;
  const { found: _found, ...stats } = live;
  return { ...report, campaign: { ...report.campaign, ...stats } };
}

/**
 * Whether the live figures moved enough that the rest of the report (carriers, servers,
 * errors, the hourly chart) is worth reading again: new final statuses, new messages or a
 * new lifecycle status.
 */
export function reportOutdated(shown: Pick<CampaignStats, "messages" | "final" | "status">, live: LiveCampaign): boolean {
  if (!live.found) return false;
  return live.messages !== shown.messages || live.final !== shown.final || live.status !== shown.status;
}

// ---------------------------------------------------------------- the hourly chart

/**
 * Per hour: messages that left the queue, delivered, and failed (failed + undelivered).
 * A line needs two hours: a single point would stretch the time axis over years, so one
 * hour draws nothing and `hourlySummary` says it in words instead.
 */
export function hourlyData(hourly: CampaignReport["hourly"]): ChartData {
  if (hourly.length < 2) return [[]];
  return [hourly.map((b) => Date.parse(b.start) / 1000), hourly.map((b) => b.dispatched), hourly.map((b) => b.delivered), hourly.map((b) => b.failed + b.undelivered)];
}

/** "twilio 30003", "smtp 550", or the title alone for a failure without a code. */
export function codeText(code: { namespace: string | null; code: string | null }): string {
  if (code.code === null) return "no code";
  return code.namespace ? `${code.namespace} ${code.code}` : code.code;
}

/** "network" → "Network"; "rate_limiting" → "Rate limiting". */
export function categoryLabel(category: string): string {
  const words = category.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** What the hourly chart shows instead of a plot: nothing yet, or the one hour so far in words. */
export function hourlySummary(hourly: CampaignReport["hourly"]): string {
  const only = hourly.length === 1 ? hourly[0] : undefined;
  if (!only) return "No message has left the queue yet.";
  const d = new Date(only.start);
  const hour = `${String(d.getHours()).padStart(2, "0")}:00`;
  return `All within the hour from ${hour} so far: ${formatNumber(only.dispatched)} sent, ${formatNumber(only.delivered)} delivered, ${formatNumber(only.failed + only.undelivered)} failed. The chart starts with the second hour.`;
}
