import { createHash, createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { BATCH_ID_HEADER, BATCH_ID_PATTERN, UUID_PATTERN, checkEvent } from "@vigil/plugin-sdk";
import { freePort } from "../../../test/support/agent-process.js";
import { eventually } from "../../../test/support/eventually.js";
import { CAMPAIGN_EVENT, MESSAGE_EVENT, SERVER_EVENT, SERVER_STATUS_EVENT, type CampaignAttrs, type MessageAttrs, type ServerAttrs, type ServerStatusAttrs } from "../src/contract.js";
import { diagnose } from "../src/errors.js";
import { createSmsTracker, hashPhoneNumber, type MessageReport, type SmsTracker, type SmsTrackerOptions } from "../src/sdk.js";

/**
 * The SMS tracker against a stand-in for the agent's intake: a node:http server that
 * records every POST byte for byte and answers what the test sets (202, 503, 400), or is
 * not there at all. The real agent and collector are in sdk-agent.test.ts.
 */

interface Post {
  headers: IncomingHttpHeaders;
  raw: Buffer;
  events: Shipped[];
}
interface Shipped {
  id: string;
  ts: number;
  source: string;
  type: string;
  severity: string;
  attrs: Record<string, unknown>;
}

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function standIn(port = 0) {
  const posts: Post[] = [];
  /** Answers, in order, to the next POSTs; then `status`. */
  const state = { status: 202, next: [] as number[] };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.method !== "POST" || req.url !== "/v1/events") {
        res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"not_found","message":"stand-in"}}');
        return;
      }
      const raw = Buffer.concat(chunks);
      posts.push({ headers: req.headers, raw, events: JSON.parse(raw.toString("utf8")) as Shipped[] });
      const status = state.next.shift() ?? state.status;
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(status === 202 ? { accepted: posts.at(-1)!.events.length } : { error: { code: "unavailable", message: "stand-in" } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    posts,
    state,
    events: () => posts.flatMap((p) => p.events),
    ofType: (type: string) => posts.flatMap((p) => p.events).filter((e) => e.type === type),
  };
}

/** Posts only when the test says so (flush() or 1000 waiting), unless the options say otherwise. */
function tracker(agentUrl: string, options: Partial<SmsTrackerOptions> = {}): SmsTracker {
  const t = createSmsTracker({ agentUrl, flushIntervalMs: 3_600_000, ...options });
  cleanups.push(() => t.close());
  return t;
}

function captureWarnings(code: string): string[] {
  const messages: string[] = [];
  const onWarning = (warning: Error & { code?: string }) => {
    if (warning.code === code) messages.push(warning.message);
  };
  process.on("warning", onWarning);
  cleanups.push(() => void process.off("warning", onWarning));
  return messages;
}

/** process.emitWarning delivers on the next tick. */
const warningsDelivered = () => new Promise((resolve) => setImmediate(resolve));

function message(n: number, overrides: Partial<MessageReport> = {}): MessageReport {
  return {
    campaignId: "spring-sale",
    messageId: `SM${String(n).padStart(6, "0")}`,
    to: `+1 (555) ${String(100_0000 + n).slice(1, 4)}-${String(n % 10_000).padStart(4, "0")}`,
    carrier: "Verizon",
    server: { kind: "api", id: "twilio-main" },
    status: "sent",
    ...overrides,
  };
}

// The attrs each event type must carry, exactly: `satisfies` keeps these lists in step with the contract.
const CAMPAIGN_KEYS = Object.keys({ campaign_id: 1, name: 1, total: 1, user: 1, status: 1 } satisfies Record<keyof CampaignAttrs, 1>);
const MESSAGE_KEYS = Object.keys({
  campaign_id: 1, message_id: 1, to_hash: 1, carrier: 1, server_kind: 1, server_id: 1, status: 1, error_code: 1,
  error_text: 1, error_category: 1, attempt: 1, queued_ms: 1, send_ms: 1, reporter: 1,
} satisfies Record<keyof MessageAttrs, 1>);
const SERVER_KEYS = Object.keys({ server_kind: 1, server_id: 1, status: 1, latency_ms: 1, error: 1 } satisfies Record<keyof ServerAttrs, 1>);
const SERVER_STATUS_KEYS = Object.keys({ server_kind: 1, server_id: 1, status: 1, previous_status: 1, error: 1 } satisfies Record<keyof ServerStatusAttrs, 1>);

