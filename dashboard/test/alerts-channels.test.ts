import { beforeEach, describe, expect, test } from "vitest";
import ChannelsTab from "../src/pages/alerts/ChannelsTab.svelte";
import { draftFromChannel, toChannelBody } from "../src/pages/alerts/channel-form.js";
import type { Channel } from "../src/pages/alerts/types.js";
import { button, choose, click, control, labelled, render, textOf, type, until } from "./support/dom.js";
import { fakeApi, json, type Recorded } from "./support/fake-api.js";
import { CSRF, signIn } from "./support/session.js";

// Channels: the settings of each kind become the API's config; secrets are write-only —
// never shown, never pre-filled, left out when empty so the stored value is kept — and
// "Send test" shows what the destination answered.

const LEAK = "SECRET-TOKEN-1234";

/**
 * A webhook channel as a (misbehaving) server might answer it: its secret URL inside
 * `config`. The API never sends secrets; the dashboard must not show one even if it did.
 */
const hook: Channel = {
  id: "ch_hook",
  name: "Ops hook",
  kind: "webhook",
  config: { url: `https://hooks.example.com/${LEAK}`, hmac_secret: LEAK },
  secrets_set: ["hmac_secret", "url"],
  origin: "api",
  updated_at: "2026-11-27T10:00:00.000Z",
};
const mail: Channel = {
  id: "ch_mail",
  name: "Ops mail",
  kind: "email",
  config: { host: "smtp.example.com", port: 587, secure: false, from: "alerts@example.com", to: ["a@example.com", "b@example.com"], password: LEAK },
  secrets_set: ["password"],
  origin: "api",
  updated_at: null,
};

const allInputValues = () => [...document.querySelectorAll("input, textarea, select")].map((e) => (e as HTMLInputElement).value);

beforeEach(() => signIn("editor"));

