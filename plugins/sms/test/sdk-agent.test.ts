import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { freePort, startAgentProcess, testAgentConfig, writeAgentConfig, type AgentProcess } from "../../../test/support/agent-process.js";
import { startCollectorProcess, tempDir, type CollectorProcess } from "../../../test/support/collector-process.js";
import { eventually } from "../../../test/support/eventually.js";
import type { MessageAttrs, MessageStatus } from "../src/contract.js";
import { diagnose } from "../src/errors.js";
import { createSmsTracker, hashPhoneNumber, type MessageReport, type SmsTracker, type SmsTrackerOptions } from "../src/sdk.js";

/**
 * The tracker with the real chain behind it: an agent as a child process (its intake is
 * what the SDK posts to) shipping to a collector on embedded ClickHouse. What is checked
 * is what a user would query back from the collector.
 */
let collector: CollectorProcess;
const dirs: { remove(): void }[] = [];
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  const dir = tempDir("vigil-sms-sdk-e2e-");
  dirs.push(dir);
  collector = await startCollectorProcess({ dataDir: join(dir.path, "collector") });
});
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});
afterAll(async () => {
  await collector?.kill();
  for (const dir of dirs) dir.remove();
});

async function agent(port?: number): Promise<AgentProcess> {
  const dir = tempDir("vigil-sms-sdk-agent-");
  dirs.push(dir);
  const config = testAgentConfig(collector, join(dir.path, "data"), { name: "sms-sdk-test-agent", ...(port !== undefined ? { intakePort: port } : {}) });

  const proc = await startAgentProcess(writeAgentConfig(dir.path, config));
  cleanups.push(() => proc.kill());
  return proc;
}

function tracker(options: SmsTrackerOptions): SmsTracker {
  const t = createSmsTracker(options);
  cleanups.push(() => t.close());
  return t;
}

interface Stored {
  type: string;
  severity: string;
  attrs: Record<string, string>;
}

/** Every stored event matching `query`, with the raw text of the pages it came in. */
async function stored(query: string): Promise<{ events: Stored[]; text: string }> {
  const events: Stored[] = [];
  let text = "";
  let cursor: string | null = null;
  do {
    const res = await fetch(`${collector.url}/v1/events?${query}&limit=1000${cursor ? `&cursor=${cursor}` : ""}`, { headers: { authorization: `Bearer ${collector.token}` } });
    const page = await res.text();
    expect(res.status, page).toBe(200);
    text += page;
    const parsed = JSON.parse(page) as { events: Stored[]; next_cursor: string | null };
    events.push(...parsed.events);
    cursor = parsed.next_cursor;
  } while (cursor);
  return { events, text };
}

const numberOf = (i: number) => `+1 (555) ${String(200 + Math.floor(i / 10_000)).padStart(3, "0")}-${String(i % 10_000).padStart(4, "0")}`;

/** Each message is queued, sent, then ends: 80 % delivered, 10 % failed (a Twilio code), 10 % undelivered. */
function finalOf(i: number): Pick<MessageReport, "status" | "errorCode" | "errorText"> {
  if (i % 10 === 7) return { status: "failed", errorCode: [30003, 30007, 21610][i % 3]!, errorText: "from Twilio" };
  if (i % 10 === 9) return { status: "undelivered", errorCode: "30005", errorText: "Unknown destination handset" };
  return { status: "delivered" };
}

