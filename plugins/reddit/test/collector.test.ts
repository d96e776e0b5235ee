import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openAgentStream } from "../../../collector/test/support/agent-stream.js";
import { REPO_ROOT, TEST_TOKEN } from "../../../test/support/collector-process.js";
import { startInProcess } from "../../../test/support/in-process.js";

let env: Awaited<ReturnType<typeof startInProcess>>;
let otherTenant: string;

beforeAll(async () => {
  env = await startInProcess({ plugins: [join(REPO_ROOT, "plugins/reddit/dist/collector.js")] });
  otherTenant = (await env.request("POST", "/api/tenants", { body: { id: "tenant-b", name: "B" } })).json.token;
});
afterAll(async () => {
  await env?.close();
});

describe("keyword API (the Reddit plugin's collector part)", () => {
  it("takes the seed's body as is, and lists, reads, changes and deletes keywords", async () => {
    const created = await env.request("POST", "/api/keywords", { body: { keyword: "vigil", platform: "reddit", subreddit: "selfhosted" } });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ keyword: "vigil", platform: "reddit", mode: "phrase", subreddit: "selfhosted", exclude: [], is_active: true });
    const id = created.json.id;
    expect((await env.request("GET", "/api/keywords")).json.keywords.map((k: { id: string }) => k.id)).toContain(id);
    expect((await env.request("GET", `/api/keywords/${id}`)).json.keyword).toBe("vigil");

    const patched = await env.request("PATCH", `/api/keywords/${id}`, { body: { is_active: false, subreddit: ["selfhosted", "homelab"] } });
    expect(patched.json).toMatchObject({ is_active: false, subreddit: ["selfhosted", "homelab"] });
    expect((await env.request("GET", "/api/keywords?active=true")).json.keywords.map((k: { id: string }) => k.id)).not.toContain(id);

    expect((await env.request("DELETE", `/api/keywords/${id}`)).status).toBe(204);
    expect((await env.request("GET", `/api/keywords/${id}`)).status).toBe(404);
  });

  it.each([
    [{ keyword: "" }, "keyword", "keyword text is empty"],
    [{ keyword: "x".repeat(201) }, "keyword", "at most 200"],
    [{ keyword: "(unclosed", mode: "regex" }, "keyword", "invalid regular expression"],
    [{ keyword: "ok", subreddit: "r/bad name" }, "subreddit", "subreddit names are"],
    [{ keyword: "ok", platform: "twitter" }, "platform", 'platform must be "reddit"'],
    [{ keyword: "ok", subreddit: ["selfhosted", "all"] }, "subreddit.1", '"all" means every monitored subreddit'],
    [{ keyword: "ok", subreddit: "All" }, "subreddit", '"all" means every monitored subreddit'],
    [{ keyword: "ok", colour: "red" }, "", "colour"],
  ])("refuses %j with a 400 naming the field", async (body, path, message) => {
    const res = await env.request("POST", "/api/keywords", { body });
    expect(res.status).toBe(400);
    const detail = res.json.error.details.find((d: { path: string }) => d.path === path);
    expect(detail?.message ?? res.json.error.message).toContain(message);
  });

  it("pushes every change at once to the tenant's connected agents", async () => {
    const stream = await openAgentStream(env.collector.url, TEST_TOKEN, "reddit-agent-1");
    expect((await stream.next()).event).toBe("config");
    const created = await env.request("POST", "/api/keywords", { body: { keyword: "pushed" } });
    expect(await stream.next()).toEqual({ event: "command", data: { name: "reddit-keywords-changed", args: { id: created.json.id } } });
    stream.close();
  });

  it("keeps each tenant's keywords to itself", async () => {
    const mine = await env.request("POST", "/api/keywords", { body: { keyword: "private to a" } });
    const theirs = await env.request("GET", "/api/keywords", { token: otherTenant });
    expect(theirs.json.keywords).toEqual([]);
    expect((await env.request("PATCH", `/api/keywords/${mine.json.id}`, { token: otherTenant, body: { is_active: false } })).status).toBe(404);
    expect((await env.request("DELETE", `/api/keywords/${mine.json.id}`, { token: otherTenant })).status).toBe(404);
    expect((await env.request("GET", `/api/keywords/${mine.json.id}`)).json.is_active).toBe(true);
  });
});