describe("channels", () => {
  test("the list and the edit form never show a secret; an untouched secret is left out of the PUT", async () => {
    const server = fakeApi({
      "GET /api/alerts/channels": { channels: [hook, mail], next_cursor: null },
      "PUT /api/alerts/channels/ch_hook": (r: Recorded) => json({ ...hook, ...(r.body as object), config: {} }),
    });
    const view = render(ChannelsTab);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(2));
    expect(textOf(view.target)).not.toContain(LEAK);
    const [hookRow, mailRow] = [...view.target.querySelectorAll("tbody tr")].map(textOf);
    expect(hookRow).toContain("Secrets stored: hmac_secret, url");
    expect(mailRow).toContain("SMTP host: smtp.example.com");
    expect(mailRow).toContain("To: a@example.com, b@example.com");
    expect(mailRow).toContain("Secrets stored: password");

    click(button(view.target, /^Edit$/));
    const dialog = document.querySelector("dialog[open]")!;
    expect(control(dialog, "Name").value).toBe("Ops hook");
    const secrets = [...dialog.querySelectorAll<HTMLInputElement>("input[data-secret]")];
    expect(secrets.map((i) => [i.dataset.secret, i.type, i.value, i.autocomplete])).toEqual([
      ["url", "password", "", "new-password"],
      ["hmac_secret", "password", "", "new-password"],
    ]);
    expect(textOf(dialog)).toContain("Set — leave empty to keep the stored value.");
    expect(textOf(dialog)).not.toContain(LEAK);
    expect(allInputValues().join(" ")).not.toContain(LEAK);
    expect(dialog.innerHTML).not.toContain(LEAK);

    type(control(dialog, "Name"), "Ops hook (renamed)");
    click(button(dialog, "Save channel"));
    await until(() => expect(server.calls("PUT /api/alerts/channels/ch_hook")).toHaveLength(1));
    expect(server.calls("PUT /api/alerts/channels/ch_hook")[0]!.body).toEqual({ name: "Ops hook (renamed)", kind: "webhook", config: {} });
    expect(server.calls("PUT /api/alerts/channels/ch_hook")[0]!.headers.get("X-CSRF-Token")).toBe(CSRF);

    // A new secret typed in is sent; the other stays out.
    await until(() => expect(document.querySelector("dialog[open]")).toBeNull());
    click(button(view.target, /^Edit$/));
    const again = document.querySelector("dialog[open]")!;
    type(again.querySelector('input[data-secret="hmac_secret"]'), "a-new-signing-secret-0123");
    click(button(again, "Save channel"));
    await until(() => expect(server.calls("PUT /api/alerts/channels/ch_hook")).toHaveLength(2));
    expect(server.calls("PUT /api/alerts/channels/ch_hook")[1]!.body).toEqual({ name: "Ops hook", kind: "webhook", config: { hmac_secret: "a-new-signing-secret-0123" } });
  });

  test("each kind's fields become its config (discord, slack, email, webhook, alertmanager)", async () => {
    const server = fakeApi({
      "GET /api/alerts/channels": { channels: [], next_cursor: null },
      "POST /api/alerts/channels": (r: Recorded) => json({ id: "ch_new", ...(r.body as object), secrets_set: [], origin: "api", updated_at: null }, 201),
    });
    const view = render(ChannelsTab);
    await until(() => expect(view.text()).toContain("No channels yet"));

    async function create(kind: string, fill: (d: Element) => void) {
      click(button(view.target, "Add channel"));
      const dialog = document.querySelector("dialog[open]")!;
      type(control(dialog, "Name"), `${kind} channel`);
      choose(control(dialog, "Kind"), kind);
      fill(dialog);
      const before = server.calls("POST /api/alerts/channels").length;
      click(button(dialog, "Add channel"));
      await until(() => expect(server.calls("POST /api/alerts/channels")).toHaveLength(before + 1));
      await until(() => expect(document.querySelector("dialog[open]")).toBeNull());
      return server.calls("POST /api/alerts/channels")[before]!.body;
    }

    expect(
      await create("discord", (d) => {
        type(control(d, "Webhook URL"), "https://discord.com/api/webhooks/1/abc");
        type(control(d, "Post as"), "Vigil");
        type(control(d, "Mention"), "@here");
      }),
    ).toEqual({ name: "discord channel", kind: "discord", config: { webhook_url: "https://discord.com/api/webhooks/1/abc", username: "Vigil", mention: "@here" } });

    expect(
      await create("slack", (d) => {
        type(control(d, "Webhook URL"), "https://hooks.slack.com/services/T/B/x");
        type(control(d, "Channel"), "#alerts");
        type(control(d, "Icon emoji"), ":fire:");
      }),
    ).toEqual({ name: "slack channel", kind: "slack", config: { webhook_url: "https://hooks.slack.com/services/T/B/x", channel: "#alerts", icon_emoji: ":fire:" } });

    expect(
      await create("email", (d) => {
        type(control(d, "SMTP host"), "smtp.example.com");
        type(control(d, "Port"), "465");
        click([...d.querySelectorAll("label")].find((l) => l.textContent?.includes("TLS from the start"))!.querySelector("input"));
        type(control(d, "SMTP user"), "vigil");
        type(control(d, "SMTP password"), "pw");
        type(control(d, "From"), "Vigil <alerts@example.com>");
        type(control(d, "To"), "ops@example.com, oncall@example.com");
      }),
    ).toEqual({
      name: "email channel",
      kind: "email",
      config: { host: "smtp.example.com", port: 465, secure: true, user: "vigil", password: "pw", from: "Vigil <alerts@example.com>", to: ["ops@example.com", "oncall@example.com"] },
    });

    expect(
      await create("webhook", (d) => {
        type(control(d, "URL"), "https://example.com/hook");
        click(button(d, "Add header"));
        type(labelled(d, "Header name 1"), "Authorization");
        type(labelled(d, "Header value 1"), "Bearer t");
        expect(labelled(d, "Header value 1").type).toBe("password");
      }),
    ).toEqual({ name: "webhook channel", kind: "webhook", config: { url: "https://example.com/hook", headers: { Authorization: "Bearer t" } } });

    expect(
      await create("alertmanager", (d) => {
        type(control(d, "Alertmanager URL"), "http://am:9093");
        type(control(d, "Bearer token"), "tok");
      }),
    ).toEqual({ name: "alertmanager channel", kind: "alertmanager", config: { url: "http://am:9093", bearer_token: "tok" } });
  });

  test("the server's problems show at their fields", async () => {
    fakeApi({
      "GET /api/alerts/channels": { channels: [], next_cursor: null },
      "POST /api/alerts/channels": () => json({ error: { code: "invalid_argument", message: "config.url: url must be an http(s) URL", details: [{ path: "config.url", message: "url must be an http(s) URL like https://example.com/hooks/vigil" }] } }, 400),
    });
    const view = render(ChannelsTab);
    await until(() => expect(view.text()).toContain("No channels yet"));
    click(button(view.target, "Add channel"));
    const dialog = document.querySelector("dialog[open]")!;
    type(control(dialog, "Name"), "x");
    type(control(dialog, "URL"), "ftp://nope");
    click(button(dialog, "Add channel"));
    await until(() => expect(control(dialog, "URL").getAttribute("aria-invalid")).toBe("true"));
    expect(textOf(dialog)).toContain("url must be an http(s) URL like https://example.com/hooks/vigil");
    // The refused secret stays in the input the user typed it in (it is theirs), masked.
    expect(control(dialog, "URL").type).toBe("password");
  });

  test("Send test shows what the destination answered, refused or delivered", async () => {
    const server = fakeApi({
      "GET /api/alerts/channels": { channels: [hook], next_cursor: null },
      "POST /api/alerts/channels/ch_hook/test": () => json({ ok: false, notification_id: "n1", error: "HTTP 500 from the receiver: boom" }, 502),
    });
    const view = render(ChannelsTab);
    await until(() => expect(view.target.querySelectorAll("tbody tr")).toHaveLength(1));
    click(button(view.target, "Send test"));
    await until(() => expect(textOf(view.target.querySelector("tbody"))).toContain("Refused: HTTP 500 from the receiver: boom"));
    expect(server.calls("POST /api/alerts/channels/ch_hook/test")[0]!.headers.get("X-CSRF-Token")).toBe(CSRF);
    expect(textOf(view.target.querySelector('[role="status"]'))).toContain("Ops hook: Refused");

    server.on("POST /api/alerts/channels/ch_hook/test", { ok: true, notification_id: "n2", parts: 1 });
    click(button(view.target, "Send test"));
    await until(() => expect(textOf(view.target.querySelector("tbody"))).toContain("Delivered: the destination accepted the test message."));

    server.on("POST /api/alerts/channels/ch_hook/test", () => json({ error: { code: "permission_denied", message: 'this needs "write"' } }, 403));
    click(button(view.target, "Send test"));
    await until(() => expect(textOf(view.target.querySelector("tbody"))).toContain('Could not test: this needs "write"'));
  });

  test("mapping: secrets are never read from a channel, whatever its config holds", () => {
    const draft = draftFromChannel(mail);
    expect(draft.values.password).toBe("");
    expect(draft.values.host).toBe("smtp.example.com");
    expect(draft.values.to).toBe("a@example.com, b@example.com");
    expect(toChannelBody(draft)).toEqual({ name: "Ops mail", kind: "email", config: { host: "smtp.example.com", port: 587, from: "alerts@example.com", to: ["a@example.com", "b@example.com"] } });
  });
});
