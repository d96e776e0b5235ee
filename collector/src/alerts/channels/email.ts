import { createTransport } from "nodemailer";
import { z } from "zod";
import type { Notification, SendOutcome } from "../model.js";
import type { ChannelType, SendResult } from "./channel-type.js";
import { alertSection, notificationTitle, renderText } from "./format.js";

const TIMEOUT_MS = 30_000;
const plainEmail = z.email();

/** "ops@example.com" or "Ops <ops@example.com>": what mail clients let people type. */
function mailbox(field: string) {
  return z
    .string()
    .trim()
    .refine((value) => plainEmail.safeParse(addressOf(value)).success && !/[\r\n]/.test(value), {
      error: `${field} must be an e-mail address like "ops@example.com" or "Ops <ops@example.com>"`,
    });
}

function addressOf(mailbox: string): string {
  return /<([^<>]+)>\s*$/.exec(mailbox)?.[1]?.trim() ?? mailbox;
}

export const emailConfigSchema = z
  .object({
    host: z.string().trim().min(1, 'host must name the SMTP server, like "smtp.example.com"').describe("SMTP server."),
    port: z
      .number({ error: "port must be a number, usually 587 (STARTTLS), 465 (implicit TLS) or 25" })
      .int()
      .min(1, "port must be between 1 and 65535")
      .max(65535, "port must be between 1 and 65535")
      .default(587)
      .describe("SMTP port."),
    secure: z.boolean().default(false).describe("Implicit TLS from the first byte (port 465); false upgrades with STARTTLS when offered."),
    require_tls: z.boolean().default(false).describe("Refuse to send unless the server upgrades to TLS with STARTTLS."),
    user: z.string().min(1, "user must not be empty; leave it out when the server needs no login").optional().describe("SMTP login."),
    password: z.string().min(1, "password must not be empty").optional().describe("SMTP password (secret)."),
    from: mailbox("from").describe("Sender address."),
    to: z.array(mailbox("to[]")).max(100, "to may list at most 100 addresses").default([]).describe("Recipients."),
    to_label: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "to_label is a label name, like notification_email")
      .optional()
      .describe("Also send to the address each alert carries in this label (e.g. notification_email of social jobs, with the rule grouped by it)."),
    subject_prefix: z.string().max(100, "subject_prefix must be at most 100 characters").optional().describe('Put before every subject, e.g. "[vigil]".'),
  })
  .strict()
  .refine((config) => config.to.length > 0 || config.to_label !== undefined, {
    error: "to must list at least one recipient address (or set to_label to take it from the alerts)",
    path: ["to"],
  })
  .refine((config) => (config.user === undefined) === (config.password === undefined), {
    error: "user and password go together: set both to log in, or neither",
    path: ["password"],
  })
  .refine((config) => config.port !== 465 || config.secure, {
    error: "port 465 speaks TLS from the first byte: set secure: true (or use port 587 with STARTTLS)",
    path: ["secure"],
  });

export type EmailConfig = z.output<typeof emailConfigSchema>;

const ADDRESS = /^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/;

/** The configured recipients plus, with to_label, each alert's address in that label (well-formed ones, once each). */
function recipients(config: EmailConfig, notification: Notification): string[] {
  const all = new Set(config.to);
  if (config.to_label) {
    for (const alert of notification.alerts) {
      const address = alert.labels[config.to_label]?.trim();
      if (address && ADDRESS.test(address) && all.size < 100) all.add(address);
    }
  }
  return [...all];
}

