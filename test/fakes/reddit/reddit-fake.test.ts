import { afterEach, describe, expect, it } from "vitest";
import { DEFAULT_CLIENT, DEFAULT_REFRESH_TOKEN, DEFAULT_USER, startFakeReddit, type FakeReddit, type FakeRedditOptions } from "./server.js";

const USER_AGENT = "node:vigil-test:v0.1 (by /u/vigil)";
let running: FakeReddit[] = [];

afterEach(async () => {
  await Promise.all(running.map((fake) => fake.close()));
  running = [];
});

async function start(options: FakeRedditOptions = {}): Promise<FakeReddit> {
  const fake = await startFakeReddit(options);
  running.push(fake);
  return fake;
}

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString("base64")}`;
}

function requestToken(fake: FakeReddit, form: Record<string, string>, authorization = basic(DEFAULT_CLIENT.id, DEFAULT_CLIENT.secret)): Promise<Response> {
  return fetch(`${fake.oauthUrl}/api/v1/access_token`, {
    method: "POST",
    headers: { authorization, "content-type": "application/x-www-form-urlencoded", "user-agent": USER_AGENT },
    body: new URLSearchParams(form).toString(),
  });
}

async function accessToken(fake: FakeReddit): Promise<string> {
  const res = await requestToken(fake, { grant_type: "password", username: DEFAULT_USER.username, password: DEFAULT_USER.password });
  return ((await res.json()) as { access_token: string }).access_token;
}

function api(fake: FakeReddit, pathAndQuery: string, token: string | undefined): Promise<Response> {
  const headers: Record<string, string> = { "user-agent": USER_AGENT };
  if (token) headers.authorization = `bearer ${token}`;
  return fetch(`${fake.apiUrl}${pathAndQuery}`, { headers });
}

async function listing(fake: FakeReddit, pathAndQuery: string, token: string) {
  const res = await api(fake, pathAndQuery, token);
  expect(res.status).toBe(200);
  return (await res.json()) as { kind: string; data: { after: string | null; before: string | null; dist: number; children: { kind: string; data: Record<string, any> }[] } };
}

describe("token endpoint", () => {
  it("issues a bearer token for each grant type", async () => {
    const fake = await start({ tokenLifetimeSeconds: 1800 });
    const password = await requestToken(fake, { grant_type: "password", username: DEFAULT_USER.username, password: DEFAULT_USER.password });
    expect(password.status).toBe(200);
    const body = (await password.json()) as Record<string, unknown>;
    expect(body).toEqual({ access_token: expect.any(String), token_type: "bearer", expires_in: 1800, scope: "*" });

    const refresh = await requestToken(fake, { grant_type: "refresh_token", refresh_token: DEFAULT_REFRESH_TOKEN });
    expect(await refresh.json()).toMatchObject({ token_type: "bearer", expires_in: 1800, refresh_token: DEFAULT_REFRESH_TOKEN });

    const clientCredentials = await requestToken(fake, { grant_type: "client_credentials" });
    const appToken = ((await clientCredentials.json()) as { access_token: string }).access_token;
    expect((await api(fake, "/r/test/new", appToken)).status).toBe(200);
    expect(fake.stats.grants).toEqual({ password: 1, refresh_token: 1, client_credentials: 1 });
  });

  it("refuses wrong client credentials with 401 and bad grants with invalid_grant", async () => {
    const fake = await start();
    const wrongSecret = await requestToken(fake, { grant_type: "client_credentials" }, basic(DEFAULT_CLIENT.id, "nope"));
    expect(wrongSecret.status).toBe(401);
    expect(await wrongSecret.json()).toEqual({ message: "Unauthorized", error: 401 });
    const noAuth = await requestToken(fake, { grant_type: "client_credentials" }, "");
    expect(noAuth.status).toBe(401);

    const wrongPassword = await requestToken(fake, { grant_type: "password", username: DEFAULT_USER.username, password: "nope" });
    expect(wrongPassword.status).toBe(400);
    expect(await wrongPassword.json()).toEqual({ error: "invalid_grant" });
    const wrongRefresh = await requestToken(fake, { grant_type: "refresh_token", refresh_token: "nope" });
    expect(await wrongRefresh.json()).toEqual({ error: "invalid_grant" });
    const unknownGrant = await requestToken(fake, { grant_type: "authorization_magic" });
    expect(unknownGrant.status).toBe(400);
    expect(await unknownGrant.json()).toEqual({ error: "unsupported_grant_type" });
  });

  it("can answer grant errors with 200, as real Reddit does", async () => {
    const fake = await start({ grantErrorStatus: 200 });
    const wrongPassword = await requestToken(fake, { grant_type: "password", username: DEFAULT_USER.username, password: "nope" });
    expect(wrongPassword.status).toBe(200);
    expect(await wrongPassword.json()).toEqual({ error: "invalid_grant" });
  });

  it("stops accepting a token once its lifetime is over", async () => {
    let clock = 1_700_000_000_000;
    const fake = await start({ tokenLifetimeSeconds: 60, now: () => clock });
    const token = await accessToken(fake);
    clock += 59_000;
    expect((await api(fake, "/r/test/new", token)).status).toBe(200);
    clock += 1_000;
    const expired = await api(fake, "/r/test/new", token);
    expect(expired.status).toBe(401);
    expect(expired.headers.get("www-authenticate")).toContain("invalid_token");
  });
});

describe("listings", () => {
  it("answers 401 without a bearer token", async () => {
    const fake = await start();
    const res = await api(fake, "/r/test/new", undefined);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ message: "Unauthorized", error: 401 });
    expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="reddit"/);
  });

  it("lists posts and comments newest first in Reddit's Listing shape", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    const first = fake.addPost("Typescript", { title: "First post", selftext: "hello", author: "alice" });
    const second = fake.addPost("typescript", { title: "Second post", selftext: "", author: "bob" });
    expect(second.subreddit).toBe("Typescript");
    const comment = fake.addComment("typescript", { body: "nice", author: "carol", link_id: first.name });
    const auto = fake.addComment("typescript", { body: "on the newest post", author: "dave" });

    const posts = await listing(fake, "/r/typescript/new?raw_json=1", token);
    expect(posts.kind).toBe("Listing");
    expect(posts.data).toMatchObject({ after: null, before: null, dist: 2 });
    expect(posts.data.children.map((c) => c.kind)).toEqual(["t3", "t3"]);
    expect(posts.data.children.map((c) => c.data.name)).toEqual([second.name, first.name]);
    expect(posts.data.children[1]!.data).toMatchObject({
      id: first.id,
      name: `t3_${first.id}`,
      subreddit: "Typescript",
      title: "First post",
      selftext: "hello",
      author: "alice",
      permalink: `/r/Typescript/comments/${first.id}/first_post/`,
      url: `https://www.reddit.com/r/Typescript/comments/${first.id}/first_post/`,
      created_utc: expect.any(Number),
    });
    expect(first.id).toMatch(/^[0-9a-z]+$/);
    expect(parseInt(second.id, 36)).toBe(parseInt(first.id, 36) + 1);

    const comments = await listing(fake, "/r/typescript/comments.json?raw_json=1", token);
    expect(comments.data.children.map((c) => c.kind)).toEqual(["t1", "t1"]);
    expect(comments.data.children.map((c) => c.data.name)).toEqual([auto.name, comment.name]);
    expect(comments.data.children[1]!.data).toMatchObject({
      id: comment.id,
      name: `t1_${comment.id}`,
      subreddit: "Typescript",
      body: "nice",
      author: "carol",
      link_id: first.name,
      permalink: `/r/Typescript/comments/${first.id}/first_post/${comment.id}/`,
      created_utc: expect.any(Number),
    });
    expect(comments.data.children[0]!.data.link_id).toBe(second.name);
  });

  it("HTML-escapes text unless raw_json=1", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    fake.addPost("test", { title: "Tom & Jerry <3", selftext: "a > b", author: "alice" });
    const escaped = await listing(fake, "/r/test/new", token);
    expect(escaped.data.children[0]!.data).toMatchObject({ title: "Tom &amp; Jerry &lt;3", selftext: "a &gt; b" });
    const raw = await listing(fake, "/r/test/new?raw_json=1", token);
    expect(raw.data.children[0]!.data).toMatchObject({ title: "Tom & Jerry <3", selftext: "a > b" });
  });

  it("merges the subreddits of a multireddit", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    const a = fake.addComment("alpha", { body: "a", author: "x" });
    fake.addComment("gamma", { body: "not asked for", author: "x" });
    const b = fake.addComment("beta", { body: "b", author: "x" });
    const c = fake.addComment("alpha", { body: "c", author: "x" });
    const merged = await listing(fake, "/r/alpha+beta/comments?raw_json=1", token);
    expect(merged.data.children.map((child) => child.data.name)).toEqual([c.name, b.name, a.name]);
    expect(merged.data.children.map((child) => child.data.subreddit)).toEqual(["alpha", "beta", "alpha"]);
    const encoded = await listing(fake, "/r/alpha%2Bbeta/comments?raw_json=1", token);
    expect(encoded.data.dist).toBe(3);
  });

  it("pages with after towards older items and with before towards newer ones", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    const added = Array.from({ length: 25 }, (_, i) => fake.addPost("paging", { title: `post ${i}`, author: "alice" }));
    const newestFirst = added.map((p) => p.name).reverse();

    const pages: string[][] = [];
    let after: string | null = null;
    do {
      const query: string = after ? `&after=${after}` : "";
      const page = await listing(fake, `/r/paging/new?limit=10${query}`, token);
      pages.push(page.data.children.map((c) => c.data.name as string));
      expect(page.data.dist).toBe(page.data.children.length);
      after = page.data.after;
    } while (after);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual(newestFirst);

    // From the oldest item, `before` walks back up, each page newest first.
    const back = await listing(fake, `/r/paging/new?limit=10&before=${added[4]!.name}`, token);
    expect(back.data.children.map((c) => c.data.name)).toEqual(newestFirst.slice(10, 20));
    expect(back.data.before).toBe(added[14]!.name);
    expect(back.data.after).toBe(added[5]!.name);
    const top = await listing(fake, `/r/paging/new?limit=10&before=${back.data.before}`, token);
    expect(top.data.children.map((c) => c.data.name)).toEqual(newestFirst.slice(0, 10));
    expect(top.data.before).toBeNull();

    // Polling for new items: `before` the newest seen is empty until something arrives.
    const newest = newestFirst[0]!;
    expect((await listing(fake, `/r/paging/new?before=${newest}`, token)).data.dist).toBe(0);
    const fresh = fake.addPost("paging", { title: "fresh", author: "bob" });
    expect((await listing(fake, `/r/paging/new?before=${newest}`, token)).data.children.map((c) => c.data.name)).toEqual([fresh.name]);
    // A cursor that is not in the listing gives an empty page.
    expect((await listing(fake, `/r/paging/new?after=t3_zzzzzz`, token)).data.dist).toBe(0);
  });

  it("defaults limit to 25 and caps it at 100", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    fake.addComments("busy", 150, (i) => ({ body: `comment ${i}`, author: "bot" }));
    expect((await listing(fake, "/r/busy/comments", token)).data.dist).toBe(25);
    expect((await listing(fake, "/r/busy/comments?limit=500", token)).data.dist).toBe(100);
  });

  it("answers 404 for an invalid subreddit name and 403 for a private subreddit", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    expect((await api(fake, "/r/x/new", token)).status).toBe(404);
    expect((await api(fake, "/api/unknown", token)).status).toBe(404);
    fake.faults.privateSubreddit("secret");
    const res = await api(fake, "/r/public+Secret/new", token);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ reason: "private", error: 403 });
    fake.faults.privateSubreddit("secret", false);
    expect((await api(fake, "/r/secret/new", token)).status).toBe(200);
  });
});

