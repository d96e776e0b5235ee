// The alert engine's channel types, each sending real notifications to a real server:
// fakes of Discord and Slack speaking their wire formats and limits, a real SMTP server,
// a webhook consumer, and the real Alertmanager.
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AlertView, Notification } from "../src/alerts/model.js";
import type { ChannelKind, ChannelSender, SendResult } from "../src/alerts/channels/channel-type.js";
import { channelType, channelTypes } from "../src/alerts/channels/index.js";
import { DISCORD_LIMITS, embedChars } from "../src/alerts/channels/discord.js";
import { postJson } from "../src/alerts/channels/http-send.js";
import { ZERO_TIME, verifyWebhookSignature, type AlertmanagerWebhookBody } from "../src/alerts/channels/webhook.js";
import { startFakeDiscord, type FakeDiscord } from "../../test/fakes/discord.js";
import { startFakeSlack, type FakeSlack } from "../../test/fakes/slack.js";
import { startAlertmanager, type Alertmanager } from "../../test/support/alertmanager.js";
import { eventually } from "../../test/support/eventually.js";
import { startSmtpSink, type SmtpSink } from "../../test/support/smtp.js";
import { startWebhookReceiver, type WebhookReceiver } from "../../test/support/webhook-receiver.js";

const log = pino({ level: "silent" });
const opened: ChannelSender[] = [];

/** Validates the config as the API would, then opens the channel; closed after the file. */
function open(kind: ChannelKind, config: Record<string, unknown>): ChannelSender {
  const type = channelType(kind);
  const sender = type.open(type.configSchema.parse(config), { log });
  opened.push(sender);
  return sender;
}

function send(sender: ChannelSender, notification: Notification, fromPart = 0): Promise<SendResult> {
  return sender.send({ notification, fromPart, signal: new AbortController().signal });
}

let sequence = 0;

function alert(i: number, overrides: Partial<AlertView> = {}): AlertView {
  const instance = `api-${String(i).padStart(2, "0")}`;
  return {
    fingerprint: `fp-${instance}`,
    rule_id: "rule-errors",
    rule_name: "HighErrorRate",
    status: "firing",
    state: "firing",
    labels: { alertname: "HighErrorRate", service: "api", instance },
    annotations: { summary: `Error rate of ${instance} above 5%`, description: `5xx answers of ${instance} over the last 5 minutes.` },
    value: 0.0731 + i / 1000,
    starts_at: "2026-11-27T10:00:00.000Z",
    ends_at: null,
    ...overrides,
  };
}

function notification(alerts: AlertView[], overrides: Partial<Notification> = {}): Notification {
  sequence += 1;
  return {
    id: `00000000-0000-4000-8000-${String(sequence).padStart(12, "0")}`,
    tenant: "default",
    channel_id: "ch-1",
    channel_name: "ops",
    route_id: "route-1",
    group_key: `route-1:{service="api"}#${sequence}`,
    group_labels: { service: "api" },
    status: alerts.some((a) => a.status === "firing") ? "firing" : "resolved",
    alerts,
    created_at: "2026-11-27T10:01:00.000Z",
    ...overrides,
  };
}

function resolved(a: AlertView): AlertView {
  return { ...a, status: "resolved", ends_at: "2026-11-27T10:30:00.000Z" };
}

const many = (count: number, make: (i: number) => AlertView = (i) => alert(i)) => Array.from({ length: count }, (_, i) => make(i));

afterAll(async () => {
  await Promise.all(opened.map((sender) => sender.close()));
});

