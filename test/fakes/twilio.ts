// A fake Twilio: a real HTTP server speaking the Programmable Messaging API as far as a
// sending app needs it — `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP
// basic auth, Twilio's message resource and its error bodies (20003, 20404, 20429, 21211,
// 21602–21604) — and, after accepting a message, posting signed status callbacks to its
// StatusCallback URL the way Twilio does: form-encoded, `X-Twilio-Signature` over the exact
// URL plus the sorted parameters. Outcomes come from a configurable mix of error codes;
// callbacks can arrive out of order and duplicated, as they do in production.
import { createHmac, randomBytes } from "node:crypto";
import { seededRandom } from "../support/random.js";
import { startFakeServer, json, type Answer, type FakeRequest, type FakeServer } from "./social/server.js";

export const API_VERSION = "2010-04-01";

/** An account the fake accepts by default. */
export const DEFAULT_ACCOUNT = { sid: `AC${"0123456789abcdef".repeat(2)}`, authToken: "fake-twilio-auth-token-0123456789" } as const;

/** What becomes of a message: delivered, or a failure with Twilio's error code. */
export type PlannedOutcome = { status: "delivered" } | { status: "undelivered" | "failed"; errorCode: number };

/** One entry of the outcome mix: how often (relative weight) a message ends this way. */
export type OutcomeShare = PlannedOutcome & { weight: number };

/**
 * A realistic mix for a campaign: most delivered, the rest spread over the codes a
 * campaign meets (unreachable and unknown handsets, landlines, carrier filtering, opt-outs).
 */
export const DEFAULT_OUTCOME_MIX: readonly OutcomeShare[] = [
  { status: "delivered", weight: 80 },
  { status: "undelivered", errorCode: 30003, weight: 5 },
  { status: "undelivered", errorCode: 30005, weight: 4 },
  { status: "undelivered", errorCode: 30006, weight: 3 },
  { status: "undelivered", errorCode: 30007, weight: 4 },
  { status: "failed", errorCode: 21610, weight: 4 },
];

export type CallbackOrder = "in_order" | "reversed" | "shuffled";
export type CallbackSignatures = "valid" | "invalid" | "missing";

export interface FakeTwilioOptions {
  /** Account SID → auth token. */
  accounts?: Record<string, string>;
  /** Messages accepted per second per account (sliding one-second window); more get 429 with error 20429. */
  ratePerSecond?: number;
  /** How outcomes are drawn, by weight; ignored when `decide` is given. */
  outcomeMix?: readonly OutcomeShare[];
  /** Decides each message's outcome instead of the mix (by its To, Body, or order of arrival). */
  decide?: (message: { to: string; body: string; index: number }) => PlannedOutcome;
  /** Seed of the draws from the mix and of shuffled callback orders, so a run can be repeated. */
  seed?: number;
  /** The order a message's status callbacks are posted in. */
  callbackOrder?: CallbackOrder;
  /** Posts every status callback of a message twice (the whole sequence, then again). */
  duplicateCallbacks?: boolean;
  /** Wait before each status callback, ms. */
  callbackDelayMs?: number;
  now?: () => number;
  port?: number;
}

/** A message as the fake holds it. */
export interface FakeMessage {
  sid: string;
  accountSid: string;
  to: string;
  from: string;
  body: string;
  statusCallback: string | undefined;
  outcome: PlannedOutcome;
  /** The status the API shows now (moves as callbacks are posted, in the real order). */
  status: string;
  createdAt: number;
}

/** A status callback the fake posted, and how the receiver answered. */
export interface PostedCallback {
  messageSid: string;
  url: string;
  status: string;
  params: Record<string, string>;
  /** HTTP status of the answer; 0 when the request failed (connection refused, reset). */
  answer: number;
  error?: string;
}

export interface FakeTwilio extends FakeServer {
  /** Stands for https://api.twilio.com. */
  apiUrl: string;
  /** Every message accepted, oldest first. */
  readonly messages: readonly FakeMessage[];
  /** Every status callback posted, in the order posted. */
  readonly callbacks: readonly PostedCallback[];
  /** Resolves once every callback planned so far was posted and answered. */
  settled(): Promise<void>;
  /** How callbacks are signed from now on: validly, with a wrong token, or not at all. */
  signCallbacks(mode: CallbackSignatures): void;
  /** The signature Twilio puts in X-Twilio-Signature, for tests that post callbacks themselves. */
  sign(authToken: string, url: string, params: Record<string, string>): string;
}

/** The statuses Twilio reports, in the order it reports them, for each outcome. */
function statusSequence(outcome: PlannedOutcome): string[] {
  if (outcome.status === "delivered") return ["queued", "sent", "delivered"];
  if (outcome.status === "undelivered") return ["queued", "sent", "undelivered"];
  return ["queued", "failed"];
}