describe("rate limit", () => {
  it("sends used, remaining and reset headers that count down, then 429 until the window resets", async () => {
    let clock = 1_700_000_000_000;
    const fake = await start({ rateLimitRequests: 3, rateLimitWindowSeconds: 60, now: () => clock });
    const token = await accessToken(fake);
    const headers = [];
    for (let i = 0; i < 3; i++) {
      const res = await api(fake, "/r/test/new", token);
      expect(res.status).toBe(200);
      headers.push([res.headers.get("x-ratelimit-used"), res.headers.get("x-ratelimit-remaining"), res.headers.get("x-ratelimit-reset")]);
      clock += 10_000;
    }
    expect(headers).toEqual([
      ["1", "2.0", "60"],
      ["2", "1.0", "50"],
      ["3", "0.0", "40"],
    ]);
    const limited = await api(fake, "/r/test/new", token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("30");
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0.0");

    clock += 30_000;
    const reset = await api(fake, "/r/test/new", token);
    expect(reset.status).toBe(200);
    expect(reset.headers.get("x-ratelimit-used")).toBe("1");
  });

  it("defaults to 600 requests per 600 s window", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    const res = await api(fake, "/r/test/new", token);
    expect(res.headers.get("x-ratelimit-remaining")).toBe("599.0");
    expect(Number(res.headers.get("x-ratelimit-reset"))).toBeLessThanOrEqual(600);
    fake.faults.exhaustRateLimit();
    expect((await api(fake, "/r/test/new", token)).status).toBe(429);
  });
});

