import { CAMPAIGN_STATUSES, MESSAGE_STATUSES, SERVER_KINDS, SERVER_STATUSES } from "../contract.js";
import type { CampaignReport, MessageReport, ServerReport } from "./types.js";

/**
 * Cheap checks of what the app reports, run on every call: plain comparisons, no schema
 * library, no allocation when the input is good. Each returns the first problem, worded
 * for the warning (the field, what is expected, what came), or undefined.
 *
 * Free text the app passes is never echoed back: an id or a name may hold personal data,
 * and `to` always does. Only the values of closed lists (statuses, kinds) and numbers are.
 */

/** Longest id (campaign, message, server) and user: longer ones are taken for a bug, not cut. */
export const MAX_ID_LENGTH = 256;
export const MAX_NAME_LENGTH = 512;
export const MAX_CARRIER_LENGTH = 128;
/** Longest recipient as given ("+1 (555) 010-0199", "tel:…"): bounds the hashing work. */
const MAX_TO_LENGTH = 64;
const MIN_TO_DIGITS = 3;

const CAMPAIGN_STATUS_SET: ReadonlySet<unknown> = new Set(CAMPAIGN_STATUSES);
const MESSAGE_STATUS_SET: ReadonlySet<unknown> = new Set(MESSAGE_STATUSES);
const SERVER_KIND_SET: ReadonlySet<unknown> = new Set(SERVER_KINDS);
const SERVER_STATUS_SET: ReadonlySet<unknown> = new Set(SERVER_STATUSES);

/** What came instead, without repeating free text. */
function got(value: unknown): string {
  if (value === undefined) return "it is missing";
  if (value === null) return "got null";
  if (typeof value === "string") return value === "" ? "got an empty string" : `got a string of ${value.length} characters`;
  if (typeof value === "number" || typeof value === "boolean") return `got ${value}`;
  return `got ${Array.isArray(value) ? "an array" : typeof value}`;
}

/** For closed lists only: the value itself helps ("sending" instead of "sent"), and is not personal. */
function gotListValue(value: unknown): string {
  return typeof value === "string" && value.length <= 40 ? `got ${JSON.stringify(value)}` : got(value);
}

function id(field: string, value: unknown): string | undefined {
  if (typeof value === "string" && value.length > 0 && value.length <= MAX_ID_LENGTH) return undefined;
  return `${field} must be a non-empty string of at most ${MAX_ID_LENGTH} characters (${got(value)})`;
}

function text(field: string, value: unknown, max: number, what: string): string | undefined {
  if (typeof value === "string" && value.length <= max) return undefined;
  return `${field} must be ${what}, a string of at most ${max} characters (${got(value)})`;
}

function oneOf(field: string, value: unknown, allowed: ReadonlySet<unknown>, list: readonly string[]): string | undefined {
  if (allowed.has(value)) return undefined;
  return `${field} must be one of ${list.join(", ")} (${gotListValue(value)})`;
}

function count(field: string, value: unknown): string | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return undefined;
  return `${field} must be a whole number, 0 or more (${got(value)})`;
}

function optionalMillis(field: string, value: unknown): string | undefined {
  if (value === undefined || value === null || (typeof value === "number" && value >= 0 && value < Number.POSITIVE_INFINITY)) return undefined;
  return `${field}, when given, must be a number of milliseconds, 0 or more (${got(value)})`;
}

function optionalText(field: string, value: unknown, numbersToo: boolean): string | undefined {
  if (value === undefined || value === null || typeof value === "string" || (numbersToo && typeof value === "number" && Number.isFinite(value))) return undefined;
  return `${field}, when given, must be a string${numbersToo ? " or a number" : ""} (${got(value)})`;
}

function recipient(value: unknown): string | undefined {
  if (typeof value === "string" && value.length <= MAX_TO_LENGTH && digitCount(value) >= MIN_TO_DIGITS) return undefined;
  const what = typeof value === "string" ? (value.length > MAX_TO_LENGTH ? `got ${value.length} characters` : `got ${digitCount(value)} digits`) : got(value);
  return `to must be the recipient's phone number, a string of at most ${MAX_TO_LENGTH} characters with at least ${MIN_TO_DIGITS} digits (${what})`;
}

/** How many digits a string holds: a recipient needs a few to be a number at all. */
function digitCount(to: string): number {
  let digits = 0;
  for (let i = 0; i < to.length; i++) {
    const code = to.charCodeAt(i);
    if (code >= 48 && code <= 57) digits++;
  }
  return digits;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

export function campaignProblem(c: CampaignReport): string | undefined {
  if (!isObject(c)) return `expected an object { id, name, total, user, status } (${got(c)})`;
  return (
    id("id", c.id) ??
    text("name", c.name, MAX_NAME_LENGTH, "the campaign's name") ??
    count("total", c.total) ??
    text("user", c.user, MAX_ID_LENGTH, "who runs the campaign") ??
    oneOf("status", c.status, CAMPAIGN_STATUS_SET, CAMPAIGN_STATUSES)
  );
}

export function messageProblem(m: MessageReport): string | undefined {
  if (!isObject(m)) return `expected an object { campaignId, messageId, to, carrier, server, status, … } (${got(m)})`;
  const server: unknown = m.server;
  return (
    id("campaignId", m.campaignId) ??
    id("messageId", m.messageId) ??
    recipient(m.to) ??
    text("carrier", m.carrier, MAX_CARRIER_LENGTH, 'the recipient\'s carrier ("" when unknown)') ??
    (isObject(server) ? undefined : `server must be an object { kind, id } (${got(server)})`) ??
    oneOf("server.kind", m.server.kind, SERVER_KIND_SET, SERVER_KINDS) ??
    id("server.id", m.server.id) ??
    oneOf("status", m.status, MESSAGE_STATUS_SET, MESSAGE_STATUSES) ??
    optionalText("errorCode", m.errorCode, true) ??
    optionalText("errorText", m.errorText, false) ??
    (m.attempt === undefined || m.attempt === null || (Number.isSafeInteger(m.attempt) && m.attempt >= 1) ? undefined : `attempt, when given, must be a whole number, 1 or more (${got(m.attempt)})`) ??
    optionalMillis("queuedMs", m.queuedMs) ??
    optionalMillis("sendMs", m.sendMs)
  );
}

export function serverProblem(s: ServerReport): string | undefined {
  if (!isObject(s)) return `expected an object { kind, id, status, latencyMs?, error? } (${got(s)})`;
  return (
    oneOf("kind", s.kind, SERVER_KIND_SET, SERVER_KINDS) ??
    id("id", s.id) ??
    oneOf("status", s.status, SERVER_STATUS_SET, SERVER_STATUSES) ??
    optionalMillis("latencyMs", s.latencyMs) ??
    optionalText("error", s.error, false)
  );
}
