// The delivery-receipt webhooks end to end: a real collector (embedded ClickHouse), a real
// agent process running two instances of @vigil/plugin-sms (one reached directly under
// a public_url with a path, one "behind a proxy" under https://hooks.example.com/sms),
// and the fake Twilio in test/fakes/twilio.ts as the only stand-in. What the agent
// accepted is read back from the collector's events; what it refused must not be there.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_ACCOUNT, startFakeTwilio, type FakeTwilio, type PlannedOutcome } from "../../../test/fakes/twilio.js";
import { freePort, startAgentProcess, writeAgentConfig, type AgentProcess } from "../../../test/support/agent-process.js";
import { callApi, startCollectorProcess, tempDir, type CollectorProcess } from "../../../test/support/collector-process.js";
import { eventually } from "../../../test/support/eventually.js";
import { createHash, createHmac } from "node:crypto";
import { STATUS_RANK, type MessageStatus } from "../src/contract.js";
import { diagnose } from "../src/errors.js";
import { hashPhoneNumber } from "../src/phone.js";

const SALT = "campaign-app-salt";
const VONAGE_SECRET = "vonage-signature-secret-0123456789";
const PROXIED_PUBLIC_URL = "https://hooks.example.com/sms";

let twilio: FakeTwilio;
let collector: CollectorProcess;
let agent: AgentProcess;
let agentConfigFile: string;
/** The instance reached directly: public_url http://127.0.0.1:<port>/hooks. */
let direct: { port: number; publicUrl: string };
/** The instance behind a "proxy": public_url https://hooks.example.com/sms, reached at 127.0.0.1:<port>. */
let proxied: { port: number };
const dir = tempDir("vigil-sms-webhooks-");

beforeAll(async () => {
  twilio = await startFakeTwilio({ ratePerSecond: 10, callbackOrder: "shuffled", duplicateCallbacks: true, seed: 7 });
  collector = await startCollectorProcess({ dataDir: join(dir.path, "collector") });
  const ingestKey = (await callApi(collector, "POST", "/api/keys", { name: "sms-agents", scopes: ["ingest"] })).json.token;
  const [directPort, proxiedPort] = [await freePort(), await freePort()];
  direct = { port: directPort, publicUrl: `http://127.0.0.1:${directPort}/hooks` };
  proxied = { port: proxiedPort };
  const config = {
    collector: { url: collector.url, api_key: ingestKey, timeout: "5s" },
    agent: { name: "sms-webhooks-e2e", data_dir: join(dir.path, "agent-data") },
    intake: { address: "127.0.0.1:0" },
    shipper: { flush_interval: "100ms", max_backoff: "1s" },
    heartbeat_interval: "1s",
    log: { format: "json", level: "info" },
    plugins: [
      {
        id: "sms",
        use: "@vigil/plugin-sms",
        config: {
          listen: `127.0.0.1:${directPort}`,
          public_url: direct.publicUrl,
          // `${ENV}` in the file, as a user keeps the token out of it.
          twilio: { auth_token: "${TWILIO_AUTH_TOKEN}" },
          vonage: { signature_secret: VONAGE_SECRET, signature_method: "sha256" },
          hash_salt: SALT,
        },
      },
      {
        id: "sms-proxied",
        use: "@vigil/plugin-sms",
        config: { listen: `127.0.0.1:${proxiedPort}`, public_url: PROXIED_PUBLIC_URL, twilio: { auth_token: DEFAULT_ACCOUNT.authToken }, vonage: {} },
      },
    ],
  };
  agentConfigFile = writeAgentConfig(dir.path, config);
  await startAgent();
});

async function startAgent(): Promise<void> {
  agent = await startAgentProcess(agentConfigFile, { env: { TWILIO_AUTH_TOKEN: DEFAULT_ACCOUNT.authToken } });
  await eventually(() => agent.status(), (s: any) => s.plugins.length === 2 && s.plugins.every((p: any) => p.state === "ok"), 20_000, "both sms instances listening");
}