describe("faults", () => {
  it("next429 answers the next API request with Retry-After, then recovers", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    fake.faults.next429(7);
    const limited = await api(fake, "/r/test/new", token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(limited.headers.get("x-ratelimit-used")).not.toBeNull();
    expect((await api(fake, "/r/test/new", token)).status).toBe(200);
  });

  it("next500 fails the next n API requests, or token requests when asked", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    fake.faults.next500(2);
    expect((await api(fake, "/r/test/comments", token)).status).toBe(500);
    expect((await api(fake, "/r/test/comments", token)).status).toBe(500);
    expect((await api(fake, "/r/test/comments", token)).status).toBe(200);

    fake.faults.next500(1, "token");
    expect((await requestToken(fake, { grant_type: "client_credentials" })).status).toBe(500);
    expect((await requestToken(fake, { grant_type: "client_credentials" })).status).toBe(200);
  });

  it("slow delays answers until switched off", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    fake.faults.slow(2_000);
    await expect(fetch(`${fake.apiUrl}/r/test/new`, { headers: { authorization: `bearer ${token}` }, signal: AbortSignal.timeout(100) })).rejects.toThrow();
    fake.faults.slow(0);
    expect((await api(fake, "/r/test/new", token)).status).toBe(200);
  });

  it("expireTokens makes every issued token answer 401 until a new one is fetched", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    expect((await api(fake, "/r/test/new", token)).status).toBe(200);
    fake.faults.expireTokens();
    const expired = await api(fake, "/r/test/new", token);
    expect(expired.status).toBe(401);
    expect(expired.headers.get("www-authenticate")).toBe('Bearer realm="reddit", error="invalid_token"');
    expect((await api(fake, "/r/test/new", await accessToken(fake))).status).toBe(200);
  });

  it("a burst of comments is all listed", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    const burst = fake.addComments("test", 40, (i) => ({ body: `burst ${i}`, author: "bot" }));
    const page = await listing(fake, "/r/test/comments?limit=100", token);
    expect(page.data.children.map((c) => c.data.name)).toEqual(burst.map((c) => c.name).reverse());
  });
});

