// The alerting API as a user meets it, on a collector running in this process with
// embedded ClickHouse: rules refused with the field named, CRUD of rules, routes,
// silences and channels (whose secrets never come back), previews, templates, rule files
// (GitOps), tenant isolation and scopes. Also: the SQL a rule's selection compiles to
// and the JavaScript predicate event rules use pick the same stored events.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "@vigil/plugin-sdk";
import { startInProcess } from "../../test/support/in-process.js";
import { tempDir } from "../../test/support/collector-process.js";
import { eventually } from "../../test/support/eventually.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../test/support/webhook-receiver.js";
import { Params, selectionMatcher, selectionSql, type Selection } from "../src/alerts/compile.js";
import { AlertFileError, readAlertFiles } from "../src/alerts/files.js";
import { filterSchema } from "../src/alerts/rule.js";
import { openSecretBox, type SecretBox } from "../src/alerts/secrets.js";

const HMAC_SECRET = "hmac-secret-for-tests-0123456789";
const URL_TOKEN = "T0KEN-in-the-url-5f3a9c1e7b";
const FILE_URL_TOKEN = "file-T0KEN-9d8c7b6a5f";
const ENV_NAME = "VIGIL_TEST_ALERT_RULES_HOOK_URL";
const PLUGINS = ["@vigil/plugin-social", "@vigil/plugin-reddit", "@vigil/plugin-cache-db", "@vigil/plugin-sms"];

let env: Awaited<ReturnType<typeof startInProcess>>;
/** A webhook consumer that checks signatures (HMAC_SECRET). */
let signed: WebhookReceiver;
/** A webhook consumer without a secret. */
let plain: WebhookReceiver;
let files: { path: string; remove(): void };
let rulesFile: string;
let a: { token: string };
let b: { token: string };

type Env = typeof env;
const request = (...args: Parameters<Env["request"]>) => env.request(...args);

/** Stores events in the tenant of `token` (the bootstrap admin key: tenant "default"). */
async function postEvents(events: { source: string; type: string; attrs?: Record<string, string | number | boolean>; ts?: number; body?: string }[], token?: string) {
  const res = await request("POST", "/v1/events", {
    ...(token ? { token } : {}),
    body: events.map((e) => ({ id: uuidv7(), ts: e.ts ?? Date.now(), source: e.source, type: e.type, attrs: e.attrs ?? {}, body: e.body ?? "" })),
  });
  expect(res.status, res.text).toBe(202);
}

const GITOPS_FILE = `# Alerting as code: one channel (its URL from the environment), a route and two rules.
channels:
  - id: gitops-hook
    name: GitOps hook
    kind: webhook
    config:
      url: \${${ENV_NAME}}
routes:
  - id: gitops-route
    name: GitOps team
    matchers: [{ label: team, value: gitops }]
    channels: [gitops-hook]
    group_wait: 0s
rules:
  - id: gitops-errors
    kind: threshold
    name: GitOps errors
    source: gitops
    aggregation: count
    condition: ">"
    threshold: 1000000
    interval: 30s
    labels: { team: gitops }
  - id: gitops-deploy-failed
    kind: event
    name: GitOps deploy failed
    source: gitops
    type: gitops.deploy
    where: [{ attr: outcome, value: failed }]
    group_by: [app]
    labels: { team: gitops }
`;

beforeAll(async () => {
  signed = await startWebhookReceiver({ secret: HMAC_SECRET });
  plain = await startWebhookReceiver();
  files = tempDir("vigil-alert-files-");
  rulesFile = join(files.path, "gitops.yaml");
  writeFileSync(rulesFile, GITOPS_FILE);
  process.env[ENV_NAME] = `${plain.url}/gitops/${FILE_URL_TOKEN}`;
  env = await startInProcess({ alertFiles: [rulesFile], plugins: PLUGINS, secretKey: "alert-rules-test-secret-key" });
  const ta = await request("POST", "/api/tenants", { body: { id: "alerts-a", name: "Alerts A" } });
  const tb = await request("POST", "/api/tenants", { body: { id: "alerts-b", name: "Alerts B" } });
  expect([ta.status, tb.status]).toEqual([201, 201]);
  a = { token: ta.json.token };
  b = { token: tb.json.token };
});

afterAll(async () => {
  await env?.close();
  await signed?.close();
  await plain?.close();
  files?.remove();
  delete process.env[ENV_NAME];
});

const threshold = (overrides: Record<string, unknown> = {}) => ({ kind: "threshold", name: "Too many errors", source: "api", type: "api.request", aggregation: "count", condition: ">", threshold: 10, ...overrides });

describe("invalid rules are refused with 400, naming the field", () => {
  const cases: { what: string; body: unknown; path: string; message: RegExp }[] = [
    { what: "unknown aggregation", body: threshold({ aggregation: "median" }), path: "aggregation", message: /aggregation must be one of count, sum, avg, min, max, p50, p95, p99, rate, ratio/ },
    { what: "bad duration", body: threshold({ window: "5 minutes" }), path: "window", message: /expected a duration like "30s"/ },
    { what: "bad interval", body: threshold({ interval: "every minute" }), path: "interval", message: /expected a duration like "30s"/ },
    { what: "interval under 5 s", body: threshold({ interval: "1s" }), path: "interval", message: /at least 5s/ },
    { what: "interval longer than window", body: threshold({ interval: "10m", window: "5m" }), path: "interval", message: /interval is longer than window/ },
    { what: "empty group", body: threshold({ group_by: [""] }), path: "group_by.0", message: /must be an attribute name/ },
    { what: "a group named twice", body: threshold({ group_by: ["host", "host"] }), path: "group_by", message: /names an attribute twice/ },
    { what: "sum without field", body: threshold({ aggregation: "sum" }), path: "field", message: /aggregation "sum" needs field/ },
    { what: "count with a field", body: threshold({ field: "latency_ms" }), path: "field", message: /aggregation "count" takes no field/ },
    { what: "avg of a text column", body: threshold({ aggregation: "avg", field: "source" }), path: "field", message: /"source" is text, not a number/ },
    { what: "ratio without numerator", body: threshold({ aggregation: "ratio", denominator: { where: [] } }), path: "numerator", message: /needs numerator and denominator/ },
    { what: "numerator without ratio", body: threshold({ numerator: { where: [] } }), path: "numerator", message: /belong to aggregation "ratio"/ },
    {
      what: "absence with lookback not longer than absent_for",
      body: { kind: "absence", name: "Job silent", source: "jobs", absent_for: "2h", lookback: "1h" },
      path: "lookback",
      message: /lookback must be longer than absent_for/,
    },
    { what: "missing threshold", body: threshold({ threshold: undefined }), path: "threshold", message: /threshold must be a number/ },
    { what: "threshold as text", body: threshold({ threshold: "ten" }), path: "threshold", message: /threshold must be a number/ },
    { what: "unknown condition", body: threshold({ condition: "=>" }), path: "condition", message: /condition must be one of/ },
    { what: "unknown kind", body: { ...threshold(), kind: "sometimes" }, path: "kind", message: /kind must be one of threshold, absence, anomaly, event/ },
    { what: "missing kind", body: { name: "No kind", source: "api" }, path: "kind", message: /kind must be one of/ },
    { what: "unknown top-level key", body: threshold({ treshold: 5 }), path: "", message: /treshold/ },
    { what: "missing name", body: threshold({ name: "" }), path: "name", message: /name is required/ },
    { what: "filter op without value", body: threshold({ where: [{ attr: "status", op: "=" }] }), path: "where.0.value", message: /needs a value/ },
    { what: "numeric comparison with text", body: threshold({ where: [{ attr: "latency_ms", op: ">", value: "slow" }] }), path: "where.0.value", message: /compares numbers/ },
    { what: "unknown filter op", body: threshold({ where: [{ attr: "status", op: "like", value: "x" }] }), path: "where.0.op", message: /op must be one of/ },
    { what: "bad label name", body: threshold({ labels: { "team-name": "x" } }), path: "labels.team-name", message: /label names are letters/ },
    {
      what: "weekly anomaly with a short baseline",
      body: { kind: "anomaly", name: "Spike", source: "api", aggregation: "count", seasonality: "weekly", baseline: "7d" },
      path: "baseline",
      message: /needs a baseline of at least 21d/,
    },
    { what: "agent heartbeats with a filter", body: { kind: "absence", name: "Agent down", of: "agent_heartbeats", absent_for: "1m", source: "x" }, path: "of", message: /groups per agent by itself/ },
  ];

  it.each(cases)("$what", async ({ body, path, message }) => {
    const before = await request("GET", "/api/alerts/rules?limit=1000");
    const res = await request("POST", "/api/alerts/rules", { body });
    expect(res.status, res.text).toBe(400);
    expect(res.json.error.code).toBe("invalid_argument");
    const detail = res.json.error.details.find((d: { path: string }) => d.path === path);
    expect(detail, `details: ${JSON.stringify(res.json.error.details)}`).toBeDefined();
    expect(detail.message).toMatch(message);
    // The summary names the field too.
    expect(res.json.error.message).toMatch(message);
    if (path) expect(res.json.error.message.startsWith(`${path}: `) || res.json.error.message.includes(path)).toBe(true);
    // Nothing was stored.
    const after = await request("GET", "/api/alerts/rules?limit=1000");
    expect(after.json.rules.length).toBe(before.json.rules.length);
  });

  it("a body that is not a rule object is refused", async () => {
    for (const body of [[threshold()], "threshold", 42]) {
      const res = await request("POST", "/api/alerts/rules", { body: JSON.stringify(body), headers: { "content-type": "application/json" } });
      expect(res.status, res.text).toBe(400);
      expect(res.json.error.code).toBe("invalid_argument");
    }
  });

  describe("aggregating an attribute that holds text", () => {
    beforeAll(async () => {
      await postEvents(
        ["ok", "ok", "error", "ok"].map((status, i) => ({ source: "jobs", type: "jobs.run", attrs: { status, duration_ms: 100 + i * 10, job: `job-${i % 2}` } })),
      );
    });

    it("is refused naming `field` and showing example values; the numeric attribute of the same events is accepted", async () => {
      const res = await request("POST", "/api/alerts/rules", { body: threshold({ source: "jobs", type: "jobs.run", aggregation: "avg", field: "status" }) });
      expect(res.status, res.text).toBe(400);
      const detail = res.json.error.details.find((d: { path: string }) => d.path === "field");
      expect(detail.message).toMatch(/attribute "status" holds text, not numbers/);
      expect(detail.message).toContain('"ok"');
      expect(detail.message).toContain('"error"');
      expect(res.json.error.message).toMatch(/^field: /);

      const p95 = await request("POST", "/api/alerts/rules", { body: threshold({ source: "jobs", type: "jobs.run", aggregation: "p95", field: "status" }) });
      expect(p95.status).toBe(400);
      expect(p95.json.error.details[0].path).toBe("field");

      const ratio = await request("POST", "/api/alerts/rules", {
        body: threshold({ source: "jobs", type: "jobs.run", aggregation: "ratio", numerator: { where: [{ attr: "job", value: "job-1" }], field: "status" }, denominator: { where: [] } }),
      });
      expect(ratio.status, ratio.text).toBe(400);
      expect(ratio.json.error.details[0].path).toBe("numerator.field");

      // A preview is refused the same way.
      const preview = await request("POST", "/api/alerts/rules/preview", { body: threshold({ source: "jobs", type: "jobs.run", aggregation: "max", field: "status" }) });
      expect(preview.status).toBe(400);
      expect(preview.json.error.details[0].path).toBe("field");

      const ok = await request("POST", "/api/alerts/rules", { body: threshold({ source: "jobs", type: "jobs.run", aggregation: "avg", field: "duration_ms", threshold: 1000, enabled: false }) });
      expect(ok.status, ok.text).toBe(201);
      await request("DELETE", `/api/alerts/rules/${ok.json.id}`);
    });

    it("an attribute never seen yet is accepted (its events may come later)", async () => {
      const res = await request("POST", "/api/alerts/rules", { body: threshold({ source: "jobs", aggregation: "avg", field: "not_seen_yet", enabled: false }) });
      expect(res.status, res.text).toBe(201);
      await request("DELETE", `/api/alerts/rules/${res.json.id}`);
    });

    it("text in another tenant's events does not refuse a rule: each tenant's data is its own", async () => {
      const res = await request("POST", "/api/alerts/rules", { token: b.token, body: threshold({ source: "jobs", type: "jobs.run", aggregation: "avg", field: "status", enabled: false }) });
      expect(res.status, res.text).toBe(201);
      await request("DELETE", `/api/alerts/rules/${res.json.id}`, { token: b.token });
    });
  });
});

