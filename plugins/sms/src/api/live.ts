import { z } from "zod";
import type { LiveEvent, LiveTopic } from "@vigil/plugin-sdk";
import { MESSAGE_EVENT, SERVER_STATUS_EVENT, SOURCE } from "../contract.js";
import { campaignStats, type CampaignStats } from "./campaigns.js";
import { systemView, userSummary, type SystemView } from "./reports.js";

/**
 * The SMS live channels on the collector's WebSocket (`/api/live`), each within the
 * subscriber's tenant:
 *
 * - `sms.campaign` — one campaign's statistics, re-read every second while anyone
 *   listens and sent when they changed (so at least once a second while it runs);
 * - `sms.user` — the summary of all of one user's campaigns, every 2 s;
 * - `sms.system` — the tenant's system view every 5 s, plus, as they are stored, each
 *   server status change and error bursts (BURST_FAILURES failures within BURST_WINDOW_MS).
 */

/** The `sms.campaign` topic's data: the statistics without `as_of` (it moves on every read), or only the id when unknown. */
export type LiveCampaign = ({ found: true } & Omit<CampaignStats, "as_of">) | { found: false; campaign_id: string };

/** The `sms.system` topic's data: the view every 5 s, and server changes / error bursts as they are stored. */
export type LiveSystem =
  | { kind: "system"; view: SystemView }
  | {
      kind: "events";
      server_changes: Record<string, string>[];
      error_burst?: { failures: number; window_s: number; by_category: Record<string, number> };
    };

const BURST_WINDOW_MS = 10_000;
const BURST_FAILURES = 20;

const campaignParams = z.object({ campaign_id: z.string().min(1, "campaign_id is required").max(256) }).strict();
const userParams = z.object({ user: z.string().min(1, "user is required").max(256) }).strict();
const systemParams = z
  .object({
    burst_failures: z.number().int().min(1).max(100_000).default(BURST_FAILURES).describe("Failures within 10 s that make a burst."),
  })
  .strict();

export const campaignTopic: LiveTopic<z.output<typeof campaignParams>> = {
  name: "sms.campaign",
  description: "One campaign's statistics (params: campaign_id), sent when they change, re-read every second.",
  params: campaignParams,
  poll: {
    every: 1000,
    async read(storage, params): Promise<LiveCampaign> {
      const stats = await campaignStats(storage, params.campaign_id);
      if (!stats) return { campaign_id: params.campaign_id, found: false };
      // `as_of` moves on every read; without it a finished campaign stops being re-sent.
      const { as_of: _asOf, ...rest } = stats;
      return { found: true, ...rest };
    },
  },
};

export const userTopic: LiveTopic<z.output<typeof userParams>> = {
  name: "sms.user",
  description: "All of one user's campaigns (params: user): their summary, re-read every 2 s.",
  params: userParams,
  poll: {
    every: 2000,
    read: (storage, params) => userSummary(storage, params.user),
  },
};

/** Recent failures (time, category) per subscription (its params object), for burst detection. */
const recentFailures = new WeakMap<object, { t: number; category: string }[]>();

export const systemTopic: LiveTopic<z.output<typeof systemParams>> = {
  name: "sms.system",
  description: "The tenant's SMS system view every 5 s; server status changes and error bursts as they happen.",
  params: systemParams,
  poll: {
    every: 5000,
    async read(storage): Promise<LiveSystem> {
      return { kind: "system", view: await systemView(storage) };
    },
  },
  onEvents(events: readonly LiveEvent[], params): LiveSystem | undefined {
    const changes: Record<string, string>[] = [];
    const failures: LiveEvent[] = [];
    for (const e of events) {
      if (e.source !== SOURCE) continue;
      if (e.type === SERVER_STATUS_EVENT) changes.push({ ...e.attrs, at: new Date(e.ts).toISOString() });
      else if (e.type === MESSAGE_EVENT && (e.attrs.status === "failed" || e.attrs.status === "undelivered")) failures.push(e);
    }
    let burst: { failures: number; window_s: number; by_category: Record<string, number> } | undefined;
    if (failures.length > 0) {
      const now = Date.now();
      const recent = (recentFailures.get(params) ?? []).filter((f) => now - f.t < BURST_WINDOW_MS);
      for (const f of failures) recent.push({ t: now, category: f.attrs.error_category || "unknown" });
      // Told once per burst: the window starts over after it is reported.
      if (recent.length >= params.burst_failures) {
        const byCategory: Record<string, number> = {};
        for (const f of recent) byCategory[f.category] = (byCategory[f.category] ?? 0) + 1;
        burst = { failures: recent.length, window_s: BURST_WINDOW_MS / 1000, by_category: byCategory };
        recentFailures.set(params, []);
      } else recentFailures.set(params, recent);
    }
    if (changes.length === 0 && !burst) return undefined;
    return { kind: "events", server_changes: changes, ...(burst ? { error_burst: burst } : {}) };
  },
};

export const liveTopics = [campaignTopic, userTopic, systemTopic];