afterAll(async () => {
  await agent?.stop();
  await collector?.kill();
  await twilio?.close();
  dir.remove();
});

async function storedEvents(campaignId: string): Promise<any[]> {
  const response = await callApi(collector, "GET", `/v1/events?type=sms.message&attr.campaign_id=${encodeURIComponent(campaignId)}&limit=1000`);
  expect(response.status).toBe(200);
  return response.json.events;
}

/** Waits until the campaign has `count` events, then gives them oldest first. */
async function awaitEvents(campaignId: string, count: number): Promise<any[]> {
  const events = await eventually(() => storedEvents(campaignId), (list) => list.length >= count, 30_000, `${count} events of campaign ${campaignId}`);
  return [...events].sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts) || (a.id < b.id ? -1 : 1));
}

function callbackParams(sid: string, status: string, extra: Record<string, string> = {}): Record<string, string> {
  return { AccountSid: DEFAULT_ACCOUNT.sid, ApiVersion: "2010-04-01", From: "+15005550006", MessageSid: sid, MessageStatus: status, SmsSid: sid, SmsStatus: status, To: "+14155550100", ...extra };
}

/** Posts a status callback as Twilio does: to `postUrl`, signed (with the fake's Twilio-side signer) for `signedUrl`. */
async function postCallback(postUrl: string, params: Record<string, string>, options: { signedUrl?: string; token?: string; signature?: null } = {}) {
  const headers: Record<string, string> = { "content-type": "application/x-www-form-urlencoded" };
  if (options.signature !== null) headers["x-twilio-signature"] = twilio.sign(options.token ?? DEFAULT_ACCOUNT.authToken, options.signedUrl ?? postUrl, params);
  const response = await fetch(postUrl, { method: "POST", headers, body: new URLSearchParams(params).toString() });
  return { status: response.status, json: (await response.json()) as any };
}

/** The status a message ends in by the collector's rule: highest rank wins; between finals, the later report. */
function resolvedStatus(events: any[]): MessageStatus {
  let best: any;
  for (const event of events) {
    const rank = STATUS_RANK[event.attrs.status as MessageStatus];
    if (!best || rank > STATUS_RANK[best.attrs.status as MessageStatus] || (rank === 3 && rank === STATUS_RANK[best.attrs.status as MessageStatus])) best = event;
  }
  return best.attrs.status;
}

async function agentMetric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${agent.intakeUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && labels.split(",").every((label) => l.includes(label)));
  return line ? Number(line.split(" ").pop()) : 0;
}