describe("events", () => {
  it("have the contract's shapes, pass the event schema, and carry uuidv7 ids and the call's time", async () => {
    const agent = await standIn();
    const t = tracker(agent.url);
    const before = Date.now();
    t.trackCampaign({ id: "spring-sale", name: "Spring sale", total: 3, user: "marketing", status: "started" });
    t.trackMessage(message(1, { status: "queued", queuedMs: 12.5 }));
    t.trackMessage(message(1, { status: "delivered", attempt: 1, queuedMs: 12.5, sendMs: 180 }));
    t.trackMessage(message(2, { status: "failed", errorCode: 30007, errorText: "Message filtered", attempt: 2 }));
    t.trackMessage(message(3, { status: "undelivered", server: { kind: "smtp", id: "gw-1" }, errorCode: "550", errorText: "5.1.1 mailbox unavailable" }));
    t.trackMessage(message(4, { status: "failed", server: { kind: "proxy", id: "px-eu" }, errorCode: null, errorText: "socket hang up: ECONNRESET timeout" }));
    t.trackServer({ kind: "api", id: "twilio-main", status: "up", latencyMs: 180 });
    expect(t.pending()).toBe(8);
    await t.flush();
    const after = Date.now();
    expect(t.pending()).toBe(0);
    expect(t.dropped()).toBe(0);

    const events = agent.events();
    expect(events.map((e) => e.type)).toEqual([CAMPAIGN_EVENT, MESSAGE_EVENT, MESSAGE_EVENT, MESSAGE_EVENT, MESSAGE_EVENT, MESSAGE_EVENT, SERVER_EVENT, SERVER_STATUS_EVENT]);
    for (const event of events) {
      expect(checkEvent(event).ok, JSON.stringify(checkEvent(event))).toBe(true);
      expect(Object.keys(event).sort()).toEqual(["attrs", "id", "severity", "source", "ts", "type"]);
      expect(event.source).toBe("sms");
      expect(event.id).toMatch(UUID_PATTERN);
      expect(event.id[14], "UUID version 7").toBe("7");
      expect(event.ts).toBeGreaterThanOrEqual(before);
      expect(event.ts).toBeLessThanOrEqual(after);
      // The id's first 48 bits are its event's ms timestamp.
      expect(parseInt(event.id.replace(/-/g, "").slice(0, 12), 16)).toBe(event.ts);
    }
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);

    const [campaign, queued, delivered, filtered, smtp, proxy] = events;
    expect(Object.keys(campaign!.attrs).sort()).toEqual([...CAMPAIGN_KEYS].sort());
    expect(campaign).toMatchObject({ severity: "info", attrs: { campaign_id: "spring-sale", name: "Spring sale", total: 3, user: "marketing", status: "started" } });

    for (const m of events.filter((e) => e.type === MESSAGE_EVENT)) expect(Object.keys(m.attrs).sort()).toEqual([...MESSAGE_KEYS].sort());
    expect(queued).toMatchObject({
      severity: "info",
      attrs: { campaign_id: "spring-sale", message_id: "SM000001", carrier: "Verizon", server_kind: "api", server_id: "twilio-main", status: "queued", error_code: "", error_text: "", error_category: "", attempt: 1, queued_ms: 12.5, send_ms: 0, reporter: "app" },
    });
    expect(queued!.attrs.to_hash).toMatch(/^[0-9a-f]{32}$/);
    expect(delivered).toMatchObject({ severity: "info", attrs: { status: "delivered", error_category: "", queued_ms: 12.5, send_ms: 180, to_hash: queued!.attrs.to_hash } });
    // Failures carry the error table's category for their code, or for their text when the code says nothing.
    expect(filtered).toMatchObject({ severity: "warning", attrs: { status: "failed", error_code: "30007", error_text: "Message filtered", error_category: "carrier_filtering", attempt: 2 } });
    expect(smtp).toMatchObject({ severity: "warning", attrs: { status: "undelivered", server_kind: "smtp", server_id: "gw-1", error_code: "550", error_category: "invalid_number" } });
    expect(proxy).toMatchObject({ severity: "warning", attrs: { server_kind: "proxy", error_code: "", error_category: "network" } });
    for (const m of [filtered, smtp, proxy]) {
      const a = m!.attrs;
      expect(a.error_category).toBe(diagnose({ reporter: "app", serverKind: String(a.server_kind), code: String(a.error_code), text: String(a.error_text) }).category);
    }

    const [sample, change] = events.slice(6);
    expect(Object.keys(sample!.attrs).sort()).toEqual([...SERVER_KEYS].sort());
    expect(sample).toMatchObject({ severity: "info", attrs: { server_kind: "api", server_id: "twilio-main", status: "up", latency_ms: 180, error: "" } });
    expect(Object.keys(change!.attrs).sort()).toEqual([...SERVER_STATUS_KEYS].sort());
    expect(change).toMatchObject({ severity: "notice", attrs: { server_kind: "api", server_id: "twilio-main", status: "up", previous_status: "unknown", error: "" } });
  });

  it("cut error codes and texts to a size the schema accepts, so one long provider answer cannot get a batch refused", async () => {
    const agent = await standIn();
    const t = tracker(agent.url);
    t.trackMessage(message(1, { status: "failed", errorCode: "E".repeat(500), errorText: `  ${"rate limit exceeded ".repeat(1000)}` }));
    t.trackServer({ kind: "smtp", id: "gw-1", status: "down", error: "x".repeat(20_000) });
    await t.flush();
    const [failed, sample, change] = agent.events();
    expect(String(failed!.attrs.error_code)).toHaveLength(64);
    expect(String(failed!.attrs.error_text)).toHaveLength(1024);
    expect(String(failed!.attrs.error_text).startsWith("rate limit exceeded")).toBe(true);
    expect(failed!.attrs.error_category).toBe("rate_limiting");
    expect(String(sample!.attrs.error)).toHaveLength(1024);
    expect(String(change!.attrs.error)).toHaveLength(1024);
    for (const event of agent.events()) expect(checkEvent(event).ok).toBe(true);
  });
});

