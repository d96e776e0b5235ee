// The receipts' HTTP server driven in process: routes and answers, signature schemes
// (checked against Twilio's published vectors), status and error mapping, and the rule
// that a receipt is answered 200 only once its event is queued. What the test supplies is
// only the agent's plumbing (emit, metrics, log), kept to the SDK's contract: emitted
// events are validated with the SDK's `checkEvent`. The receipts' path through a real
// agent into a collector is in webhooks.test.ts.
import { createHash, createHmac } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { checkEvent, type EventInput, type Labels, type PluginContext, type PluginInstance, type VigilEvent } from "@vigil/plugin-sdk";
import { afterEach, describe, expect, it } from "vitest";
import { formatProblems, problemsFromIssues } from "../../../agent/src/config/problems.js";
import { freePort } from "../../../test/support/agent-process.js";
import plugin from "../src/agent.js";
import { STATUS_RANK } from "../src/contract.js";
import { hashPhoneNumber } from "../src/phone.js";
import { twilioSignature, verifyTwilioSignature } from "../src/webhooks/twilio.js";
import { vonageSignature } from "../src/webhooks/vonage.js";

const { parse: parseYaml } = createRequire(new URL("../../../agent/package.json", import.meta.url))("yaml") as { parse(text: string): unknown };

const AUTH_TOKEN = "test-auth-token-0123456789abcdef";
const VONAGE_SECRET = "vonage-signature-secret-0123456789";

interface Running {
  url: string;
  instance: PluginInstance;
  events: VigilEvent[];
  counters: Map<string, number>;
  logs: { level: string; obj: object | string; msg?: string }[];
  changeConfig(input: unknown): Promise<void>;
  stop(): Promise<void>;
}

const running: Running[] = [];

afterEach(async () => {
  while (running.length) await running.pop()!.stop();
});

/**
 * Starts the plugin on 127.0.0.1 (a free port unless `config.listen` names one); `emit`
 * runs before the default emit (validate, then collect) and may hold or fail it.
 */
async function startPlugin(config: Record<string, unknown>, emit?: (event: EventInput) => Promise<void>): Promise<Running> {
  const listen = typeof config.listen === "string" ? config.listen : `127.0.0.1:${await freePort()}`;
  const events: VigilEvent[] = [];
  const counters = new Map<string, number>();
  const logs: Running["logs"] = [];
  const listeners: ((config: unknown) => void | Promise<void>)[] = [];
  const abort = new AbortController();
  const key = (name: string, labels: Labels = {}) => `${name}{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(",")}}`;
  const logAt = (level: string) => (obj: object | string, msg?: string) => void logs.push({ level, obj, ...(msg !== undefined ? { msg } : {}) });
  const unused = (what: string) => () => {
    throw new Error(`the sms plugin has no reason to use ${what}`);
  };
  const ctx: PluginContext<any> = {
    agent: { id: "agent-test", name: "test", version: "0.0.0" },
    instanceId: "sms",
    config: plugin.configSchema.parse({ ...config, listen }),
    async emit(input) {
      const checked = checkEvent(input);
      if (!checked.ok) throw new Error(`invalid event: ${checked.problems.map((p) => `${p.path || "event"}: ${p.message}`).join("; ")}`);
      if (emit) await emit(input);
      events.push(checked.event);
    },
    log: { debug: logAt("debug"), info: logAt("info"), warn: logAt("warn"), error: logAt("error") },
    metrics: {
      counter: ({ name }) => ({ inc: (labels, value = 1) => void counters.set(key(name, labels), (counters.get(key(name, labels)) ?? 0) + value) }),
      gauge: unused("gauges") as never,
      histogram: unused("histograms") as never,
    },
    state: { get: () => undefined, set: unused("state"), delete: unused("state") },
    scheduler: { schedule: unused("the scheduler") },
    http: { request: unused("the HTTP client") },
    collector: { request: unused("the collector API") },
    publish: unused("publish"),
    dataDir: "/nonexistent",
    onConfig: (listener) => void listeners.push(listener),
    onCommand: () => undefined,
    signal: abort.signal,
  };
  const instance = plugin.create(ctx);
  await instance.start();
  const handle: Running = {
    url: `http://${String(instance.status().details!.listen)}`,
    instance,
    events,
    counters,
    logs,
    async changeConfig(input) {
      const parsed = plugin.configSchema.parse(input);
      for (const listener of listeners) await listener(parsed);
    },
    async stop() {
      abort.abort();
      await instance.stop();
    },
  };
  running.push(handle);
  return handle;
}