describe("Twilio status callbacks through the agent", () => {
  it("stores callbacks with good signatures; bad and missing ones get 403 and nothing is stored", async () => {
    const url = `${direct.publicUrl}/twilio/status?campaign_id=signatures&attempt=1`;
    const good = await postCallback(url, callbackParams("SMgood0001", "delivered"));
    expect(good).toEqual({ status: 200, json: { status: "accepted", message_id: "SMgood0001", message_status: "delivered" } });

    const wrongToken = await postCallback(url, callbackParams("SMbad0001", "delivered"), { token: "some-other-accounts-token" });
    const missing = await postCallback(url, callbackParams("SMbad0002", "delivered"), { signature: null });
    const tampered = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": twilio.sign(DEFAULT_ACCOUNT.authToken, url, callbackParams("SMbad0003", "failed")) },
      body: new URLSearchParams(callbackParams("SMbad0003", "delivered")).toString(),
    });
    expect([wrongToken.status, missing.status, tampered.status]).toEqual([403, 403, 403]);
    expect(wrongToken.json).toEqual({ error: { code: "forbidden", message: "the X-Twilio-Signature does not match" } });
    expect(missing.json).toEqual({ error: { code: "forbidden", message: "the X-Twilio-Signature header is missing" } });

    // A good callback sent after the refused ones: once it is stored, anything queued before it would be too.
    expect((await postCallback(url, callbackParams("SMgood0002", "sent"))).status).toBe(200);
    const stored = await awaitEvents("signatures", 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await storedEvents("signatures")).map((e) => e.attrs.message_id).sort()).toEqual(["SMgood0001", "SMgood0002"]);
    expect(stored[0]).toMatchObject({ source: "sms", type: "sms.message", severity: "info" });
    expect(stored.find((e) => e.attrs.message_id === "SMgood0001").attrs).toMatchObject({
      campaign_id: "signatures",
      status: "delivered",
      reporter: "twilio",
      attempt: "1",
      to_hash: hashPhoneNumber("+14155550100", SALT),
      error_code: "",
      error_category: "",
    });

    expect(await agentMetric("vigil_sms_webhook_receipts_total", 'provider="twilio",outcome="rejected_signature"')).toBeGreaterThanOrEqual(3);
    const status = await agent.status();
    const sms = status.plugins.find((p: any) => p.id === "sms");
    expect(sms.details).toMatchObject({ listen: `127.0.0.1:${direct.port}`, public_url: direct.publicUrl, providers: "twilio,vonage" });
    expect(sms.details.twilio_rejected_signature).toBeGreaterThanOrEqual(3);
    expect(sms.details.twilio_accepted).toBeGreaterThanOrEqual(2);
  });

  it("verifies against public_url behind a proxy, with the prefix kept or stripped and the query as received", async () => {
    const search = "?campaign_id=proxy%20test&attempt=2";
    const publicUrl = `${PROXIED_PUBLIC_URL}/twilio/status${search}`;
    const local = `http://127.0.0.1:${proxied.port}`;
    const stripped = await postCallback(`${local}/twilio/status${search}`, callbackParams("SMproxy0001", "sent"), { signedUrl: publicUrl });
    const kept = await postCallback(`${local}/sms/twilio/status${search}`, callbackParams("SMproxy0002", "undelivered", { ErrorCode: "30003" }), { signedUrl: publicUrl });
    expect([stripped.status, kept.status]).toEqual([200, 200]);
    // Signed for the address the agent listens on, not the one Twilio called: refused.
    const signedLocally = await postCallback(`${local}/twilio/status${search}`, callbackParams("SMproxy0003", "sent"));
    expect(signedLocally.status).toBe(403);

    const stored = await awaitEvents("proxy test", 2);
    expect(stored.map((e) => e.attrs.message_id).sort()).toEqual(["SMproxy0001", "SMproxy0002"]);
    expect(stored.find((e) => e.attrs.message_id === "SMproxy0002")).toMatchObject({
      severity: "warning",
      attrs: { status: "undelivered", attempt: "2", error_code: "30003", error_text: "Unreachable destination handset", error_category: "network", to_hash: hashPhoneNumber("+14155550100") },
    });
  });

  it("stores out-of-order and duplicate callbacks as they come; by the collector's rank the message stays delivered", async () => {
    const url = `${direct.publicUrl}/twilio/status?campaign_id=out-of-order`;
    const arrivals = ["delivered", "sent", "queued", "delivered", "sent"];
    for (const status of arrivals) {
      expect((await postCallback(url, callbackParams("SMorder0001", status))).status).toBe(200);
      // Arrival times a millisecond or more apart, so the stored order is the arrival order.
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const stored = await awaitEvents("out-of-order", arrivals.length);
    expect(stored.map((e) => e.attrs.status)).toEqual(arrivals);
    expect(new Set(stored.map((e) => e.id)).size).toBe(arrivals.length);
    expect(resolvedStatus(stored)).toBe("delivered");
  });
});