describe("SDK → agent → collector", () => {
  it("stores every event of a campaign in the contract's shape, with hashes in place of numbers", async () => {
    const a = await agent();
    const salt = "e2e-salt";
    const t = tracker({ agentUrl: a.intakeUrl, flushIntervalMs: 100, hashSalt: salt, app: "e2e" });
    const campaignId = "e2e-campaign";
    const messages = 3000;
    t.trackCampaign({ id: campaignId, name: "End to end", total: messages, user: "ops", status: "created" });
    t.trackCampaign({ id: campaignId, name: "End to end", total: messages, user: "ops", status: "started" });
    t.trackServer({ kind: "smtp", id: "gw-e2e", status: "up", latencyMs: 30 });
    for (let i = 0; i < messages; i++) {
      const base = { campaignId, messageId: `SM-e2e-${i}`, to: numberOf(i), carrier: ["Verizon", "AT&T", "T-Mobile"][i % 3]!, server: { kind: "api" as const, id: "twilio-main" } };
      t.trackMessage({ ...base, status: "queued", queuedMs: 2 });
      t.trackMessage({ ...base, status: "sent", queuedMs: 2, sendMs: 150 });
      t.trackMessage({ ...base, ...finalOf(i), queuedMs: 2, sendMs: 150 });
      if (i === 1000) t.trackServer({ kind: "smtp", id: "gw-e2e", status: "down", error: "connection refused" });
      if (i === 2000) t.trackServer({ kind: "smtp", id: "gw-e2e", status: "up", latencyMs: 35 });
      // An app sends over time: give the event loop (and the tracker's posts) a turn now and then.
      if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
    }
    t.trackCampaign({ id: campaignId, name: "End to end", total: messages, user: "ops", status: "completed" });
    await t.close();
    expect(t.dropped()).toBe(0);
    expect(t.invalid()).toBe(0);
    expect(t.pending()).toBe(0);

    const expected = messages * 3 + 3;
    const { events, text } = await eventually(() => stored(`source=sms&attr.campaign_id=${campaignId}`), (s) => s.events.length >= expected, 60_000, `${expected} events stored`);
    expect(events).toHaveLength(expected);
    expect(events.filter((e) => e.type === "sms.campaign").map((e) => e.attrs.status).sort()).toEqual(["completed", "created", "started"]);

    const byStatus: Record<string, number> = {};
    for (const e of events.filter((e) => e.type === "sms.message")) byStatus[e.attrs.status!] = (byStatus[e.attrs.status!] ?? 0) + 1;
    expect(byStatus).toEqual({ queued: 3000, sent: 3000, delivered: 2400, failed: 300, undelivered: 300 });

    const keys = Object.keys({
      campaign_id: 1, message_id: 1, to_hash: 1, carrier: 1, server_kind: 1, server_id: 1, status: 1, error_code: 1,
      error_text: 1, error_category: 1, attempt: 1, queued_ms: 1, send_ms: 1, reporter: 1,
    } satisfies Record<keyof MessageAttrs, 1>).sort();
    for (const e of events.filter((e) => e.type === "sms.message")) {
      expect(Object.keys(e.attrs).sort()).toEqual(keys);
      const i = Number(e.attrs.message_id!.slice("SM-e2e-".length));
      expect(e.attrs.to_hash).toBe(hashPhoneNumber(numberOf(i), salt));
      expect(e.attrs.reporter).toBe("app");
      const failed = (["failed", "undelivered"] as MessageStatus[]).includes(e.attrs.status as MessageStatus);
      expect(e.severity).toBe(failed ? "warning" : "info");
      expect(e.attrs.error_category).toBe(failed ? diagnose({ reporter: "app", serverKind: "api", code: e.attrs.error_code!, text: e.attrs.error_text! }).category : "");
    }
    // What the collector holds has no phone number in it, in any spelling.
    for (let i = 0; i < messages; i += 97) {
      const to = numberOf(i);
      for (const form of [to, to.replace(/\D/g, ""), `+${to.replace(/\D/g, "")}`]) expect(text.includes(form), `${form} is stored`).toBe(false);
    }

    const changes = await eventually(() => stored("source=sms&type=sms.server_status&attr.server_id=gw-e2e"), (s) => s.events.length >= 3, 30_000, "3 status changes stored");
    expect(changes.events.map((e) => `${e.attrs.previous_status}>${e.attrs.status}:${e.severity}`).sort()).toEqual(["down>up:notice", "unknown>up:notice", "up>down:error"]);
    const samples = await stored("source=sms&type=sms.server&attr.server_id=gw-e2e");
    expect(samples.events).toHaveLength(3);
  });

  it("with the agent down, the app's calls go on, the backlog keeps the newest events, and the agent gets them once it is up", async () => {
    const port = await freePort();
    const t = tracker({ agentUrl: `http://127.0.0.1:${port}`, flushIntervalMs: 3_600_000, maxBacklog: 500 });
    const campaignId = "e2e-down";
    for (let i = 0; i < 800; i++) {
      expect(t.trackMessage({ campaignId, messageId: `SM-down-${i}`, to: numberOf(i), carrier: "Verizon", server: { kind: "api", id: "twilio-main" }, status: "sent" })).toBeUndefined();
    }
    await t.flush();
    expect(t.dropped()).toBe(300);
    expect(t.pending()).toBe(500);

    await agent(port);
    await t.flush();
    expect(t.pending()).toBe(0);
    const { events } = await eventually(() => stored(`source=sms&attr.campaign_id=${campaignId}`), (s) => s.events.length >= 500, 30_000, "500 events stored");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await stored(`source=sms&attr.campaign_id=${campaignId}`)).events).toHaveLength(500);
    expect(events.map((e) => Number(e.attrs.message_id!.slice("SM-down-".length))).sort((x, y) => x - y)).toEqual(Array.from({ length: 500 }, (_, i) => 300 + i));
    expect(t.dropped()).toBe(300);
  });
});