function twilioConfig(publicUrl: string, extra: Record<string, unknown> = {}) {
  return { public_url: publicUrl, twilio: { auth_token: AUTH_TOKEN }, ...extra };
}

/** Twilio status-callback parameters for one status of a message. */
function callbackParams(sid: string, status: string, extra: Record<string, string> = {}): Record<string, string> {
  return { AccountSid: "AC00000000000000000000000000000000", ApiVersion: "2010-04-01", From: "+15005550006", MessageSid: sid, MessageStatus: status, SmsSid: sid, SmsStatus: status, To: "+447700900123", ...extra };
}

/** Posts a callback to `postUrl`, signed (unless `signature` is given) for `signedUrl`, as Twilio would. */
async function postTwilio(postUrl: string, params: Record<string, string>, options: { signedUrl?: string; signature?: string | null; token?: string } = {}) {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  const signature = options.signature === undefined ? twilioSignature(options.token ?? AUTH_TOKEN, options.signedUrl ?? postUrl, Object.entries(params)) : options.signature;
  if (signature !== null) headers["x-twilio-signature"] = signature;
  const response = await fetch(postUrl, { method: "POST", headers, body: new URLSearchParams(params).toString() });
  return { status: response.status, headers: response.headers, json: (await response.json()) as any };
}

/** Vonage's scheme, written from its documentation ("Signing messages"), as the Vonage side. */
function vonageSign(params: Record<string, string>, secret: string, method: string): string {
  const signed = Object.keys(params)
    .sort()
    .map((name) => `&${name}=${params[name]!.replace(/[&=]/g, "_")}`)
    .join("");
  return method === "md5hash" ? createHash("md5").update(signed + secret).digest("hex") : createHmac(method, secret).update(signed).digest("hex");
}

function vonageReceipt(messageId: string, status: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    msisdn: "447700900123",
    to: "AcmeInc",
    "network-code": "23410",
    messageId,
    price: "0.03330000",
    status,
    scts: "2611271000",
    "err-code": "0",
    "api-key": "abcd1234",
    "message-timestamp": "2026-11-27 10:00:00",
    ...extra,
  };
}