describe("phone numbers", () => {
  const NUMBERS = ["+1 (555) 010-0199", "+44 7700 900123", "+33 6 12 34 56 78", "0049 151 23456789", "555-867-5309"];
  /** Every way the test writes a number, and its bare digits: none may appear in any byte posted. */
  const forms = (to: string) => [to, to.replace(/\D/g, ""), to.replace(/[^\d+]/g, ""), to.replace(/\D/g, "").slice(-7)];

  it("never leave the app: not in any posted byte, in any format", async () => {
    const agent = await standIn();
    const t = tracker(agent.url, { hashSalt: "pepper" });
    const written = NUMBERS.flatMap((n) => [n, `tel:${n.replace(/\s/g, "")}`, n.replace(/[^\d+]/g, "")]);
    // Ids without digits, so that any digit run in an attr (bar to_hash) could only come from a number.
    const letters = (i: number) => String.fromCharCode(97 + (i % 26), 97 + Math.floor(i / 26));
    written.forEach((to, i) => {
      t.trackMessage(message(i, { messageId: `sm-${letters(i)}`, to, status: "queued" }));
      t.trackMessage(message(i, { messageId: `sm-${letters(i)}`, to, status: "failed", errorCode: "21211", errorText: "Invalid 'To' phone number" }));
    });
    await t.flush();
    expect(agent.events()).toHaveLength(written.length * 2);
    const bytes = Buffer.concat(agent.posts.map((p) => p.raw)).toString("utf8");
    for (const to of NUMBERS) for (const form of forms(to)) expect(bytes.includes(form), `"${form}" was posted`).toBe(false);
    for (const event of agent.events()) {
      expect(event.attrs.to_hash).toMatch(/^[0-9a-f]{32}$/);
      const { to_hash: _hash, error_code: _code, ...rest } = event.attrs;
      expect(JSON.stringify(rest), "not even part of a number").not.toMatch(/\d{3}/);
    }
  });

  it("hash to the same to_hash however the number is written, differently per salt, and stably across trackers", async () => {
    const agent = await standIn();
    const salted = tracker(agent.url, { hashSalt: "pepper" });
    const again = tracker(agent.url, { hashSalt: "pepper" });
    const otherSalt = tracker(agent.url, { hashSalt: "paprika" });
    const unsalted = tracker(agent.url);
    const spellings = ["+1 (555) 010-0199", "+15550100199", "tel:+1-555-010-0199", " +1.555.010.0199 "];
    for (const to of spellings) salted.trackMessage(message(1, { to }));
    again.trackMessage(message(1, { to: "+1 555 010 0199" }));
    otherSalt.trackMessage(message(1, { to: "+15550100199" }));
    unsalted.trackMessage(message(1, { to: "+15550100199" }));
    salted.trackMessage(message(2, { to: "+15550100198" }));
    for (const t of [salted, again, otherSalt, unsalted]) await t.flush();

    const hashes = agent.ofType(MESSAGE_EVENT).map((e) => e.attrs.to_hash);
    const pepper = createHmac("sha256", "pepper").update("15550100199").digest("hex").slice(0, 32);
    expect(hashes.slice(0, 4), "one hash for every spelling").toEqual([pepper, pepper, pepper, pepper]);
    expect(hashes.slice(4).sort()).toEqual(
      [
        pepper, // another tracker with the same salt
        createHmac("sha256", "paprika").update("15550100199").digest("hex").slice(0, 32),
        createHash("sha256").update("15550100199").digest("hex").slice(0, 32),
        createHmac("sha256", "pepper").update("15550100198").digest("hex").slice(0, 32),
      ].sort(),
    );
    expect(new Set(hashes).size).toBe(4);
    // The SDK's export is the function the agent's receipts use too.
    expect(hashPhoneNumber("+1 (555) 010-0199", "pepper")).toBe(pepper);
  });
});

