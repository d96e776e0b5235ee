import type { Settings } from "../contract.js";
import { parseSettings } from "./inputs.js";

const FETCH_TIMEOUT_MS = 2000;

export interface SettingsPoll {
  /** Asks the agent once; resolves when done, never rejects. */
  poll(): Promise<void>;
  stop(): void;
}

/**
 * Reads the settings the agent's cache-db plugin publishes (`PublishedSettings`: a
 * version and settings per app, "*" for the rest) every `intervalMs` and hands this
 * app's to `apply` when the version changed. With the defaults (2 s poll, 2 s timeout)
 * a change reaches the app in under 5 s. 404 (the agent's plugin has published nothing
 * yet), an unreachable agent and invalid settings keep the settings in force.
 * `fallback` applies when the published settings have neither this app nor "*".
 */
export function startSettingsPoll(options: {
  url: string;
  app: string;
  intervalMs: number;
  fallback: Settings;
  apply(settings: Settings): void;
}): SettingsPoll {
  let version: string | undefined;
  let refusedVersion: string | undefined;
  let inFlight: Promise<void> | undefined;

  async function check(): Promise<void> {
    let body: unknown;
    try {
      const response = await fetch(options.url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS), headers: { accept: "application/json" } });
      if (!response.ok) {
        await response.body?.cancel();
        return;
      }
      body = await response.json();
    } catch {
      return;
    }
    if (typeof body !== "object" || body === null) return;
    const published = body as { version?: unknown; apps?: unknown };
    if (typeof published.version !== "string" || typeof published.apps !== "object" || published.apps === null) return;
    if (published.version === version || published.version === refusedVersion) return;
    const apps = published.apps as Record<string, unknown>;
    // Only this app's entry is validated: another app's bad settings are not this app's problem.
    const raw = Object.hasOwn(apps, options.app) ? apps[options.app] : Object.hasOwn(apps, "*") ? apps["*"] : undefined;
    if (raw === undefined) {
      version = published.version;
      options.apply(options.fallback);
      return;
    }
    let settings: Settings;
    try {
      settings = parseSettings(raw, `settings version ${published.version} from the agent`);
    } catch (error) {
      refusedVersion = published.version;
      process.emitWarning(`Vigil cache monitor: ${(error as Error).message}; the settings in force stay`, { code: "VIGIL_CACHE_SETTINGS_INVALID" });
      return;
    }
    version = published.version;
    options.apply(settings);
  }

  /** Runs from a timer: nothing may escape into the app as an unhandled rejection. */
  async function fetchOnce(): Promise<void> {
    try {
      await check();
    } catch (error) {
      process.emitWarning(`Vigil cache monitor: applying settings from the agent failed: ${(error as Error).message}`, { code: "VIGIL_CACHE_SETTINGS_FAILED" });
    }
  }

  function poll(): Promise<void> {
    inFlight ??= fetchOnce().finally(() => (inFlight = undefined));
    return inFlight;
  }

  const timer = setInterval(() => void poll(), options.intervalMs);
  timer.unref();
  void poll();
  return { poll, stop: () => clearInterval(timer) };
}