describe("channel types", () => {
  it("cover every kind, and their config errors say what to fix", () => {
    expect(Object.keys(channelTypes).sort()).toEqual(["alertmanager", "discord", "email", "slack", "webhook"]);
    const problems = (kind: ChannelKind, config: unknown) => {
      const result = channelType(kind).configSchema.safeParse(config);
      return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
    };
    expect(problems("discord", { webhook_url: "not a url" })).toEqual([expect.stringContaining("webhook_url must be a Discord webhook URL")]);
    expect(problems("alertmanager", { url: "http://admin:pw@am:9093" })).toEqual([expect.stringContaining("put them in user and password")]);
    expect(problems("discord", { webhook_url: "https://discord.com/channels/1/2" })).toEqual([expect.stringMatching(/^webhook_url: .*\/api\/webhooks\/<id>\/<token>/)]);
    expect(problems("discord", { webhook_url: "https://discord.com/api/webhooks/1/abc", username: "Discord bot" })).toEqual([expect.stringContaining('must not contain "discord"')]);
    expect(problems("slack", { webhook_url: "hooks.slack.com/services/x", extra: 1 })).toHaveLength(2);
    expect(problems("email", { host: "smtp.example.com", from: "alerts@example.com", to: [] })).toEqual(["to: to must list at least one recipient address (or set to_label to take it from the alerts)"]);
    expect(problems("email", { host: "smtp.example.com", from: "alerts", to: ["ops@example.com"] })).toEqual([
      expect.stringContaining('from: from must be an e-mail address like "ops@example.com"'),
    ]);
    expect(problems("email", { host: "smtp.example.com", from: "Vigil <alerts@example.com>", to: ["ops@example.com"], port: 465 })).toEqual([expect.stringContaining("set secure: true")]);
    expect(problems("webhook", { url: "https://example.com/hook", hmac_secret: "short" })).toEqual([expect.stringContaining("at least 16 characters")]);
    expect(problems("webhook", { url: "https://example.com/hook", headers: { "Content-Type": "text/plain" } })).toEqual([expect.stringContaining("must not set Host, Content-Type")]);
    expect(problems("alertmanager", { url: "http://am:9093", user: "a", password: "b", bearer_token: "c" })).toEqual([expect.stringContaining("not both")]);
    expect(channelType("email").configSchema.parse({ host: "smtp.example.com", from: "a@example.com", to: ["b@example.com"] })).toMatchObject({ port: 587, secure: false, require_tls: false });
    expect(channelTypes.discord.secretFields).toEqual(["webhook_url"]);
    expect(channelTypes.webhook.secretFields).toEqual(["url", "hmac_secret", "headers"]);
  });
});