describe("rules: create, list, get, replace, delete", () => {
  it("round-trips a rule as written, durations as text, with its origin and status", async () => {
    const body = threshold({ id: "crud-errors", name: "API errors", where: [{ attr: "status_code", op: ">=", value: 500 }], window: "10m", interval: "1m", for: "2m", group_by: ["route"], labels: { severity: "critical" }, annotations: { summary: "{{value}} errors on {{labels.route}}" } });
    const created = await request("POST", "/api/alerts/rules", { body });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ ...body, origin: "api", status: { last_error: null } });
    expect(created.json.window).toBe("10m");
    expect(created.json.updated_at).toMatch(/^\d{4}-\d\d-\d\dT/);

    const again = await request("POST", "/api/alerts/rules", { body });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("failed_precondition");
    expect(again.json.error.message).toContain("PUT /api/alerts/rules/crud-errors");

    const got = await request("GET", "/api/alerts/rules/crud-errors");
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ id: "crud-errors", name: "API errors", kind: "threshold", groups: [] });

    const list = await request("GET", "/api/alerts/rules?limit=1000");
    expect(list.json.rules.map((r: { id: string }) => r.id)).toContain("crud-errors");
    const onlyAbsence = await request("GET", "/api/alerts/rules?kind=absence&limit=1000");
    expect(onlyAbsence.json.rules.every((r: { kind: string }) => r.kind === "absence")).toBe(true);
    expect(onlyAbsence.json.rules.map((r: { id: string }) => r.id)).not.toContain("crud-errors");
    const badKind = await request("GET", "/api/alerts/rules?kind=sometimes");
    expect(badKind.status).toBe(400);

    const replaced = await request("PUT", "/api/alerts/rules/crud-errors", { body: { ...body, threshold: 25, name: "API errors (raised)" } });
    expect(replaced.status, replaced.text).toBe(200);
    expect(replaced.json).toMatchObject({ id: "crud-errors", threshold: 25, name: "API errors (raised)" });
    expect((await request("GET", "/api/alerts/rules/crud-errors")).json.threshold).toBe(25);

    // A bad replacement changes nothing.
    const badPut = await request("PUT", "/api/alerts/rules/crud-errors", { body: { ...body, window: "5 minutes" } });
    expect(badPut.status).toBe(400);
    expect(badPut.json.error.details[0].path).toBe("window");
    expect((await request("GET", "/api/alerts/rules/crud-errors")).json.threshold).toBe(25);

    const deleted = await request("DELETE", "/api/alerts/rules/crud-errors");
    expect(deleted.status).toBe(204);
    expect((await request("GET", "/api/alerts/rules/crud-errors")).status).toBe(404);
    expect((await request("DELETE", "/api/alerts/rules/crud-errors")).status).toBe(404);
    expect((await request("PUT", "/api/alerts/rules/crud-errors", { body })).status).toBe(404);
    const listAfter = await request("GET", "/api/alerts/rules?limit=1000");
    expect(listAfter.json.rules.map((r: { id: string }) => r.id)).not.toContain("crud-errors");
  });

  it("gives a rule an id when none is given, and pages the list", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request("POST", "/api/alerts/rules", { body: { kind: "event", name: `paged ${i}`, source: "paging", enabled: false } });
      expect(res.status, res.text).toBe(201);
      expect(res.json.id).toMatch(/^rule_[0-9a-f]{16}$/);
      ids.push(res.json.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<Env["request"]>> = await request("GET", `/api/alerts/rules?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      expect(page.status).toBe(200);
      expect(page.json.rules.length).toBeLessThanOrEqual(2);
      seen.push(...page.json.rules.map((r: { id: string }) => r.id));
      cursor = page.json.next_cursor;
    } while (cursor);
    expect(seen).toEqual(expect.arrayContaining(ids));
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of ids) expect((await request("DELETE", `/api/alerts/rules/${id}`)).status).toBe(204);
  });
});

describe("channels: secrets are stored sealed and never returned", () => {
  let channelId: string;
  const config = () => ({ url: `${signed.url}/hooks/${URL_TOKEN}`, hmac_secret: HMAC_SECRET });

  beforeAll(async () => {
    const res = await request("POST", "/api/alerts/channels", { body: { name: "Ops webhook", kind: "webhook", config: config() } });
    expect(res.status, res.text).toBe(201);
    channelId = res.json.id;
  });

  it("create, get and list show which secret fields are set, never their values", async () => {
    const created = await request("GET", `/api/alerts/channels/${channelId}`);
    const list = await request("GET", "/api/alerts/channels");
    for (const res of [created, list]) {
      expect(res.status).toBe(200);
      expect(res.text).not.toContain(URL_TOKEN);
      expect(res.text).not.toContain(HMAC_SECRET);
      expect(res.text).not.toContain(signed.url);
    }
    expect(created.json).toMatchObject({ id: channelId, name: "Ops webhook", kind: "webhook", config: {}, secrets_set: ["hmac_secret", "url"], origin: "api" });
    expect(list.json.channels.map((c: { id: string }) => c.id)).toContain(channelId);
  });

  it("the stored row holds the secrets sealed, not in the clear", async () => {
    const db = env.collector.services.db;
    const rows = await db.query<{ spec: string; secrets: string }>(`SELECT spec, secrets FROM ${db.table("alert_channels")} FINAL WHERE tenant = 'default' AND id = {id:String}`, { id: channelId });
    expect(rows).toHaveLength(1);
    const { spec, secrets } = rows[0]!;
    expect(secrets).toMatch(/^v1:/);
    for (const text of [spec, secrets]) {
      expect(text).not.toContain(URL_TOKEN);
      expect(text).not.toContain(HMAC_SECRET);
      expect(text).not.toContain(signed.url);
    }
  });

  it("POST /:id/test delivers a signed Alertmanager v4 body to the channel's URL", async () => {
    const before = signed.requests.length;
    const res = await request("POST", `/api/alerts/channels/${channelId}/test`);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ ok: true, parts: 1 });
    expect(res.text).not.toContain(URL_TOKEN);
    const received = signed.requests.slice(before);
    expect(received).toHaveLength(1);
    const [delivery] = received;
    expect(delivery!.path).toBe(`/hooks/${URL_TOKEN}`);
    expect(delivery!.signatureValid).toBe(true);
    expect(delivery!.notificationId).toBe(res.json.notification_id);
    const body = JSON.parse(delivery!.rawBody);
    expect(body).toMatchObject({ version: "4", status: "firing", receiver: "Ops webhook", notificationId: res.json.notification_id });
    expect(body.alerts[0].labels.alertname).toBe("VigilTest");
  });

  it("a replace without the secret fields keeps them: the channel still delivers, signed, to the same URL", async () => {
    const res = await request("PUT", `/api/alerts/channels/${channelId}`, { body: { name: "Ops webhook (renamed)", kind: "webhook", config: {} } });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ name: "Ops webhook (renamed)", secrets_set: ["hmac_secret", "url"] });
    expect(res.text).not.toContain(URL_TOKEN);
    const before = signed.requests.length;
    const test = await request("POST", `/api/alerts/channels/${channelId}/test`);
    expect(test.status, test.text).toBe(200);
    const [delivery] = signed.requests.slice(before);
    expect(delivery!.path).toBe(`/hooks/${URL_TOKEN}`);
    expect(delivery!.signatureValid).toBe(true);
    expect(JSON.parse(delivery!.rawBody).receiver).toBe("Ops webhook (renamed)");
  });

  it("a replace that sets a secret field uses the new value", async () => {
    const other = `other-${URL_TOKEN}`;
    const res = await request("PUT", `/api/alerts/channels/${channelId}`, { body: { name: "Ops webhook", kind: "webhook", config: { url: `${signed.url}/hooks/${other}` } } });
    expect(res.status, res.text).toBe(200);
    expect(res.text).not.toContain(other);
    const before = signed.requests.length;
    expect((await request("POST", `/api/alerts/channels/${channelId}/test`)).status).toBe(200);
    const [delivery] = signed.requests.slice(before);
    expect(delivery!.path).toBe(`/hooks/${other}`);
    expect(delivery!.signatureValid).toBe(true);
  });

  it("a destination answering 500 makes the test 502 with an error that names no token", async () => {
    const failing = await request("POST", "/api/alerts/channels", { body: { name: "Failing", kind: "webhook", config: { url: `${plain.url}/broken/${URL_TOKEN}` } } });
    expect(failing.status).toBe(201);
    plain.answerNext(500, { body: JSON.stringify({ error: "database is on fire" }) });
    const res = await request("POST", `/api/alerts/channels/${failing.json.id}/test`);
    expect(res.status, res.text).toBe(502);
    expect(res.json.ok).toBe(false);
    expect(res.json.error).toMatch(/answered 500/);
    expect(res.json.error).toContain("database is on fire");
    expect(res.text).not.toContain(URL_TOKEN);
    expect(res.text).not.toContain("/broken/");
    expect((await request("DELETE", `/api/alerts/channels/${failing.json.id}`)).status).toBe(204);
  });

  it("refuses a config that would not work, naming the field", async () => {
    const badUrl = await request("POST", "/api/alerts/channels", { body: { name: "x", kind: "webhook", config: { url: "ftp://example.com/hook" } } });
    expect(badUrl.status).toBe(400);
    expect(badUrl.json.error.details[0].path).toBe("config.url");
    const shortSecret = await request("POST", "/api/alerts/channels", { body: { name: "x", kind: "webhook", config: { url: "https://example.com/hook", hmac_secret: "short" } } });
    expect(shortSecret.status).toBe(400);
    expect(shortSecret.json.error.details[0].path).toBe("config.hmac_secret");
    const badKind = await request("POST", "/api/alerts/channels", { body: { name: "x", kind: "pigeon", config: {} } });
    expect(badKind.status).toBe(400);
    expect(badKind.json.error.details[0].path).toBe("kind");
    const noUrl = await request("POST", "/api/alerts/channels", { body: { name: "x", kind: "webhook", config: {} } });
    expect(noUrl.status).toBe(400);
    expect(noUrl.json.error.details[0].path).toBe("config.url");
  });

  it("unknown ids answer 404; a channel used by a route cannot be deleted", async () => {
    expect((await request("GET", "/api/alerts/channels/nope")).status).toBe(404);
    expect((await request("POST", "/api/alerts/channels/nope/test")).status).toBe(404);
    expect((await request("DELETE", "/api/alerts/channels/nope")).status).toBe(404);
    const route = await request("POST", "/api/alerts/routes", { body: { name: "uses ops", channels: [channelId], matchers: [{ label: "team", value: "nobody" }] } });
    expect(route.status, route.text).toBe(201);
    const refused = await request("DELETE", `/api/alerts/channels/${channelId}`);
    expect(refused.status).toBe(409);
    expect(refused.json.error.message).toContain(route.json.id);
    expect((await request("DELETE", `/api/alerts/routes/${route.json.id}`)).status).toBe(204);
  });
});

describe("routes", () => {
  let channelId: string;
  beforeAll(async () => {
    const res = await request("POST", "/api/alerts/channels", { body: { name: "routes hook", kind: "webhook", config: { url: `${plain.url}/routes` } } });
    channelId = res.json.id;
  });

  it("a route naming an unknown channel is refused; a valid one round-trips with its durations as text", async () => {
    const unknown = await request("POST", "/api/alerts/routes", { body: { name: "bad", channels: [channelId, "ch_does_not_exist"] } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.details[0].path).toBe("channels");
    expect(unknown.json.error.message).toContain('"ch_does_not_exist"');
    expect(unknown.json.error.message).not.toContain(channelId);

    const noChannels = await request("POST", "/api/alerts/routes", { body: { name: "bad", channels: [] } });
    expect(noChannels.status).toBe(400);
    expect(noChannels.json.error.details[0].path).toBe("channels");
    const badWait = await request("POST", "/api/alerts/routes", { body: { name: "bad", channels: [channelId], group_wait: "soon" } });
    expect(badWait.status).toBe(400);
    expect(badWait.json.error.details[0].path).toBe("group_wait");
    const badRegex = await request("POST", "/api/alerts/routes", { body: { name: "bad", channels: [channelId], matchers: [{ label: "service", op: "=~", value: "api(" }] } });
    expect(badRegex.status).toBe(400);
    expect(badRegex.json.error.details[0].path).toBe("matchers.0.value");

    const created = await request("POST", "/api/alerts/routes", {
      body: { id: "crit-route", name: "critical", channels: [channelId], matchers: [{ label: "severity", value: "critical" }], group_wait: "10s", position: 5 },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ id: "crit-route", group_wait: "10s", group_interval: "5m", repeat_interval: "4h", group_by: ["alertname"], send_resolved: true, position: 5, origin: "api" });
    expect((await request("POST", "/api/alerts/routes", { body: { id: "crit-route", name: "again", channels: [channelId] } })).status).toBe(409);

    const second = await request("POST", "/api/alerts/routes", { body: { id: "first-route", name: "first", channels: [channelId], position: 1, matchers: [{ label: "team", value: "x" }] } });
    expect(second.status).toBe(201);
    const list = await request("GET", "/api/alerts/routes");
    const ids = list.json.routes.map((r: { id: string }) => r.id);
    // Listed in the order they are tried.
    expect(ids.indexOf("first-route")).toBeLessThan(ids.indexOf("crit-route"));

    const put = await request("PUT", "/api/alerts/routes/crit-route", { body: { name: "critical", channels: [channelId], group_wait: "1m", repeat_interval: "12h" } });
    expect(put.status, put.text).toBe(200);
    expect(put.json).toMatchObject({ group_wait: "1m", repeat_interval: "12h" });
    const putUnknown = await request("PUT", "/api/alerts/routes/crit-route", { body: { name: "critical", channels: ["ch_gone"] } });
    expect(putUnknown.status).toBe(400);
    expect((await request("GET", "/api/alerts/routes/crit-route")).json.group_wait).toBe("1m");

    for (const id of ["crit-route", "first-route"]) expect((await request("DELETE", `/api/alerts/routes/${id}`)).status).toBe(204);
    expect((await request("GET", "/api/alerts/routes/crit-route")).status).toBe(404);
    expect((await request("PUT", "/api/alerts/routes/crit-route", { body: { name: "x", channels: [channelId] } })).status).toBe(404);
  });
});

describe("silences", () => {
  const matchers = [{ label: "service", value: "billing" }];

  it("refuses a silence that would never apply, or says nothing about why", async () => {
    const past = await request("POST", "/api/alerts/silences", { body: { matchers, ends_at: new Date(Date.now() - 60_000).toISOString(), comment: "too late" } });
    expect(past.status).toBe(400);
    expect(past.json.error.details[0].path).toBe("ends_at");
    expect(past.json.error.message).toMatch(/ends_at is in the past/);
    const backwards = await request("POST", "/api/alerts/silences", {
      body: { matchers, starts_at: new Date(Date.now() + 2 * 3_600_000).toISOString(), ends_at: new Date(Date.now() + 3_600_000).toISOString(), comment: "backwards" },
    });
    expect(backwards.status).toBe(400);
    expect(backwards.json.error.details[0].path).toBe("ends_at");
    const noComment = await request("POST", "/api/alerts/silences", { body: { matchers, ends_at: Date.now() + 3_600_000, comment: " " } });
    expect(noComment.status).toBe(400);
    expect(noComment.json.error.details[0].path).toBe("comment");
    const noMatchers = await request("POST", "/api/alerts/silences", { body: { matchers: [], ends_at: Date.now() + 3_600_000, comment: "everything" } });
    expect(noMatchers.status).toBe(400);
    expect(noMatchers.json.error.details[0].path).toBe("matchers");
    const badTime = await request("POST", "/api/alerts/silences", { body: { matchers, ends_at: "tomorrow-ish", comment: "vague" } });
    expect(badTime.status).toBe(400);
    expect(badTime.json.error.details[0].path).toBe("ends_at");
  });

  it("lists silences by state: pending, active, and expired once ended", async () => {
    const now = Date.now();
    const active = await request("POST", "/api/alerts/silences", { body: { matchers, ends_at: new Date(now + 3_600_000).toISOString(), comment: "billing deploy" } });
    expect(active.status, active.text).toBe(201);
    expect(active.json).toMatchObject({ state: "active", comment: "billing deploy", created_by: "key:bootstrap admin key", matches_now: 0 });
    const pending = await request("POST", "/api/alerts/silences", { body: { matchers, starts_at: now + 3_600_000, ends_at: now + 7_200_000, comment: "tonight's maintenance", created_by: "alice" } });
    expect(pending.status, pending.text).toBe(201);
    expect(pending.json).toMatchObject({ state: "pending", created_by: "alice" });

    const ids = async (state: string) => (await request("GET", `/api/alerts/silences?state=${state}`)).json.silences.map((s: { id: string }) => s.id);
    expect(await ids("active")).toContain(active.json.id);
    expect(await ids("active")).not.toContain(pending.json.id);
    expect(await ids("pending")).toEqual([pending.json.id]);
    expect(await ids("expired")).not.toContain(active.json.id);

    // Ending a silence keeps it, expired, for the record.
    expect((await request("DELETE", `/api/alerts/silences/${active.json.id}`)).status).toBe(204);
    expect(await ids("expired")).toContain(active.json.id);
    expect(await ids("active")).not.toContain(active.json.id);
    const ended = await request("GET", `/api/alerts/silences/${active.json.id}`);
    expect(ended.json.state).toBe("expired");

    const extended = await request("PUT", `/api/alerts/silences/${pending.json.id}`, { body: { matchers, ends_at: now + 10_800_000, comment: "longer maintenance" } });
    expect(extended.status, extended.text).toBe(200);
    expect(extended.json).toMatchObject({ state: "active", comment: "longer maintenance", created_by: "alice" });
    expect((await request("GET", "/api/alerts/silences?state=soon")).status).toBe(400);
    expect((await request("GET", "/api/alerts/silences/sil_nope")).status).toBe(404);
    await request("DELETE", `/api/alerts/silences/${pending.json.id}`);
  });
});

describe("preview: a rule's current values, without saving it", () => {
  beforeAll(async () => {
    const regions = ["eu", "eu", "eu", "us", "us", "ap"];
    await postEvents(regions.map((region, i) => ({ source: "preview", type: "preview.hit", attrs: { region, latency_ms: 100 * (i + 1) } })));
    const now = Date.now();
    await postEvents([
      { source: "preview", type: "preview.beat", attrs: { host: "quiet-1" }, ts: now - 30 * 60_000 },
      { source: "preview", type: "preview.beat", attrs: { host: "busy-1" }, ts: now - 1_000 },
    ]);
  });

  it("threshold: each group's value and whether it crosses the threshold", async () => {
    const before = (await request("GET", "/api/alerts/rules?limit=1000")).json.rules.length;
    const res = await request("POST", "/api/alerts/rules/preview", { body: threshold({ source: "preview", type: "preview.hit", group_by: ["region"], threshold: 1 }) });
    expect(res.status, res.text).toBe(200);
    const byRegion = Object.fromEntries(res.json.samples.map((s: { labels: { region: string }; value: number; active: boolean }) => [s.labels.region, [s.value, s.active]]));
    expect(byRegion).toEqual({ eu: [3, true], us: [2, true], ap: [1, false] });
    expect(res.json.no_data).toBe(false);
    expect((await request("GET", "/api/alerts/rules?limit=1000")).json.rules.length).toBe(before);

    const avg = await request("POST", "/api/alerts/rules/preview", { body: threshold({ source: "preview", type: "preview.hit", aggregation: "max", field: "latency_ms", group_by: ["region"], threshold: 450 }) });
    expect(avg.status, avg.text).toBe(200);
    const max = Object.fromEntries(avg.json.samples.map((s: { labels: { region: string }; value: number; active: boolean }) => [s.labels.region, [s.value, s.active]]));
    expect(max).toEqual({ eu: [300, false], us: [500, true], ap: [600, true] });

    const nothing = await request("POST", "/api/alerts/rules/preview", { body: threshold({ source: "preview-none", aggregation: "avg", field: "latency_ms" }) });
    expect(nothing.json).toMatchObject({ samples: [], no_data: true });
  });

  it("absence: per group, how long it has been silent", async () => {
    const res = await request("POST", "/api/alerts/rules/preview", { body: { kind: "absence", name: "Host silent", source: "preview", type: "preview.beat", group_by: ["host"], absent_for: "10m", lookback: "2h" } });
    expect(res.status, res.text).toBe(200);
    const byHost = Object.fromEntries(res.json.samples.map((s: { labels: { host: string }; value: number; active: boolean }) => [s.labels.host, s]));
    expect(byHost["quiet-1"].active).toBe(true);
    expect(byHost["quiet-1"].value).toBeGreaterThanOrEqual(30 * 60);
    expect(byHost["quiet-1"].value).toBeLessThan(40 * 60);
    expect(byHost["busy-1"].active).toBe(false);
    expect(byHost["busy-1"].value).toBeLessThan(10 * 60);
    // Without group_by: one sample, silent for the whole lookback when nothing matched.
    const none = await request("POST", "/api/alerts/rules/preview", { body: { kind: "absence", name: "Nothing", source: "preview-none", absent_for: "10m", lookback: "2h" } });
    expect(none.json.samples).toEqual([{ labels: {}, value: 7200, active: true }]);
  });

  it("event rules say they have no current value; anomaly rules say how much history they still need", async () => {
    const event = await request("POST", "/api/alerts/rules/preview", { body: { kind: "event", name: "E", source: "preview" } });
    expect(event.status).toBe(200);
    expect(event.json.note).toMatch(/at ingest/);
    const anomaly = await request("POST", "/api/alerts/rules/preview", { body: { kind: "anomaly", name: "Spike", source: "preview", type: "preview.hit", aggregation: "count", window: "5m", baseline: "1d" } });
    expect(anomaly.status, anomaly.text).toBe(200);
    expect(anomaly.json.history).toMatchObject({ need_s: 3600, ready: false });
    expect(anomaly.json.history.have_s).toBeLessThan(3600);
  });

  it("tenant B's preview sees only B's events", async () => {
    await postEvents(Array.from({ length: 5 }, () => ({ source: "shared", type: "shared.hit", attrs: { kind: "x" } })), a.token);
    await postEvents(Array.from({ length: 2 }, () => ({ source: "shared", type: "shared.hit", attrs: { kind: "x" } })), b.token);
    const body = threshold({ source: "shared", type: "shared.hit", group_by: ["kind"], threshold: 0 });
    const ofA = await request("POST", "/api/alerts/rules/preview", { token: a.token, body });
    const ofB = await request("POST", "/api/alerts/rules/preview", { token: b.token, body });
    const ofDefault = await request("POST", "/api/alerts/rules/preview", { body });
    expect(ofA.json.samples).toEqual([{ labels: { kind: "x" }, value: 5, active: true }]);
    expect(ofB.json.samples).toEqual([{ labels: { kind: "x" }, value: 2, active: true }]);
    expect(ofDefault.json.samples).toEqual([]);
  });
});

describe("a selection's SQL and its JavaScript predicate pick the same events", () => {
  const SOURCE = "agree";
  const samples: Record<string, string | number | boolean>[] = [
    { n: 5 },
    { n: "5" },
    { n: 5.5 },
    { n: -3 },
    { n: 0 },
    { n: "-0" },
    { n: "007" },
    { n: "+5" },
    { n: ".5" },
    { n: "5." },
    { n: "1e3" },
    { n: "1E3" },
    { n: 1e21 },
    { n: "1e400" },
    { n: "inf" },
    { n: "-Infinity" },
    { n: "nan" },
    { n: " 5" },
    { n: "5 " },
    { n: "0x10" },
    { n: "0b101" },
    { n: "1_000" },
    { n: "abc" },
    { n: "" },
    { n: true },
    { n: false },
    {},
    { s: "hello world" },
    { s: "Hello" },
    { s: "" },
    { s: "héllo wörld ✓" },
    { flag: true },
    { flag: "true" },
    { flag: "TRUE" },
    { n: 10, s: "error: timeout", region: "eu-west" },
    { n: "12", s: "error: refused", region: "us-east" },
  ];
  const filters: Record<string, unknown>[] = [
    { attr: "n", value: 5 },
    { attr: "n", op: "=", value: "5" },
    { attr: "n", op: "=", value: 0 },
    { attr: "n", op: "=", value: 1000 },
    { attr: "n", op: "!=", value: 5 },
    { attr: "n", op: "!=", value: "5" },
    { attr: "n", op: ">", value: 4 },
    { attr: "n", op: ">", value: 1e20 },
    { attr: "n", op: ">=", value: 5 },
    { attr: "n", op: "<", value: 5 },
    { attr: "n", op: "<", value: -1e9 },
    { attr: "n", op: "<=", value: 5.5 },
    { attr: "n", op: ">=", value: -3 },
    { attr: "n", op: "in", value: [5, "abc", "1e3"] },
    { attr: "n", op: "in", value: [true] },
    { attr: "n", op: "in", value: [""] },
    { attr: "n", op: "not_in", value: ["5", "abc"] },
    { attr: "n", op: "contains", value: "5" },
    { attr: "n", op: "exists" },
    { attr: "n", op: "not_exists" },
    { attr: "s", op: "contains", value: "world" },
    { attr: "s", op: "contains", value: "wörld" },
    { attr: "s", op: "contains", value: "hello" },
    { attr: "s", op: "contains", value: "" },
    { attr: "s", op: "=", value: "" },
    { attr: "s", op: "!=", value: "" },
    { attr: "s", op: "=", value: "Hello" },
    { attr: "flag", value: true },
    { attr: "flag", op: "!=", value: true },
    { attr: "flag", op: "=", value: "true" },
    { attr: "region", op: "in", value: ["eu-west", "ap-south"] },
    { attr: "region", op: "not_in", value: ["eu-west"] },
  ];
  const selections: Selection[] = [
    ...filters.map((f) => ({ source: SOURCE, where: [filterSchema.parse(f)] })),
    { source: SOURCE, type: "agree.a", where: [] },
    { source: SOURCE, type: ["agree.a", "agree.b"], where: [filterSchema.parse({ attr: "n", op: "exists" })] },
    { source: SOURCE, where: [filterSchema.parse({ attr: "n", op: ">", value: 0 }), filterSchema.parse({ attr: "s", op: "contains", value: "error" })] },
    { source: SOURCE, type: "agree.none", where: [] },
  ];
  let stored: { id: string; source: string; type: string; attrs: Record<string, string> }[];

  beforeAll(async () => {
    await postEvents(samples.map((attrs, i) => ({ source: SOURCE, type: `agree.${"abc"[i % 3]}`, attrs })));
    const db = env.collector.services.db;
    stored = await db.query(`SELECT toString(id) AS id, source, type, attrs FROM ${db.table("events")} WHERE tenant = 'default' AND source = {source:String}`, { source: SOURCE });
    expect(stored).toHaveLength(samples.length);
  });

  it("for every filter op, on numbers, text, booleans, missing and odd values", async () => {
    const db = env.collector.services.db;
    const disagreements: unknown[] = [];
    let matchedSomething = 0;
    for (const selection of selections) {
      const params = new Params();
      const sql = `SELECT toString(id) AS id FROM ${db.table("events")} WHERE tenant = 'default' AND ${selectionSql(selection, params)}`;
      const bySql = (await db.query<{ id: string }>(sql, params.values)).map((r) => r.id).sort();
      const match = selectionMatcher(selection);
      const byJs = stored
        .filter((e) => match(e))
        .map((e) => e.id)
        .sort();
      if (bySql.length) matchedSomething++;
      if (JSON.stringify(bySql) !== JSON.stringify(byJs)) {
        const attrsOf = (ids: string[]) => ids.map((id) => stored.find((e) => e.id === id)?.attrs);
        disagreements.push({ selection, onlySql: attrsOf(bySql.filter((id) => !byJs.includes(id))), onlyJs: attrsOf(byJs.filter((id) => !bySql.includes(id))) });
      }
    }
    expect(disagreements, JSON.stringify(disagreements, null, 1)).toEqual([]);
    // The samples exercise the filters: most select something, none selects everything.
    expect(matchedSomething).toBeGreaterThan(selections.length / 2);
  });
});

describe("templates", () => {
  it("lists the collector's own templates and those of the loaded plugins; each is a rule", async () => {
    const res = await request("GET", "/api/alerts/templates");
    expect(res.status).toBe(200);
    const ids = res.json.templates.map((t: { id: string }) => t.id);
    expect(ids).toEqual(expect.arrayContaining(["agent-silent", "sms-server-down"]));
    expect(new Set(ids).size).toBe(ids.length);
    for (const t of res.json.templates) {
      expect(t.title, t.id).toEqual(expect.any(String));
      expect(t.rule.kind, t.id).toMatch(/^(threshold|absence|anomaly|event)$/);
    }
    const silent = res.json.templates.find((t: { id: string }) => t.id === "agent-silent");
    expect(silent.rule).toMatchObject({ kind: "absence", of: "agent_heartbeats", absent_for: "30s" });
  });

  it("every listed template installs as a valid rule", async () => {
    const tenant = await request("POST", "/api/tenants", { body: { id: "alerts-templates", name: "Templates" } });
    expect(tenant.status).toBe(201);
    const token = tenant.json.token;
    const { templates } = (await request("GET", "/api/alerts/templates", { token })).json;
    for (const template of templates) {
      const res = await request("POST", `/api/alerts/templates/${template.id}/install`, { token, body: {} });
      expect(res.status, `${template.id}: ${res.text}`).toBe(201);
      expect(res.json).toMatchObject({ kind: template.rule.kind, name: template.rule.name, origin: `template:${template.id}` });
      const got = await request("GET", `/api/alerts/rules/${res.json.id}`, { token });
      expect(got.status).toBe(200);
    }
    const listed = (await request("GET", "/api/alerts/rules?limit=1000", { token })).json.rules;
    expect(listed).toHaveLength(templates.length);
  });

  it("installs with overrides; refuses bad overrides, unknown templates and taken ids", async () => {
    const res = await request("POST", "/api/alerts/templates/agent-silent/install", { token: a.token, body: { id: "agents-silent", overrides: { name: "Agents quiet", absent_for: "2m", labels: { severity: "warning", team: "infra" } } } });
    expect(res.status, res.text).toBe(201);
    expect(res.json).toMatchObject({ id: "agents-silent", name: "Agents quiet", absent_for: "2m", labels: { severity: "warning", team: "infra" }, of: "agent_heartbeats" });
    const taken = await request("POST", "/api/alerts/templates/agent-silent/install", { token: a.token, body: { id: "agents-silent" } });
    expect(taken.status).toBe(409);
    const bad = await request("POST", "/api/alerts/templates/agent-silent/install", { token: a.token, body: { overrides: { absent_for: "a while" } } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details[0].path).toBe("absent_for");
    const typo = await request("POST", "/api/alerts/templates/agent-silent/install", { token: a.token, body: { overide: {} } });
    expect(typo.status).toBe(400);
    const unknown = await request("POST", "/api/alerts/templates/no-such-template/install", { token: a.token, body: {} });
    expect(unknown.status).toBe(404);
    expect((await request("DELETE", "/api/alerts/rules/agents-silent", { token: a.token })).status).toBe(204);
  });
});

describe("rule files (GitOps)", () => {
  let box: SecretBox;
  let dir: { path: string; remove(): void };
  const fileEnv = { [ENV_NAME]: `https://hooks.example.com/${FILE_URL_TOKEN}` };
  const write = (name: string, text: string) => {
    const path = join(dir.path, name);
    writeFileSync(path, text);
    return path;
  };

  beforeAll(async () => {
    dir = tempDir("vigil-alert-file-cases-");
    box = await openSecretBox({ secretKey: "x".repeat(20), dataDir: dir.path });
  });
  afterAll(() => dir?.remove());

  it("a valid file gives its channel (secret sealed, from the environment), route and rules", () => {
    const path = write("valid.yaml", GITOPS_FILE);
    const read = readAlertFiles([path], box, fileEnv);
    expect(read.paths).toEqual([path]);
    expect(read.channels).toHaveLength(1);
    const [channel] = read.channels;
    expect(channel).toMatchObject({ tenant: "default", id: "gitops-hook", prepared: { spec: { name: "GitOps hook", kind: "webhook", config: {}, secret_fields: ["url"], origin: `file:${path}` } } });
    expect(JSON.stringify(channel!.prepared.spec)).not.toContain(FILE_URL_TOKEN);
    expect(channel!.prepared.secrets).not.toContain(FILE_URL_TOKEN);
    expect(box.open(channel!.prepared.secrets)).toEqual({ url: fileEnv[ENV_NAME] });
    expect(read.routes).toEqual([expect.objectContaining({ id: "gitops-route", spec: expect.objectContaining({ channels: ["gitops-hook"], group_wait: 0, origin: `file:${path}` }) })]);
    expect(read.rules.map((r) => [r.id, r.stored.rule.kind, r.stored.origin])).toEqual([
      ["gitops-errors", "threshold", `file:${path}`],
      ["gitops-deploy-failed", "event", `file:${path}`],
    ]);
    // The rule keeps what the user wrote (durations as text) and runs on milliseconds.
    expect(read.rules[0]!.stored.input.interval).toBe("30s");
    expect(read.rules[0]!.stored.rule.interval).toBe(30_000);
  });

  it("a folder is read file by file (YAML only), and one tenant's ids must be unique across them", () => {
    const folder = join(dir.path, "folder");
    mkdirSync(folder);
    writeFileSync(join(folder, "a.yaml"), "rules:\n  - { id: r1, kind: event, name: One, source: x }\n");
    writeFileSync(join(folder, "b.yml"), "rules:\n  - { id: r2, kind: event, name: Two, source: x }\n");
    writeFileSync(join(folder, "notes.txt"), "not a rule file");
    const read = readAlertFiles([folder], box, {});
    expect(read.rules.map((r) => r.id)).toEqual(["r1", "r2"]);
    writeFileSync(join(folder, "c.yaml"), "rules:\n  - { id: r1, kind: event, name: Again, source: x }\n");
    expect(() => readAlertFiles([folder], box, {})).toThrow(/c\.yaml: rules\[0\]: rule id "r1" is used twice/);
    // The same id in another tenant is another rule.
    writeFileSync(join(folder, "c.yaml"), "tenant: alerts-b\nrules:\n  - { id: r1, kind: event, name: Again, source: x }\n");
    expect(readAlertFiles([folder], box, {}).rules.map((r) => `${r.tenant}/${r.id}`)).toEqual(["default/r1", "default/r2", "alerts-b/r1"]);
  });

  const refused = (name: string, text: string, env: NodeJS.ProcessEnv = fileEnv): string => {
    const path = write(name, text);
    try {
      readAlertFiles([path], box, env);
    } catch (error) {
      expect(error).toBeInstanceOf(AlertFileError);
      const message = (error as Error).message;
      expect(message.startsWith(`${path}: `)).toBe(true);
      return message.slice(path.length + 2);
    }
    throw new Error(`${name} was accepted`);
  };

  it("a typo'd key is refused, naming the file and the path to it", () => {
    expect(refused("typo-rule.yaml", GITOPS_FILE.replace("labels: { team: gitops }", "lables: { team: gitops }"))).toMatch(/^rules\[0\]: Unrecognized key.*"lables"/);
    // A required key misspelt: the first problem named is the key that is missing.
    expect(refused("typo-required.yaml", GITOPS_FILE.replace("threshold: 1000000", "treshold: 1000000"))).toMatch(/^rules\[0\]\.threshold: threshold must be a number/);
    expect(refused("typo-filter.yaml", GITOPS_FILE.replace("value: failed", "vaule: failed"))).toMatch(/^rules\[1\]\.where\.0: .*vaule/);
    expect(refused("typo-route.yaml", GITOPS_FILE.replace("group_wait: 0s", "group_wiat: 0s"))).toMatch(/^routes\[0\]: .*group_wiat/);
    expect(refused("typo-top.yaml", GITOPS_FILE.replace("\nrules:", "\nrule:"))).toMatch(/^Unrecognized key.*"rule"/);
    expect(refused("bad-duration.yaml", GITOPS_FILE.replace("interval: 30s", "interval: 30 seconds"))).toMatch(/^rules\[0\]\.interval: expected a duration like "30s"/);
    expect(refused("bad-aggregation.yaml", GITOPS_FILE.replace("aggregation: count", "aggregation: median"))).toMatch(/^rules\[0\]\.aggregation: aggregation must be one of/);
    expect(refused("no-id.yaml", GITOPS_FILE.replace("  - id: gitops-errors\n    kind: threshold", "  - kind: threshold"))).toMatch(/^rules\[0\]\.id: id is required in rule files/);
    expect(refused("not-yaml.yaml", "rules: [\n  - {")).toMatch(/^not valid YAML/);
  });

  it("a missing environment variable is refused, naming it and where it is used", () => {
    expect(refused("missing-env.yaml", GITOPS_FILE, {})).toBe(`channels[0].config.url: the environment variable ${ENV_NAME} is not set`);
  });

  it("a route naming a channel the files do not define is refused", () => {
    expect(refused("unknown-channel.yaml", GITOPS_FILE.replace("channels: [gitops-hook]", "channels: [gitops-hook, pager]"))).toBe('routes[0].channels: no channel "pager" in the rule files of tenant "default"');
  });

  it("a file that does not exist is refused by name", () => {
    const missing = join(dir.path, "nope.yaml");
    expect(() => readAlertFiles([missing], box, {})).toThrow(`alert rule file ${missing} does not exist`);
  });

  describe("on the running collector (started with this file)", () => {
    it("lists the file's rules, route and channel with origin file:<path>, without the channel's secret", async () => {
      const rules = (await request("GET", "/api/alerts/rules?limit=1000")).json.rules;
      const fromFile = rules.filter((r: { origin: string }) => r.origin === `file:${rulesFile}`);
      expect(fromFile.map((r: { id: string }) => r.id).sort()).toEqual(["gitops-deploy-failed", "gitops-errors"]);
      expect(fromFile.find((r: { id: string }) => r.id === "gitops-errors")).toMatchObject({ kind: "threshold", interval: "30s", labels: { team: "gitops" } });
      const route = await request("GET", "/api/alerts/routes/gitops-route");
      expect(route.json).toMatchObject({ origin: `file:${rulesFile}`, channels: ["gitops-hook"], group_wait: "0s" });
      const channel = await request("GET", "/api/alerts/channels/gitops-hook");
      expect(channel.json).toMatchObject({ origin: `file:${rulesFile}`, secrets_set: ["url"] });
      expect(channel.text).not.toContain(FILE_URL_TOKEN);
    });

    it("refuses to change or delete them through the API (409), naming the file", async () => {
      const rule = (await request("GET", "/api/alerts/rules/gitops-errors")).json;
      const attempts = [
        await request("PUT", "/api/alerts/rules/gitops-errors", { body: { ...rule, threshold: 1 } }),
        await request("DELETE", "/api/alerts/rules/gitops-errors"),
        await request("PUT", "/api/alerts/routes/gitops-route", { body: { name: "mine now", channels: ["gitops-hook"] } }),
        await request("DELETE", "/api/alerts/routes/gitops-route"),
        await request("PUT", "/api/alerts/channels/gitops-hook", { body: { name: "mine now", kind: "webhook", config: {} } }),
        await request("DELETE", "/api/alerts/channels/gitops-hook"),
      ];
      for (const res of attempts) {
        expect(res.status, res.text).toBe(409);
        expect(res.json.error.code).toBe("failed_precondition");
        expect(res.json.error.message).toContain(rulesFile);
      }
      expect((await request("GET", "/api/alerts/rules/gitops-errors")).json.threshold).toBe(1_000_000);
    });

    it("the file's event rule notifies through the file's route and channel (URL from the environment)", async () => {
      await postEvents([{ source: "gitops", type: "gitops.deploy", attrs: { outcome: "failed", app: "shop" }, body: "deploy of shop failed" }]);
      const delivery = await eventually(
        () => plain.deliveries().find((d) => d.path === `/gitops/${FILE_URL_TOKEN}`),
        (d) => d !== undefined,
        20_000,
        "the file channel's delivery",
      );
      const body = JSON.parse(delivery!.rawBody);
      expect(body.alerts[0].labels).toMatchObject({ alertname: "GitOps deploy failed", team: "gitops", app: "shop" });
    });
  });
});

describe("GET /api/alerts: what is not ok now", () => {
  it("shows a rule without data as nodata with why, marks it silenced when a silence matches, and forgets it when the rule goes", async () => {
    const rule = await request("POST", "/api/alerts/rules", {
      body: threshold({ id: "nodata-rule", name: "Queue latency", source: "queue-never-seen", aggregation: "avg", field: "latency_ms", interval: "5s", window: "1m", labels: { team: "queues" } }),
    });
    expect(rule.status, rule.text).toBe(201);
    const [alert] = await eventually(
      async () => (await request("GET", "/api/alerts?rule_id=nodata-rule")).json.alerts,
      (alerts: { message: string }[]) => alerts.length > 0,
      20_000,
      "the nodata alert",
    );
    expect(alert).toMatchObject({ rule_id: "nodata-rule", kind: "threshold", state: "nodata", value: null, silenced: false, labels: { alertname: "Queue latency", team: "queues" } });
    expect(alert!.message).toMatch(/no event matched/);
    expect((await request("GET", "/api/alerts?state=nodata")).json.alerts.map((a: { rule_id: string }) => a.rule_id)).toContain("nodata-rule");
    expect((await request("GET", "/api/alerts?state=firing")).json.alerts.map((a: { rule_id: string }) => a.rule_id)).not.toContain("nodata-rule");
    expect((await request("GET", "/api/alerts?state=burning")).status).toBe(400);
    const got = await request("GET", "/api/alerts/rules/nodata-rule");
    expect(got.json.groups).toEqual([expect.objectContaining({ state: "nodata", labels: {} })]);
    expect(got.json.status.states).toEqual({ nodata: 1 });
    expect(got.json.status.last_eval_at).not.toBeNull();

    const silence = await request("POST", "/api/alerts/silences", { body: { matchers: [{ label: "team", value: "queues" }], ends_at: Date.now() + 3_600_000, comment: "queue work" } });
    expect(silence.json.matches_now).toBe(1);
    const [silenced] = (await request("GET", "/api/alerts?rule_id=nodata-rule")).json.alerts;
    expect(silenced.silenced).toBe(true);
    await request("DELETE", `/api/alerts/silences/${silence.json.id}`);
    expect((await request("GET", "/api/alerts?rule_id=nodata-rule")).json.alerts[0].silenced).toBe(false);

    expect((await request("DELETE", "/api/alerts/rules/nodata-rule")).status).toBe(204);
    expect((await request("GET", "/api/alerts?rule_id=nodata-rule")).json.alerts).toEqual([]);
  });
});

describe("what GET answers can be changed and PUT back", () => {
  it("for a rule, a route, a channel and a silence", async () => {
    const channel = await request("POST", "/api/alerts/channels", { body: { id: "roundtrip-hook", name: "round trip", kind: "webhook", config: { url: `${signed.url}/roundtrip/${URL_TOKEN}`, hmac_secret: HMAC_SECRET } } });
    const route = await request("POST", "/api/alerts/routes", { body: { id: "roundtrip-route", name: "round trip", channels: ["roundtrip-hook"], matchers: [{ label: "team", value: "roundtrip" }] } });
    const rule = await request("POST", "/api/alerts/rules", { body: threshold({ id: "roundtrip-rule", name: "Round trip", enabled: false }) });
    const silence = await request("POST", "/api/alerts/silences", { body: { matchers: [{ label: "team", value: "roundtrip" }], ends_at: Date.now() + 3_600_000, comment: "round trip" } });
    expect([channel.status, route.status, rule.status, silence.status]).toEqual([201, 201, 201, 201]);
    const cases: [string, (body: Record<string, unknown>) => Record<string, unknown>, Record<string, unknown>][] = [
      ["/api/alerts/rules/roundtrip-rule", (r) => ({ ...r, threshold: 99 }), { threshold: 99 }],
      ["/api/alerts/routes/roundtrip-route", (r) => ({ ...r, group_wait: "45s" }), { group_wait: "45s" }],
      ["/api/alerts/channels/roundtrip-hook", (c) => ({ ...c, name: "round trip, renamed" }), { name: "round trip, renamed", secrets_set: ["hmac_secret", "url"] }],
      [`/api/alerts/silences/${silence.json.id}`, (x) => ({ ...x, comment: "round trip, longer" }), { comment: "round trip, longer", state: "active" }],
    ];
    for (const [path, change, expected] of cases) {
      const got = await request("GET", path);
      expect(got.status).toBe(200);
      const put = await request("PUT", path, { body: change(got.json) });
      expect(put.status, `PUT ${path}: ${put.text}`).toBe(200);
      expect(put.json).toMatchObject(expected);
    }
    const test = await request("POST", "/api/alerts/channels/roundtrip-hook/test");
    expect(test.status, test.text).toBe(200);
    for (const path of ["/api/alerts/rules/roundtrip-rule", "/api/alerts/routes/roundtrip-route", "/api/alerts/channels/roundtrip-hook", `/api/alerts/silences/${silence.json.id}`]) {
      expect((await request("DELETE", path)).status).toBe(204);
    }
  });
});

describe("read back from storage (as after a restart, or another replica's change)", () => {
  it("rules, routes, channels and silences keep their ids and settings, and an event rule still notifies through its route", async () => {
    const channel = await request("POST", "/api/alerts/channels", { body: { id: "reload-hook", name: "reload hook", kind: "webhook", config: { url: `${plain.url}/reloaded/${URL_TOKEN}` } } });
    const route = await request("POST", "/api/alerts/routes", { body: { id: "reload-route", name: "reload", channels: ["reload-hook"], matchers: [{ label: "team", value: "reload" }], group_wait: "0s", group_by: ["alertname", "app"] } });
    const event = await request("POST", "/api/alerts/rules", { body: { id: "reload-event", kind: "event", name: "Reloaded rule", source: "reload", type: "reload.ping", group_by: ["app"], labels: { team: "reload" } } });
    const other = await request("POST", "/api/alerts/rules", { body: threshold({ id: "reload-threshold", name: "Another rule", source: "reload", enabled: false }) });
    const silence = await request("POST", "/api/alerts/silences", { body: { matchers: [{ label: "team", value: "nobody" }], ends_at: Date.now() + 3_600_000, comment: "kept" } });
    expect([channel.status, route.status, event.status, other.status, silence.status]).toEqual([201, 201, 201, 201, 201]);
    const paths = ["/api/alerts/channels/reload-hook", "/api/alerts/routes/reload-route", "/api/alerts/rules/reload-event", "/api/alerts/rules/reload-threshold", `/api/alerts/silences/${silence.json.id}`];
    const before = await Promise.all(paths.map(async (path) => (await request("GET", path)).json));

    // What every collector does every few seconds, and at start.
    const engine = env.collector.services.alerts;
    await Promise.all([engine.rules.reload(), engine.routes.reload(), engine.channels.reload(), engine.silences.reload()]);

    const after = await Promise.all(paths.map(async (path) => (await request("GET", path)).json));
    expect(after).toEqual(before);
    const listed = (await request("GET", "/api/alerts/rules?limit=1000")).json.rules.map((r: { id: string }) => r.id);
    expect(listed).toEqual(expect.arrayContaining(["reload-event", "reload-threshold", "gitops-errors", "gitops-deploy-failed"]));
    expect(new Set(listed).size).toBe(listed.length);
    expect((await request("GET", "/api/alerts/routes")).json.routes.map((r: { id: string }) => r.id)).toEqual(expect.arrayContaining(["reload-route", "gitops-route"]));

    await postEvents([{ source: "reload", type: "reload.ping", attrs: { app: "cart" }, body: "ping after reload" }]);
    const delivery = await eventually(
      () => plain.deliveries().find((d) => d.path === `/reloaded/${URL_TOKEN}`),
      (d) => d !== undefined,
      20_000,
      "a notification after the reload",
    );
    expect(JSON.parse(delivery!.rawBody).alerts[0].labels).toMatchObject({ alertname: "Reloaded rule", app: "cart", team: "reload" });
    const firing = (await request("GET", "/api/alerts?rule_id=reload-event")).json.alerts;
    expect(firing).toEqual([expect.objectContaining({ rule_id: "reload-event", state: "firing" })]);
  });
});

describe("tenant isolation", () => {
  const ids: { rule: string; channel: string; silence: string; route: string } = { rule: "", channel: "", silence: "", route: "" };

  beforeAll(async () => {
    const channel = await request("POST", "/api/alerts/channels", { token: a.token, body: { name: "A's hook", kind: "webhook", config: { url: `${plain.url}/tenant-a/${URL_TOKEN}` } } });
    const route = await request("POST", "/api/alerts/routes", { token: a.token, body: { name: "A's route", channels: [channel.json.id], matchers: [{ label: "owner", value: "a" }], group_wait: "0s" } });
    const rule = await request("POST", "/api/alerts/rules", { token: a.token, body: { kind: "event", name: "A payment failed", source: "shop", type: "shop.payment", where: [{ attr: "outcome", value: "failed" }], labels: { owner: "a" } } });
    const silence = await request("POST", "/api/alerts/silences", { token: a.token, body: { matchers: [{ label: "owner", value: "nobody" }], ends_at: Date.now() + 3_600_000, comment: "A's silence" } });
    expect([channel.status, route.status, rule.status, silence.status]).toEqual([201, 201, 201, 201]);
    Object.assign(ids, { rule: rule.json.id, channel: channel.json.id, silence: silence.json.id, route: route.json.id });
  });

  it("tenant B cannot read, replace or delete tenant A's rule, channel, route or silence", async () => {
    const attempts: [string, string, unknown?][] = [
      ["GET", `/api/alerts/rules/${ids.rule}`],
      ["PUT", `/api/alerts/rules/${ids.rule}`, { kind: "event", name: "taken over", source: "shop" }],
      ["DELETE", `/api/alerts/rules/${ids.rule}`],
      ["GET", `/api/alerts/channels/${ids.channel}`],
      ["PUT", `/api/alerts/channels/${ids.channel}`, { name: "taken over", kind: "webhook", config: { url: "https://evil.example.com/" } }],
      ["DELETE", `/api/alerts/channels/${ids.channel}`],
      ["POST", `/api/alerts/channels/${ids.channel}/test`],
      ["GET", `/api/alerts/routes/${ids.route}`],
      ["PUT", `/api/alerts/routes/${ids.route}`, { name: "taken over", channels: [ids.channel] }],
      ["DELETE", `/api/alerts/routes/${ids.route}`],
      ["GET", `/api/alerts/silences/${ids.silence}`],
      ["PUT", `/api/alerts/silences/${ids.silence}`, { matchers: [{ label: "x", value: "y" }], ends_at: Date.now() + 60_000, comment: "taken over" }],
      ["DELETE", `/api/alerts/silences/${ids.silence}`],
    ];
    for (const [method, path, body] of attempts) {
      const res = await request(method, path, { token: b.token, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(404);
    }
    // B's lists do not show them; A's things are intact.
    for (const [path, key, id] of [
      ["/api/alerts/rules", "rules", ids.rule],
      ["/api/alerts/channels", "channels", ids.channel],
      ["/api/alerts/routes", "routes", ids.route],
      ["/api/alerts/silences", "silences", ids.silence],
    ] as const) {
      const ofB = await request("GET", `${path}?limit=1000`, { token: b.token });
      expect(ofB.json[key].map((x: { id: string }) => x.id)).not.toContain(id);
      const ofA = await request("GET", `${path}?limit=1000`, { token: a.token });
      expect(ofA.json[key].map((x: { id: string }) => x.id)).toContain(id);
    }
    expect((await request("GET", `/api/alerts/rules/${ids.rule}`, { token: a.token })).json.name).toBe("A payment failed");
    expect((await request("GET", `/api/alerts/silences/${ids.silence}`, { token: a.token })).json.state).toBe("active");
    // B's route cannot name A's channel.
    const borrow = await request("POST", "/api/alerts/routes", { token: b.token, body: { name: "borrow", channels: [ids.channel] } });
    expect(borrow.status).toBe(400);
  });

  it("A's firing alert and its notification are A's alone: B's rule on the same events stays quiet, B's lists stay empty", async () => {
    const bRule = await request("POST", "/api/alerts/rules", { token: b.token, body: { kind: "event", name: "B payment failed", source: "shop", type: "shop.payment", where: [{ attr: "outcome", value: "failed" }] } });
    expect(bRule.status).toBe(201);
    const bThreshold = await request("POST", "/api/alerts/rules", { token: b.token, body: threshold({ name: "B payments", source: "shop", type: "shop.payment", interval: "5s", window: "1m", threshold: 0 }) });
    const aThreshold = await request("POST", "/api/alerts/rules", { token: a.token, body: threshold({ name: "A payments", source: "shop", type: "shop.payment", interval: "5s", window: "1m", threshold: 0, labels: { owner: "a" } }) });
    expect([bThreshold.status, aThreshold.status]).toEqual([201, 201]);

    await postEvents([{ source: "shop", type: "shop.payment", attrs: { outcome: "failed", order: "A-1001" }, body: "card declined for A-1001" }], a.token);

    // A's event rule notifies A's channel; A's threshold rule fires on A's event.
    const delivery = await eventually(
      () => plain.deliveries().find((d) => d.path === `/tenant-a/${URL_TOKEN}` && d.rawBody.includes("A payment failed")),
      (d) => d !== undefined,
      20_000,
      "A's notification",
    );
    const firingA = await eventually(
      async () => (await request("GET", "/api/alerts", { token: a.token })).json.alerts,
      (alerts: { rule_id: string; state: string }[]) => alerts.some((x) => x.rule_id === aThreshold.json.id && x.state === "firing"),
      20_000,
      "A's threshold alert firing",
    );
    expect(firingA.some((x: { rule_id: string; state: string }) => x.rule_id === ids.rule && x.state === "firing")).toBe(true);
    const notesA = await eventually(
      async () => (await request("GET", "/api/alerts/notifications", { token: a.token })).json.notifications,
      (n: { id: string; status: string }[]) => n.some((x) => x.status === "sent"),
      20_000,
      "A's notification history",
    );
    expect(notesA.map((n: { id: string }) => n.id)).toContain(JSON.parse(delivery!.rawBody).notificationId);

    // B's threshold rule has been evaluated since A's alert fired, and saw nothing.
    const firedAt = Date.now();
    const bStatus = await eventually(
      async () => (await request("GET", `/api/alerts/rules/${bThreshold.json.id}`, { token: b.token })).json,
      (rule: { groups: unknown[]; status: { last_eval_at: string | null; last_error: string | null } }) => rule.status.last_eval_at !== null && Date.parse(rule.status.last_eval_at) >= firedAt,
      20_000,
      "an evaluation of B's threshold rule",
    );
    expect(bStatus.groups).toEqual([]);
    expect(bStatus.status.last_error).toBeNull();

    const alertsB = await request("GET", "/api/alerts", { token: b.token });
    expect(alertsB.status).toBe(200);
    expect(alertsB.json.alerts).toEqual([]);
    const notesB = await request("GET", "/api/alerts/notifications", { token: b.token });
    expect(notesB.json.notifications).toEqual([]);
    for (const text of [alertsB.text, notesB.text]) {
      expect(text).not.toContain("A-1001");
      expect(text).not.toContain(ids.rule);
    }
    // Filtering by A's rule id from B finds nothing either.
    expect((await request("GET", `/api/alerts?rule_id=${ids.rule}`, { token: b.token })).json.alerts).toEqual([]);
    expect((await request("GET", `/api/alerts/notifications?channel_id=${ids.channel}`, { token: b.token })).json.notifications).toEqual([]);
  });
});

describe("scopes", () => {
  it("a read-scope key can read alerting but not change it", async () => {
    const key = await request("POST", "/api/keys", { body: { name: "alerts reader", scopes: ["read"] } });
    expect(key.status).toBe(201);
    const token = key.json.token;
    for (const path of ["/api/alerts", "/api/alerts/rules", "/api/alerts/rules/gitops-errors", "/api/alerts/channels", "/api/alerts/routes", "/api/alerts/silences", "/api/alerts/templates", "/api/alerts/notifications"]) {
      const res = await request("GET", path, { token });
      expect(res.status, `GET ${path}: ${res.text}`).toBe(200);
    }
    // Reading what a rule would do changes nothing: allowed.
    expect((await request("POST", "/api/alerts/rules/preview", { token, body: threshold() })).status).toBe(200);
    const writes: [string, string, unknown?][] = [
      ["POST", "/api/alerts/rules", threshold()],
      ["PUT", "/api/alerts/rules/gitops-errors", threshold()],
      ["DELETE", "/api/alerts/rules/gitops-errors"],
      ["POST", "/api/alerts/channels", { name: "x", kind: "webhook", config: { url: "https://example.com/" } }],
      ["POST", "/api/alerts/channels/gitops-hook/test"],
      ["POST", "/api/alerts/routes", { name: "x", channels: ["gitops-hook"] }],
      ["POST", "/api/alerts/silences", { matchers: [{ label: "a", value: "b" }], ends_at: Date.now() + 60_000, comment: "x" }],
      ["POST", "/api/alerts/templates/agent-silent/install", {}],
    ];
    for (const [method, path, body] of writes) {
      const res = await request(method, path, { token, ...(body ? { body } : {}) });
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(403);
      expect(res.json.error.code).toBe("permission_denied");
    }
    expect((await request("GET", "/api/alerts/rules", { token: null })).status).toBe(401);
  });
});