describe("servers", () => {
  it("report every sample, and exactly one sms.server_status per change of status, per server", async () => {
    const agent = await standIn();
    const t = tracker(agent.url);
    const sequence = ["up", "up", "degraded", "degraded", "down", "down", "down", "up", "up"] as const;
    for (const status of sequence) {
      t.trackServer({ kind: "smtp", id: "gw-1", status, latencyMs: status === "up" ? 40 : 900, ...(status === "up" ? {} : { error: `gw-1 is ${status}` }) });
      // Same id, another kind: another server.
      t.trackServer({ kind: "proxy", id: "gw-1", status: "up" });
    }
    await t.flush();
    const samples = agent.ofType(SERVER_EVENT).filter((e) => e.attrs.server_kind === "smtp");
    expect(samples.map((e) => e.attrs.status)).toEqual([...sequence]);
    expect(samples.map((e) => e.severity)).toEqual(["info", "info", "warning", "warning", "error", "error", "error", "info", "info"]);
    const changes = agent.ofType(SERVER_STATUS_EVENT);
    expect(changes.map((e) => [e.attrs.server_kind, e.attrs.server_id, e.attrs.previous_status, e.attrs.status, e.severity, e.attrs.error])).toEqual([
      ["smtp", "gw-1", "unknown", "up", "notice", ""],
      ["proxy", "gw-1", "unknown", "up", "notice", ""],
      ["smtp", "gw-1", "up", "degraded", "warning", "gw-1 is degraded"],
      ["smtp", "gw-1", "degraded", "down", "error", "gw-1 is down"],
      ["smtp", "gw-1", "down", "up", "notice", ""],
    ]);
    // A change is posted right after the sample that showed it.
    const events = agent.events();
    for (const change of changes) {
      const before = events[events.indexOf(change) - 1]!;
      expect([before.type, before.attrs.server_kind, before.attrs.status]).toEqual([SERVER_EVENT, change.attrs.server_kind, change.attrs.status]);
    }
  });
});

