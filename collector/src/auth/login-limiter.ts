/**
 * Failed logins are counted per account and per client address over a sliding window;
 * past the limit, further attempts are refused without checking the password until the
 * oldest failure leaves the window. Per account, it stops guessing one password; per
 * address, it stops one client trying many accounts (and spending the server's scrypt
 * time). Counts live in this replica's memory: behind N replicas an attacker gets at
 * most N times the budget, still far too little to guess a password.
 */
export interface LoginLimits {
  windowMs: number;
  perAccount: number;
  perAddress: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { windowMs: 15 * 60_000, perAccount: 5, perAddress: 20 };
const MAX_TRACKED = 50_000;

export function createLoginLimiter(limits: LoginLimits = DEFAULT_LOGIN_LIMITS) {
  const failures = new Map<string, number[]>();

  function recent(key: string, now: number): number[] {
    const kept = (failures.get(key) ?? []).filter((at) => now - at < limits.windowMs);
    if (kept.length === 0) failures.delete(key);
    else failures.set(key, kept);
    return kept;
  }

  /** Seconds to wait before this account may be tried from this address, or 0. */
  function waitSeconds(account: string, address: string, now = Date.now()): number {
    const waits = [
      [recent(`a:${account}`, now), limits.perAccount],
      [recent(`i:${address}`, now), limits.perAddress],
    ] as const;
    let wait = 0;
    for (const [times, limit] of waits) {
      if (times.length >= limit) wait = Math.max(wait, Math.ceil((times[times.length - limit]! + limits.windowMs - now) / 1000));
    }
    return wait;
  }

  /**
   * Starts a sign-in attempt: 0 and the attempt counted as a failure *now*, before the
   * password is checked, or the seconds to wait and nothing counted. Counting first means
   * attempts sent in parallel cannot all pass the check while the slow hash runs.
   */
  function begin(account: string, address: string, now = Date.now()): number {
    const wait = waitSeconds(account, address, now);
    if (wait > 0) return wait;
    if (failures.size > MAX_TRACKED) for (const key of failures.keys()) if (recent(key, now).length === 0) failures.delete(key);
    for (const key of [`a:${account}`, `i:${address}`]) failures.set(key, [...recent(key, now), now]);
    return 0;
  }

  /**
   * The attempt begun at `at` had the right password: the account's count is cleared,
   * and this attempt is taken back from the address's (which may be trying others).
   */
  function succeeded(account: string, address: string, at: number): void {
    failures.delete(`a:${account}`);
    const times = failures.get(`i:${address}`);
    const index = times?.lastIndexOf(at) ?? -1;
    if (times && index >= 0) times.splice(index, 1);
  }

  return { begin, succeeded };
}

export type LoginLimiter = ReturnType<typeof createLoginLimiter>;
