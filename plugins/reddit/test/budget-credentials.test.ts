import { describe, expect, it } from "vitest";
import { createBudget } from "../src/budget.js";
import { credentialsSchema, grantFor } from "../src/credentials.js";
import { idValue } from "../src/listing.js";

describe("request budget", () => {
  it("never lets more than `limit` requests into any window, across concurrent takers", async () => {
    const budget = createBudget(3, 200);
    const taken: number[] = [];
    await Promise.all(Array.from({ length: 8 }, () => budget.take().then(() => taken.push(Date.now()))));
    taken.sort((a, b) => a - b);
    for (let i = 3; i < taken.length; i++) expect(taken[i]! - taken[i - 3]!).toBeGreaterThanOrEqual(199);
    expect(budget.used()).toBeLessThanOrEqual(3);
  });

  it("paces requests after a burst of a tenth of the limit, so the window never stalls", async () => {
    // 20 per second: a burst of 2, then one every 1000 / 18 ≈ 56 ms.
    const budget = createBudget(20, 1000);
    const times: number[] = [];
    for (let i = 0; i < 40; i++) {
      await budget.take();
      times.push(performance.now());
    }
    expect(times[1]! - times[0]!).toBeLessThan(50);
    // The schedule is absolute: request i (after the burst) goes no earlier than (i − 1) intervals in.
    for (let i = 2; i < times.length; i++) expect(times[i]! - times[0]!).toBeGreaterThanOrEqual((i - 1) * (1000 / 18) - 2);
    for (let i = 0; i + 20 < times.length; i++) expect(times[i + 20]! - times[i]!).toBeGreaterThanOrEqual(999);
    // A plain window would send 20 at once and then wait most of a second; pacing never does.
    expect(Math.max(...times.slice(1).map((t, i) => t - times[i]!))).toBeLessThan(500);
  });

  it("holds everyone while paused", async () => {
    const budget = createBudget(100, 60_000);
    const resumeAt = Date.now() + 150;
    budget.pauseUntil(resumeAt);
    await budget.take();
    expect(Date.now()).toBeGreaterThanOrEqual(resumeAt - 1);
  });

  it("gives up waiting when its signal aborts", async () => {
    const budget = createBudget(1, 60_000);
    await budget.take();
    const abort = new AbortController();
    const waiting = budget.take(abort.signal);
    abort.abort(new Error("stopped"));
    await expect(waiting).rejects.toThrow("stopped");
  });
});

describe("credentials (snoowrap's field names)", () => {
  const base = { userAgent: "linux:vigil-monitor:1.0.0 (by /u/example_user)", clientId: "abc123" };

  it("chooses the grant from the fields given", () => {
    expect(grantFor(credentialsSchema.parse({ ...base, refreshToken: "r" }))).toEqual({ grant_type: "refresh_token", refresh_token: "r" });
    expect(grantFor(credentialsSchema.parse({ ...base, clientSecret: "s", username: "u", password: "p" }))).toEqual({ grant_type: "password", username: "u", password: "p" });
    expect(grantFor(credentialsSchema.parse(base))).toEqual({ grant_type: "client_credentials" });
  });

  it("refuses a User-Agent outside Reddit's form, showing the form", () => {
    const result = credentialsSchema.safeParse({ ...base, userAgent: "my bot" });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toContain('"<platform>:<app id>:<version> (by /u/<username>)"');
  });

  it("wants username and password together", () => {
    const result = credentialsSchema.safeParse({ ...base, username: "u" });
    expect(result.error!.issues[0]).toMatchObject({ path: ["password"], message: expect.stringContaining("go together") });
  });

  it("refuses unknown fields", () => {
    expect(credentialsSchema.safeParse({ ...base, user_agent: "x" }).success).toBe(false);
  });
});

describe("Reddit ids", () => {
  it("order as base-36 counters", () => {
    expect(idValue("zz") < idValue("100")).toBe(true);
    expect(idValue("1a2b3c")).toBe(BigInt(parseInt("1a2b3c", 36)));
    expect(() => idValue("no!")).toThrow(/not a Reddit id/);
  });
});