describe("invalid input", () => {
  const CASES: { name: string; call: (t: SmsTracker) => void; says: string }[] = [
    { name: "unknown message status", call: (t) => t.trackMessage(message(1, { status: "sending" as never })), says: 'trackMessage() ignored a call: status must be one of queued, sent, delivered, undelivered, failed (got "sending")' },
    { name: "missing message id", call: (t) => t.trackMessage(message(1, { messageId: undefined as never })), says: "messageId must be a non-empty string of at most 256 characters (it is missing)" },
    { name: "missing campaign id", call: (t) => t.trackCampaign({ name: "x", total: 1, user: "u", status: "started" } as never), says: "trackCampaign() ignored a call: id must be a non-empty string" },
    { name: "negative total", call: (t) => t.trackCampaign({ id: "c", name: "x", total: -5, user: "u", status: "started" }), says: "total must be a whole number, 0 or more (got -5)" },
    { name: "fractional total", call: (t) => t.trackCampaign({ id: "c", name: "x", total: 2.5, user: "u", status: "started" }), says: "total must be a whole number, 0 or more (got 2.5)" },
    { name: "unknown campaign status", call: (t) => t.trackCampaign({ id: "c", name: "x", total: 1, user: "u", status: "running" as never }), says: "status must be one of created, started, paused, completed" },
    { name: "unknown server kind", call: (t) => t.trackMessage(message(1, { server: { kind: "smpp" as never, id: "s" } })), says: 'server.kind must be one of smtp, proxy, api (got "smpp")' },
    { name: "no server", call: (t) => t.trackMessage(message(1, { server: null as never })), says: "server must be an object { kind, id } (got null)" },
    { name: "attempt 0", call: (t) => t.trackMessage(message(1, { attempt: 0 })), says: "attempt, when given, must be a whole number, 1 or more (got 0)" },
    { name: "negative time", call: (t) => t.trackMessage(message(1, { sendMs: -3 })), says: "sendMs, when given, must be a number of milliseconds, 0 or more (got -3)" },
    { name: "error text not text", call: (t) => t.trackMessage(message(1, { errorText: { code: 1 } as never })), says: "errorText, when given, must be a string (got object)" },
    { name: "server status", call: (t) => t.trackServer({ kind: "api", id: "tw", status: "offline" as never }), says: 'trackServer() ignored a call: status must be one of up, degraded, down (got "offline")' },
    { name: "not an object", call: (t) => t.trackServer(undefined as never), says: "expected an object { kind, id, status, latencyMs?, error? } (it is missing)" },
    { name: "a getter that throws", call: (t) => t.trackCampaign(Object.defineProperty({}, "id", { get: () => { throw new Error("boom"); } }) as never), says: "trackCampaign() ignored a call: it could not be read: boom" },
    { name: "a recipient with no number", call: (t) => t.trackMessage(message(1, { to: "call me maybe" })), says: "to must be the recipient's phone number, a string of at most 64 characters with at least 3 digits (got 0 digits)" },
  ];

  for (const { name, call, says } of CASES) {
    it(`${name}: not sent, counted, said once with the field and what is expected, never thrown`, async () => {
      const agent = await standIn();
      const warnings = captureWarnings("VIGIL_SMS_INVALID_INPUT");
      const t = tracker(agent.url);
      expect(() => call(t)).not.toThrow();
      expect(() => call(t)).not.toThrow();
      t.trackMessage(message(9));
      expect(t.invalid()).toBe(2);
      await t.flush();
      expect(agent.events().map((e) => e.attrs.message_id), "only the good call is sent").toEqual(["SM000009"]);
      await warningsDelivered();
      expect(warnings, "once a minute, not once per call").toHaveLength(1);
      expect(warnings[0]).toContain(says);
      expect(warnings[0]).toContain("1 call ignored so far (invalid())");
    });
  }

  it("warnings never repeat a phone number", async () => {
    const agent = await standIn();
    const warnings = captureWarnings("VIGIL_SMS_INVALID_INPUT");
    const t = tracker(agent.url);
    t.trackMessage(message(1, { to: `+1 555 010 0199 ${"ext. ".repeat(20)}`, status: "sent" }));
    await warningsDelivered();
    expect(t.invalid()).toBe(1);
    expect(warnings[0]).toContain("to must be the recipient's phone number");
    expect(warnings[0]).not.toMatch(/555|0199/);
  });
});