/** Twilio's error body: `{code, message, more_info, status}`. */
function twilioError(status: number, code: number, message: string, headers: Record<string, string> = {}): Answer {
  return json(status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }, headers);
}

/** Dates in Twilio's resources are RFC 2822: "Thu, 27 Nov 2026 10:00:00 +0000". */
function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace("GMT", "+0000");
}


/** Twilio's signature, as Twilio computes it: HMAC-SHA1(auth token, URL + each name+value sorted by name), base64. */
function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const names = Object.keys(params).sort();
  return createHmac("sha1", authToken)
    .update(url + names.map((name) => name + params[name]).join(""))
    .digest("base64");
}

const E164 = /^\+[1-9]\d{6,14}$/;
const MESSAGES_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Messages\.json$/;
const MESSAGE_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-f]{32})\/Messages\/(SM[0-9a-f]{32})\.json$/;

export async function startFakeTwilio(options: FakeTwilioOptions = {}): Promise<FakeTwilio> {
  const {
    accounts = { [DEFAULT_ACCOUNT.sid]: DEFAULT_ACCOUNT.authToken },
    ratePerSecond = Infinity,
    outcomeMix = DEFAULT_OUTCOME_MIX,
    callbackOrder = "in_order",
    duplicateCallbacks = false,
    callbackDelayMs = 0,
    now = Date.now,
  } = options;
  const random = seededRandom(options.seed ?? 1);
  const messages: FakeMessage[] = [];
  const callbacks: PostedCallback[] = [];
  const recentCreations = new Map<string, number[]>();
  const pending = new Set<Promise<void>>();
  let signatures: CallbackSignatures = "valid";
  let closed = false;

  function draw(): PlannedOutcome {
    const total = outcomeMix.reduce((sum, share) => sum + share.weight, 0);
    let pick = random() * total;
    for (const { weight, ...outcome } of outcomeMix) {
      pick -= weight;
      if (pick < 0) return outcome as PlannedOutcome;
    }
    const { weight: _weight, ...last } = outcomeMix[outcomeMix.length - 1]!;
    return last as PlannedOutcome;
  }

  function ordered(statuses: string[]): string[] {
    if (callbackOrder === "reversed") return [...statuses].reverse();
    if (callbackOrder === "shuffled") {
      const shuffled = [...statuses];
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
      }
      return shuffled;
    }
    return statuses;
  }

  /** HTTP basic auth: account SID as user, auth token as password. */
  function authenticated(request: FakeRequest): string | undefined {
    const match = /^Basic\s+(\S+)$/i.exec(String(request.headers.authorization ?? ""));
    if (!match) return undefined;
    const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    const sid = decoded.slice(0, colon);
    return colon > 0 && accounts[sid] !== undefined && accounts[sid] === decoded.slice(colon + 1) ? sid : undefined;
  }

  /** Counts a creation in the account's one-second window; false when the window is full. */
  function withinRate(accountSid: string): boolean {
    const since = now() - 1000;
    const recent = (recentCreations.get(accountSid) ?? []).filter((at) => at > since);
    recentCreations.set(accountSid, recent);
    if (recent.length >= ratePerSecond) return false;
    recent.push(now());
    return true;
  }

  function resource(message: FakeMessage): Record<string, unknown> {
    const failed = message.status === "failed" || message.status === "undelivered";
    const uri = `/${API_VERSION}/Accounts/${message.accountSid}/Messages/${message.sid}`;
    return {
      account_sid: message.accountSid,
      api_version: API_VERSION,
      body: message.body,
      date_created: rfc2822(message.createdAt),
      date_sent: message.status === "queued" ? null : rfc2822(message.createdAt),
      date_updated: rfc2822(now()),
      direction: "outbound-api",
      error_code: failed && message.outcome.status !== "delivered" ? message.outcome.errorCode : null,
      error_message: null,
      from: message.from,
      messaging_service_sid: null,
      num_media: "0",
      num_segments: String(Math.max(1, Math.ceil(message.body.length / 160))),
      price: null,
      price_unit: "USD",
      sid: message.sid,
      status: message.status,
      subresource_uris: { media: `${uri}/Media.json` },
      to: message.to,
      uri: `${uri}.json`,
    };
  }

  function createMessage(request: FakeRequest, accountSid: string): Answer {
    const form = new URLSearchParams(request.body);
    const to = form.get("To") ?? "";
    const from = form.get("From") ?? form.get("MessagingServiceSid") ?? "";
    const body = form.get("Body") ?? "";
    const statusCallback = form.get("StatusCallback") ?? undefined;
    if (to === "") return twilioError(400, 21604, "A 'To' phone number is required.");
    if (from === "") return twilioError(400, 21603, "A 'From' phone number is required.");
    if (body === "" && !form.has("MediaUrl")) return twilioError(400, 21602, "Message body is required.");
    if (!E164.test(to)) return twilioError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (statusCallback !== undefined && !/^https?:\/\//.test(statusCallback)) return twilioError(400, 21609, "Invalid StatusCallback");
    if (!withinRate(accountSid)) return twilioError(429, 20429, "Too Many Requests");
    const message: FakeMessage = {
      sid: `SM${randomBytes(16).toString("hex")}`,
      accountSid,
      to,
      from,
      body,
      statusCallback,
      outcome: options.decide ? options.decide({ to, body, index: messages.length }) : draw(),
      status: "queued",
      createdAt: now(),
    };
    messages.push(message);
    if (statusCallback !== undefined) track(postCallbacks(message, statusCallback));
    return json(201, resource(message));
  }

  function track(work: Promise<void>): void {
    pending.add(work);
    void work.finally(() => pending.delete(work));
  }

  async function postCallbacks(message: FakeMessage, url: string): Promise<void> {
    const progress = statusSequence(message.outcome);
    const sequence = ordered(progress);
    const all = duplicateCallbacks ? [...sequence, ...sequence] : sequence;
    for (const [index, status] of all.entries()) {
      if (callbackDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, callbackDelayMs));
      if (closed) return;
      // The API shows the real progress, whatever order the callbacks travel in.
      message.status = progress[Math.min(index, progress.length - 1)]!;
      await postCallback(message, url, status);
    }
  }

  async function postCallback(message: FakeMessage, url: string, status: string): Promise<void> {
    const params: Record<string, string> = {
      AccountSid: message.accountSid,
      ApiVersion: API_VERSION,
      From: message.from,
      MessageSid: message.sid,
      MessageStatus: status,
      SmsSid: message.sid,
      SmsStatus: status,
      To: message.to,
    };
    if ((status === "failed" || status === "undelivered") && message.outcome.status !== "delivered") params.ErrorCode = String(message.outcome.errorCode);
    if (status === "delivered" || status === "undelivered") params.RawDlrDoneDate = new Date(now()).toISOString().replace(/\D/g, "").slice(2, 12);
    const headers: Record<string, string> = {
      "content-type": "application/x-www-form-urlencoded",
      "user-agent": "TwilioProxy/1.1",
      "i-twilio-idempotency-token": randomBytes(16).toString("hex"),
    };
    if (signatures !== "missing") {
      const token = signatures === "valid" ? accounts[message.accountSid]! : `not-${accounts[message.accountSid]!}`;
      headers["x-twilio-signature"] = twilioSignature(token, url, params);
    }
    const posted: PostedCallback = { messageSid: message.sid, url, status, params, answer: 0 };
    callbacks.push(posted);
    try {
      const response = await fetch(url, { method: "POST", headers, body: new URLSearchParams(params).toString() });
      await response.arrayBuffer();
      posted.answer = response.status;
    } catch (error) {
      posted.error = error instanceof Error ? error.message : String(error);
    }
  }

  function handle(request: FakeRequest): Answer {
    const path = request.url.pathname;
    const list = MESSAGES_PATH.exec(path);
    const one = MESSAGE_PATH.exec(path);
    if (!list && !one) return twilioError(404, 20404, `The requested resource ${path} was not found`);
    const accountSid = authenticated(request);
    if (accountSid === undefined || accountSid !== (list ?? one)![1]) {
      return twilioError(401, 20003, "Authenticate", { "www-authenticate": 'Basic realm="Twilio API"' });
    }
    if (list) {
      if (request.method !== "POST") return twilioError(405, 20004, "Method not allowed");
      return createMessage(request, accountSid);
    }
    const message = messages.find((m) => m.sid === one![2] && m.accountSid === accountSid);
    if (!message) return twilioError(404, 20404, `The requested resource ${path} was not found`);
    return json(200, resource(message));
  }

  const server = await startFakeServer({
    ...(options.port !== undefined ? { port: options.port } : {}),
    now,
    wire: {
      tooManyRequests: () => twilioError(429, 20429, "Too Many Requests"),
      error: (status) => twilioError(status, status === 503 ? 20503 : 20500, status === 503 ? "Service Unavailable" : "Internal Server Error"),
    },
    handle,
  });

  return {
    ...server,
    apiUrl: server.url,
    messages,
    callbacks,
    async settled() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    signCallbacks: (mode) => void (signatures = mode),
    sign: twilioSignature,
    async close() {
      closed = true;
      await Promise.allSettled([...pending]);
      await server.close();
    },
  };
}