describe("Vonage delivery receipts through the agent", () => {
  function receipt(messageId: string, status: string, clientRef: string, extra: Record<string, string> = {}): Record<string, string> {
    return {
      msisdn: "14155550100",
      to: "AcmeInc",
      "network-code": "310260",
      messageId,
      price: "0.00750000",
      status,
      scts: "2611271000",
      "err-code": status === "failed" ? "6" : "0",
      "api-key": "abcd1234",
      "message-timestamp": new Date().toISOString().replace("T", " ").slice(0, 19),
      "client-ref": clientRef,
      timestamp: String(Math.floor(Date.now() / 1000)),
      nonce: "0b9c7e",
      ...extra,
    };
  }

  /** Vonage's sig (developer.vonage.com, "Signing messages"), written here as the Vonage side. */
  function sign(params: Record<string, string>, method: "sha256" | "md5hash"): string {
    const signed = Object.keys(params)
      .sort()
      .map((name) => `&${name}=${params[name]!.replace(/[&=]/g, "_")}`)
      .join("");
    return method === "md5hash" ? createHash("md5").update(signed + VONAGE_SECRET).digest("hex") : createHmac("sha256", VONAGE_SECRET).update(signed).digest("hex");
  }

  it("stores signed receipts when a secret is set and refuses unsigned ones; accepts unsigned ones where none is", async () => {
    const signedParams = receipt("VN-0001", "failed", "vonage-campaign");
    const signed = await fetch(`http://127.0.0.1:${direct.port}/hooks/vonage/receipt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...signedParams, sig: sign(signedParams, "sha256") }),
    });
    expect(signed.status).toBe(200);
    const unsigned = await fetch(`http://127.0.0.1:${direct.port}/vonage/receipt?${new URLSearchParams(receipt("VN-0002", "delivered", "vonage-campaign"))}`);
    expect(unsigned.status).toBe(403);
    const wrongMethod = await fetch(`http://127.0.0.1:${direct.port}/vonage/receipt?${new URLSearchParams({ ...receipt("VN-0003", "delivered", "vonage-campaign"), sig: sign(receipt("VN-0003", "delivered", "vonage-campaign"), "md5hash") })}`);
    expect(wrongMethod.status).toBe(403);
    // The proxied instance has no secret: unsigned receipts are taken.
    const open = await fetch(`http://127.0.0.1:${proxied.port}/sms/vonage/receipt?${new URLSearchParams(receipt("VN-0004", "delivered", "vonage-campaign"))}`);
    expect(open.status).toBe(200);

    const stored = await awaitEvents("vonage-campaign", 2);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await storedEvents("vonage-campaign")).map((e) => e.attrs.message_id).sort()).toEqual(["VN-0001", "VN-0004"]);
    expect(stored.find((e) => e.attrs.message_id === "VN-0001")).toMatchObject({
      severity: "warning",
      attrs: { reporter: "vonage", status: "failed", error_code: "6", error_text: "Anti-spam rejection", error_category: "carrier_filtering", network_code: "310260", to_hash: hashPhoneNumber("+14155550100", SALT) },
    });
    // Same number, no salt on that instance: the app's unsalted hash.
    expect(stored.find((e) => e.attrs.message_id === "VN-0004").attrs.to_hash).toBe(hashPhoneNumber("+1 (415) 555-0100"));
  });
});