describe("signature schemes", () => {
  it("computes Twilio's published examples, including repeated parameters", () => {
    // From Twilio's request-validation docs and its helper libraries' tests.
    const url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const params: [string, string][] = [["CallSid", "CA1234567890ABCDE"], ["Caller", "+14158675309"], ["Digits", "1234"], ["From", "+14158675309"], ["To", "+18005551212"]];
    expect(twilioSignature("12345", url, params)).toBe("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    expect(twilioSignature("12345", url, [...params].reverse())).toBe("RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    const repeated: [string, string][] = [["Sid", "CA123"], ["SidAccount", "AC123"], ["Digits", "5678"], ["Digits", "1234"], ["Digits", "1234"]];
    expect(twilioSignature("12345", url, repeated)).toBe("IK+Dwps556ElfBT0I3Rgjkr1wJU=");
  });

  it("accepts Twilio's signature with or without the default port, and nothing else", () => {
    const params: [string, string][] = [["MessageSid", "SM1"], ["MessageStatus", "sent"]];
    const signedWithout = twilioSignature(AUTH_TOKEN, "https://hooks.example.com/sms/twilio/status", params);
    expect(verifyTwilioSignature(AUTH_TOKEN, signedWithout, "https://hooks.example.com:443/sms/twilio/status", params)).toBe(true);
    expect(verifyTwilioSignature(AUTH_TOKEN, signedWithout, "https://hooks.example.com/sms/twilio/status", params)).toBe(true);
    expect(verifyTwilioSignature(AUTH_TOKEN, signedWithout, "http://hooks.example.com/sms/twilio/status", params)).toBe(false);
    expect(verifyTwilioSignature(AUTH_TOKEN, signedWithout, "https://hooks.example.com/sms/twilio/status?x=1", params)).toBe(false);
    expect(verifyTwilioSignature("another-token", signedWithout, "https://hooks.example.com/sms/twilio/status", params)).toBe(false);
    expect(verifyTwilioSignature(AUTH_TOKEN, undefined, "https://hooks.example.com/sms/twilio/status", params)).toBe(false);
  });

  it("computes Vonage's sig for every method, replacing & and = in values", () => {
    const params = vonageReceipt("0A0000000123ABCD1", "delivered", { "client-ref": "spring=sale&2026", timestamp: "1795773600", nonce: "2a1b" });
    for (const method of ["md5hash", "md5", "sha1", "sha256", "sha512"] as const) {
      expect(vonageSignature(VONAGE_SECRET, method, Object.entries(params))).toBe(vonageSign(params, VONAGE_SECRET, method));
    }
    // `sig` itself is not signed.
    const withSig = [...Object.entries(params), ["sig", "whatever"]] as [string, string][];
    expect(vonageSignature(VONAGE_SECRET, "sha256", withSig)).toBe(vonageSign(params, VONAGE_SECRET, "sha256"));
  });
});

describe("Twilio status callbacks", () => {
  it("turns a signed callback into an sms.message event with every MessageAttrs attr, answering 200 once it is queued", async () => {
    const port = await freePort();
    const plugin = await startPluginAt(port, twilioConfig(`http://127.0.0.1:${port}`, { hash_salt: "app-salt" }));
    const url = `${plugin.url}/twilio/status?campaign_id=spring-sale&attempt=2`;
    const answer = await postTwilio(url, callbackParams("SM0001", "undelivered", { ErrorCode: "30007" }));
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ status: "accepted", message_id: "SM0001", message_status: "undelivered" });
    expect(plugin.events).toHaveLength(1);
    const [event] = plugin.events;
    expect(event).toMatchObject({ source: "sms", type: "sms.message", severity: "warning" });
    expect(event!.attrs).toEqual({
      campaign_id: "spring-sale",
      message_id: "SM0001",
      to_hash: hashPhoneNumber("+447700900123", "app-salt"),
      carrier: "",
      server_kind: "",
      server_id: "",
      status: "undelivered",
      error_code: "30007",
      error_text: "Message filtered (carrier violation)",
      error_category: "carrier_filtering",
      attempt: 2,
      queued_ms: 0,
      send_ms: 0,
      reporter: "twilio",
      provider_status: "undelivered",
    });
    expect(plugin.counters.get('vigil_sms_webhook_receipts_total{provider="twilio",outcome="accepted"}')).toBe(1);
  });

  it("maps every Twilio status; inbound ones are answered 200 and stored nowhere", async () => {
    const port = await freePort();
    const plugin = await startPluginAt(port, twilioConfig(`http://127.0.0.1:${port}`));
    const expected: Record<string, string | undefined> = {
      accepted: "queued",
      scheduled: "queued",
      queued: "queued",
      sending: "sent",
      sent: "sent",
      delivered: "delivered",
      read: "delivered",
      undelivered: "undelivered",
      failed: "failed",
      canceled: "failed",
      receiving: undefined,
      received: undefined,
      partially_delivered: undefined,
    };
    for (const [twilioStatus, status] of Object.entries(expected)) {
      const answer = await postTwilio(`${plugin.url}/twilio/status`, callbackParams(`SM-${twilioStatus}`, twilioStatus));
      expect(answer.status, twilioStatus).toBe(200);
      const event = plugin.events.find((e) => e.attrs.message_id === `SM-${twilioStatus}`);
      expect(event?.attrs.status, twilioStatus).toBe(status);
      if (status === undefined) expect(answer.json.status).toBe("ignored");
    }
    // Without an ErrorCode a failure is still categorised; the campaign id is "" when the URL gave none, attempt 0 (not known).
    expect(plugin.events.find((e) => e.attrs.message_id === "SM-failed")!.attrs).toMatchObject({ error_code: "", error_category: "unknown", campaign_id: "", attempt: 0 });
    expect(plugin.events.find((e) => e.attrs.message_id === "SM-delivered")).toMatchObject({ severity: "info", attrs: { error_category: "" } });
    expect(plugin.counters.get('vigil_sms_webhook_receipts_total{provider="twilio",outcome="ignored"}')).toBe(3);
  });

  it("refuses bad and missing signatures with 403 and emits nothing", async () => {
    const port = await freePort();
    const plugin = await startPluginAt(port, twilioConfig(`http://127.0.0.1:${port}`));
    const url = `${plugin.url}/twilio/status?campaign_id=c1`;
    const params = callbackParams("SM0002", "delivered");
    const wrongToken = await postTwilio(url, params, { token: "not-the-token" });
    const missing = await postTwilio(url, params, { signature: null });
    const tampered = await postTwilio(url, params, { signature: twilioSignature(AUTH_TOKEN, url, Object.entries({ ...params, MessageStatus: "failed" })) });
    const otherQuery = await postTwilio(url, params, { signedUrl: `${plugin.url}/twilio/status?campaign_id=c2` });
    for (const answer of [wrongToken, missing, tampered, otherQuery]) {
      expect(answer.status).toBe(403);
      expect(answer.json.error.code).toBe("forbidden");
    }
    expect(missing.json.error.message).toBe("the X-Twilio-Signature header is missing");
    expect(plugin.events).toEqual([]);
    expect(plugin.counters.get('vigil_sms_webhook_receipts_total{provider="twilio",outcome="rejected_signature"}')).toBe(4);
    // One warning for the burst, naming the URL that was checked.
    const warnings = plugin.logs.filter((l) => l.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0]!.obj)).toContain(`${plugin.url}/twilio/status?campaign_id=c1`);
    expect((await plugin.instance.status()).state).toBe("degraded");
  });

  it("verifies against public_url behind a proxy: prefix kept or stripped, query exactly as received", async () => {
    const plugin = await startPlugin(twilioConfig("https://hooks.example.com/sms/"));
    const params = callbackParams("SM0003", "sent");
    // Query with encoded characters and an order of its own: signed as Twilio sent it.
    const search = "?campaign_id=spring%20sale%2F2026&attempt=1&z=1&a=2";
    const publicUrl = `https://hooks.example.com/sms/twilio/status${search}`;
    const kept = await postTwilio(`${plugin.url}/sms/twilio/status${search}`, params, { signedUrl: publicUrl });
    const stripped = await postTwilio(`${plugin.url}/twilio/status${search}`, { ...params, MessageSid: "SM0004" }, { signedUrl: publicUrl });
    expect([kept.status, stripped.status]).toEqual([200, 200]);
    expect(plugin.events.map((e) => [e.attrs.message_id, e.attrs.campaign_id, e.attrs.attempt])).toEqual([
      ["SM0003", "spring sale/2026", 1],
      ["SM0004", "spring sale/2026", 1],
    ]);
    // Signed for the address the agent sees, not the one Twilio called: refused.
    const local = await postTwilio(`${plugin.url}/twilio/status${search}`, params);
    expect(local.status).toBe(403);
    // The same query re-encoded is another URL.
    const reencoded = await postTwilio(`${plugin.url}/twilio/status?campaign_id=spring+sale%2F2026&attempt=1&z=1&a=2`, params, { signedUrl: publicUrl });
    expect(reencoded.status).toBe(403);
  });

  it("answers 404 off its routes, 405 to other methods, 415 to non-form bodies, 413 past max_body_bytes", async () => {
    const plugin = await startPlugin(twilioConfig("https://hooks.example.com", { max_body_bytes: 2048 }));
    const notFound = await fetch(`${plugin.url}/twilio/other`, { method: "POST" });
    expect(notFound.status).toBe(404);
    expect(((await notFound.json()) as any).error.code).toBe("not_found");
    // Vonage is not configured: its route does not exist.
    expect((await fetch(`${plugin.url}/vonage/receipt`)).status).toBe(404);
    const wrongMethod = await fetch(`${plugin.url}/twilio/status`);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST");
    const asJson = await fetch(`${plugin.url}/twilio/status`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(asJson.status).toBe(415);
    const big = new URLSearchParams(callbackParams("SM0005", "sent", { Body: "x".repeat(4096) })).toString();
    const tooLarge = await fetch(`${plugin.url}/twilio/status`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: big });
    expect(tooLarge.status).toBe(413);
    expect(((await tooLarge.json()) as any).error.code).toBe("payload_too_large");
    // Chunked, without a Content-Length: cut off once past the limit.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 3; i++) controller.enqueue(new TextEncoder().encode(`${i === 0 ? "" : "&"}Pad${i}=${"y".repeat(1500)}`));
        controller.close();
      },
    });
    const streamed = await fetch(`${plugin.url}/twilio/status`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: chunks, duplex: "half" } as RequestInit);
    expect(streamed.status).toBe(413);
    // Signed and well formed, but without a MessageSid: 400, nothing emitted.
    const { MessageSid: _sid, SmsSid: _smsSid, ...noSid } = callbackParams("SM0006", "sent");
    const invalid = await postTwilio(`${plugin.url}/twilio/status`, noSid, { signedUrl: "https://hooks.example.com/twilio/status" });
    expect(invalid.status).toBe(400);
    expect(invalid.json.error.message).toBe("the message id is missing");
    expect(plugin.events).toEqual([]);
    expect(plugin.counters.get('vigil_sms_webhook_receipts_total{provider="twilio",outcome="invalid"}')).toBe(5);
  });
});

