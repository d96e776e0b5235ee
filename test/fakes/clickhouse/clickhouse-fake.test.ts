// The fake ClickHouse's wire format, checked with plain HTTP requests against what the
// HTTP interface documents (https://clickhouse.com/docs/interfaces/http).
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../support/collector-process.js";
import { startFakeClickHouse, type FakeClickHouse } from "./server.js";

const dir = tempDir("vigil-fake-clickhouse-");
let fake: FakeClickHouse;
const AUTH = { "X-ClickHouse-User": "app", "X-ClickHouse-Key": "app-key" };

beforeAll(async () => {
  fake = await startFakeClickHouse({ dataDir: dir.path, users: { default: "", app: "app-key" } });
});
afterAll(async () => {
  await fake?.close();
  dir.remove();
});

function post(search: Record<string, string>, body: string | Buffer = "", headers: Record<string, string> = AUTH): Promise<Response> {
  return fetch(`${fake.url}/?${new URLSearchParams(search)}`, { method: "POST", headers, body });
}

describe("the fake ClickHouse HTTP interface", () => {
  it("answers /ping without credentials", async () => {
    const res = await fetch(`${fake.url}/ping`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("Ok.\n");
  });

  it("runs a query from the body in TabSeparated by default, with the server's headers", async () => {
    const res = await post({ query_id: "q-1" }, "SELECT 1 AS a, 'x' AS b");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("1\tx\n");
    expect(res.headers.get("x-clickhouse-query-id")).toBe("q-1");
    expect(res.headers.get("x-clickhouse-format")).toBe("TabSeparated");
    expect(res.headers.get("keep-alive")).toBe("timeout=3");
    expect(JSON.parse(res.headers.get("x-clickhouse-summary")!)).toMatchObject({ read_rows: "1" });
  });

  it("joins the query parameter and the body with a newline: an INSERT with its rows", async () => {
    expect((await post({ query: "CREATE TABLE default.rows (n UInt32, s String) ENGINE = MergeTree ORDER BY n" })).status).toBe(200);
    const res = await post({ query: "INSERT INTO default.rows FORMAT JSONEachRow" }, '{"n":1,"s":"one"}\n{"n":2,"s":"two"}\n');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.headers.get("x-clickhouse-summary")!).written_rows).toBe("2");
    expect(await (await post({ default_format: "JSONCompact" }, "SELECT groupArray(s) FROM (SELECT s FROM default.rows ORDER BY n)")).json()).toMatchObject({ data: [[["one", "two"]]] });
  });

  it("binds param_<name> as sent, escapes and all, for each placeholder's type", async () => {
    const text = "tab\there, back\\slash, it's";
    const res = await post({ param_s: text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/'/g, "\\'"), param_list: "['a','it\\'s']", param_n: "42" }, "SELECT {s:String} AS s, {list:Array(String)} AS list, {n:UInt8} + 1 AS n FORMAT JSONEachRow");
    expect(await res.json()).toEqual({ s: text, list: ["a", "it's"], n: 43 });
  });

  it("applies a request's settings to that request only", async () => {
    const setting = async (search: Record<string, string>) => (await (await post(search, "SELECT getSetting('max_threads')")).text()).trim();
    expect(await setting({ max_threads: "3" })).toBe("3");
    expect(await setting({})).not.toBe("3");
    const unknown = await post({ no_such_setting: "1" }, "SELECT 1");
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get("x-clickhouse-exception-code")).toBe("115");
  });

  it("takes credentials from X-ClickHouse-User/Key, basic auth or the URL, and refuses a wrong one as the server does", async () => {
    const basic = { authorization: `Basic ${Buffer.from("app:app-key").toString("base64")}` };
    expect((await post({}, "SELECT 1", basic)).status).toBe(200);
    expect((await post({ user: "app", password: "app-key" }, "SELECT 1", {})).status).toBe(200);
    expect((await post({}, "SELECT 1", {})).status).toBe(200); // the user "default", no password
    const wrong = await post({}, "SELECT 1", { "X-ClickHouse-User": "app", "X-ClickHouse-Key": "nope" });
    expect(wrong.status).toBe(403);
    expect(wrong.headers.get("x-clickhouse-exception-code")).toBe("516");
    expect(await wrong.text()).toMatch(/^Code: 516\. DB::Exception: app: Authentication failed: password is incorrect, or there is no user with such name\. \(AUTHENTICATION_FAILED\) \(version [\d.]+/);
  });

  it("answers errors with the server's status for the code", async () => {
    const missing = await post({}, "SELECT * FROM default.nowhere");
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-clickhouse-exception-code")).toBe("60");
    expect(await missing.text()).toMatch(/^Code: 60\. DB::Exception: .*\(UNKNOWN_TABLE\)/);
    const syntax = await post({}, "SELEC 1");
    expect(syntax.status).toBe(400);
    expect(syntax.headers.get("x-clickhouse-exception-code")).toBe("62");
    // GET is read-only, as on the server.
    const get = await fetch(`${fake.url}/?${new URLSearchParams({ query: "CREATE TABLE default.t2 (n UInt8) ENGINE = Memory" })}`, { headers: AUTH });
    expect(get.headers.get("x-clickhouse-exception-code")).toBe("164");
  });

  it("reads gzip bodies and compresses answers when asked with enable_http_compression", async () => {
    const res = await fetch(`${fake.url}/?enable_http_compression=1`, {
      method: "POST",
      headers: { ...AUTH, "content-encoding": "gzip", "accept-encoding": "gzip" },
      body: gzipSync("SELECT 'compressed' AS word"),
    });
    expect(res.status).toBe(200);
    // fetch decompresses what it is sent; the log says the answer went out gzip.
    expect(await res.text()).toBe("compressed\n");
    expect(fake.requests.at(-1)).toMatchObject({ contentEncoding: "gzip", responseEncoding: "gzip" });
  });

  it("injects faults: a 503 as ClickHouse sends it, a proxy's 502, a connection lost before or after the statement ran", async () => {
    await post({ query: "CREATE TABLE default.faults (n UInt32) ENGINE = MergeTree ORDER BY n" });
    const insert = (n: number) => post({ query: "INSERT INTO default.faults FORMAT JSONEachRow" }, `{"n":${n}}\n`);
    fake.faults.failNext(503, { match: /default\.faults/ });
    const unavailable = await insert(1);
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers.get("x-clickhouse-exception-code")).toBe("209");
    fake.faults.failNext(502, { match: /default\.faults/ });
    const gateway = await insert(2);
    expect(gateway.status).toBe(502);
    expect(gateway.headers.get("x-clickhouse-exception-code")).toBeNull();
    fake.faults.resetNext("before", { match: /default\.faults/ });
    await expect(insert(3)).rejects.toThrow();
    fake.faults.resetNext("after", { match: /default\.faults/ });
    await expect(insert(4)).rejects.toThrow();
    expect((await fake.query("SELECT groupArray(n) FROM (SELECT n FROM default.faults ORDER BY n)")).trim()).toBe("[4]");
  });
});