describe("delivery to the intake", () => {
  it("posts JSON arrays of at most 1000 events, each with a Vigil-Batch-Id, as soon as 1000 wait, without a flush", async () => {
    const agent = await standIn();
    const t = tracker(agent.url);
    for (let i = 0; i < 2500; i++) t.trackMessage(message(i));
    expect(agent.posts, "calls do no I/O").toHaveLength(0);
    await eventually(() => agent.events().length, (n) => n === 2500, 10_000, "2500 events posted without flush()");
    expect(agent.posts.every((p) => p.events.length <= 1000)).toBe(true);
    expect(agent.posts[0]!.events).toHaveLength(1000);
    for (const post of agent.posts) {
      expect(post.headers["content-type"]).toBe("application/json");
      expect(post.headers[BATCH_ID_HEADER]).toMatch(BATCH_ID_PATTERN);
      expect(post.headers[BATCH_ID_HEADER]).toMatch(/^sms-app-[0-9a-f]{8}-/);
    }
    expect(new Set(agent.posts.map((p) => p.headers[BATCH_ID_HEADER])).size).toBe(agent.posts.length);
    expect(agent.events().map((e) => e.attrs.message_id)).toEqual(Array.from({ length: 2500 }, (_, i) => message(i).messageId));
    expect(t.pending()).toBe(0);
  });

  it("posts what is waiting every flushIntervalMs", async () => {
    const agent = await standIn();
    const t = tracker(agent.url, { flushIntervalMs: 50, app: "campaigns" });
    t.trackCampaign({ id: "c1", name: "Launch", total: 10, user: "ops", status: "created" });
    await eventually(() => agent.events().length, (n) => n === 1, 5_000, "the timer's post");
    expect(agent.posts[0]!.headers[BATCH_ID_HEADER]).toMatch(/^sms-campaigns-/);
  });

  it("retries a batch answered 503 with the same Vigil-Batch-Id and the same bytes", async () => {
    const agent = await standIn();
    agent.state.next = [503, 503];
    const t = tracker(agent.url);
    for (let i = 0; i < 10; i++) t.trackMessage(message(i));
    await t.flush();
    expect(agent.posts).toHaveLength(1);
    expect(t.pending(), "kept for the retry").toBe(10);
    await t.flush();
    await t.flush();
    expect(agent.posts).toHaveLength(3);
    expect(t.pending()).toBe(0);
    const ids = agent.posts.map((p) => p.headers[BATCH_ID_HEADER]);
    expect(ids[0]).toMatch(BATCH_ID_PATTERN);
    expect(new Set(ids).size, "one batch id across the retries").toBe(1);
    expect(agent.posts[2]!.raw.equals(agent.posts[0]!.raw)).toBe(true);
    expect(t.dropped()).toBe(0);
    await t.flush();
    expect(agent.posts, "delivered once").toHaveLength(3);
  });

  it("with the agent down, keeps the newest maxBacklog events, drops and counts the oldest, and delivers the rest when it is back", async () => {
    const port = await freePort();
    const warnings = captureWarnings("VIGIL_SMS_EVENTS_DROPPED");
    const t = tracker(`http://127.0.0.1:${port}`, { maxBacklog: 100 });
    for (let i = 0; i < 250; i++) expect(t.trackMessage(message(i))).toBeUndefined();
    await t.flush();
    expect(t.pending()).toBe(100);
    expect(t.dropped()).toBe(150);
    await warningsDelivered();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("SMS tracker's backlog (100 events) is full");
    for (let i = 250; i < 300; i++) t.trackMessage(message(i));
    expect(t.dropped()).toBe(200);

    const agent = await standIn(port);
    await t.flush();
    expect(agent.events().map((e) => e.attrs.message_id), "the newest 100, in order").toEqual(Array.from({ length: 100 }, (_, i) => message(200 + i).messageId));
    expect(t.dropped(), "delivery does not change what was lost").toBe(200);
    expect(t.pending()).toBe(0);
  });

  it("drops and counts a batch the agent refuses as invalid (400), with one VIGIL_SMS_EVENTS_REFUSED warning", async () => {
    const agent = await standIn();
    agent.state.next = [400];
    const warnings = captureWarnings("VIGIL_SMS_EVENTS_REFUSED");
    const t = tracker(agent.url);
    for (let i = 0; i < 5; i++) t.trackMessage(message(i));
    await t.flush();
    expect(t.dropped()).toBe(5);
    t.trackMessage(message(5));
    await t.flush();
    expect(agent.posts.map((p) => p.events.length)).toEqual([5, 1]);
    await warningsDelivered();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("refused 5 SMS events (400)");
  });

  it("close() posts what is left, is safe twice, and later calls are dropped and counted", async () => {
    const agent = await standIn();
    const t = createSmsTracker({ agentUrl: agent.url, flushIntervalMs: 3_600_000 });
    t.trackCampaign({ id: "c1", name: "Launch", total: 1, user: "ops", status: "completed" });
    t.trackMessage(message(1, { status: "delivered" }));
    await Promise.all([t.close(), t.close()]);
    await t.close();
    expect(agent.events().map((e) => e.type)).toEqual([CAMPAIGN_EVENT, MESSAGE_EVENT]);
    t.trackMessage(message(2));
    expect(t.dropped()).toBe(1);
    await t.flush();
    expect(agent.events()).toHaveLength(2);
  });
});

describe("options", () => {
  it("are checked when the tracker is made, with messages that say what to fix", () => {
    expect(() => createSmsTracker({ flushIntervalMs: 0 })).toThrow("createSmsTracker: flushIntervalMs must be a positive number of milliseconds, got 0");
    expect(() => createSmsTracker({ maxBacklog: 10.5 })).toThrow("createSmsTracker: maxBacklog must be a whole number of events, 1 or more, got 10.5");
    expect(() => createSmsTracker({ app: "my app" })).toThrow(`createSmsTracker: app must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit (got "my app")`);
    expect(() => createSmsTracker({ agentUrl: "ftp://127.0.0.1:4601" })).toThrow('createSmsTracker: agentUrl must be an http(s) URL like "http://127.0.0.1:4601" (got "ftp://127.0.0.1:4601")');
    expect(() => createSmsTracker({ hashSalt: 42 as never })).toThrow("createSmsTracker: hashSalt must be a string (got number)");
  });
});
