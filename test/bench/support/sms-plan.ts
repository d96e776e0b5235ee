/** What `sms-load.ts` stores: campaigns of equal size, each sent over a span of time ending before `nowMs`. */
export interface SmsLoadPlan {
  nowMs: number;
  messagesPerCampaign: number;
  campaigns: { id: string; startMs: number; spanMs: number; running: boolean }[];
}

const HOUR_MS = 3_600_000;

/**
 * `campaigns` campaigns of `messagesPerCampaign` messages, each sent over two hours, the
 * newest still running (its last message five minutes ago), the others one after another
 * before it, three hours apart: all within the last day or two, inside the retention.
 */
export function smsLoadPlan(campaigns: number, messagesPerCampaign: number, nowMs = Date.now()): SmsLoadPlan {
  const spanMs = 2 * HOUR_MS;
  const newestStart = nowMs - 5 * 60_000 - spanMs;
  return {
    nowMs,
    messagesPerCampaign,
    campaigns: Array.from({ length: campaigns }, (_, i) => ({ id: `bench-campaign-${i + 1}`, startMs: newestStart - i * 3 * HOUR_MS, spanMs, running: i === 0 })),
  };
}