export const emailChannel: ChannelType<EmailConfig> = {
  kind: "email",
  configSchema: emailConfigSchema,
  secretFields: ["password"],
  open(config, { log }) {
    // One pool per channel: connections are reused across notifications and closed with the channel.
    const transport = createTransport({
      pool: true,
      maxConnections: 2,
      host: config.host,
      port: config.port,
      secure: config.secure,
      requireTLS: config.require_tls,
      ...(config.user !== undefined ? { auth: { user: config.user, pass: config.password ?? "" } } : {}),
      connectionTimeout: TIMEOUT_MS,
      greetingTimeout: TIMEOUT_MS,
      socketTimeout: TIMEOUT_MS,
    });
    return {
      async send({ notification, fromPart, signal }): Promise<SendResult> {
        // A notification is one e-mail: part 0 is all there is.
        if (fromPart >= 1) return { ok: true, partsSent: 1 };
        const to = recipients(config, notification);
        if (to.length === 0) return { ok: false, permanent: true, error: `no recipient: to is empty and no alert carries an address in label ${config.to_label}`, partsSent: 0 };
        const title = notificationTitle(notification).replace(/[\r\n]+/g, " ");
        try {
          const info = await transport.sendMail({
            from: config.from,
            to,
            subject: config.subject_prefix ? `${config.subject_prefix.trim()} ${title}` : title,
            messageId: `<${notification.id}@vigil>`,
            text: renderText(notification),
            html: renderHtml(notification),
            signal,
          });
          if (info.rejected.length > 0) log.warn({ channel: notification.channel_id, rejected: info.rejected.length }, "SMTP server refused some recipients of an alert e-mail");
          return { ok: true, partsSent: 1 };
        } catch (error) {
          return { ...smtpOutcome(error, config.host, signal), partsSent: 0 };
        }
      },
      async close() {
        transport.close();
      },
    };
  },
};

/** SMTP's own verdict: 5xx refuses for good, 4xx and a lost connection may go through later. */
function smtpOutcome(error: unknown, host: string, signal: AbortSignal): SendOutcome & { ok: false } {
  const err = error as { code?: string; responseCode?: number; response?: string; message?: string; permanent?: boolean };
  if (signal.aborted) return { ok: false, error: `sending to ${host} was cancelled`, permanent: false };
  if (typeof err.responseCode === "number") {
    const reply = (err.response ?? err.message ?? "").replace(/\s+/g, " ").trim().slice(0, 300);
    // 503 is "bad sequence of commands": the session's state, not the message, so it may pass on a new connection.
    const permanent = err.permanent ?? (err.responseCode >= 500 && err.responseCode !== 503);
    return { ok: false, error: `SMTP server ${host} answered ${reply || err.responseCode}`, permanent };
  }
  return { ok: false, error: `could not send through ${host}: ${err.code ? `${err.code} ` : ""}${(err.message ?? String(error)).slice(0, 300)}`, permanent: false };
}

/** A simple HTML version of the text: every value escaped, no remote images, no scripts. */
export function renderHtml(notification: Notification): string {
  const alerts = notification.alerts.map((alert) => {
    const section = alertSection(alert, notification);
    const colour = section.status === "firing" ? "#d93f3f" : "#2f9e44";
    const rows = section.fields.map((field) => `<tr><th align="left" style="padding-right:12px">${escapeHtml(field.name)}</th><td>${escapeHtml(field.value)}</td></tr>`).join("");
    return [
      `<div style="border-left:4px solid ${colour};padding:4px 12px;margin:12px 0">`,
      `<h3 style="margin:4px 0">${section.status === "firing" ? "Firing" : "Resolved"}: ${escapeHtml(section.title)}</h3>`,
      section.summary ? `<p style="margin:4px 0"><strong>${escapeHtml(section.summary)}</strong></p>` : "",
      section.description ? `<p style="margin:4px 0;white-space:pre-wrap">${escapeHtml(section.description)}</p>` : "",
      `<table style="font-size:13px">${rows}</table>`,
      "</div>",
    ].join("");
  });
  const link = notification.external_url && /^https?:\/\//i.test(notification.external_url) ? `<p><a href="${escapeHtml(notification.external_url)}">Open Vigil</a></p>` : "";
  return `<!doctype html><html><body style="font-family:sans-serif"><h2>${escapeHtml(notificationTitle(notification))}</h2>${alerts.join("")}${link}</body></html>`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}
