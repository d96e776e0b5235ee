import { fetch } from "undici";
import type { Logger } from "pino";
import { AGENT_ID_HEADER, AGENT_NAME_HEADER, agentCommandSchema, remoteConfigSchema, type AgentCommand, type Heartbeat, type VersionedConfig } from "@vigil/plugin-sdk";
import { retryDelay } from "../runtime/http-client.js";
import { createSseParser } from "./sse.js";

export interface ConfigChannelOptions {
  collectorUrl: string;
  apiKey: string;
  agentId: string;
  agentName: string;
  userAgent: string;
  push: boolean;
  backupPollMs: number;
  heartbeatMs: number;
  timeoutMs: number;
  log: Logger;
  /** Applies a remote configuration; called one at a time, only for versions not yet seen. */
  applyConfig(config: VersionedConfig): Promise<void>;
  runCommand(command: AgentCommand): Promise<void>;
  /** Each time the push channel (re)connects: pushes sent meanwhile were lost. */
  onPushConnected?(): void;
  heartbeat(): Heartbeat;
  /** The version in force and the last one refused, so neither is applied twice. */
  versions(): { applied: number; rejected: number | null };
  /** Records a version refused before it reached the plugin host (a malformed envelope). */
  refuseConfig(version: number, reason: string): void;
}

const MAX_RECONNECT_MS = 30_000;

/**
 * The control connection to the collector: a Server-Sent Events stream that delivers
 * config versions and commands as they happen, a backup poll of `GET /v1/agents/config`
 * that heals a missed push, and the periodic heartbeat (whose answer also reveals a
 * newer config version). Every loop reconnects or retries on its own; none stops the
 * agent.
 */