describe("Vonage delivery receipts", () => {
  it("accepts unsigned receipts as JSON, form and query string when no secret is set", async () => {
    const plugin = await startPlugin({ vonage: {} });
    // Vonage's message-timestamp: UTC, "YYYY-MM-DD HH:MM:SS".
    const minuteAgo = Math.floor((Date.now() - 60_000) / 1000) * 1000;
    const vonageTime = new Date(minuteAgo).toISOString().replace("T", " ").slice(0, 19);
    const json = await fetch(`${plugin.url}/vonage/receipt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(vonageReceipt("V-1", "delivered", { "client-ref": "spring-sale", "message-timestamp": vonageTime })),
    });
    const before = Date.now();
    const form = await fetch(`${plugin.url}/vonage/receipt?attempt=3`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(vonageReceipt("V-2", "expired", { "err-code": "2", "message-timestamp": "2020-01-01 00:00:00" })).toString() });
    const query = await fetch(`${plugin.url}/vonage/receipt?${new URLSearchParams(vonageReceipt("V-3", "buffered"))}`);
    expect([json.status, form.status, query.status]).toEqual([200, 200, 200]);
    const byId = Object.fromEntries(plugin.events.map((e) => [e.attrs.message_id, e]));
    expect(byId["V-1"]!.attrs).toMatchObject({ reporter: "vonage", status: "delivered", campaign_id: "spring-sale", error_code: "", error_category: "", network_code: "23410", carrier: "", to_hash: hashPhoneNumber("+447700900123") });
    expect(byId["V-2"]!.attrs).toMatchObject({ status: "undelivered", error_code: "2", error_text: "Absent subscriber (temporary)", error_category: "network", attempt: 3, provider_status: "expired" });
    expect(byId["V-3"]!.attrs).toMatchObject({ status: "sent", provider_status: "buffered" });
    // The status's time is Vonage's when it is plausible; a stale one gives way to the arrival time.
    expect(byId["V-1"]!.ts).toBe(minuteAgo);
    expect(byId["V-2"]!.ts).toBeGreaterThanOrEqual(before);
  });

  it("maps Vonage statuses; unknown is answered 200 and stored nowhere", async () => {
    const plugin = await startPlugin({ vonage: {} });
    const expected: Record<string, string | undefined> = { delivered: "delivered", accepted: "sent", buffered: "sent", expired: "undelivered", failed: "failed", rejected: "failed", unknown: undefined };
    for (const [vonageStatus, status] of Object.entries(expected)) {
      const response = await fetch(`${plugin.url}/vonage/receipt?${new URLSearchParams(vonageReceipt(`V-${vonageStatus}`, vonageStatus))}`);
      expect(response.status, vonageStatus).toBe(200);
      expect(plugin.events.find((e) => e.attrs.message_id === `V-${vonageStatus}`)?.attrs.status, vonageStatus).toBe(status);
    }
    expect(plugin.counters.get('vigil_sms_webhook_receipts_total{provider="vonage",outcome="ignored"}')).toBe(1);
  });

  it("with a signature secret, requires a valid sig for every method and refuses others with 403", async () => {
    for (const method of ["md5hash", "sha256", "sha512", "md5", "sha1"]) {
      const plugin = await startPlugin({ vonage: { signature_secret: VONAGE_SECRET, signature_method: method } });
      const params = vonageReceipt(`V-${method}`, "delivered", { "client-ref": "a=b&c", timestamp: String(Math.floor(Date.now() / 1000)), nonce: "6f2c" });
      const sig = vonageSign(params, VONAGE_SECRET, method);
      const good = await fetch(`${plugin.url}/vonage/receipt`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...params, sig }) });
      expect(good.status, method).toBe(200);
      // Upper-case hex is the same signature.
      const upper = await fetch(`${plugin.url}/vonage/receipt?${new URLSearchParams({ ...params, messageId: `V-${method}-2`, sig: vonageSign({ ...params, messageId: `V-${method}-2` }, VONAGE_SECRET, method).toUpperCase() })}`);
      expect(upper.status, method).toBe(200);
      const tampered = await fetch(`${plugin.url}/vonage/receipt?${new URLSearchParams({ ...params, status: "failed", sig })}`);
      const missing = await fetch(`${plugin.url}/vonage/receipt?${new URLSearchParams(params)}`);
      const wrongSecret = await fetch(`${plugin.url}/vonage/receipt?${new URLSearchParams({ ...params, sig: vonageSign(params, "other-secret", method) })}`);
      expect([tampered.status, missing.status, wrongSecret.status], method).toEqual([403, 403, 403]);
      expect(((await missing.json()) as any).error.message).toBe("the sig parameter is missing");
      expect(plugin.events.map((e) => e.attrs.message_id)).toEqual([`V-${method}`, `V-${method}-2`]);
      await running.pop()!.stop();
    }
  });

  it("refuses receipts that are not a flat object, or lack the message id", async () => {
    const plugin = await startPlugin({ vonage: {} });
    const nested = await fetch(`${plugin.url}/vonage/receipt`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...vonageReceipt("V-9", "delivered"), extra: { a: 1 } }) });
    const noId = await fetch(`${plugin.url}/vonage/receipt?status=delivered&msisdn=447700900123`);
    const xml = await fetch(`${plugin.url}/vonage/receipt`, { method: "POST", headers: { "content-type": "text/xml" }, body: "<receipt/>" });
    expect([nested.status, noId.status, xml.status]).toEqual([400, 400, 415]);
    expect((await fetch(`${plugin.url}/vonage/receipt`, { method: "DELETE" })).status).toBe(405);
    expect(plugin.events).toEqual([]);
  });
});

describe("delivery guarantee", () => {
  it("answers only once the event is queued, and 503 with Retry-After when it cannot be", async () => {
    let release!: () => void;
    let failNext = false;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const plugin = await startPlugin({ vonage: {} }, async () => {
      if (failNext) throw new Error("queue is closed");
      await gate;
    });
    let answered = false;
    const pending = fetch(`${plugin.url}/vonage/receipt?${new URLSearchParams(vonageReceipt("V-slow", "delivered"))}`).then((response) => {
      answered = true;
      return response;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(answered).toBe(false);
    release();
    expect((await pending).status).toBe(200);
    expect(plugin.events.map((e) => e.attrs.message_id)).toEqual(["V-slow"]);

    failNext = true;
    const refused = await fetch(`${plugin.url}/vonage/receipt?${new URLSearchParams(vonageReceipt("V-lost", "delivered"))}`);
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("5");
    expect(plugin.counters.get('vigil_sms_webhook_receipts_total{provider="vonage",outcome="queue_error"}')).toBe(1);
  });

  it("stop() waits for a receipt in flight, which still gets its 200", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const plugin = await startPlugin({ vonage: {} }, () => gate);
    const pending = fetch(`${plugin.url}/vonage/receipt?${new URLSearchParams(vonageReceipt("V-inflight", "delivered"))}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    let stopped = false;
    const stopping = plugin.instance.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    release();
    expect((await pending).status).toBe(200);
    await stopping;
    // Stopped: the port is closed, and a second stop() is harmless.
    await expect(fetch(`${plugin.url}/vonage/receipt`)).rejects.toThrow();
    await plugin.instance.stop();
  });
});

describe("status and configuration changes", () => {
  it("shows its address and counts, and moves to a new listen address on a config change", async () => {
    const plugin = await startPlugin({ vonage: {} });
    await fetch(`${plugin.url}/vonage/receipt?${new URLSearchParams(vonageReceipt("V-s1", "delivered"))}`);
    const status = plugin.instance.status();
    expect(status.state).toBe("ok");
    expect(status.details).toMatchObject({ listen: plugin.url.replace("http://", ""), providers: "vonage", vonage_accepted: 1, vonage_rejected_signature: 0 });
    expect(status.message).toBe(`listening on ${plugin.url.replace("http://", "")} (vonage): 1 receipts queued`);

    const port = await freePort();
    await plugin.changeConfig({ listen: `127.0.0.1:${port}`, vonage: { signature_secret: VONAGE_SECRET } });
    expect(plugin.instance.status().details!.listen).toBe(`127.0.0.1:${port}`);
    await expect(fetch(`${plugin.url}/vonage/receipt`)).rejects.toThrow();
    // The new secret applies too.
    expect((await fetch(`http://127.0.0.1:${port}/vonage/receipt?${new URLSearchParams(vonageReceipt("V-s2", "delivered"))}`)).status).toBe(403);
  });

  it("fails to start, with the address in the message, when the port is taken", async () => {
    const first = await startPlugin({ vonage: {} });
    const listen = first.url.replace("http://", "");
    await expect(startPlugin({ listen, vonage: {} })).rejects.toThrow(`the webhook server cannot listen on ${listen}: EADDRINUSE`);
  });
});

describe("config", () => {
  const fixtures = new URL("./fixtures/", import.meta.url);

  function problemsOf(input: unknown): string[] {
    const result = plugin.configSchema.safeParse(input);
    return result.success ? [] : formatProblems(problemsFromIssues(result.error.issues)).split("\n");
  }

  it("fills every default", () => {
    expect(plugin.configSchema.parse({ public_url: "https://hooks.example.com/sms/", twilio: { auth_token: " token " }, vonage: {} })).toEqual({
      listen: "0.0.0.0:4610",
      public_url: "https://hooks.example.com/sms",
      twilio: { auth_token: "token" },
      vonage: { signature_method: "md5hash" },
      max_body_bytes: 65_536,
    });
  });

  it("refuses each bad config in test/fixtures/webhooks-bad-*.yaml with the message it names", () => {
    const files = readdirSync(fixtures).filter((name) => name.startsWith("webhooks-bad-"));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const file of files) {
      const text = readFileSync(new URL(file, fixtures), "utf8");
      const expected = [...text.matchAll(/^# expect: (.+)$/gm)].map((match) => match[1]);
      expect(problemsOf(parseYaml(text)), file).toEqual(expected);
    }
  });

  it("accepts the README's example.yaml", () => {
    const example = readFileSync(new URL("../example.yaml", import.meta.url), "utf8");
    expect(problemsOf(parseYaml(example))).toEqual([]);
  });
});

/** The plugin on a port chosen by the test (for public_urls that name it). */
async function startPluginAt(port: number, config: Record<string, unknown>): Promise<Running> {
  return startPlugin({ ...config, listen: `127.0.0.1:${port}` });
}

// STATUS_RANK is the collector's rule; receipts only need to carry statuses it ranks.
it("emits only statuses the collector ranks", () => {
  expect(Object.keys(STATUS_RANK).sort()).toEqual(["delivered", "failed", "queued", "sent", "undelivered"]);
});
