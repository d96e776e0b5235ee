import { onApiEvent } from "./api.js";
import type { Health } from "./types.js";

const POLL_MS = 10_000;

/**
 * Whether the collector and its storage are up, for the banner at the top of the app.
 * Two signals feed it: any API call answered 503 `unavailable` (storage down) or
 * answered successfully (back), and a poll of `GET /health` every 10 s, which needs no
 * login and so also works on the login page.
 */
class Availability {
  /** Storage is down: the collector refuses data and agents keep it buffered. */
  storageDown = $state(false);
  /** Why, in the collector's words (`/health`'s `storage` field or the 503 message). */
  reason = $state<string | null>(null);
  /** The collector itself did not answer `/health`. */
  unreachable = $state(false);
  /** The last `/health` answer (version, uptime, alerting), for the overview page. */
  health = $state<Health | null>(null);

  constructor() {
    onApiEvent((event) => {
      if (event.type === "unavailable") this.markDown(event.message);
      else if (event.type === "ok") this.markUp();
    });
  }

  /** Read /health once; returns what it said (undefined when the collector did not answer). */
  async check(): Promise<Health | undefined> {
    try {
      const response = await fetch("/health", { headers: { Accept: "application/json" }, cache: "no-store" });
      const health = (await response.json()) as Health;
      this.unreachable = false;
      this.health = health;
      if (health.storage === "ok") this.markUp();
      else this.markDown(health.storage);
      return health;
    } catch {
      this.unreachable = true;
      return undefined;
    }
  }

  /** Poll /health every 10 s until the returned function is called. */
  start(): () => void {
    void this.check();
    const timer = setInterval(() => void this.check(), POLL_MS);
    return () => clearInterval(timer);
  }

  private markDown(reason: string): void {
    this.storageDown = true;
    this.reason = reason;
  }

  private markUp(): void {
    this.storageDown = false;
    this.reason = null;
  }
}

export const availability = new Availability();
