// A real SMTP server for tests (the `smtp-server` package) on a free port: plain text, no
// TLS, login optional or required, collecting every accepted message with the headers a
// test asserts on and its decoded text. A switch makes it refuse the next messages with
// an SMTP reply code, as a full mailbox (452) or a policy rejection (550) would.
import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

export interface SmtpSinkOptions {
  port?: number;
  /** When set, AUTH PLAIN/LOGIN with these is required before MAIL FROM; other credentials get 535. */
  user?: string;
  password?: string;
}

export interface ReceivedMail {
  /** The envelope: MAIL FROM and RCPT TO addresses. */
  envelopeFrom: string;
  envelopeTo: string[];
  /** The logged-in user, when the client authenticated. */
  user: string | undefined;
  /** Header names in lower case, folded lines joined, encoded words decoded. */
  headers: Record<string, string>;
  subject: string;
  messageId: string;
  to: string;
  /** The text/plain part, decoded. */
  text: string;
  /** The text/html part, decoded ("" when none). */
  html: string;
  /** The message as received. */
  raw: string;
}

export interface SmtpSink {
  host: string;
  port: number;
  readonly messages: readonly ReceivedMail[];
  /** The next `count` messages are refused at the end of DATA with this reply code (4xx or 5xx). */
  refuseNext(code: number, options?: { count?: number; message?: string }): void;
  close(): Promise<void>;
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const messages: ReceivedMail[] = [];
  const refusals: { code: number; message: string; count: number }[] = [];
  const requireAuth = options.user !== undefined;

  const server = new SMTPServer({
    secure: false,
    disabledCommands: requireAuth ? ["STARTTLS"] : ["STARTTLS", "AUTH"],
    authOptional: !requireAuth,
    allowInsecureAuth: true,
    authMethods: ["PLAIN", "LOGIN"],
    logger: false,
    closeTimeout: 500,
    onAuth(auth, _session, callback) {
      if (auth.username === options.user && auth.password === options.password) return callback(null, { user: auth.username });
      callback(Object.assign(new Error("Authentication credentials invalid"), { responseCode: 535 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (error: Error) => callback(error));
      stream.on("end", () => {
        const refusal = refusals[0];
        if (refusal) {
          refusal.count -= 1;
          if (refusal.count <= 0) refusals.shift();
          return callback(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
        }
        const raw = Buffer.concat(chunks).toString("utf8");
        const mail = parseMail(raw);
        messages.push({
          envelopeFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          envelopeTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          user: session.user,
          ...mail,
          raw,
        });
        callback(null, "Message queued");
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });

  return {
    host: "127.0.0.1",
    port: (server.server.address() as AddressInfo).port,
    messages,
    refuseNext: (code, { count = 1, message = code >= 500 ? "Message rejected on purpose" : "Try again later" } = {}) => void refusals.push({ code, message, count }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Just enough MIME to read what nodemailer writes: headers, multipart/alternative, QP and base64. */
function parseMail(raw: string): Omit<ReceivedMail, "envelopeFrom" | "envelopeTo" | "user" | "raw"> {
  const { headers, body } = splitPart(raw);
  const parts = leafParts(headers, body);
  const text = parts.find((part) => (part.headers["content-type"] ?? "text/plain").startsWith("text/plain"));
  const html = parts.find((part) => part.headers["content-type"]?.startsWith("text/html"));
  return {
    headers,
    subject: headers.subject ?? "",
    messageId: headers["message-id"] ?? "",
    to: headers.to ?? "",
    text: text ? decodeBody(text) : "",
    html: html ? decodeBody(html) : "",
  };
}

interface Part {
  headers: Record<string, string>;
  body: string;
}

function splitPart(raw: string): Part {
  const at = raw.search(/\r?\n\r?\n/);
  const head = at === -1 ? raw : raw.slice(0, at);
  const body = at === -1 ? "" : raw.slice(at).replace(/^\r?\n\r?\n/, "");
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, " ").split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = decodeWords(line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function leafParts(headers: Record<string, string>, body: string): Part[] {
  const boundary = /multipart\/[^;]+;.*boundary="?([^";]+)"?/i.exec(headers["content-type"] ?? "")?.[1];
  if (!boundary) return [{ headers, body }];
  const sections = body.split(`--${boundary}`).slice(1);
  return sections.filter((section) => !section.startsWith("--")).flatMap((section) => {
    const part = splitPart(section.replace(/^\r?\n/, ""));
    return leafParts(part.headers, part.body);
  });
}

function decodeBody(part: Part): string {
  const encoding = (part.headers["content-transfer-encoding"] ?? "7bit").toLowerCase();
  const body = part.body.replace(/\r?\n$/, "");
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable") return decodeQuotedPrintable(body);
  return body.replace(/\r\n/g, "\n");
}

function decodeQuotedPrintable(text: string): string {
  const soft = text.replace(/=\r?\n/g, "").replace(/\r\n/g, "\n");
  const bytes: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const hex = soft.slice(i + 1, i + 3);
    if (soft[i] === "=" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(Number.parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(soft[i]!, "utf8"));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** RFC 2047 encoded words (=?UTF-8?Q?…?= and =?UTF-8?B?…?=), as nodemailer writes non-ASCII headers. */
function decodeWords(value: string): string {
  return value.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=(\s+(?==\?))?/g, (_, _charset: string, kind: string, data: string) => {
    if (kind.toUpperCase() === "B") return Buffer.from(data, "base64").toString("utf8");
    return decodeQuotedPrintable(data.replace(/_/g, " "));
  });
}