describe("discord", () => {
  let discord: FakeDiscord;
  beforeAll(async () => {
    discord = await startFakeDiscord();
  });
  afterAll(async () => {
    await discord?.close();
  });

  it("the fake refuses what Discord refuses, and that is a permanent failure with Discord's words", async () => {
    const hook = discord.createWebhook();
    const embeds = Array.from({ length: 11 }, (_, i) => ({ title: `embed ${i}` }));
    const outcome = await postJson({ url: `${hook.url}?wait=true`, body: JSON.stringify({ content: "x", embeds }), signal: new AbortController().signal });
    expect(outcome).toMatchObject({ ok: false, permanent: true, error: expect.stringContaining("Invalid Form Body") });
    expect(discord.messages.filter((m) => m.webhookId === hook.id)).toHaveLength(0);
    expect(discord.refused.filter((r) => r.webhookId === hook.id)).toHaveLength(1);
  });

  it("splits 23 alerts with long texts into messages within Discord's limits, and every alert arrives once", async () => {
    const hook = discord.createWebhook();
    const sender = open("discord", { webhook_url: hook.url, username: "Vigil", mention: "<@&123456789012345678>" });
    const alerts = many(23, (i) =>
      alert(i, {
        annotations: {
          summary: `Error rate of api-${String(i).padStart(2, "0")} above 5%`,
          description: i === 5 ? "x".repeat(9000) : `Details ${i}: ${"lorem ipsum ".repeat(120)}`,
        },
        labels: { alertname: "HighErrorRate", service: "api", instance: `api-${String(i).padStart(2, "0")}`, ...(i === 7 ? { note: "n".repeat(2000) } : {}) },
      }),
    );
    const result = await send(sender, notification(alerts));
    const messages = discord.messages.filter((m) => m.webhookId === hook.id);

    expect(discord.refused.filter((r) => r.webhookId === hook.id)).toEqual([]);
    expect(result).toEqual({ ok: true, partsSent: messages.length });
    expect(messages.length).toBeGreaterThan(2);
    for (const [i, message] of messages.entries()) {
      expect(message.content).toBe(`<@&123456789012345678> [FIRING:23] HighErrorRate (service=api) (part ${i + 1}/${messages.length})`);
      expect(message.username).toBe("Vigil");
      expect(message.embeds.length).toBeLessThanOrEqual(DISCORD_LIMITS.embedsPerMessage);
      const total = message.embeds.reduce((sum, e) => sum + embedChars({ title: e.title ?? "", description: e.description, fields: e.fields ?? [], footer: e.footer ?? { text: "" } }), 0);
      expect(total).toBeLessThanOrEqual(DISCORD_LIMITS.embedTotal);
    }
    const embeds = messages.flatMap((m) => m.embeds);
    expect(embeds.map((e) => /api-\d\d/.exec(e.title ?? "")?.[0])).toEqual(alerts.map((a) => a.labels.instance));
    expect(embeds.every((e) => e.color === 0xd93f3f)).toBe(true);
    // The over-long description is cut, and says so.
    expect(embeds[5]!.description!.length).toBeLessThanOrEqual(DISCORD_LIMITS.description);
    expect(embeds[5]!.description!.endsWith("…")).toBe(true);
    expect(embeds[7]!.fields!.find((f) => f.name === "Labels")!.value.endsWith("…")).toBe(true);
    expect(embeds[0]!.fields).toEqual(expect.arrayContaining([{ name: "Value", value: "0.0731", inline: true }]));
  });

  it("on 429 reports Discord's retry_after, and the retry sends only the parts not yet accepted", async () => {
    const hook = discord.createWebhook();
    const sender = open("discord", { webhook_url: hook.url });
    const alerts = many(25);
    const n = notification(alerts);
    discord.rateLimitAfter(1, 0.2);

    const first = await send(sender, n);
    expect(first).toMatchObject({ ok: false, permanent: false, partsSent: 1 });
    expect(first.ok === false && first.retryAfterMs).toBeGreaterThanOrEqual(200);
    expect(first.ok === false && first.retryAfterMs).toBeLessThan(1000);
    expect(first.ok === false && first.error).toContain("429");

    const retry = await send(sender, n, first.partsSent);
    const messages = discord.messages.filter((m) => m.webhookId === hook.id);
    expect(retry).toEqual({ ok: true, partsSent: 3 });
    expect(messages.map((m) => m.content)).toEqual([1, 2, 3].map((part) => `[FIRING:25] HighErrorRate (service=api) (part ${part}/3)`));
    expect(messages.flatMap((m) => m.embeds).length).toBe(25);
  });

  it("resolved alerts are green, and a deleted webhook is a permanent failure that names no token", async () => {
    const hook = discord.createWebhook();
    const sender = open("discord", { webhook_url: hook.url });
    expect(await send(sender, notification(many(2, (i) => resolved(alert(i)))))).toEqual({ ok: true, partsSent: 1 });
    const [message] = discord.messages.filter((m) => m.webhookId === hook.id);
    expect(message!.content).toBe("[RESOLVED] HighErrorRate (service=api)");
    expect(message!.embeds.map((e) => e.color)).toEqual([0x2f9e44, 0x2f9e44]);

    const gone = open("discord", { webhook_url: hook.url.replace(`/${hook.id}/`, "/999/") });
    const outcome = await send(gone, notification([alert(1)]));
    expect(outcome).toMatchObject({ ok: false, permanent: true, partsSent: 0, error: expect.stringContaining("Unknown Webhook") });
    expect(outcome.ok === false && outcome.error).not.toContain(hook.token);
  });

  it("an unreachable destination is worth retrying, and the message names only the host", async () => {
    const closed = await startFakeDiscord();
    const hook = closed.createWebhook();
    await closed.close();
    const outcome = await send(open("discord", { webhook_url: hook.url }), notification([alert(1)]));
    expect(outcome).toMatchObject({ ok: false, permanent: false, partsSent: 0, error: expect.stringContaining(new URL(hook.url).host) });
    expect(outcome.ok === false && outcome.error).not.toContain(hook.token);
  });
});

