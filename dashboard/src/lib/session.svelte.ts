import { api, ApiFailure, onApiEvent, setCsrfToken } from "./api.js";
import type { Role, SessionAnswer, SessionUser } from "./types.js";

const RANK: Record<Role, number> = { viewer: 0, editor: 1, admin: 2 };

/** True when `role` is at least `min` (viewer < editor < admin). */
export function roleAtLeast(role: Role | null | undefined, min: Role): boolean {
  return role != null && RANK[role] >= RANK[min];
}

/**
 * Who is logged in, as reactive state. `status` starts "unknown" until the first
 * `refresh()` answers; the app shows the login page when it becomes "anonymous".
 *
 * The role only decides what the UI offers (hiding buttons a viewer cannot use): the
 * server checks every request itself.
 */
class Session {
  status = $state<"unknown" | "authenticated" | "anonymous">("unknown");
  user = $state<SessionUser | null>(null);
  csrf = $state<string | null>(null);
  /**
   * How the last session ended: "expired" (a request was refused with 401 while logged in:
   * the login page says so, and returns to the page afterwards), "logout", or null (none yet).
   */
  ended = $state<"expired" | "logout" | null>(null);

  role = $derived<Role | null>(this.user?.role ?? null);
  /** editor or admin: may change configuration (keywords, jobs, rules, silences, channels…). */
  canWrite = $derived(roleAtLeast(this.role, "editor"));
  /** admin: may also manage users and API keys. */
  isAdmin = $derived(roleAtLeast(this.role, "admin"));

  constructor() {
    // Any API call answered 401 means the cookie expired or was revoked.
    onApiEvent((event) => {
      if (event.type === "unauthenticated" && this.status !== "anonymous") this.clear("unauthenticated");
    });
  }

  hasRole(min: Role): boolean {
    return roleAtLeast(this.role, min);
  }

  /** Asks the server who we are; "anonymous" on 401. Other failures are thrown (the app shows them). */
  async refresh(): Promise<void> {
    try {
      this.apply(await api.get<SessionAnswer>("/api/session", undefined, { session: false }));
    } catch (error) {
      if (error instanceof ApiFailure && error.status === 401) this.clear("unauthenticated");
      else throw error;
    }
  }

  /** Throws the server's ApiFailure on bad credentials (401) or rate limiting (429, with retryAfter). */
  async login(email: string, password: string): Promise<void> {
    this.apply(await api.post<SessionAnswer>("/api/session", { email, password }, { session: false }));
  }

  async logout(): Promise<void> {
    try {
      await api.del("/api/session", { session: false });
    } finally {
      // Logged out locally even if the server could not be reached: the user asked to leave.
      this.clear("logout");
    }
  }

  /** Forget the user locally (after a 401, or logout). */
  clear(reason: "unauthenticated" | "logout"): void {
    this.ended = reason === "logout" ? "logout" : this.status === "authenticated" ? "expired" : null;
    this.user = null;
    this.csrf = null;
    setCsrfToken(null);
    this.status = "anonymous";
  }

  private apply(answer: SessionAnswer): void {
    this.user = answer.user;
    this.csrf = answer.csrf_token;
    setCsrfToken(answer.csrf_token);
    this.status = "authenticated";
    this.ended = null;
  }
}

export const session = new Session();
