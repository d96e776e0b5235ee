import { randomBytes } from "node:crypto";
import { APP_MAX_EVENTS_PER_POST, agentUrlFrom, createAppShipper, type AppEvent } from "@vigil/plugin-sdk";
import { campaignEvent, messageEvent, serverEvent, serverStatusEvent } from "./events.js";
import { campaignProblem, messageProblem, serverProblem } from "./inputs.js";
import { createPhoneHasher } from "./hash-cache.js";
import { createInvalidInputReporter } from "./invalid-input.js";
import { createServerStates } from "./server-states.js";
import type { CampaignReport, MessageReport, ServerReport, SmsTracker, SmsTrackerOptions } from "./types.js";

const DEFAULTS = { flushIntervalMs: 1000, maxBacklog: 100_000, app: "app" };
const APP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Options are checked once, at start, and fail loudly: a wrong one would silently lose every event. */
function checkedOptions(options: SmsTrackerOptions) {
  const fail = (message: string): never => {
    throw new Error(`createSmsTracker: ${message}`);
  };
  const { flushIntervalMs = DEFAULTS.flushIntervalMs, maxBacklog = DEFAULTS.maxBacklog, app = DEFAULTS.app, hashSalt } = options;
  if (!(flushIntervalMs > 0) || !Number.isFinite(flushIntervalMs)) fail(`flushIntervalMs must be a positive number of milliseconds, got ${flushIntervalMs}`);
  if (!Number.isSafeInteger(maxBacklog) || maxBacklog < 1) fail(`maxBacklog must be a whole number of events, 1 or more, got ${maxBacklog}`);
  if (typeof app !== "string" || !APP_NAME.test(app)) fail(`app must be 1–64 letters, digits, '.', '_' or '-', starting with a letter or digit (got ${JSON.stringify(app)})`);
  if (hashSalt !== undefined && typeof hashSalt !== "string") fail(`hashSalt must be a string (got ${typeof hashSalt})`);
  const agentUrl = agentUrlFrom(options.agentUrl);
  if (!URL.canParse(agentUrl) || !/^https?:$/.test(new URL(agentUrl).protocol)) fail(`agentUrl must be an http(s) URL like "http://127.0.0.1:4601" (got ${JSON.stringify(agentUrl)})`);
  return { flushIntervalMs, maxBacklog, app, hashSalt: hashSalt || undefined, agentUrl };
}

/**
 * The tracker. Each call checks its input, builds its event and queues it, and returns:
 * no I/O, no serialisation. Posting happens off the app's calls: every
 * `flushIntervalMs`, and as soon as a full POST's worth (1000 events) is waiting, unless
 * the agent just failed, in which case the timer paces the retries.
 */
export function createSmsTracker(options: SmsTrackerOptions = {}): SmsTracker {
  const { flushIntervalMs, maxBacklog, app, hashSalt, agentUrl } = checkedOptions(options);
  const shipper = createAppShipper({
    eventsUrl: `${agentUrl}/v1/events`,
    maxBacklog,
    batchPrefix: `sms-${app}-${randomBytes(4).toString("hex")}`,
    what: "SMS tracker",
    eventNoun: "SMS",
    warningCodePrefix: "VIGIL_SMS",
  });
  const invalidInput = createInvalidInputReporter();
  const servers = createServerStates();
  const hashPhone = createPhoneHasher(hashSalt);
  let agentFailing = false;
  let sendScheduled = false;
  let sending = false;
  let droppedAfterClose = 0;
  let closing: Promise<void> | undefined;

  async function flush(): Promise<void> {
    sending = true;
    try {
      agentFailing = !(await shipper.send());
    } finally {
      sending = false;
    }
  }

  function sendNow(): void {
    sendScheduled = false;
    void flush();
  }

  function enqueue(event: AppEvent): void {
    if (closing !== undefined) {
      droppedAfterClose++;
      return;
    }
    shipper.add(event);
    // A running send takes the new events along; a failing agent is retried by the timer.
    if (!sendScheduled && !sending && !agentFailing && shipper.size() >= APP_MAX_EVENTS_PER_POST) {
      sendScheduled = true;
      // Not sent from here: serialising 1000 events inside the app's call would stall it.
      setImmediate(sendNow).unref();
    }
  }

  /** Whatever goes wrong inside a call, the app's sending goes on: it is reported like bad input. */
  function failed(call: string, error: unknown): void {
    invalidInput.report(call, `it could not be read: ${(error as Error)?.message ?? String(error)}`);
  }

  const timer = setInterval(() => void flush(), flushIntervalMs);
  timer.unref();

  return {
    trackCampaign(campaign: CampaignReport): void {
      try {
        const problem = campaignProblem(campaign);
        if (problem !== undefined) return invalidInput.report("trackCampaign", problem);
        enqueue(campaignEvent(campaign, Date.now()));
      } catch (error) {
        failed("trackCampaign", error);
      }
    },
    trackMessage(message: MessageReport): void {
      try {
        const problem = messageProblem(message);
        if (problem !== undefined) return invalidInput.report("trackMessage", problem);
        enqueue(messageEvent(message, hashPhone(message.to), Date.now()));
      } catch (error) {
        failed("trackMessage", error);
      }
    },
    trackServer(server: ServerReport): void {
      try {
        const problem = serverProblem(server);
        if (problem !== undefined) return invalidInput.report("trackServer", problem);
        const ts = Date.now();
        enqueue(serverEvent(server, ts));
        const previous = servers.change(server.kind, server.id, server.status);
        if (previous !== undefined) enqueue(serverStatusEvent(server, previous, ts));
      } catch (error) {
        failed("trackServer", error);
      }
    },
    flush,
    close() {
      closing ??= (async () => {
        clearInterval(timer);
        await flush();
      })();
      return closing;
    },
    dropped: () => shipper.dropped() + droppedAfterClose,
    pending: () => shipper.size(),
    invalid: () => invalidInput.count(),
  };
}