describe("slack", () => {
  let slack: FakeSlack;
  beforeAll(async () => {
    slack = await startFakeSlack({ channels: ["alerts"] });
  });
  afterAll(async () => {
    await slack?.close();
  });

  it("the fake refuses what Slack refuses, and that is a permanent failure with Slack's words", async () => {
    const hook = slack.createWebhook();
    const post = (payload: unknown) => postJson({ url: hook.url, body: JSON.stringify(payload), signal: new AbortController().signal });
    const section = { type: "section", text: { type: "mrkdwn", text: "x" } };
    expect(await post({ text: "t", blocks: Array.from({ length: 51 }, () => section) })).toMatchObject({ ok: false, permanent: true, error: expect.stringContaining("invalid_blocks") });
    expect(await post({ blocks: [{ type: "header", text: { type: "plain_text", text: "h".repeat(151) } }] })).toMatchObject({ ok: false, permanent: true, error: expect.stringContaining("invalid_blocks") });
    expect(await post({ username: "x" })).toMatchObject({ ok: false, permanent: true, error: expect.stringContaining("no_text") });
    expect(slack.messages.filter((m) => hook.url.includes(m.webhook))).toHaveLength(0);
  });

  it("splits a long list into messages of at most 50 blocks, and every alert arrives once", async () => {
    const hook = slack.createWebhook();
    const sender = open("slack", { webhook_url: hook.url, channel: "#alerts", icon_emoji: ":rotating_light:" });
    const alerts = many(60, (i) => alert(i, i === 3 ? { annotations: { summary: "<!channel> & <b>", description: "d".repeat(5000) } } : {}));
    const result = await send(sender, notification(alerts, { external_url: "https://vigil.example.com" }));

    expect(slack.refused.filter((r) => hook.url.includes(r.webhook))).toEqual([]);
    const messages = slack.messages.filter((m) => hook.url.includes(m.webhook));
    expect(result).toEqual({ ok: true, partsSent: messages.length });
    expect(messages).toHaveLength(2);
    for (const [i, message] of messages.entries()) {
      expect(message.blocks.length).toBeLessThanOrEqual(50);
      expect(message.blocks[0]).toMatchObject({ type: "header", text: { type: "plain_text", text: `[FIRING:60] HighErrorRate (service=api) (part ${i + 1}/2)` } });
      expect(message.text).toContain("[FIRING:60]");
      expect(message.channel).toBe("#alerts");
      expect(message.blocks.at(-1)).toMatchObject({ type: "context", elements: [{ text: "<https://vigil.example.com|Open Vigil>" }] });
    }
    const sections = messages.flatMap((m) => m.blocks.filter((b) => b.type === "section").map((b) => b.text!.text));
    expect(sections.map((text) => /api-\d\d/.exec(text)?.[0])).toEqual(alerts.map((a) => a.labels.instance));
    // Mentions and markup in alert text are shown, not acted on.
    expect(sections[3]).toContain("&lt;!channel&gt; &amp; &lt;b&gt;");
    expect(sections[3]!.length).toBeLessThanOrEqual(3000);
    expect(sections[3]!.endsWith("…")).toBe(true);
  });

  it("on 429 reports Retry-After, and the retry sends only the parts not yet accepted", async () => {
    const hook = slack.createWebhook();
    const sender = open("slack", { webhook_url: hook.url });
    const n = notification(many(100));
    slack.rateLimitAfter(1, 2);

    const first = await send(sender, n);
    expect(first).toMatchObject({ ok: false, permanent: false, partsSent: 1, retryAfterMs: 2000, error: expect.stringContaining("rate_limited") });
    const retry = await send(sender, n, first.partsSent);
    expect(retry).toEqual({ ok: true, partsSent: 3 });
    const headers = slack.messages.filter((m) => hook.url.includes(m.webhook)).map((m) => m.blocks[0]!.text!.text);
    expect(headers).toEqual([1, 2, 3].map((part) => `[FIRING:100] HighErrorRate (service=api) (part ${part}/3)`));
  });

  it("a 400 invalid_payload or an unknown channel is permanent, with Slack's error text", async () => {
    const hook = slack.createWebhook();
    slack.faults.nextError(400);
    const outcome = await send(open("slack", { webhook_url: hook.url }), notification([alert(1)]));
    expect(outcome).toMatchObject({ ok: false, permanent: true, partsSent: 0, error: expect.stringContaining("invalid_payload") });
    expect(outcome.ok === false && outcome.error).not.toContain(new URL(hook.url).pathname);

    const elsewhere = await send(open("slack", { webhook_url: hook.url, channel: "#nowhere" }), notification([alert(1)]));
    expect(elsewhere).toMatchObject({ ok: false, permanent: true, error: expect.stringContaining("channel_not_found") });
  });
});

