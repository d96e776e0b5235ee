// The collector serves the built dashboard at /: its files (gzip when asked), index.html
// for every page path so deep links work, API paths untouched, and a clear page when
// the dashboard was not built.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../../test/support/collector-process.js";
import { startInProcess } from "../../test/support/in-process.js";

const built = tempDir("vigil-dash-");
let env: Awaited<ReturnType<typeof startInProcess>>;
const script = `console.log(${JSON.stringify("x".repeat(2000))});`;

beforeAll(async () => {
  mkdirSync(join(built.path, "assets"));
  writeFileSync(join(built.path, "index.html"), '<!doctype html><div id="app"></div><script type="module" src="/assets/app-abc123.js"></script>');
  writeFileSync(join(built.path, "assets/app-abc123.js"), script);
  writeFileSync(join(built.path, "favicon.svg"), "<svg xmlns='http://www.w3.org/2000/svg'/>");
  env = await startInProcess({ dashboardDir: built.path });
});
afterAll(async () => {
  await env?.close();
  built.remove();
});

describe("serving the dashboard", () => {
  it("answers / and every page path with index.html, never cached, under a strict CSP", async () => {
    for (const path of ["/", "/reddit", "/sms/spring-sale", "/admin/users"]) {
      const response = await fetch(`${env.collector.url}${path}`, { headers: { accept: "text/html,application/xhtml+xml,*/*;q=0.8" } });
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toContain("text/html");
      expect(response.headers.get("cache-control")).toBe("no-cache");
      expect(response.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(response.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
      expect(await response.text()).toContain('<div id="app">');
    }
  });

  it("serves hashed assets as immutable, gzipped for browsers that take it", async () => {
    const zipped = await fetch(`${env.collector.url}/assets/app-abc123.js`, { headers: { "accept-encoding": "gzip" } });
    expect(zipped.headers.get("cache-control")).toContain("immutable");
    expect(zipped.headers.get("content-type")).toContain("text/javascript");
    expect(await zipped.text()).toBe(script); // fetch inflates it
    const raw = await fetch(`${env.collector.url}/assets/app-abc123.js`, { headers: { "accept-encoding": "identity" } });
    expect(raw.headers.get("content-encoding")).toBeNull();
    expect(await raw.text()).toBe(script);
    const { request } = await import("node:http");
    const bytes = await new Promise<Buffer>((resolve, reject) => {
      request(`${env.collector.url}/assets/app-abc123.js`, { headers: { "accept-encoding": "gzip" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve(Buffer.concat(chunks)));
      })
        .on("error", reject)
        .end();
    });
    expect(bytes.length).toBeLessThan(script.length / 10);
    expect(gunzipSync(bytes).toString()).toBe(script);
    expect((await fetch(`${env.collector.url}/favicon.svg`)).headers.get("content-type")).toBe("image/svg+xml");
  });

  it("answers a missing asset, unknown API paths (also under a mistyped base URL) and JSON-only clients with JSON 404s, not the page", async () => {
    for (const [path, accept] of [
      ["/assets/gone-000.js", "*/*"],
      ["/robots.txt", "*/*"],
      ["/api/nothing-here", "*/*"],
      ["/v1/nothing", "*/*"],
      ["/elsewhere/api/cache-monitor", "*/*"],
      ["/agents", "application/json"],
    ] as const) {
      const response = await fetch(`${env.collector.url}${path}`, { headers: { accept } });
      expect(response.status, path).toBe(404);
      expect(((await response.json()) as any).error.code).toBe("not_found");
    }
    expect((await fetch(`${env.collector.url}/health`)).headers.get("content-type")).toContain("application/json");
  });
});

describe("without a built dashboard", () => {
  it("explains how to build it, and the API still works", async () => {
    const empty = tempDir("vigil-nodash-");
    const { dashboardRoutes } = await import("../../collector/src/routes/dashboard.js");
    const app = dashboardRoutes({ ...env.collector.services, dashboardDir: empty.path });
    const response = await app.request("/");
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("npx -y pnpm@10 build");
    empty.remove();
  });
});
