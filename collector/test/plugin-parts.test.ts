import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, COLLECTOR_BIN, TEST_TOKEN, tempDir } from "../../test/support/collector-process.js";
import { openAgentStream } from "./support/agent-stream.js";
import { startInProcess } from "../../test/support/in-process.js";

const parts = join(REPO_ROOT, "test/fixtures/collector-parts");
let env: Awaited<ReturnType<typeof startInProcess>>;
let tenantB: string;

beforeAll(async () => {
  env = await startInProcess({ plugins: [join(parts, "notes.js")] });
  tenantB = (await env.request("POST", "/api/tenants", { body: { id: "tenant-b", name: "B" } })).json.token;
});
afterAll(async () => {
  await env?.close();
});

describe("plugin collector parts", () => {
  it("get their tables migrated and their routes mounted behind auth and scopes", async () => {
    const created = await env.request("POST", "/api/notes", { body: { text: "hello" } });
    expect(created.status).toBe(201);
    const list = await env.request("GET", "/api/notes");
    expect(list.json.notes).toEqual([{ id: created.json.id, text: "hello" }]);
    expect((await env.request("GET", `/api/notes/${created.json.id}`)).json.text).toBe("hello");
    expect((await env.request("GET", "/api/notes", { token: null })).status).toBe(401);
  });

  it("answer bad input and missing rows with the collector's JSON errors", async () => {
    const bad = await env.request("POST", "/api/notes", { body: { text: "", color: "red" } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.map((d: { path: string }) => d.path).sort()).toEqual(["", "text"]);
    const missing = await env.request("GET", "/api/notes/nope");
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: "not_found", message: 'no note "nope"' });
  });

  it("are tenant-scoped like every core route", async () => {
    const mine = await env.request("POST", "/api/notes", { body: { text: "for a only" } });
    expect((await env.request("GET", "/api/notes", { token: tenantB })).json.notes).toEqual([]);
    expect((await env.request("GET", `/api/notes/${mine.json.id}`, { token: tenantB })).status).toBe(404);
  });

  it("push commands to the tenant's connected agents, and only to that tenant's", async () => {
    const mine = await openAgentStream(env.collector.url, TEST_TOKEN, "agent-of-a-1");
    const theirs = await openAgentStream(env.collector.url, tenantB, "agent-of-b-1");
    expect((await mine.next()).event).toBe("config");
    expect((await theirs.next()).event).toBe("config");
    const res = await env.request("POST", "/api/notes/announce", { body: { text: "hi" } });
    expect(res.json).toEqual({ delivered: 1 });
    expect(await mine.next()).toEqual({ event: "command", data: { name: "note-added", args: { text: "hi" } } });
    mine.close();
    theirs.close();
  });

  it("record their migrations per plugin", async () => {
    const rows = await env.collector.services.db.query<{ plugin: string; version: number }>(`SELECT plugin, version FROM vigil.plugin_migrations FINAL`);
    expect(rows).toEqual([{ plugin: "notes", version: 1 }]);
  });
});

describe("loading collector parts", () => {
  it("a missing plugin stops the start with a message naming it", () => {
    const dir = tempDir();
    const out = spawnSync(process.execPath, [COLLECTOR_BIN, "--port", "0", "--data-dir", dir.path, "--plugin", "@vigil/plugin-nowhere"], { encoding: "utf8", timeout: 60_000 });
    dir.remove();
    expect(out.status).toBe(1);
    expect(out.stderr).toContain('cannot load the collector part of "@vigil/plugin-nowhere"');
  });

  it("a route that clashes with a core route stops the start naming both", () => {
    const dir = tempDir();
    const out = spawnSync(process.execPath, [COLLECTOR_BIN, "--port", "0", "--data-dir", dir.path, "--plugin", join(parts, "clash.js")], { encoding: "utf8", timeout: 60_000 });
    dir.remove();
    expect(out.status).toBe(1);
    expect(out.stderr).toContain("plugin clash declares GET /api/stats, which the collector already answers");
  });
});