describe("email", () => {
  let smtp: SmtpSink;
  beforeAll(async () => {
    smtp = await startSmtpSink({ user: "vigil", password: "s3cret-password" });
  });
  afterAll(async () => {
    // The channels' pools hold connections open; close them first so the server stops at once.
    await Promise.all(opened.splice(0).map((sender) => sender.close()));
    await smtp?.close();
  });

  const config = () => ({
    host: smtp.host,
    port: smtp.port,
    user: "vigil",
    password: "s3cret-password",
    from: "Vigil <alerts@vigil.example.com>",
    to: ["ops@example.com", "Oncall <oncall@example.com>"],
    subject_prefix: "[vigil]",
  });

  it("arrives with the subject, the notification's Message-ID and every alert in the text", async () => {
    const sender = open("email", config());
    const alerts = many(3, (i) => alert(i, i === 2 ? { annotations: { summary: "Value <script>alert(1)</script> & more" } } : {}));
    const n = notification(alerts, { external_url: "https://vigil.example.com" });
    expect(await send(sender, n)).toEqual({ ok: true, partsSent: 1 });

    const mail = await eventually(() => smtp.messages.find((m) => m.messageId === `<${n.id}@vigil>`), Boolean, 10_000, "e-mail received");
    expect(mail!.subject).toBe("[vigil] [FIRING:3] HighErrorRate (service=api)");
    expect(mail!.user).toBe("vigil");
    expect(mail!.envelopeTo).toEqual(["ops@example.com", "oncall@example.com"]);
    expect(mail!.headers.from).toContain("alerts@vigil.example.com");
    for (const a of alerts) {
      expect(mail!.text).toContain(a.annotations.summary);
      expect(mail!.text).toContain(`instance=${a.labels.instance}`);
    }
    expect(mail!.text).toContain("More: https://vigil.example.com");
    expect(mail!.html).toContain("Value &lt;script&gt;alert(1)&lt;/script&gt; &amp; more");
    expect(mail!.html).not.toContain("<script>");
  });

  it("a 4xx reply is retryable and the retry arrives; a 5xx reply is permanent", async () => {
    const sender = open("email", config());
    const n = notification([resolved(alert(1))]);
    smtp.refuseNext(451, { message: "Mailbox busy, try later" });
    const first = await send(sender, n);
    expect(first).toMatchObject({ ok: false, permanent: false, partsSent: 0, error: expect.stringContaining("451") });
    expect(await send(sender, n)).toEqual({ ok: true, partsSent: 1 });
    const copies = await eventually(() => smtp.messages.filter((m) => m.messageId === `<${n.id}@vigil>`), (list) => list.length === 1, 10_000, "retried e-mail");
    expect(copies[0]!.subject).toBe("[vigil] [RESOLVED] HighErrorRate (service=api)");

    smtp.refuseNext(550, { message: "Relaying denied" });
    expect(await send(sender, notification([alert(2)]))).toMatchObject({ ok: false, permanent: true, error: expect.stringContaining("550") });
  });

  it("wrong credentials are permanent, and the message holds no password", async () => {
    const outcome = await send(open("email", { ...config(), password: "wrong-password" }), notification([alert(1)]));
    expect(outcome).toMatchObject({ ok: false, permanent: true, partsSent: 0 });
    expect(outcome.ok === false && outcome.error).not.toContain("wrong-password");
  });
});