describe("a campaign through the fake Twilio", () => {
  it("app → Twilio → signed, shuffled, duplicated callbacks → agent → collector: every callback stored, every message resolves to its outcome", async () => {
    const campaignId = "spring-sale-e2e";
    const statusCallback = `${direct.publicUrl}/twilio/status?campaign_id=${campaignId}&attempt=1`;
    const auth = `Basic ${Buffer.from(`${DEFAULT_ACCOUNT.sid}:${DEFAULT_ACCOUNT.authToken}`).toString("base64")}`;
    const messagesUrl = `${twilio.apiUrl}/2010-04-01/Accounts/${DEFAULT_ACCOUNT.sid}/Messages.json`;

    const refused = await fetch(messagesUrl, { method: "POST", headers: { authorization: `Basic ${Buffer.from(`${DEFAULT_ACCOUNT.sid}:wrong`).toString("base64")}` }, body: "To=%2B14155550100" });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: 20003, status: 401 });

    // The sending app: 40 messages as fast as Twilio lets it, backing off on 20429.
    const recipients = Array.from({ length: 40 }, (_, i) => `+1415555${String(1000 + i).padStart(4, "0")}`);
    const sids = new Map<string, string>();
    let throttled = 0;
    for (const to of recipients) {
      for (;;) {
        const response = await fetch(messagesUrl, {
          method: "POST",
          headers: { authorization: auth, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ To: to, From: "+15005550006", Body: "Spring sale: 20% off today. Reply STOP to opt out.", StatusCallback: statusCallback }).toString(),
        });
        const body = (await response.json()) as any;
        if (response.status === 429) {
          expect(body.code).toBe(20429);
          throttled++;
          await new Promise((resolve) => setTimeout(resolve, 150));
          continue;
        }
        expect(response.status, JSON.stringify(body)).toBe(201);
        expect(body).toMatchObject({ status: "queued", to, account_sid: DEFAULT_ACCOUNT.sid, direction: "outbound-api" });
        expect(body.sid).toMatch(/^SM[0-9a-f]{32}$/);
        sids.set(body.sid, to);
        break;
      }
    }
    expect(throttled).toBeGreaterThan(0);

    await twilio.settled();
    const posted = twilio.callbacks.filter((c) => sids.has(c.messageSid));
    expect(posted.filter((c) => c.answer !== 200)).toEqual([]);
    const stored = await awaitEvents(campaignId, posted.length);
    expect(stored).toHaveLength(posted.length);

    const outcomes = new Map(twilio.messages.map((m) => [m.sid, m.outcome] as [string, PlannedOutcome]));
    // The mix gave some of each kind.
    expect(new Set([...outcomes.values()].map((o) => o.status))).toEqual(new Set(["delivered", "undelivered", "failed"]));
    const bySid = new Map<string, any[]>();
    for (const event of stored) bySid.set(event.attrs.message_id, [...(bySid.get(event.attrs.message_id) ?? []), event]);
    expect([...bySid.keys()].sort()).toEqual([...sids.keys()].sort());
    for (const [sid, events] of bySid) {
      const outcome = outcomes.get(sid)!;
      expect(resolvedStatus(events), sid).toBe(outcome.status);
      const final = events.find((e: any) => e.attrs.status === outcome.status);
      expect(final.attrs.to_hash).toBe(hashPhoneNumber(sids.get(sid)!, SALT));
      if (outcome.status === "delivered") {
        expect(final.attrs).toMatchObject({ error_code: "", error_category: "" });
      } else {
        const code = String(outcome.errorCode);
        expect(final.attrs).toMatchObject({ error_code: code, error_category: diagnose({ reporter: "twilio", serverKind: "api", code, text: "" }).category });
      }
    }
  });
});

describe("delivery guarantee", () => {
  it("loses no receipt answered 200 when the agent is killed right after (kill -9, restart on the same data dir)", async () => {
    const campaignId = "crash-test";
    const url = `${direct.publicUrl}/twilio/status?campaign_id=${campaignId}`;
    const sids = Array.from({ length: 30 }, (_, i) => `SMcrash${String(i).padStart(4, "0")}`);
    const answers = await Promise.all(sids.map((sid) => postCallback(url, callbackParams(sid, "delivered"))));
    expect(answers.map((a) => a.status)).toEqual(sids.map(() => 200));
    await agent.kill();
    // While the agent is down the provider gets no answer at all: its retry would bring the receipt again.
    await expect(postCallback(url, callbackParams("SMcrash-down", "delivered"))).rejects.toThrow();
    await startAgent();
    const stored = await awaitEvents(campaignId, sids.length);
    expect(stored.map((e) => e.attrs.message_id).sort()).toEqual(sids);
  });
});