export function createConfigChannel(options: ConfigChannelOptions) {
  const base = options.collectorUrl.replace(/\/$/, "");
  const headers = {
    authorization: `Bearer ${options.apiKey}`,
    [AGENT_ID_HEADER]: options.agentId,
    [AGENT_NAME_HEADER]: options.agentName,
    "user-agent": options.userAgent,
  };
  const abort = new AbortController();
  const timers = new Set<NodeJS.Timeout>();
  let applying: Promise<void> = Promise.resolve();
  let connected = false;
  let lastPushAt: number | undefined;

  function offer(config: VersionedConfig, via: string): Promise<void> {
    // A failed apply must not block every later one: each waits for the previous to settle.
    applying = applying.catch(() => undefined).then(async () => {
      const { applied, rejected } = options.versions();
      // Versions only grow; an older one (a late poll answer) is never applied over a newer.
      if (config.version <= applied || config.version === rejected) return;
      options.log.info({ version: config.version, via }, "remote configuration received");
      await options.applyConfig(config);
    });
    return applying.catch((error) => options.log.error({ err: (error as Error).message }, "applying remote configuration failed"));
  }

  /** The envelope is checked here (plugin configs by the plugin host); a bad one is refused and reported. */
  function parseVersioned(text: string): VersionedConfig {
    const raw = JSON.parse(text) as { version?: unknown; config?: unknown };
    const version = Number(raw.version);
    if (!Number.isInteger(version) || version < 0) throw new Error("config message without a valid version");
    const parsed = remoteConfigSchema.safeParse(raw.config ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.map(String).join(".")}: ${i.message}`).join("; ");
      options.refuseConfig(version, `remote configuration envelope is invalid: ${problems}`);
      throw new Error(`remote configuration v${version} refused: ${problems}`);
    }
    return { version, config: parsed.data };
  }

  async function streamOnce(): Promise<void> {
    const response = await fetch(`${base}/v1/agents/stream`, { headers: { ...headers, accept: "text/event-stream" }, signal: abort.signal });
    if (response.status !== 200 || !response.body) {
      const text = await response.text().catch(() => "");
      throw new Error(`push channel refused: ${response.status} ${text.slice(0, 200)}`);
    }
    connected = true;
    options.log.info("push channel connected");
    options.onPushConnected?.();
    const parse = createSseParser((message) => {
      lastPushAt = Date.now();
      try {
        if (message.event === "config") void offer(parseVersioned(message.data), "push");
        else if (message.event === "command") {
          const command = agentCommandSchema.parse(JSON.parse(message.data));
          void options.runCommand(command);
        }
      } catch (error) {
        options.log.warn({ event: message.event, err: (error as Error).message }, "ignoring a malformed push message");
      }
    });
    const decoder = new TextDecoder();
    for await (const chunk of response.body) parse(decoder.decode(chunk as Uint8Array, { stream: true }));
  }

  async function pushLoop(): Promise<void> {
    let attempt = 0;
    while (!abort.signal.aborted) {
      const started = Date.now();
      try {
        await streamOnce();
        if (!abort.signal.aborted) options.log.warn("push channel closed by the collector; reconnecting");
      } catch (error) {
        if (abort.signal.aborted) break;
        options.log.warn({ err: (error as Error).message }, "push channel unavailable; reconnecting with backoff");
      }
      connected = false;
      // A connection that lived a while resets the backoff.
      attempt = Date.now() - started > 30_000 ? 0 : attempt + 1;
      await delay(Math.min(MAX_RECONNECT_MS, retryDelay(attempt, undefined, 500, MAX_RECONNECT_MS)));
    }
  }

  async function poll(): Promise<void> {
    try {
      const response = await fetch(`${base}/v1/agents/config`, { headers, signal: AbortSignal.any([abort.signal, AbortSignal.timeout(options.timeoutMs)]) });
      if (response.status !== 200) throw new Error(`GET /v1/agents/config answered ${response.status}`);
      await offer(parseVersioned(await response.text()), "poll");
    } catch (error) {
      if (!abort.signal.aborted) options.log.warn({ err: (error as Error).message }, "backup poll of the remote configuration failed");
    }
  }

  async function sendHeartbeat(final = false): Promise<void> {
    const signal = final ? AbortSignal.timeout(Math.min(options.timeoutMs, 2_000)) : AbortSignal.any([abort.signal, AbortSignal.timeout(options.timeoutMs)]);
    try {
      const response = await fetch(`${base}/v1/agents/heartbeat`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify(options.heartbeat()),
        signal,
      });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`heartbeat answered ${response.status}: ${text.slice(0, 200)}`);
      const desired = Number((JSON.parse(text) as { config_version?: unknown }).config_version);
      const { applied, rejected } = options.versions();
      if (Number.isInteger(desired) && desired !== applied && desired !== rejected) void poll();
    } catch (error) {
      if (!abort.signal.aborted || final) options.log.warn({ err: (error as Error).message }, "heartbeat failed");
    }
  }

  function every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task(), ms);
    timer.unref();
    timers.add(timer);
  }

  function delay(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        abort.signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      abort.signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  let pushing: Promise<void> | undefined;
  return {
    async start() {
      // One poll first: start with the collector's config even when push is off or slow.
      await poll();
      if (options.push) pushing = pushLoop();
      every(options.backupPollMs, poll);
      every(options.heartbeatMs, () => sendHeartbeat());
      void sendHeartbeat();
    },
    /** Sends a heartbeat now (after a config change or a plugin state change). */
    heartbeatNow: () => sendHeartbeat(),
    /**
     * The last heartbeat, after stop(): shows the plugins stopped at once instead of
     * leaving their last running state on the collector until the agent counts as offline.
     */
    farewell: () => sendHeartbeat(true),
    async stop() {
      abort.abort();
      for (const timer of timers) clearInterval(timer);
      await pushing;
      await applying.catch(() => undefined);
    },
    status: () => ({ push_connected: connected, last_push_at: lastPushAt ? new Date(lastPushAt).toISOString() : null }),
  };
}