describe("webhook", () => {
  const secret = "a-signing-secret-of-32-characters";
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver({ secret });
  });
  afterAll(async () => {
    await receiver?.close();
  });

  it("posts Alertmanager's v4 webhook body with a signature that verifies, and a tampered body does not", async () => {
    const sender = open("webhook", { url: `${receiver.url}/hooks/vigil`, hmac_secret: secret, headers: { Authorization: "Bearer receiver-token" } });
    const alerts = [alert(1), resolved(alert(2))];
    const n = notification(alerts, { external_url: "https://vigil.example.com" });
    expect(await send(sender, n)).toEqual({ ok: true, partsSent: 1 });

    const [request] = receiver.requests.filter((r) => r.notificationId === n.id);
    expect(request!.signatureValid).toBe(true);
    expect(request!.headers.authorization).toBe("Bearer receiver-token");
    expect(request!.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(request!.rawBody) as AlertmanagerWebhookBody;
    expect(body).toEqual({
      version: "4",
      groupKey: n.group_key,
      truncatedAlerts: 0,
      status: "firing",
      receiver: "ops",
      groupLabels: { service: "api" },
      commonLabels: { alertname: "HighErrorRate", service: "api" },
      commonAnnotations: {},
      externalURL: "https://vigil.example.com",
      alerts: [
        { status: "firing", labels: alerts[0]!.labels, annotations: alerts[0]!.annotations, startsAt: alerts[0]!.starts_at, endsAt: ZERO_TIME, generatorURL: "https://vigil.example.com", fingerprint: "fp-api-01" },
        { status: "resolved", labels: alerts[1]!.labels, annotations: alerts[1]!.annotations, startsAt: alerts[1]!.starts_at, endsAt: "2026-11-27T10:30:00.000Z", generatorURL: "https://vigil.example.com", fingerprint: "fp-api-02" },
      ],
      notificationId: n.id,
    });

    const timestamp = request!.headers["vigil-timestamp"] as string;
    const signature = request!.headers["vigil-signature"] as string;
    expect(signature).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(secret, timestamp, request!.rawBody, signature)).toBe(true);
    expect(verifyWebhookSignature(secret, timestamp, request!.rawBody.replace('"firing"', '"resolved"'), signature)).toBe(false);
    expect(verifyWebhookSignature("another-secret-of-enough-length", timestamp, request!.rawBody, signature)).toBe(false);
    expect(verifyWebhookSignature(secret, String(Number(timestamp) - 3600), request!.rawBody, signature)).toBe(false);
  });

  it("a 5xx is retried under the same notification id, so the receiver sees it once; a 4xx is permanent", async () => {
    const sender = open("webhook", { url: receiver.url, hmac_secret: secret });
    const n = notification([alert(3)]);
    receiver.answerNext(503, { headers: { "retry-after": "7" } });
    expect(await send(sender, n)).toMatchObject({ ok: false, permanent: false, retryAfterMs: 7000, partsSent: 0 });
    expect(await send(sender, n)).toEqual({ ok: true, partsSent: 1 });
    expect(receiver.requests.filter((r) => r.notificationId === n.id)).toHaveLength(2);
    expect(receiver.uniqueIds().filter((id) => id === n.id)).toHaveLength(1);

    receiver.answerNext(410, { body: "hook removed" });
    expect(await send(sender, notification([alert(4)]))).toMatchObject({ ok: false, permanent: true, error: expect.stringContaining("hook removed") });
  });

  it("without the right secret the receiver refuses the delivery", async () => {
    const outcome = await send(open("webhook", { url: receiver.url, hmac_secret: "not-the-receivers-secret" }), notification([alert(5)]));
    expect(outcome).toMatchObject({ ok: false, permanent: true, error: expect.stringContaining("401") });
  });
});

describe("alertmanager", () => {
  let am: Alertmanager;
  beforeAll(async () => {
    am = await startAlertmanager();
  });
  afterAll(async () => {
    await am?.stop();
  });

  it("receives a firing alert with its labels, then its resolution", async () => {
    const sender = open("alertmanager", { url: am.url });
    const firing = alert(1, {
      labels: { alertname: "DiskFull", service: "db", "http.route": "/api/items" },
      annotations: { summary: "Disk of db is 97% full" },
      starts_at: new Date(Date.now() - 60_000).toISOString(),
    });
    expect(await send(sender, notification([firing], { external_url: "https://vigil.example.com" }))).toEqual({ ok: true, partsSent: 1 });

    const [held] = await eventually(() => am.alerts(['alertname="DiskFull"']), (list) => list.length === 1, 10_000, "alert in Alertmanager");
    expect(held!.labels).toEqual({ alertname: "DiskFull", service: "db", http_route: "/api/items" });
    expect(held!.annotations).toEqual({ summary: "Disk of db is 97% full" });
    expect(held!.status.state).toBe("active");
    expect(held!.generatorURL).toBe("https://vigil.example.com");
    expect(Date.parse(held!.startsAt)).toBe(Date.parse(firing.starts_at));
    expect(Date.parse(held!.endsAt)).toBeGreaterThan(Date.now());

    const done = { ...firing, status: "resolved" as const, ends_at: new Date().toISOString() };
    expect(await send(sender, notification([done]))).toEqual({ ok: true, partsSent: 1 });
    // Alertmanager lists only alerts that have not ended.
    await eventually(() => am.alerts(['alertname="DiskFull"']), (list) => list.length === 0, 10_000, "alert resolved in Alertmanager");
  });

  it("a refused request is permanent with Alertmanager's reason", async () => {
    const sender = open("alertmanager", { url: am.url });
    const outcome = await send(sender, notification([alert(1, { labels: {} })]));
    expect(outcome).toMatchObject({ ok: false, permanent: true, error: expect.stringContaining("400") });
  });
});
