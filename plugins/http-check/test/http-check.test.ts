import { Agent } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createHttpClient } from "../../../agent/src/runtime/http-client.js";
import plugin from "../src/agent.js";
import { createHarness, createMemoryStore, type Harness } from "./harness.js";
import { closedPort, makeCertificate, startHttpServer, startHttpsServer, type Certificate, type TestServer } from "./servers.js";

const http = createHttpClient({ userAgent: "vigil-agent/test" });
let server: TestServer;
let harnesses: Harness<typeof plugin.configSchema>[] = [];

beforeAll(async () => {
  server = await startHttpServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(async () => {
  for (const harness of harnesses) await harness.stop();
  harnesses = [];
  server.setHealthy(true);
});

function harnessFor(checks: object[], options: { store?: ReturnType<typeof createMemoryStore>; client?: typeof http } = {}) {
  const harness = createHarness({ plugin, config: { checks }, http: options.client ?? http, ...(options.store ? { store: options.store } : {}) });
  harnesses.push(harness);
  return harness;
}

/** Starts a plugin with one check and runs it once; returns the http.check event. */
async function runOnce(check: object, client?: typeof http) {
  const harness = harnessFor([check], client ? { client } : {});
  await harness.instance.start();
  await harness.runAll();
  const [event] = harness.eventsOfType("http.check");
  expect(event).toBeDefined();
  return { event: event!, harness };
}

describe("one run", () => {
  it("passes: status, keyword and JSON path all hold", async () => {
    const { event, harness } = await runOnce({
      name: "api",
      url: server.url("/json"),
      expect_status: [200],
      body_contains: '"status":"ok"',
      json_path: { path: "$.items[0].name", equals: "alpha" },
    });
    expect(event).toMatchObject({
      source: "http",
      type: "http.check",
      severity: "info",
      attrs: { check_name: "api", url_host: new URL(server.origin).host, method: "GET", up: true, status_code: 200, error_class: "none" },
    });
    expect(event.attrs.latency_ms).toBeTypeOf("number");
    expect(event.attrs).not.toHaveProperty("tls_days_left");
    expect(event.body).toMatch(/^api passed: GET 127\.0\.0\.1:\d+ — status 200 \([\d.]+ ms\)$/);
    expect(harness.counters.get('vigil_http_check_runs_total{check="api",result="pass"}')).toBe(1);
    expect(harness.histograms.get('vigil_http_check_latency_seconds{check="api"}')).toHaveLength(1);
  });

  it("sends the configured method, headers and body", async () => {
    const before = server.received.length;
    const { event } = await runOnce({
      name: "post",
      url: server.url("/health"),
      method: "post",
      headers: { Authorization: "Bearer secret-token", "Content-Type": "application/json" },
      body: '{"ping":true}',
    });
    expect(event.attrs).toMatchObject({ method: "POST", up: true });
    const request = server.received[before]!;
    expect(request).toMatchObject({ method: "POST", path: "/health", body: '{"ping":true}' });
    expect(request.headers).toMatchObject({ authorization: "Bearer secret-token", "content-type": "application/json", "user-agent": "vigil-agent/test" });
    expect(JSON.stringify(event)).not.toContain("secret-token");
  });

  it("fails on an unexpected status", async () => {
    const { event } = await runOnce({ name: "api", url: server.url("/error") });
    expect(event).toMatchObject({ severity: "warning", attrs: { up: false, status_code: 503, error_class: "status" } });
    expect(event.body).toContain("status 503, expected 2xx");
  });

  it("passes a status listed by code or class", async () => {
    const { event } = await runOnce({ name: "api", url: server.url("/error"), expect_status: [200, "5xx"] });
    expect(event.attrs).toMatchObject({ up: true, status_code: 503, error_class: "none" });
  });

  it("fails when the keyword is missing", async () => {
    const { event } = await runOnce({ name: "api", url: server.url("/health"), body_contains: "healthy" });
    expect(event).toMatchObject({ severity: "warning", attrs: { up: false, status_code: 200, error_class: "keyword" } });
    expect(event.body).toContain('body lacks "healthy"');
  });

  it("fails when the JSON path holds another value, is absent, or the body is not JSON", async () => {
    const mismatch = await runOnce({ name: "api", url: server.url("/json"), json_path: { path: "$.status", equals: "degraded" } });
    expect(mismatch.event.attrs).toMatchObject({ up: false, status_code: 200, error_class: "json_path" });
    expect(mismatch.event.body).toContain('$.status is "ok", expected "degraded"');

    const absent = await runOnce({ name: "api", url: server.url("/json"), json_path: { path: "$.items[3].name", equals: "alpha" } });
    expect(absent.event.attrs).toMatchObject({ error_class: "json_path" });
    expect(absent.event.body).toContain("$.items[3].name not found");

    const notJson = await runOnce({ name: "api", url: server.url("/health"), json_path: { path: "$.status", equals: "ok" } });
    expect(notJson.event.body).toContain("body is not JSON (status: ok)");
  });

  it("compares the JSON value by type: 200 does not equal \"200\"", async () => {
    const { event } = await runOnce({ name: "api", url: server.url("/json"), json_path: { path: "$.items[0].name", equals: 0 } });
    expect(event.attrs).toMatchObject({ error_class: "json_path" });
  });

  it("fails with error_class timeout when no answer comes in time", async () => {
    const { event, harness } = await runOnce({ name: "slow", url: server.url("/slow"), timeout: "300ms" });
    expect(event).toMatchObject({ severity: "warning", attrs: { up: false, status_code: 0, error_class: "timeout" } });
    expect(event.body).toContain("no answer within 300 ms");
    // Runs without an answer stay out of the latency histogram.
    expect(harness.histograms.size).toBe(0);
    expect(harness.counters.get('vigil_http_check_runs_total{check="slow",result="timeout"}')).toBe(1);
  });

  it("fails with error_class connect when the connection is refused", async () => {
    const port = await closedPort();
    const { event } = await runOnce({ name: "gone", url: `http://127.0.0.1:${port}/health` });
    expect(event.attrs).toMatchObject({ up: false, status_code: 0, error_class: "connect", url_host: `127.0.0.1:${port}` });
  });

  it("fails with error_class dns when the host does not resolve", async () => {
    const { event } = await runOnce({ name: "nowhere", url: "http://vigil-check.invalid/health" });
    expect(event.attrs).toMatchObject({ up: false, status_code: 0, error_class: "dns", url_host: "vigil-check.invalid" });
  });
});

describe("https", () => {
  let certificate: Certificate;
  let tlsServer: TestServer;
  beforeAll(async () => {
    certificate = makeCertificate(10);
    tlsServer = await startHttpsServer(certificate);
  });
  afterAll(async () => {
    await tlsServer.close();
  });

  it("reports the certificate's days left, and warns below tls_days_warn", async () => {
    // The agent's real client, trusting the test certificate the way a private CA would be trusted.
    const trusting = createHttpClient({ userAgent: "vigil-agent/test", dispatcher: new Agent({ connect: { ca: certificate.cert } }) });
    const { event } = await runOnce({ name: "secure", url: tlsServer.url("/health") }, trusting);
    expect(event).toMatchObject({ severity: "warning", attrs: { up: true, status_code: 200, error_class: "none", tls_days_left: 9 } });
    expect(event.body).toContain("certificate expires in 9 days");

    const relaxed = await runOnce({ name: "secure", url: tlsServer.url("/health"), tls_days_warn: 7 }, trusting);
    expect(relaxed.event).toMatchObject({ severity: "info", attrs: { up: true, tls_days_left: 9 } });
  });

  it("fails with error_class tls on an untrusted certificate and still reports its days left", async () => {
    const { event } = await runOnce({ name: "secure", url: tlsServer.url("/health") });
    expect(event).toMatchObject({ severity: "warning", attrs: { up: false, status_code: 0, error_class: "tls", tls_days_left: 9 } });
  });
});

describe("state", () => {
  it("turns down only after N consecutive failures and emits http.state on each change", async () => {
    const harness = harnessFor([
      { name: "flaky", url: server.url("/switch"), failures_before_down: 3 },
      { name: "steady", url: server.url("/health") },
    ]);
    await harness.instance.start();
    expect(harness.instance.status()).toMatchObject({ state: "starting" });
    const stateEvents = () => harness.eventsOfType("http.state").filter((event) => event.attrs.check_name === "flaky");

    await harness.runAll();
    expect(stateEvents()).toHaveLength(1);
    expect(stateEvents()[0]).toMatchObject({
      severity: "notice",
      attrs: { check_name: "flaky", state: "up", previous_state: "unknown", consecutive_failures: 0 },
    });
    expect(harness.instance.status()).toMatchObject({ state: "ok", message: "2 of 2 checks up" });
    expect(harness.gauges.get('vigil_http_check_up{check="flaky"}')).toBe(1);

    server.setHealthy(false);
    await harness.run("check:flaky");
    await harness.run("check:flaky");
    expect(stateEvents()).toHaveLength(1);
    expect(harness.instance.status()).toMatchObject({ state: "ok", details: { flaky: "up (last run: status)", steady: "up" } });

    await harness.run("check:flaky");
    expect(stateEvents()).toHaveLength(2);
    expect(stateEvents()[1]).toMatchObject({
      severity: "error",
      attrs: { check_name: "flaky", state: "down", previous_state: "up", consecutive_failures: 3 },
    });
    expect(stateEvents()[1]!.body).toBe("flaky is down (was up) after 3 consecutive failed runs");
    expect(harness.instance.status()).toMatchObject({ state: "degraded", message: "1 of 2 checks down" });
    expect(harness.gauges.get('vigil_http_check_up{check="flaky"}')).toBe(0);

    await harness.run("check:flaky");
    expect(stateEvents()).toHaveLength(2);

    server.setHealthy(true);
    await harness.run("check:flaky");
    expect(stateEvents()).toHaveLength(3);
    expect(stateEvents()[2]).toMatchObject({ severity: "notice", attrs: { state: "up", previous_state: "down", consecutive_failures: 0 } });
    expect(harness.eventsOfType("http.check").filter((event) => event.attrs.check_name === "flaky")).toHaveLength(6);
    expect(harness.instance.status()).toMatchObject({ state: "ok" });
  });

  it("goes from unknown straight to down when the first runs fail", async () => {
    const harness = harnessFor([{ name: "broken", url: server.url("/error") }]);
    await harness.instance.start();
    await harness.runAll();
    expect(harness.eventsOfType("http.state")).toHaveLength(0);
    expect(harness.instance.status()).toMatchObject({ state: "starting" });
    await harness.runAll();
    expect(harness.eventsOfType("http.state")).toEqual([
      expect.objectContaining({ attrs: { check_name: "broken", state: "down", previous_state: "unknown", consecutive_failures: 2 } }),
    ]);
    expect(harness.instance.status()).toMatchObject({ state: "degraded", message: "1 of 1 checks down" });
  });

  it("survives a restart: no second announcement, and the failure count carries over", async () => {
    const store = createMemoryStore();
    const checks = [{ name: "flaky", url: server.url("/switch") }];
    const first = harnessFor(checks, { store });
    await first.instance.start();
    await first.runAll();
    expect(first.eventsOfType("http.state")).toHaveLength(1);
    server.setHealthy(false);
    await first.runAll();
    await first.stop();

    const second = harnessFor(checks, { store });
    await second.instance.start();
    expect(second.instance.status()).toMatchObject({ state: "ok", message: "1 of 1 checks up" });
    expect(second.gauges.get('vigil_http_check_up{check="flaky"}')).toBe(1);
    await second.runAll();
    expect(second.eventsOfType("http.state")).toEqual([expect.objectContaining({ attrs: expect.objectContaining({ state: "down", previous_state: "up", consecutive_failures: 2 }) })]);
    await second.stop();

    server.setHealthy(true);
    const third = harnessFor(checks, { store });
    await third.instance.start();
    await third.runAll();
    expect(third.eventsOfType("http.state")).toEqual([expect.objectContaining({ attrs: expect.objectContaining({ state: "up", previous_state: "down" }) })]);
  });
});

describe("configuration changes", () => {
  it("onConfig replaces the check list without a restart, keeping unchanged checks' jobs", async () => {
    const harness = harnessFor([
      { name: "kept", url: server.url("/health") },
      { name: "changed", url: server.url("/health") },
      { name: "removed", url: server.url("/error"), failures_before_down: 1 },
    ]);
    await harness.instance.start();
    await harness.runAll();
    expect(Object.keys(harness.store.snapshot().checks as object).sort()).toEqual(["changed", "kept", "removed"]);
    const keptJob = harness.jobs.get("check:kept");

    await harness.changeConfig({
      checks: [
        { name: "kept", url: server.url("/health") },
        { name: "changed", url: server.url("/json"), json_path: { path: "$.status", equals: "ok" }, interval: "5m" },
        { name: "added", url: server.url("/health"), cron: "*/5 * * * *" },
      ],
    });
    expect([...harness.jobs.keys()].sort()).toEqual(["check:added", "check:changed", "check:kept"]);
    expect(harness.jobs.get("check:kept")).toBe(keptJob);
    expect(harness.jobs.get("check:changed")!.when).toEqual({ every: 300_000 });
    expect(harness.jobs.get("check:added")!.when).toEqual({ cron: "*/5 * * * *" });
    expect(Object.keys(harness.store.snapshot().checks as object).sort()).toEqual(["changed", "kept"]);
    expect(harness.instance.status()).toMatchObject({ state: "ok", message: "2 of 3 checks up, 1 not known yet" });

    harness.events.length = 0;
    await harness.runAll();
    expect(harness.eventsOfType("http.check").map((event) => event.attrs.check_name).sort()).toEqual(["added", "changed", "kept"]);
    // The changed check keeps its state (up): only the new one is announced.
    expect(harness.eventsOfType("http.state").map((event) => event.attrs.check_name)).toEqual(["added"]);
  });

  it("reports a check the scheduler refuses and runs the others", async () => {
    const harness = harnessFor([
      { name: "bad-cron", url: server.url("/health"), cron: "61 * * * *" },
      { name: "good", url: server.url("/health") },
    ]);
    await harness.instance.start();
    await harness.runAll();
    expect([...harness.jobs.keys()]).toEqual(["check:good"]);
    expect(harness.instance.status()).toMatchObject({ state: "degraded", message: "1 not scheduled (bad-cron)", details: { "bad-cron": "not scheduled", good: "up" } });
    expect(harness.logs.some((entry) => entry.level === "error" && entry.msg === "check could not be scheduled")).toBe(true);
  });
});

describe("stop", () => {
  it("is safe to call twice and waits for the run in flight", async () => {
    const harness = harnessFor([{ name: "held", url: server.url("/hold") }]);
    await harness.instance.start();
    const run = harness.run("check:held");
    await server.held();

    let stopped = false;
    const first = harness.instance.stop().then(() => (stopped = true));
    const second = harness.instance.stop();
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);

    server.release();
    await Promise.all([first, second, run]);
    expect(stopped).toBe(true);
    expect(harness.eventsOfType("http.check")).toHaveLength(1);
    expect(harness.instance.status()).toEqual({ state: "stopped" });

    await harness.instance.stop();
    await harness.jobs.get("check:held")?.task();
    expect(harness.eventsOfType("http.check")).toHaveLength(1);
  });
});