describe("stats", () => {
  it("counts requests per kind and records each with its time and user agent", async () => {
    const fake = await start();
    const token = await accessToken(fake);
    await api(fake, "/r/test/new", token);
    await api(fake, "/r/test/comments", token);
    await api(fake, "/r/test/comments", undefined);
    expect(fake.stats.counts).toEqual({ token: 1, new: 1, comments: 2, user: 0, other: 0 });
    expect(fake.stats.requests.map((r) => [r.kind, r.status])).toEqual([
      ["token", 200],
      ["new", 200],
      ["comments", 200],
      ["comments", 401],
    ]);
    expect(fake.stats.requests.every((r) => r.userAgent === USER_AGENT && typeof r.at === "number")).toBe(true);
    fake.stats.reset();
    expect(fake.stats.requests).toHaveLength(0);
    expect(fake.stats.counts.comments).toBe(0);
  });

  it("requestsPerMinute is the most API requests in any sliding 60 s window", async () => {
    let clock = 1_700_000_000_000;
    const fake = await start({ now: () => clock });
    const token = await accessToken(fake);
    expect(fake.stats.requestsPerMinute()).toBe(0);
    // 3 requests, then 50 s later 2, then 20 s later 3: the busiest minute holds 5.
    for (const [gap, count] of [
      [0, 3],
      [50_000, 2],
      [20_000, 3],
    ] as const) {
      clock += gap;
      for (let i = 0; i < count; i++) await api(fake, "/r/test/new", token);
    }
    expect(fake.stats.requestsPerMinute()).toBe(5);
    expect(fake.stats.requestsPerMinute(120_000)).toBe(8);
  });
});
